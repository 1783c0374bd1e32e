"""How every API function answers: Powertools' REST resolver with pydantic validation, CORS, a
body-size limit, one error shape, {"error": <code>, "message": <text>, ...details}, the security
headers of caisse.pages on every answer, and a JSON 500 with the request id for any error nobody
expected (its trace goes to the log, never to the caller)."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

# isort: off
import caisse.rest_only  # noqa: F401  # first: Powertools' event handler without its other resolvers

# isort: on
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig
from aws_lambda_powertools.event_handler import Response as Response  # handlers import the route's parts from here
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Header as Header
from aws_lambda_powertools.event_handler.openapi.params import Path as Path
from aws_lambda_powertools.event_handler.openapi.params import Query as Query
from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException

from caisse.answers import internal_error, with_security_headers
from caisse.config import settings
from caisse.errors import CaisseError
from caisse.money import AmountTooLarge, MoneyError
from caisse.staff import Person, Staff, person_from_claims, staff_from_claims

MAX_BODY_BYTES = 64 * 1024

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse


def error_response(status: int, body: dict[str, Any]) -> Response[Any]:
    return Response(status_code=status, content_type="application/json", body=json.dumps(body))


def _field(location: Any) -> str:
    parts = [str(part) for part in location if part != "body"]
    return ".".join(parts) or "body"


def _validation_error(error: RequestValidationError) -> Response[Any]:
    problems = error.errors()
    if any(problem.get("type") == "json_invalid" for problem in problems):
        return error_response(400, {"error": "malformed_json", "message": "the request body is not valid JSON"})
    details = [
        # A validator's own ValueError reads as its message, without pydantic's "Value error, " before it.
        {
            "field": _field(problem.get("loc", ())),
            "message": str(problem.get("msg", "invalid")).removeprefix("Value error, "),
        }
        for problem in problems
    ]
    summary = "; ".join(f"{d['field']}: {d['message']}" for d in details)
    return error_response(422, {"error": "invalid_request", "message": summary, "details": details})


MALFORMED_JSON = {"error": "malformed_json", "message": "the request body is not valid JSON (UTF-8)"}


def _body_problem(event: Mapping[str, Any]) -> tuple[int, dict[str, str]] | None:
    """Bodies that are too big, not JSON, not UTF-8 or nested past what a parser can take, refused
    with a 4xx before anything parses them for real."""
    body = event.get("body") or ""
    limit = MAX_BODY_BYTES * 4 // 3 if event.get("isBase64Encoded") else MAX_BODY_BYTES
    if len(body) > limit:
        return 413, {"error": "payload_too_large", "message": f"bodies are limited to {MAX_BODY_BYTES} bytes"}
    headers = {key.lower(): value for key, value in (event.get("headers") or {}).items()}
    content_type = (headers.get("content-type") or "").split(";")[0].strip().lower()
    if body and content_type != "application/json":
        return 415, {
            "error": "unsupported_media_type",
            "message": "send a JSON body with Content-Type: application/json",
        }
    if body and not _is_json(body, bool(event.get("isBase64Encoded"))):
        return 400, MALFORMED_JSON
    return None


def _is_json(body: str, encoded: bool) -> bool:
    """UTF-8 JSON that Python's parser can read: bytes that are not UTF-8 arrive base64-encoded,
    and JSON nested thousands of levels deep exhausts the parser's recursion."""
    try:
        text = base64.b64decode(body, validate=True).decode("utf-8") if encoded else body
        json.loads(text)
    except (ValueError, RecursionError):  # UnicodeDecodeError and binascii.Error are ValueErrors
        return False
    return True


class CaisseResolver(APIGatewayRestResolver):
    """Powertools validates the body before any middleware runs, so the size and type checks sit
    in front of resolve()."""

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        problem = _body_problem(event)
        if problem is not None:
            status, body = problem
            return with_security_headers(
                {
                    "statusCode": status,
                    "headers": {
                        "Content-Type": "application/json",
                        "Access-Control-Allow-Origin": settings().allowed_origin,
                    },
                    "body": json.dumps(body),
                    "isBase64Encoded": False,
                }
            )
        return with_security_headers(super().resolve(event, context))


