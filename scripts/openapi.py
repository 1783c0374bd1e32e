#!/usr/bin/env python3
"""Print the API's OpenAPI document, generated from the API functions' own code (each function's
Powertools resolver knows its routes and pydantic models) and merged into one document.

    .venv/bin/python scripts/openapi.py > openapi.json      (make openapi)

Provider webhooks and the pages (HTML, served from functions/pages) are left out: providers and
browsers call them, not API clients.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "machine-readable code, e.g. invalid_request, sold_out"},
        "message": {"type": "string", "description": "what went wrong, in words"},
        "details": {"type": "array", "items": {"type": "object"}},
    },
    "additionalProperties": True,
}
GATEWAY_ERROR_SCHEMA = {
    "type": "object",
    "required": ["message"],
    "properties": {"message": {"type": "string", "description": "API Gateway's words, e.g. Unauthorized"}},
}
UNAUTHORIZED = {
    "description": "No staff token, or one that is not valid: API Gateway's Cognito authorizer answers",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/GatewayError"}}},
}
STAFF_SCHEME = {"StaffToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (Cognito ID token)"}}


def not_json_api(spec: Any) -> bool:
    """Webhooks (providers call them) and pages (browsers read them) are not the JSON API."""
    return spec.logical_id.endswith("WebhookFunction") or spec.code_uri.name == "pages"


def _add_errors(operation: dict[str, Any], described: dict[int, str]) -> None:
    """Every status the shared edge can answer, in the error shape; a route's own description of a
    status wins (Powertools' default 422, which is not our shape, is replaced)."""
    from caisse.web import error_responses

    responses = operation.setdefault("responses", {})
    for status, response in error_responses(described).items():
        mine = responses.get(str(status))
        if mine is None or status == 422 or "content" not in mine:
            description = (mine or {}).get("description") if status != 422 else None
            responses[str(status)] = {**response, "description": description or response["description"]}


def build() -> dict[str, Any]:
    from caisse.web import EDGE_ERRORS, STAFF_ERRORS
    from caisse_local import template as templates

    template = templates.load(ROOT / "template.yaml")
    ctx = templates.Context(stack_name="caisse-openapi")
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Caisse API", "version": "1", "description": "Payments and fulfilment for small shops."},
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": STAFF_SCHEME},
    }
    routes = {(r.path, r.method.lower()): r for r in template.api_routes(ctx)}
    for spec in template.functions(ctx):
        if not any(e.type == "Api" for e in spec.events) or not_json_api(spec):
            continue
        for name, value in spec.environment.items():
            os.environ.setdefault(name, value)
        module_spec = importlib.util.spec_from_file_location(
            f"openapi_{spec.module}", spec.code_uri / f"{spec.module}.py"
        )
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        if hasattr(module, "OPENAPI_PATHS"):  # a function without Powertools' resolver describes itself
            part = {"paths": module.OPENAPI_PATHS}
        else:
            part = json.loads(module.app.get_openapi_json_schema(title="Caisse API", version="1"))
        for path, operations in part.get("paths", {}).items():
            for method, operation in operations.items():
                route = routes.get((path, method))
                staff = route is not None and bool(route.authorizer)
                if staff:
                    operation["security"] = [{"StaffToken": []}]
                    operation.setdefault("responses", {})["401"] = UNAUTHORIZED
                if hasattr(module, "app"):  # answered through caisse.web's resolver
                    _add_errors(operation, {**EDGE_ERRORS, **(STAFF_ERRORS if staff else {})})
                if not any(status[0] in "23" for status in operation.get("responses", {})):
                    raise ValueError(f"{method.upper()} {path} documents no success or redirect status")
                document["paths"].setdefault(path, {})[method] = operation
        document["components"]["schemas"].update(part.get("components", {}).get("schemas", {}))
    for unused in ("HTTPValidationError", "ValidationError"):
        document["components"]["schemas"].pop(unused, None)
    document["components"]["schemas"]["Error"] = ERROR_SCHEMA
    document["components"]["schemas"]["GatewayError"] = GATEWAY_ERROR_SCHEMA
    return document


def main() -> int:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    json.dump(build(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
