"""Powertools' `event_handler` and `data_classes` packages import every resolver and event class
they have when any one of their modules is imported: AppSync's resolvers (with asyncio), Bedrock's,
VPC Lattice's, the HTTP resolver, CodePipeline's and Firehose's events... about 50 ms of every API
function's cold start for code a REST function never runs (issue 19, `make bench`).

Imported before them (caisse.web does, first), this registers both packages without running their
`__init__`: their modules load as they are imported, and a name the package itself exports loads
the one module that defines it. Any other name asked of the package runs the package's own
`__init__` first, so code that wants the whole package still gets it, unchanged."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

# The package's names a REST function uses, and the module of the package that defines each.
EVENT_HANDLER = "aws_lambda_powertools.event_handler"
DATA_CLASSES = "aws_lambda_powertools.utilities.data_classes"
DEFINED_IN = {
    EVENT_HANDLER: {
        "APIGatewayRestResolver": "api_gateway",
        "ApiGatewayResolver": "api_gateway",
        "CORSConfig": "api_gateway",
        "Response": "api_gateway",
    },
    DATA_CLASSES: {
        "ALBEvent": "alb_event",
        "APIGatewayProxyEvent": "api_gateway_proxy_event",
        "APIGatewayProxyEventV2": "api_gateway_proxy_event",
        "BedrockAgentEvent": "bedrock_agent_event",
        "LambdaFunctionUrlEvent": "lambda_function_url_event",
        # Imported by sqs_event, which the batch utility imports: a stream or queue function loaded
        # in a process where an API function came first (the local stack runs them all in one).
        "S3Event": "s3_event",
        "VPCLatticeEvent": "vpc_lattice",
        "VPCLatticeEventV2": "vpc_lattice",
    },
}


def _register(name: str, defined_in: dict[str, str]) -> None:
    if name in sys.modules:  # already imported whole: nothing to save
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(name)
    package = importlib.util.module_from_spec(spec)
    whole = False

    def __getattr__(attribute: str) -> Any:
        nonlocal whole
        if attribute in defined_in:
            value = getattr(importlib.import_module(f"{name}.{defined_in[attribute]}"), attribute)
        elif attribute.startswith("__") or whole:
            raise AttributeError(f"module {name!r} has no attribute {attribute!r}")
        elif importlib.util.find_spec(f"{name}.{attribute}") is not None:  # `from package import module`
            value = importlib.import_module(f"{name}.{attribute}")
        else:
            whole = True
            spec.loader.exec_module(package)  # type: ignore[union-attr]  # checked above
            value = package.__dict__[attribute] if attribute in package.__dict__ else __getattr__(attribute)
        setattr(package, attribute, value)
        return value

    package.__getattr__ = __getattr__  # type: ignore[method-assign]  # PEP 562: the module's own lookup
    sys.modules[name] = package
    parent, _, child = name.rpartition(".")
    setattr(importlib.import_module(parent), child, package)


for _name, _defined_in in DEFINED_IN.items():
    _register(_name, _defined_in)