def resolver(logger: Logger) -> APIGatewayRestResolver:
    """The resolver each API function builds once at import."""
    app = CaisseResolver(
        enable_validation=True,
        cors=CORSConfig(
            allow_origin=settings().allowed_origin, allow_headers=["Idempotency-Key", "X-Access-Code"], max_age=600
        ),
    )

    @app.exception_handler(RequestValidationError)
    def _invalid(error: RequestValidationError) -> Response[Any]:
        return _validation_error(error)

    @app.exception_handler(CaisseError)
    def _domain(error: CaisseError) -> Response[Any]:
        if error.status >= 500:
            logger.error("request failed", extra={"error": error.code})
        return error_response(error.status, error.body())

    @app.exception_handler(MoneyError)
    def _money(error: MoneyError) -> Response[Any]:
        # An amount no provider takes (or that is no amount): refused before anything is stored or sent.
        if isinstance(error, AmountTooLarge):
            body = {"error": "amount_too_large", "message": str(error), "maximum": error.maximum.as_dict()}
        else:
            body = {"error": "invalid_amount", "message": str(error)}
        return error_response(422, body)

    @app.exception_handler([PynamoDBException, ClientError, BotoCoreError])
    def _aws(error: Exception) -> Response[Any]:
        # Our storage failed: nothing was asked of any provider after a write that did not happen.
        logger.error("AWS request failed", extra={"error": type(error).__name__})
        return error_response(
            503, {"error": "service_unavailable", "message": "something on our side failed; please try again"}
        )

    @app.not_found
    def _not_found(_: Exception) -> Response[Any]:
        return error_response(404, {"error": "not_found", "message": "no such route"})

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response[Any]:
        # Powertools picks the most specific handler: this one only sees what nothing above knows.
        logger.exception("unexpected error", extra={"error": type(error).__name__})
        return error_response(500, internal_error(app.current_event.request_context.request_id))

    return app


EDGE_ERRORS = {
    400: "malformed_json: the body is not JSON (UTF-8) that a parser can read",
    413: f"payload_too_large: bodies are limited to {MAX_BODY_BYTES} bytes",
    415: "unsupported_media_type: a body sent as anything but application/json",
    422: "invalid_request (a parameter or the body breaks the rules; `details` names each field), "
    "invalid_amount or amount_too_large (more than the payment provider takes at once)",
    503: "service_unavailable: our storage failed; nothing was done, try again",
}
"""What every route of the resolver can answer before or around its own code (scripts/openapi.py
adds them to each operation of the document)."""
STAFF_ERRORS = {403: "forbidden: the staff member's merchant is not this resource's"}
"""What every staff route can answer as well (a missing or invalid token is API Gateway's 401)."""


def error_responses(described: dict[int, str]) -> dict[int, OpenAPIResponse]:
    """OpenAPI `responses` for the errors a route answers, in the one error shape (the document's
    Error schema, added by scripts/openapi.py)."""
    schema = {"$ref": "#/components/schemas/Error"}
    return {
        status: {"description": text, "content": {"application/json": {"schema": schema}}}
        for status, text in described.items()
    }


def current_staff(app: APIGatewayRestResolver) -> Staff:
    """The staff member behind an admin request (API Gateway's Cognito authorizer checked the token)."""
    return staff_from_claims(app.current_event.request_context.authorizer.claims)


def current_person(app: APIGatewayRestResolver) -> Person:
    """Whoever signed in to the staff user pool, staff of a merchant or not yet (the sign-up route)."""
    return person_from_claims(app.current_event.request_context.authorizer.claims)


def client_ip(app: APIGatewayRestResolver) -> str | None:
    """The caller's address as API Gateway saw the connection (never a header the client sets)."""
    return app.current_event.request_context.identity.source_ip or None
