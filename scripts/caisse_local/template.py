"""Read template.yaml the way the local stack needs it.

The local stack builds its emulated resources, its Lambda functions and its API routes from the
real SAM template, so local and deployed wiring cannot drift. This module parses the template
(short-form tags included), resolves intrinsic functions against a local "stack" (`Context`), and
describes functions and API routes. Resource naming and attribute rules live in `RESOURCE_KINDS`
and event parsing in `EVENT_PARSERS`, both keyed by type, so later work adds types without
touching the resolver.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "EVENT_PARSERS",
    "BucketSource",
    "RESOURCE_KINDS",
    "Context",
    "LOCAL_PARAMETERS",
    "Cors",
    "EventSpec",
    "FunctionSpec",
    "ResourceKind",
    "Route",
    "QueueSource",
    "StreamSource",
    "Template",
    "TemplateError",
    "TopicSource",
    "Unresolved",
    "expand_language_extensions",
    "iter_references",
    "load",
    "loads",
]

NO_VALUE = object()  # what AWS::NoValue resolves to: the key or list item disappears


class TemplateError(ValueError):
    """The template uses something the local stack cannot resolve."""


class Unresolved(TemplateError):
    """An attribute only the emulated AWS knows (e.g. a table's StreamArn) is not known yet."""


# --------------------------------------------------------------------------- YAML loading

_SHORT_TAGS = {
    "Ref": "Ref",
    "Condition": "Condition",
    **{
        name: f"Fn::{name}"
        for name in (
            "GetAtt Sub Join If Equals Not And Or Select Split FindInMap Base64 GetAZs "
            "ImportValue Cidr Length ToJsonString"
        ).split()
    },
}


class _Loader(yaml.SafeLoader):
    """SafeLoader that turns CloudFormation short-form tags into their long form."""


def _construct_tag(loader: _Loader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = _SHORT_TAGS.get(tag_suffix)
    if name is None:
        raise TemplateError(f"unknown CloudFormation tag !{tag_suffix} at {node.start_mark}")
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if name == "Fn::GetAtt":
            logical_id, _, attribute = str(value).partition(".")
            value = [logical_id, attribute]
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_Loader.add_multi_constructor("!", _construct_tag)


def _parse(text: str) -> dict[str, Any]:
    data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader subclass
    if not isinstance(data, dict):
        raise TemplateError("a template is a YAML mapping")
    return expand_language_extensions(data)


# --------------------------------------------------------------------------- Fn::ForEach

LANGUAGE_EXTENSIONS = "AWS::LanguageExtensions"
_FOR_EACH = "Fn::ForEach::"


def expand_language_extensions(data: dict[str, Any]) -> dict[str, Any]:
    """The template as CloudFormation sees it once AWS::LanguageExtensions ran: every `Fn::ForEach`
    loop of Resources, Conditions and Outputs replaced by one copy of its fragment per item.

    The substitution follows CloudFormation's documented rules as cfn-lint models them
    (cfnlint/template/transforms/_language_extensions.py): `${Id}` and `&{Id}` are replaced in keys
    and in `Fn::Sub` strings (a Sub left with no variable becomes its plain string), `Ref: Id` is
    the item, `Ref` of a `Fn::Sub` is a Ref to the name it builds; other plain strings are kept as
    written. Collections must be literal lists here (a Ref to a CommaDelimitedList is not expanded).
    """
    if not _uses_for_each(data):
        return data
    transforms = data.get("Transform")
    declared = transforms if isinstance(transforms, list) else [transforms]
    if LANGUAGE_EXTENSIONS not in declared:
        raise TemplateError(f"Fn::ForEach needs the {LANGUAGE_EXTENSIONS} transform in Transform")
    out = dict(data)
    for section in ("Resources", "Conditions", "Outputs"):
        if isinstance(data.get(section), dict):
            out[section] = _expand(data[section], {})
    return out


def _uses_for_each(value: Any) -> bool:
    if isinstance(value, dict):
        return any(str(k).startswith(_FOR_EACH) or _uses_for_each(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_uses_for_each(v) for v in value)
    return False


def _expand(value: Any, items: dict[str, str]) -> Any:
    """`value` with every loop inside it expanded and the loop identifiers in `items` replaced."""
    if isinstance(value, list):
        return [_expand(v, items) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1 and items:
        ((key, arg),) = value.items()
        if key == "Fn::Sub":
            return _sub_identifiers(arg, items)
        if key == "Ref":
            target = _expand(arg, items)
            if isinstance(target, str) and target in items:
                return items[target]
            return {"Ref": target}
    out: dict[str, Any] = {}
    for key, val in value.items():
        if str(key).startswith(_FOR_EACH):
            for name, fragment in _loop(str(key), val, items):
                if name in out:
                    raise TemplateError(f"{key} makes {name} twice")
                out[name] = fragment
        else:
            out[_replace_identifiers(str(key), items)] = _expand(val, items)
    return out


def _loop(key: str, arg: Any, items: dict[str, str]) -> Iterable[tuple[str, Any]]:
    if not (isinstance(arg, list) and len(arg) == 3 and isinstance(arg[0], str) and isinstance(arg[2], dict)):
        raise TemplateError(f"{key} must be [Identifier, [items...], {{OutputKey: OutputValue}}]")
    identifier, collection, fragment = arg
    collection = _expand(collection, items)
    if not (isinstance(collection, list) and all(isinstance(c, (str, int)) for c in collection)):
        raise TemplateError(f"{key}: the local stack expands a literal list of names only, got {collection!r}")
    for item in collection:
        yield from _expand(fragment, {**items, identifier: str(item)}).items()


def _replace_identifiers(text: str, items: dict[str, str]) -> str:
    for identifier, item in items.items():
        text = text.replace("${" + identifier + "}", item)
        text = text.replace("&{" + identifier + "}", re.sub(r"[^0-9A-Za-z]+", "", item))
    return text


def _sub_identifiers(arg: Any, items: dict[str, str]) -> Any:
    if isinstance(arg, list) and arg:
        text = _replace_identifiers(str(arg[0]), items)
        return {"Fn::Sub": [text, *(_expand(a, items) for a in arg[1:])]}
    text = _replace_identifiers(str(arg), items)
    return text if not _SUB_VAR.search(text) else {"Fn::Sub": text}


# --------------------------------------------------------------------------- the local stack


LOCAL_PARAMETERS = {
    "ShopUrl": "http://127.0.0.1:3000/shop",
    "PublicApiUrl": "http://127.0.0.1:3000",
    "SenderEmail": "no-reply@caisse.example",
    "AlarmEmail": "alarms@caisse.example",
}
"""What the local stack gives the parameters a deploy must set (they have no Default, so a deploy
without them fails; the stack overrides the URLs with its own ports)."""


@dataclass
class Context:
    """The local stack a template is resolved against.

    `attributes` holds what only the emulated AWS knows (the provisioner fills it):
    `attributes[logical_id][attribute]`, with "Ref" for a physical id that differs from the rule.
    """

    stack_name: str = "caisse-local"
    region: str = "us-east-1"
    account_id: str = "123456789012"
    parameter_overrides: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)

    def record(self, logical_id: str, **values: str) -> None:
        """Remember attributes of a created resource so GetAtt/Ref can resolve them."""
        self.attributes.setdefault(logical_id, {}).update(values)


def arn(ctx: Context, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
    return f"arn:aws:{service}:{ctx.region if region else ''}:{ctx.account_id if account else ''}:{resource}"


@dataclass(frozen=True)
class Resource:
    """One template resource as the naming rules see it."""

    logical_id: str
    type: str
    properties: dict[str, Any]
    template: Template
    ctx: Context

    def prop(self, name: str, default: Any = None) -> Any:
        """A property, resolved; `default` when absent."""
        if name not in self.properties:
            return default
        return self.template.resolve(self.properties[name], self.ctx)

    def name(self, prop: str | None = None, *, lower: bool = False, suffix: str = "") -> str:
        """Explicit name property if set, else `<stack>-<LogicalId>` (+ suffix)."""
        explicit = self.prop(prop) if prop else None
        if explicit:
            return str(explicit)
        name = f"{self.ctx.stack_name}-{self.logical_id}{suffix}"
        return name.lower() if lower else name


Attribute = Callable[[Resource], str]


@dataclass
class ResourceKind:
    """How a resource type is named locally: its Ref and its GetAtt attributes."""

    ref: Attribute
    attributes: dict[str, Attribute] = field(default_factory=dict)


def _lazy(attribute: str) -> Attribute:
    def get(res: Resource) -> str:
        raise Unresolved(
            f"{res.logical_id}.{attribute} is only known once the emulated AWS has created "
            f"{res.logical_id}: provision the template first"
        )

    return get


def _table_name(r: Resource) -> str:
    return r.name("TableName")


def _queue_name(r: Resource) -> str:
    fifo = _truthy(r.prop("FifoQueue", False))
    name = r.name("QueueName", suffix=".fifo" if fifo else "")
    return name


def _topic_name(r: Resource) -> str:
    return r.name("TopicName", suffix=".fifo" if _truthy(r.prop("FifoTopic", False)) else "")


def _function_name(r: Resource) -> str:
    return r.name("FunctionName")


def _bucket_name(r: Resource) -> str:
    return r.name("BucketName", lower=True)


def _user_pool_id(r: Resource) -> str:
    return f"{r.ctx.region}_caisselocal"


def _rest_api_id(r: Resource) -> str:
    return hashlib.sha256(f"{r.ctx.stack_name}/{r.logical_id}".encode()).hexdigest()[:10]


def _log_group_name(r: Resource) -> str:
    return r.name("LogGroupName")


RESOURCE_KINDS: dict[str, ResourceKind] = {
    "AWS::DynamoDB::Table": ResourceKind(
        ref=_table_name,
        attributes={
            "Arn": lambda r: arn(r.ctx, "dynamodb", f"table/{_table_name(r)}"),
            "StreamArn": _lazy("StreamArn"),
        },
    ),
    "AWS::SQS::Queue": ResourceKind(
        ref=lambda r: f"https://sqs.{r.ctx.region}.amazonaws.com/{r.ctx.account_id}/{_queue_name(r)}",
        attributes={
            "Arn": lambda r: arn(r.ctx, "sqs", _queue_name(r)),
            "QueueName": _queue_name,
            "QueueUrl": lambda r: f"https://sqs.{r.ctx.region}.amazonaws.com/{r.ctx.account_id}/{_queue_name(r)}",
        },
    ),
    "AWS::SNS::Topic": ResourceKind(
        ref=lambda r: arn(r.ctx, "sns", _topic_name(r)),
        attributes={
            "TopicArn": lambda r: arn(r.ctx, "sns", _topic_name(r)),
            "TopicName": _topic_name,
        },
    ),
    "AWS::SNS::Subscription": ResourceKind(ref=_lazy("Ref")),
    "AWS::S3::Bucket": ResourceKind(
        ref=_bucket_name,
        attributes={
            "Arn": lambda r: f"arn:aws:s3:::{_bucket_name(r)}",
            "DomainName": lambda r: f"{_bucket_name(r)}.s3.amazonaws.com",
            "RegionalDomainName": lambda r: f"{_bucket_name(r)}.s3.{r.ctx.region}.amazonaws.com",
            "WebsiteURL": lambda r: f"http://{_bucket_name(r)}.s3-website-{r.ctx.region}.amazonaws.com",
        },
    ),
    "AWS::Serverless::Function": ResourceKind(
        ref=_function_name,
        attributes={"Arn": lambda r: arn(r.ctx, "lambda", f"function:{_function_name(r)}")},
    ),
    "AWS::Lambda::Function": ResourceKind(
        ref=_function_name,
        attributes={"Arn": lambda r: arn(r.ctx, "lambda", f"function:{_function_name(r)}")},
    ),
    "AWS::Serverless::LayerVersion": ResourceKind(
        ref=lambda r: arn(r.ctx, "lambda", f"layer:{r.name('LayerName')}:1"),
    ),
    "AWS::Lambda::LayerVersion": ResourceKind(
        ref=lambda r: arn(r.ctx, "lambda", f"layer:{r.name('LayerName')}:1"),
    ),
    "AWS::Serverless::Api": ResourceKind(
        ref=_rest_api_id,
        attributes={"RootResourceId": lambda r: hashlib.sha256(r.logical_id.encode()).hexdigest()[:10]},
    ),
    "AWS::Logs::LogGroup": ResourceKind(
        ref=_log_group_name,
        attributes={"Arn": lambda r: arn(r.ctx, "logs", f"log-group:{_log_group_name(r)}:*")},
    ),
    "AWS::IAM::Role": ResourceKind(
        ref=lambda r: r.name("RoleName"),
        attributes={
            "Arn": lambda r: arn(r.ctx, "iam", f"role/{r.name('RoleName')}", region=False),
            "RoleId": lambda r: "AROA" + hashlib.sha256(r.logical_id.encode()).hexdigest()[:17].upper(),
        },
    ),
    "AWS::IAM::ManagedPolicy": ResourceKind(
        ref=lambda r: arn(r.ctx, "iam", f"policy/{r.name('ManagedPolicyName')}", region=False),
    ),
    "AWS::Cognito::UserPool": ResourceKind(
        ref=_user_pool_id,
        attributes={
            "Arn": lambda r: arn(r.ctx, "cognito-idp", f"userpool/{_user_pool_id(r)}"),
            "ProviderName": lambda r: f"cognito-idp.{r.ctx.region}.amazonaws.com/{_user_pool_id(r)}",
            "ProviderURL": lambda r: f"https://cognito-idp.{r.ctx.region}.amazonaws.com/{_user_pool_id(r)}",
            "UserPoolId": _user_pool_id,
        },
    ),
    "AWS::Cognito::UserPoolClient": ResourceKind(
        ref=lambda r: "caisselocal-client",
        attributes={"ClientId": lambda r: "caisselocal-client", "Name": lambda r: r.name("ClientName")},
    ),
    "AWS::Cognito::UserPoolGroup": ResourceKind(ref=lambda r: r.name("GroupName")),
    "AWS::Cognito::UserPoolDomain": ResourceKind(ref=lambda r: r.name("Domain", lower=True)),
    "AWS::SSM::Parameter": ResourceKind(
        ref=lambda r: r.name("Name"),
        attributes={"Type": lambda r: str(r.prop("Type", "String")), "Value": lambda r: str(r.prop("Value"))},
    ),
    "AWS::SecretsManager::Secret": ResourceKind(
        ref=lambda r: arn(r.ctx, "secretsmanager", f"secret:{r.name('Name')}"),
    ),
    "AWS::KMS::Key": ResourceKind(
        ref=lambda r: hashlib.sha256(r.logical_id.encode()).hexdigest()[:32],
        attributes={
            "Arn": lambda r: arn(r.ctx, "kms", f"key/{hashlib.sha256(r.logical_id.encode()).hexdigest()[:32]}"),
        },
    ),
    "AWS::Events::Rule": ResourceKind(
        ref=lambda r: r.name("Name"),
        attributes={"Arn": lambda r: arn(r.ctx, "events", f"rule/{r.name('Name')}")},
    ),
    "AWS::CloudWatch::Alarm": ResourceKind(
        ref=lambda r: r.name("AlarmName"),
        attributes={"Arn": lambda r: arn(r.ctx, "cloudwatch", f"alarm:{r.name('AlarmName')}")},
    ),
    "AWS::CloudWatch::Dashboard": ResourceKind(ref=lambda r: r.name("DashboardName")),
    # SES (event_sources work): an identity's Ref is the address or domain itself.
    "AWS::SES::EmailIdentity": ResourceKind(ref=lambda r: str(r.prop("EmailIdentity"))),
    "AWS::SES::ConfigurationSet": ResourceKind(ref=lambda r: r.name("Name")),
}
"""Local naming rules by resource type. Types not listed get `<stack>-<LogicalId>` as Ref."""

PSEUDO_PARAMETERS: dict[str, Callable[[Context], Any]] = {
    "AWS::Region": lambda c: c.region,
    "AWS::AccountId": lambda c: c.account_id,
    "AWS::StackName": lambda c: c.stack_name,
    "AWS::StackId": lambda c: arn(c, "cloudformation", f"stack/{c.stack_name}/00000000-0000-0000-0000-000000000000"),
    "AWS::Partition": lambda c: "aws",
    "AWS::URLSuffix": lambda c: "amazonaws.com",
    "AWS::NotificationARNs": lambda c: [],
    "AWS::NoValue": lambda c: NO_VALUE,
}


# --------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class EventSpec:
    """One entry of a function's Events.

    `raw` keeps the intrinsics (so later work can see which logical id a stream or queue event
    names); `properties` resolves them on each access, because some (a table's StreamArn) are only
    known once the emulated AWS has created the resource.
    """

    name: str
    type: str
    raw: dict[str, Any]
    template: Template = field(repr=False, compare=False)
    ctx: Context = field(repr=False, compare=False)

    @property
    def properties(self) -> dict[str, Any]:
        return self.template.resolve(self.raw, self.ctx)


@dataclass(frozen=True)
class FunctionSpec:
    """What the in-process Lambda runtime needs to run one AWS::Serverless::Function."""

    logical_id: str
    name: str
    arn: str
    code_uri: Path
    handler: str
    runtime: str
    memory_size: int
    timeout: float
    environment: dict[str, str]
    events: list[EventSpec]
    properties: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def module(self) -> str:
        return self.handler.rpartition(".")[0]

    @property
    def attribute(self) -> str:
        return self.handler.rpartition(".")[2]


@dataclass(frozen=True)
class Cors:
    """An Api's CORS settings, with SAM's quoting ("'*'") removed."""

    allow_origin: str = "*"
    allow_methods: str | None = None
    allow_headers: str | None = None
    expose_headers: str | None = None
    max_age: str | None = None
    allow_credentials: bool = False


@dataclass(frozen=True)
class Route:
    """One API Gateway method: path template, method and the function behind it."""

    path: str
    method: str
    function: str
    authorizer: str | None
    stage: str
    api: str
    api_id: str
    cors: Cors | None = None


IMPLICIT_API = "ServerlessRestApi"  # the API SAM creates for Api events without RestApiId


# --------------------------------------------------------------------------- the template


class Template:
    """A parsed SAM template; resolution needs a `Context`."""

    def __init__(self, data: dict[str, Any], path: Path | None = None):
        self.data = data
        self.path = path
        self.dir = path.parent if path else Path.cwd()

    # raw sections
    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.data.get("Resources") or {}

    @property
    def parameters(self) -> dict[str, dict[str, Any]]:
        return self.data.get("Parameters") or {}

    @property
    def globals(self) -> dict[str, dict[str, Any]]:
        return self.data.get("Globals") or {}

    @property
    def conditions(self) -> dict[str, Any]:
        return self.data.get("Conditions") or {}

    @property
    def mappings(self) -> dict[str, Any]:
        return self.data.get("Mappings") or {}

    def resources_of_type(self, *types: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v.get("Type") in types}

    def enabled(self, logical_id: str, ctx: Context) -> bool:
        """False when the resource's Condition is false in this stack."""
        cond = self.resources[logical_id].get("Condition")
        return True if cond is None else self.condition(cond, ctx)

    def properties(self, logical_id: str) -> dict[str, Any]:
        """Raw properties, with SAM Globals merged in for serverless types."""
        resource = self.resources[logical_id]
        props = resource.get("Properties") or {}
        section = {"AWS::Serverless::Function": "Function", "AWS::Serverless::Api": "Api"}.get(resource.get("Type", ""))
        if section and section in self.globals:
            props = _merge_globals(self.globals[section], props)
        return props

    # ---------------------------------------------------------------- resolution
    def resolve(self, value: Any, ctx: Context) -> Any:
        """Resolve every intrinsic in `value` (a deep copy is returned)."""
        out = _Resolver(self, ctx).resolve(value)
        return None if out is NO_VALUE else out

    def parameter(self, name: str, ctx: Context) -> Any:
        spec = self.parameters[name]
        if name in ctx.parameter_overrides:
            value = ctx.parameter_overrides[name]
        elif "Default" in spec:
            value = spec["Default"]
        elif name in LOCAL_PARAMETERS:
            value = LOCAL_PARAMETERS[name]
        else:
            raise TemplateError(f"parameter {name} has no Default and no override")
        allowed = spec.get("AllowedValues")
        if allowed is not None and str(value) not in {str(a) for a in allowed}:
            raise TemplateError(f"parameter {name}={value!r} is not one of {allowed}")
        ptype = str(spec.get("Type", "String"))
        if ptype == "CommaDelimitedList" or ptype.startswith("List<"):
            return value if isinstance(value, list) else [v.strip() for v in str(value).split(",")]
        return _to_str(value)

    def condition(self, name: str, ctx: Context) -> bool:
        if name not in self.conditions:
            raise TemplateError(f"unknown condition {name}")
        return bool(self.resolve(self.conditions[name], ctx))

    def ref(self, name: str, ctx: Context) -> Any:
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name](ctx)
        if name in self.parameters:
            return self.parameter(name, ctx)
        known = ctx.attributes.get(name, {})
        if "Ref" in known:
            return known["Ref"]
        res = self._resource(name, ctx)
        kind = RESOURCE_KINDS.get(res.type)
        return kind.ref(res) if kind else f"{ctx.stack_name}-{name}"

    def get_att(self, logical_id: str, attribute: str, ctx: Context) -> Any:
        known = ctx.attributes.get(logical_id, {})
        if attribute in known:
            return known[attribute]
        res = self._resource(logical_id, ctx)
        kind = RESOURCE_KINDS.get(res.type)
        getter = kind.attributes.get(attribute) if kind else None
        if getter is None:
            raise TemplateError(f"cannot resolve !GetAtt {logical_id}.{attribute} ({res.type}) locally")
        return getter(res)

    def _resource(self, logical_id: str, ctx: Context) -> Resource:
        if logical_id in self.resources:
            r = self.resources[logical_id]
            return Resource(logical_id, r.get("Type", ""), self.properties(logical_id), self, ctx)
        implicit = self._implicit_resource(logical_id)
        if implicit:
            return Resource(logical_id, implicit, {}, self, ctx)
        raise TemplateError(f"unknown reference {logical_id!r}: not a parameter, resource or pseudo parameter")

    def _implicit_resource(self, logical_id: str) -> str | None:
        """Types of resources SAM generates (function roles, the implicit API)."""
        if logical_id == IMPLICIT_API:
            return "AWS::Serverless::Api"
        if logical_id.endswith("Role") and logical_id[:-4] in self.resources_of_type("AWS::Serverless::Function"):
            return "AWS::IAM::Role"
        return None

    # ---------------------------------------------------------------- functions
    def functions(self, ctx: Context) -> list[FunctionSpec]:
        """Every enabled AWS::Serverless::Function, Globals merged, environment resolved."""
        return [
            self.function(logical_id, ctx)
            for logical_id in self.resources_of_type("AWS::Serverless::Function")
            if self.enabled(logical_id, ctx)
        ]

    def function(self, logical_id: str, ctx: Context) -> FunctionSpec:
        props = self.properties(logical_id)
        code_uri = self.resolve(props.get("CodeUri"), ctx)
        if props.get("PackageType") == "Image" or props.get("InlineCode") is not None:
            raise TemplateError(f"{logical_id}: only zip functions with a local CodeUri run locally")
        if not isinstance(code_uri, str) or code_uri.startswith("s3://"):
            raise TemplateError(f"{logical_id}: CodeUri must be a local directory, got {code_uri!r}")
        handler = str(self.resolve(props.get("Handler"), ctx) or "")
        if "." not in handler:
            raise TemplateError(f"{logical_id}: Handler must look like module.function, got {handler!r}")
        variables = (props.get("Environment") or {}).get("Variables") or {}
        environment = {}
        for key, value in variables.items():
            resolved = self.resolve(value, ctx)
            if resolved is not None:
                environment[key] = _to_str(resolved)
        events = [
            EventSpec(name, str(ev.get("Type")), ev.get("Properties") or {}, self, ctx)
            for name, ev in (props.get("Events") or {}).items()
        ]
        name = self.ref(logical_id, ctx)
        return FunctionSpec(
            logical_id=logical_id,
            name=name,
            arn=self.get_att(logical_id, "Arn", ctx),
            code_uri=(self.dir / code_uri).resolve(),
            handler=handler,
            runtime=str(self.resolve(props.get("Runtime"), ctx) or ""),
            memory_size=int(self.resolve(props.get("MemorySize", 128), ctx)),
            timeout=float(self.resolve(props.get("Timeout", 3), ctx)),
            environment=environment,
            events=events,
            properties=props,
        )

    # ---------------------------------------------------------------- events and routes
    def event_sources(self, ctx: Context, event_type: str) -> list[Any]:
        """Parse every function event of `event_type` with its `EVENT_PARSERS` entry."""
        parser = EVENT_PARSERS.get(event_type)
        if parser is None:
            raise TemplateError(f"no parser registered for {event_type} events")
        out = []
        for spec in self.functions(ctx):
            for event in spec.events:
                if event.type == event_type:
                    out.append(parser(self, ctx, spec, event))
        return out

    def api_routes(self, ctx: Context) -> list[Route]:
        return self.event_sources(ctx, "Api")

    def api_properties(self, api_logical_id: str, ctx: Context) -> dict[str, Any]:
        """An Api's properties, resolved; the implicit API gets Globals.Api and stage Prod."""
        if api_logical_id == IMPLICIT_API and api_logical_id not in self.resources:
            props = _merge_globals(self.globals.get("Api") or {}, {"StageName": "Prod"})
        else:
            if self.resources.get(api_logical_id, {}).get("Type") != "AWS::Serverless::Api":
                raise TemplateError(f"{api_logical_id} is not an AWS::Serverless::Api")
            props = self.properties(api_logical_id)
        return self.resolve(props, ctx)

    def outputs(self, ctx: Context) -> dict[str, Any]:
        return {
            name: self.resolve(out.get("Value"), ctx)
            for name, out in (self.data.get("Outputs") or {}).items()
            if out.get("Condition") is None or self.condition(out["Condition"], ctx)
        }


def load(path: str | Path) -> Template:
    path = Path(path).resolve()
    return Template(_parse(path.read_text(encoding="utf-8")), path)


def loads(text: str, base_dir: str | Path | None = None) -> Template:
    """Parse template text; relative CodeUri values resolve against `base_dir`."""
    return Template(_parse(text), Path(base_dir or Path.cwd()).resolve() / "template.yaml")


# --------------------------------------------------------------------------- event parsers


def _api_route(template: Template, ctx: Context, spec: FunctionSpec, event: EventSpec) -> Route:
    raw = event.raw
    api_ref = raw.get("RestApiId")
    if api_ref is None:
        api = IMPLICIT_API
    elif isinstance(api_ref, dict) and "Ref" in api_ref:
        api = api_ref["Ref"]
    else:
        raise TemplateError(f"{spec.logical_id}.{event.name}: RestApiId must be !Ref to an Api")
    api_props = template.api_properties(api, ctx)
    props = event.properties
    auth = props.get("Auth") or {}
    authorizer = auth.get("Authorizer") or (api_props.get("Auth") or {}).get("DefaultAuthorizer")
    if authorizer == "NONE":
        authorizer = None
    return Route(
        path=str(props["Path"]),
        method=str(props["Method"]).upper(),
        function=spec.logical_id,
        authorizer=authorizer,
        stage=str(api_props.get("StageName", "Prod")),
        api=api,
        api_id=str(template.ref(api, ctx)),
        cors=_cors(api_props.get("Cors")),
    )


def _unquote(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == "'" else text


def _cors(value: Any) -> Cors | None:
    if value is None:
        return None
    if isinstance(value, str):
        return Cors(allow_origin=_unquote(value) or "*")
    return Cors(
        allow_origin=_unquote(value.get("AllowOrigin")) or "*",
        allow_methods=_unquote(value.get("AllowMethods")),
        allow_headers=_unquote(value.get("AllowHeaders")),
        expose_headers=_unquote(value.get("ExposeHeaders")),
        max_age=_unquote(value.get("MaxAge")),
        allow_credentials=_truthy(value.get("AllowCredentials", False)),
    )


# ---- stream, queue and topic events (run by caisse_local.event_sources)


@dataclass(frozen=True)
class StreamSource:
    """A function's DynamoDB stream event: what Lambda's event source mapping is configured with."""

    function: str
    event: str
    stream_arn: str
    starting_position: str
    batch_size: int = 100
    batching_window: float = 0.0
    maximum_retry_attempts: int = -1  # -1: retry until the record expires, like Lambda
    bisect_on_error: bool = False
    report_batch_item_failures: bool = False
    on_failure: str | None = None  # an SQS queue or SNS topic ARN
    enabled: bool = True
    filters: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class QueueSource:
    """A function's SQS event."""

    function: str
    event: str
    queue_arn: str
    batch_size: int = 10
    batching_window: float = 0.0
    report_batch_item_failures: bool = False
    enabled: bool = True
    filters: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class TopicSource:
    """A function's SNS event (Lambda subscribes the function to the topic)."""

    function: str
    event: str
    topic_arn: str
    filter_policy: str | None = None  # JSON text, as the subscription attribute wants it
    filter_policy_scope: str | None = None


def _report_failures(props: dict[str, Any]) -> bool:
    return "ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or [])


def _filters(where: str, props: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """FilterCriteria patterns (JSON text in the template) as dicts."""
    patterns = []
    for entry in (props.get("FilterCriteria") or {}).get("Filters") or []:
        pattern = entry.get("Pattern")
        try:
            patterns.append(json.loads(pattern) if isinstance(pattern, str) else dict(pattern))
        except (TypeError, ValueError) as exc:
            raise TemplateError(f"{where}: FilterCriteria pattern is not a JSON object: {pattern!r}") from exc
    return tuple(patterns)


def _dynamodb_source(template: Template, ctx: Context, spec: FunctionSpec, event: EventSpec) -> StreamSource:
    props = event.properties
    where = f"{spec.logical_id}.{event.name}"
    position = str(props.get("StartingPosition") or "")
    if position not in ("TRIM_HORIZON", "LATEST"):
        raise TemplateError(f"{where}: StartingPosition must be TRIM_HORIZON or LATEST, got {position!r}")
    on_failure = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
    return StreamSource(
        function=spec.logical_id,
        event=event.name,
        stream_arn=str(props["Stream"]),
        starting_position=position,
        batch_size=int(props.get("BatchSize", 100)),
        batching_window=float(props.get("MaximumBatchingWindowInSeconds", 0)),
        maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
        bisect_on_error=_truthy(props.get("BisectBatchOnFunctionError", False)),
        report_batch_item_failures=_report_failures(props),
        on_failure=str(on_failure) if on_failure else None,
        enabled=_truthy(props.get("Enabled", True)),
        filters=_filters(where, props),
    )


def _sqs_source(template: Template, ctx: Context, spec: FunctionSpec, event: EventSpec) -> QueueSource:
    props = event.properties
    where = f"{spec.logical_id}.{event.name}"
    batch_size = int(props.get("BatchSize", 10))
    window = float(props.get("MaximumBatchingWindowInSeconds", 0))
    if batch_size > 10 and window < 1:
        raise TemplateError(f"{where}: an SQS BatchSize above 10 needs MaximumBatchingWindowInSeconds >= 1")
    return QueueSource(
        function=spec.logical_id,
        event=event.name,
        queue_arn=str(props["Queue"]),
        batch_size=batch_size,
        batching_window=window,
        report_batch_item_failures=_report_failures(props),
        enabled=_truthy(props.get("Enabled", True)),
        filters=_filters(where, props),
    )


def _sns_source(template: Template, ctx: Context, spec: FunctionSpec, event: EventSpec) -> TopicSource:
    props = event.properties
    policy = props.get("FilterPolicy")
    return TopicSource(
        function=spec.logical_id,
        event=event.name,
        topic_arn=str(props["Topic"]),
        filter_policy=None if policy is None else policy if isinstance(policy, str) else json.dumps(policy),
        filter_policy_scope=props.get("FilterPolicyScope"),
    )


EventParser = Callable[[Template, Context, FunctionSpec, EventSpec], Any]
EVENT_PARSERS: dict[str, EventParser] = {
    "Api": _api_route,
    "DynamoDB": _dynamodb_source,
    "SQS": _sqs_source,
    "SNS": _sns_source,
}
"""Function event parsers by event Type (S3 events: BucketSource below; schedules are run on demand)."""


# ---- S3 events (run by caisse_local.s3_events)


@dataclass(frozen=True)
class BucketSource:
    """A function's S3 event: which bucket of this template, which event names, which key filter."""

    function: str
    event: str
    bucket: str  # logical id: SAM only accepts a bucket declared in the same template
    events: tuple[str, ...]
    filter_rules: tuple[dict[str, str], ...] = ()  # [{"Name": "prefix" | "suffix", "Value": ...}]


def _s3_source(template: Template, ctx: Context, spec: FunctionSpec, event: EventSpec) -> BucketSource:
    where = f"{spec.logical_id}.{event.name}"
    bucket = event.raw.get("Bucket")
    if not (isinstance(bucket, dict) and isinstance(bucket.get("Ref"), str)):
        raise TemplateError(f"{where}: Bucket must be !Ref to an AWS::S3::Bucket of this template")
    props = event.properties
    names = props.get("Events")
    rules = ((props.get("Filter") or {}).get("S3Key") or {}).get("Rules") or []
    return BucketSource(
        function=spec.logical_id,
        event=event.name,
        bucket=bucket["Ref"],
        events=tuple([names] if isinstance(names, str) else names or ()),
        filter_rules=tuple({"Name": str(r["Name"]).lower(), "Value": str(r["Value"])} for r in rules),
    )


EVENT_PARSERS["S3"] = _s3_source


# --------------------------------------------------------------------------- helpers


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _to_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        raise TemplateError(f"expected a scalar, got {value!r}")
    return str(value)


def _is_intrinsic(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = str(next(iter(value)))
    return key in ("Ref", "Condition") or key.startswith("Fn::")


def _merge_globals(glob: Any, local: Any) -> Any:
    """SAM's Globals rule: maps merge key by key, lists concatenate (globals first), scalars: local wins."""
    if isinstance(glob, dict) and isinstance(local, dict) and not (_is_intrinsic(glob) or _is_intrinsic(local)):
        merged = copy.deepcopy(glob)
        for key, value in local.items():
            merged[key] = _merge_globals(glob[key], value) if key in glob else copy.deepcopy(value)
        return merged
    if isinstance(glob, list) and isinstance(local, list):
        return copy.deepcopy(glob) + copy.deepcopy(local)
    return copy.deepcopy(local)


_SUB_VAR = re.compile(r"\$\{([^}]*)\}")


class _Resolver:
    """Evaluates intrinsic functions for one template and context."""

    def __init__(self, template: Template, ctx: Context):
        self.t = template
        self.ctx = ctx

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            key = next(iter(value))
            fn = self._FUNCTIONS.get(key)
            if fn is not None:
                return fn(self, value[key])
        out = {}
        for k, v in value.items():
            resolved = self.resolve(v)
            if resolved is not NO_VALUE:
                out[k] = resolved
        return out

    def _ref(self, name: Any) -> Any:
        return self.t.ref(str(self.resolve(name)), self.ctx)

    def _get_att(self, arg: Any) -> Any:
        arg = self.resolve(arg)
        if isinstance(arg, str):
            arg = arg.split(".", 1)
        logical_id, attribute = arg
        return self.t.get_att(str(logical_id), str(attribute), self.ctx)

    def _sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, variables = arg[0], self.resolve(arg[1]) if len(arg) > 1 else {}
        else:
            text, variables = arg, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return _to_str(variables[name])
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return _to_str(self.t.get_att(logical_id, attribute, self.ctx))
            return _to_str(self.t.ref(name, self.ctx))

        return _SUB_VAR.sub(replace, str(text))

    def _join(self, arg: Any) -> str:
        sep, items = self.resolve(arg)
        return str(sep).join(_to_str(i) for i in items)

    def _if(self, arg: Any) -> Any:
        name, yes, no = arg
        return self.resolve(yes if self.t.condition(str(name), self.ctx) else no)

    def _equals(self, arg: Any) -> bool:
        a, b = self.resolve(arg)
        return _norm(a) == _norm(b)

    def _not(self, arg: Any) -> bool:
        (value,) = self.resolve(arg)
        return not value

    def _and(self, arg: Any) -> bool:
        return all(self.resolve(arg))

    def _or(self, arg: Any) -> bool:
        return any(self.resolve(arg))

    def _condition(self, name: Any) -> bool:
        return self.t.condition(str(name), self.ctx)

    def _select(self, arg: Any) -> Any:
        index, items = self.resolve(arg)
        return items[int(index)]

    def _split(self, arg: Any) -> list[str]:
        sep, text = self.resolve(arg)
        return str(text).split(str(sep))

    def _find_in_map(self, arg: Any) -> Any:
        name, top, second = (_to_str(v) for v in self.resolve(arg)[:3])
        try:
            return self.t.mappings[name][top][second]
        except KeyError:
            raise TemplateError(f"!FindInMap [{name}, {top}, {second}] has no value") from None

    def _base64(self, arg: Any) -> str:
        return base64.b64encode(_to_str(self.resolve(arg)).encode()).decode()

    def _get_azs(self, arg: Any) -> list[str]:
        region = self.resolve(arg) or self.ctx.region
        return [f"{region}{z}" for z in "abc"]

    def _length(self, arg: Any) -> int:
        return len(self.resolve(arg))

    def _to_json_string(self, arg: Any) -> str:
        return json.dumps(self.resolve(arg), separators=(",", ":"))

    def _unsupported(self, arg: Any) -> Any:
        raise TemplateError(f"the local stack cannot resolve {arg!r} (ImportValue/Cidr need real AWS)")

    _FUNCTIONS: dict[str, Callable[[_Resolver, Any], Any]] = {
        "Ref": _ref,
        "Fn::GetAtt": _get_att,
        "Fn::Sub": _sub,
        "Fn::Join": _join,
        "Fn::If": _if,
        "Fn::Equals": _equals,
        "Fn::Not": _not,
        "Fn::And": _and,
        "Fn::Or": _or,
        "Condition": _condition,
        "Fn::Select": _select,
        "Fn::Split": _split,
        "Fn::FindInMap": _find_in_map,
        "Fn::Base64": _base64,
        "Fn::GetAZs": _get_azs,
        "Fn::Length": _length,
        "Fn::ToJsonString": _to_json_string,
        "Fn::ImportValue": _unsupported,
        "Fn::Cidr": _unsupported,
    }


def _norm(value: Any) -> Any:
    """Fn::Equals compares strings: 7 equals "7", true equals "true"."""
    return _to_str(value) if not isinstance(value, (dict, list)) else value


def iter_references(value: Any) -> Iterable[str]:
    """Logical ids (and parameters) a raw value refers to, for ordering resource creation."""
    if isinstance(value, list):
        for item in value:
            yield from iter_references(item)
    elif isinstance(value, dict):
        if len(value) == 1:
            key, arg = next(iter(value.items()))
            if key == "Ref" and isinstance(arg, str):
                yield arg
                return
            if key == "Fn::GetAtt":
                target = arg.split(".", 1)[0] if isinstance(arg, str) else arg[0]
                if isinstance(target, str):
                    yield target
                return
            if key == "Fn::Sub":
                text = arg[0] if isinstance(arg, list) else arg
                names = set(arg[1]) if isinstance(arg, list) and len(arg) > 1 else set()
                for match in _SUB_VAR.finditer(str(text)):
                    name = match.group(1)
                    if not name.startswith("!") and name not in names:
                        yield name.split(".", 1)[0]
                if isinstance(arg, list) and len(arg) > 1:
                    yield from iter_references(arg[1])
                return
        for item in value.values():
            yield from iter_references(item)


def main(argv: list[str] | None = None) -> int:
    """`python -m caisse_local.template template.yaml`: the template with its Fn::ForEach loops
    expanded, as JSON, for tools that do not expand them (checkov, `make scan`)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("template", type=Path)
    args = parser.parse_args(argv)
    json.dump(load(args.template).data, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
