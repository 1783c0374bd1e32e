"""The OpenAPI document comes from the functions' code and covers every API route of template.yaml."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from caisse_local import template as templates

ROOT = Path(__file__).resolve().parents[2]


def test_every_api_route_is_documented_with_its_models():
    output = subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "scripts" / "openapi.py")], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    document = json.loads(output)
    routes = templates.load(ROOT / "template.yaml").api_routes(templates.Context(stack_name="doc"))
    for route in routes:
        if route.path.startswith(("/webhooks/", "/order/", "/console")):
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
