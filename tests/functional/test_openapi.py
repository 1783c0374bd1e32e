"""The OpenAPI document comes from the functions' code, covers every API route of template.yaml,
and the copy committed for GET /openapi.json is exactly what the code generates."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from caisse_local import template as templates

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "functions" / "api_docs" / "openapi.json"


@pytest.fixture(scope="module")
def generated() -> str:
    return subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "scripts" / "openapi.py")], capture_output=True, text=True, timeout=120, check=True
    ).stdout


def test_every_api_route_is_documented_with_its_models(generated):
    document = json.loads(generated)
    routes = templates.load(ROOT / "template.yaml").api_routes(templates.Context(stack_name="doc"))
    for route in routes:
        if route.path.startswith(("/webhooks/", "/order/", "/console", "/docs")):
            continue  # providers call the webhooks, browsers read the pages
        operation = document["paths"][route.path][route.method.lower()]
        assert ("security" in operation) == bool(route.authorizer), route.path
    checkout = document["paths"]["/checkouts"]["post"]
    body_schema = checkout["requestBody"]["content"]["application/json"]["schema"]
    assert body_schema["$ref"].endswith("/CheckoutIn")
    assert {p["name"].lower() for p in checkout["parameters"]} == {"idempotency-key"}
    quantity = document["components"]["schemas"]["CartItemIn"]["properties"]["quantity"]
    assert quantity["minimum"] == 1
    assert checkout["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")


def test_the_committed_document_is_what_the_code_generates(generated):
    assert COMMITTED.read_text() == generated, (
        "functions/api_docs/openapi.json is not what the code generates: run `make openapi` and commit it"
    )


def test_the_staff_routes_document_their_filters_and_errors(generated):
    document = json.loads(generated)
    listing = document["paths"]["/admin/orders"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert {"merchant", "status", "money_state", "provider", "product", "created_from", "created_to", "q"} <= names
    assert {"limit", "cursor"} <= names
    assert {"401", "403", "422"} <= listing["responses"].keys()
    export = document["paths"]["/admin/orders/export"]["get"]["responses"]
    assert "text/csv" in export["200"]["content"] and "303" in export
    assert "409" in document["paths"]["/admin/products/{sku}/stock"]["post"]["responses"]
