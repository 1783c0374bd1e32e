"""GET /health: the API and this function answer.

The standard library only (no Powertools, no pydantic): what load balancers poll should start in a
fraction of the time the other functions take (make bench measures it). It answers as the shared
resolver (caisse.web) would: JSON, Access-Control-Allow-Origin for an allowed Origin (API Gateway
answers the preflight), and the error shape for anything but GET /health."""

import json
import os

from caisse.clock import iso, utcnow

ROUTE = ("GET", "/health")
OPENAPI_PATHS = {
    "/health": {
        "get": {
            "summary": "GET /health",
            "operationId": "health_health_get",
            "responses": {
                "200": {
                    "description": "The API and this function answer",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "status": {"type": "string", "enum": ["ok"]},
                                    "service": {"type": "string"},
                                    "time": {"type": "string", "format": "date-time"},
                                },
                            }
                        }
                    },
                }
            },
        }
    }
}
"""What scripts/openapi.py documents for this function, which has no Powertools resolver to ask."""


def handler(event, context):
    if (event.get("httpMethod"), event.get("path")) != ROUTE:
        return _answer(event, 404, {"error": "not_found", "message": "no such route"})
    return _answer(event, 200, {"status": "ok", "service": "caisse", "time": iso(utcnow())})


def _answer(event: dict, status: int, body: dict) -> dict:
    headers = {"Content-Type": "application/json"}
    origin = next((value for name, value in (event.get("headers") or {}).items() if name.lower() == "origin"), None)
    allowed = os.environ.get("ALLOWED_ORIGIN", "*")  # as caisse.config reads it (whose dataclass costs 20 ms)
    if origin and allowed in ("*", origin):
        headers["Access-Control-Allow-Origin"] = allowed
    return {"statusCode": status, "headers": headers, "body": json.dumps(body), "isBase64Encoded": False}
