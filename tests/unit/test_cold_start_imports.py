"""What a function's cold start loads (issue 19; `make bench` measures the cold starts): an API
function loads Powertools' REST resolver without the package's other resolvers (caisse.rest_only); the Stripe
webhooks check an HMAC without the `stripe` SDK (43 % of their import) or pydantic, and the catalog
document's schema (caisse.catalog.document, 30-50 ms of pydantic models) is loaded when the seed or
the platform's configuration needs it, not by the cold start of a checkout, the public catalog, a
booking or a gallery."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def loaded_after_import(function: str) -> set[str]:
    """The modules a fresh process holds once it imported the function's handler module."""
    probe = "import importlib, sys; importlib.import_module(sys.argv[1]); print(' '.join(sorted(sys.modules)))"
    env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": "1", "AWS_DEFAULT_REGION": "us-east-1"}
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", probe, function],
        cwd=ROOT / "functions" / function,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(done.stdout.strip().splitlines()[-1].split())


@pytest.mark.parametrize("function", ["stripe_webhook", "stripe_connect_webhook"])
def test_a_stripe_webhook_function_imports_neither_the_stripe_sdk_nor_pydantic(function):
    loaded = loaded_after_import(function)
    assert "caisse.payments.stripe.signature" in loaded
    assert sorted(m for m in loaded if m.split(".")[0] in ("stripe", "pydantic")) == []


CHECKOUTS_AND_BOOKINGS = [
    "create_checkout",
    "list_catalog",
    "get_availability",
    "cancel_booking",
    "charge_balance",
    "create_gallery",
]


@pytest.mark.parametrize("function", CHECKOUTS_AND_BOOKINGS)
def test_a_checkout_or_booking_function_does_not_load_the_catalog_schema(function):
    loaded = loaded_after_import(function)
    # The platform's rules are loaded (is this merchant taking orders?), the document's schema is not.
    assert "caisse.catalog.platform" in loaded
    assert "caisse.catalog.document" not in loaded


API_FUNCTIONS = ["create_checkout", "get_order", "admin_list_orders", "get_gallery"]
OTHER_RESOLVERS = ("appsync", "bedrock_agent", "bedrock_agent_function", "vpc_lattice", "http_resolver")


@pytest.mark.parametrize("function", API_FUNCTIONS)
def test_an_api_function_loads_the_rest_resolver_without_the_other_resolvers_nor_asyncio(function):
    loaded = loaded_after_import(function)
    assert "aws_lambda_powertools.event_handler.api_gateway" in loaded
    assert "aws_lambda_powertools.event_handler.openapi.params" in loaded  # the validating resolver
    others = [f"aws_lambda_powertools.event_handler.{name}" for name in OTHER_RESOLVERS]
    assert sorted(set(others) & loaded) == []
    assert "aws_lambda_powertools.event_handler.events_appsync" not in loaded
    assert "asyncio" not in loaded  # AppSync's resolver imports it; a REST function has no use for it
    assert "aws_lambda_powertools.utilities.data_classes.code_pipeline_job_event" not in loaded


def test_the_event_handler_package_still_gives_every_name_it_exports():
    """Code that asks the package for something a REST function never uses gets the package whole."""
    probe = (
        "import caisse.web, sys; from aws_lambda_powertools.event_handler import AppSyncResolver, Response; "
        "from aws_lambda_powertools.utilities.data_classes import SQSEvent; "
        "import aws_lambda_powertools.event_handler as package; "
        "print(AppSyncResolver.__module__, Response is caisse.web.Response, SQSEvent.__name__, "
        "sorted(package.__all__) == sorted(n for n in package.__all__ if hasattr(package, n)))"
    )
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True, cwd=ROOT
    )
    assert done.stdout.split() == ["aws_lambda_powertools.event_handler.appsync", "True", "SQSEvent", "True"]


def test_the_stripe_client_builds_no_asynchronous_http_client():
    """The SDK's default builds an httpx AsyncClient (httpcore, an SSL context) beside its sync
    client on a cold function's first Stripe call; we call no `*_async` method."""
    probe = (
        "import sys; from caisse.payments.stripe.client import _client_for; "
        "client = _client_for('sk_test_not_a_key', 'http://127.0.0.1:9'); http = client._requestor._client; "
        "print(type(http).__name__, http._async_fallback_client, 'httpcore' in sys.modules)"
    )
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True, cwd=ROOT
    )
    assert done.stdout.split() == ["RequestsClient", "None", "False"]
