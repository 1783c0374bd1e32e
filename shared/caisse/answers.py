"""How an API Gateway proxy answer is finished, for the resolver (caisse.web) and for the functions
that answer without it (the webhooks, which must not pay the resolver's import on a cold start):
the security headers of caisse.pages on every answer, and a JSON 500 with the request id for an
error nobody expected (its trace goes to the log, never to the caller)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from caisse.pages import HEADERS as SECURITY_HEADERS


def with_security_headers(answer: dict[str, Any]) -> dict[str, Any]:
    """An API Gateway proxy answer with HSTS, nosniff, frame denial, the referrer policy and the
    CSP of caisse.pages (one source for pages and JSON), unless the answer set its own."""
    multi = answer.get("multiValueHeaders")
    if multi is not None:
        for name, value in SECURITY_HEADERS.items():
            multi.setdefault(name, [value])
    else:
        answer["headers"] = {**SECURITY_HEADERS, **(answer.get("headers") or {})}
    return answer


def internal_error(request_id: str | None) -> dict[str, Any]:
    """The body of a JSON 500: the request id to quote, nothing of the error itself (logged with its
    trace by the caller's logger.exception)."""
    return {
        "error": "internal_error",
        "message": "something went wrong on our side; quote the request id if you contact us",
        "request_id": request_id,
    }


def guarded(logger: Any) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    """For API functions that answer without the resolver (the webhooks): the security headers on
    every answer, and an unexpected error answered as the resolver would, a JSON 500 (the provider
    delivers the event again, as after API Gateway's 502)."""

    def wrap(handler: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        @functools.wraps(handler)
        def answer(event: dict[str, Any], context: Any) -> dict[str, Any]:
            try:
                return with_security_headers(handler(event, context))
            except Exception:
                request_id = ((event or {}).get("requestContext") or {}).get("requestId")
                logger.exception("unexpected error", extra={"request_id": request_id})
                return with_security_headers(
                    {
                        "statusCode": 500,
                        "headers": {"Content-Type": "application/json"},
                        "body": json.dumps(internal_error(request_id)),
                        "isBase64Encoded": False,
                    }
                )

        return answer

    return wrap
