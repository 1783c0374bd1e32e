"""GET /health: 200 when this API can work - its configuration is there and DynamoDB answers one
cheap read within two seconds - and 503 naming the check that failed, so a load balancer or an uptime
probe stops sending customers to a region that cannot take an order.

No Powertools, no pydantic, no pynamodb: what load balancers poll should start in a fraction of the
time the other functions take (make bench measures it); botocore is enough for one GetItem. It
answers as the shared resolver (caisse.web) would: JSON, the security headers every answer carries,
Access-Control-Allow-Origin for an allowed Origin (API Gateway answers the preflight), and the
error shape for anything but GET /health."""

import json
import os
from functools import cache

from caisse.answers import with_security_headers
from caisse.clock import iso, utcnow

ROUTE = ("GET", "/health")
TIMEOUT_SECONDS = 2  # DynamoDB answers a GetItem in milliseconds; the local stack under load needs more
REQUIRED_SETTINGS = (
    "CATALOG_TABLE",
    "ORDERS_TABLE",
    "WEBHOOK_EVENTS_TABLE",
    "NOTIFICATIONS_QUEUE_URL",
    "PARAMETER_PREFIX",
    "SHOP_URL",
)
"""What every order needs from the environment (template.yaml's Globals): named, never shown."""

_CHECKS = {
    "type": "object",
    "properties": {
        "dynamodb": {"type": "string", "enum": ["ok", "failed"]},
        "configuration": {"type": "string", "enum": ["ok", "failed"]},
    },
}
OPENAPI_PATHS = {
    "/health": {
        "get": {
            "summary": "GET /health",
            "operationId": "health_health_get",
            "responses": {
                "200": {
                    "description": "The configuration is complete and DynamoDB answered a read within two seconds",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "status": {"type": "string", "enum": ["ok"]},
                                    "service": {"type": "string"},
                                    "time": {"type": "string", "format": "date-time"},
                                    "checks": _CHECKS,
                                },
                            }
                        }
                    },
                },
                "503": {
                    "description": "A check failed (service_unavailable, with the checks)",
                    "content": {
                        "application/json": {
                            "schema": {
                                "allOf": [
                                    {"$ref": "#/components/schemas/Error"},
                                    {"type": "object", "properties": {"checks": _CHECKS}},
                                ]
                            }
                        }
                    },
                },
            },
        }
    }
}
"""What scripts/openapi.py documents for this function, which has no Powertools resolver to ask."""


def handler(event, context):
    if (event.get("httpMethod"), event.get("path")) != ROUTE:
        return _answer(event, 404, {"error": "not_found", "message": "no such route"})
    missing = [name for name in REQUIRED_SETTINGS if not os.environ.get(name)]
    checks = {
        "configuration": "failed" if missing else "ok",
        "dynamodb": "ok" if not missing and _dynamodb_answers() else "failed",
    }
    if "failed" in checks.values():
        print(json.dumps({"level": "ERROR", "message": "health check failed", "checks": checks, "missing": missing}))
        message = "this API cannot take orders now: " + ", ".join(k for k, v in checks.items() if v == "failed")
        return _answer(event, 503, {"error": "service_unavailable", "message": message, "checks": checks})
    return _answer(event, 200, {"status": "ok", "service": "caisse", "time": iso(utcnow()), "checks": checks})


@cache
def _dynamodb():
    """A client that gives up after two seconds and never retries: a health check must answer fast."""
    import botocore.session
    from botocore.config import Config

    config = Config(
        connect_timeout=TIMEOUT_SECONDS, read_timeout=TIMEOUT_SECONDS, retries={"max_attempts": 1, "mode": "standard"}
    )
    return botocore.session.get_session().create_client("dynamodb", config=config)


def _dynamodb_answers() -> bool:
    """One eventually consistent GetItem of a key that never exists: half a read unit."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        _dynamodb().get_item(
            TableName=os.environ["CATALOG_TABLE"], Key={"pk": {"S": "HEALTH#probe"}}, ProjectionExpression="pk"
        )
    except (BotoCoreError, ClientError) as error:
        print(json.dumps({"level": "ERROR", "message": "DynamoDB did not answer", "error": type(error).__name__}))
        return False
    return True


def _answer(event: dict, status: int, body: dict) -> dict:
    headers = {"Content-Type": "application/json", "Cache-Control": "no-store"}
    origin = next((value for name, value in (event.get("headers") or {}).items() if name.lower() == "origin"), None)
    allowed = os.environ.get("ALLOWED_ORIGIN", "*")  # as caisse.config reads it (whose dataclass costs 20 ms)
    if origin and allowed in ("*", origin):
        headers["Access-Control-Allow-Origin"] = allowed
    return with_security_headers(
        {"statusCode": status, "headers": headers, "body": json.dumps(body), "isBase64Encoded": False}
    )
