"""Functional tier: each handler, loaded from template.yaml the way Lambda loads it, invoked with
real API Gateway event shapes against moto in-process. The provider edge is the Stripe sandbox on
a loopback port (the one fake we own is of something we do not own)."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from caisse_local import aws as local_aws
from caisse_local import template as templates
from caisse_local.runtime import FunctionPool
from provider_sandbox import serve_in_thread

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
STRIPE_KEY = "sk_test_functional_not_a_real_key"
WEBHOOK_SECRET = "whsec_functional_not_a_secret"
TOKEN_KEY = "functional-order-token-key"
SEEDED_ENV = (
    "CATALOG_TABLE",
    "ORDERS_TABLE",
    "WEBHOOK_EVENTS_TABLE",
    "PARAMETER_PREFIX",
    "MEDIA_TABLE",
    "UPLOADS_BUCKET",
    "RENDITIONS_BUCKET",
    "ORIGINALS_BUCKET",
    "NOTIFICATIONS_TABLE",
    "NOTIFICATIONS_QUEUE_URL",
    "DELIVERABLES_BUCKET",
)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Any]:
    with serve_in_thread(quiet=True) as server:
        os.environ["STRIPE_API_BASE"] = server.url
        from caisse.config import settings

        settings.cache_clear()
        yield server


@pytest.fixture(scope="session")
def parsed_template() -> templates.Template:
    """template.yaml parsed once (about 0.5 s a parse); each test provisions from its own copy."""
    return templates.load(ROOT / "template.yaml")


def _stack(parsed: templates.Template, sandbox: Any) -> tuple[templates.Template, templates.Context]:
    """A copy of the parsed template provisioned into the emulated AWS now active."""
    template = templates.Template(copy.deepcopy(parsed.data), parsed.path)
    ctx = templates.Context(stack_name="caisse-test", parameter_overrides={"StripeApiBase": sandbox.url})
    _provision(template, ctx)
    return template, ctx


@pytest.fixture(scope="session")
def seeded_catalog(sandbox, parsed_template) -> list[dict[str, Any]]:
    """The items `seed(data/catalog.json)` writes, seeded once into an emulated AWS of their own.
    Its UpdateItems cost moto about 0.1 s each (22 a seed); each test gets the same items in one
    BatchWriteItem. The environment's table names are checked against the template here, once."""
    from caisse.catalog.service import seed

    with mock_aws():
        template, ctx = _stack(parsed_template, sandbox)
        for spec in template.functions(ctx):
            for name in SEEDED_ENV:
                if name in spec.environment:
                    assert spec.environment[name] == os.environ[name], f"{name} drifted from template.yaml"
        seed(json.loads((ROOT / "data" / "catalog.json").read_text()))
        table = boto3.resource("dynamodb").Table(os.environ["CATALOG_TABLE"])
        items: list[dict[str, Any]] = []
        scan: dict[str, Any] = {"ConsistentRead": True}
        while True:
            answer = table.scan(**scan)
            items += answer["Items"]
            if "LastEvaluatedKey" not in answer:
                break
            scan["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
    assert items, "seed wrote no catalog"
    return items


@pytest.fixture
def aws(sandbox, parsed_template, seeded_catalog) -> Iterator[templates.Template]:
    """Fresh emulated AWS per test, provisioned from template.yaml, secrets and catalog seeded."""
    with mock_aws():
        template, ctx = _stack(parsed_template, sandbox)
        ssm = boto3.client("ssm")
        for name, value in (
            ("stripe/secret_key", STRIPE_KEY),
            ("stripe/webhook_secret", WEBHOOK_SECRET),
            ("order_token_key", TOKEN_KEY),
        ):
            ssm.put_parameter(Name=f"/caisse/dev/{name}", Value=value, Type="SecureString", Overwrite=True)
        with boto3.resource("dynamodb").Table(os.environ["CATALOG_TABLE"]).batch_writer() as catalog:
            for item in seeded_catalog:
                catalog.put_item(Item=item)
        from caisse.catalog.service import forget_offers

        forget_offers()  # a warm catalog function's copy belongs to the previous test's AWS
        template.ctx = ctx  # type: ignore[attr-defined]
        yield template


def _provision(template: templates.Template, ctx: templates.Context) -> None:
    # moto in-process answers any endpoint URL; None keeps boto3 on its default (patched) one.
    original = local_aws.client
    local_aws.client = lambda service, endpoint_url, region="us-east-1": boto3.client(service, region_name=region)
    try:
        local_aws.provision(template, ctx, "http://moto-in-process")
    finally:
        local_aws.client = original


@pytest.fixture
def invoke(aws) -> Iterator[Any]:
    pools: dict[str, FunctionPool] = {}

    def call(logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
        if logical_id not in pools:
            pools[logical_id] = FunctionPool(aws.function(logical_id, aws.ctx), max_concurrency=1)
        return pools[logical_id].invoke(event)

    yield call
    for pool in pools.values():
        pool.close()


def sample(name: str, **changes: Any) -> dict[str, Any]:
    """A sample event from events/ (the ones `sam local invoke -e` uses), with changes."""
    event = copy.deepcopy(json.loads((EVENTS / f"{name}.json").read_text()))
    event.update(changes)
    return event


@pytest.fixture
def dynamodb_calls(aws) -> Iterator[list[str]]:
    """The DynamoDB operations the domain sends, in order (one entry per HTTP request)."""
    from caisse.catalog.models import CatalogRecord
    from caisse.orders.models import OrderRecord
    from caisse.payments.deliveries import WebhookDelivery

    calls: list[str] = []
    clients = {
        id(m._get_connection().connection.client): m._get_connection().connection.client
        for m in (CatalogRecord, OrderRecord, WebhookDelivery)
    }

    def record(model, **_: Any) -> None:
        calls.append(model.name)

    for client in clients.values():
        client.meta.events.register("before-call.dynamodb", record, unique_id="caisse-count")
    yield calls
    for client in clients.values():
        client.meta.events.unregister("before-call.dynamodb", unique_id="caisse-count")


def set_header(event: dict[str, Any], name: str, value: str | None) -> None:
    """Set (or remove, with None) a header the way API Gateway sends it: in both header maps."""
    for key in [k for k in event["headers"] if k.lower() == name.lower()]:
        event["headers"].pop(key)
        event["multiValueHeaders"].pop(key, None)
    if value is not None:
        event["headers"][name] = value
        event["multiValueHeaders"][name] = [value]
