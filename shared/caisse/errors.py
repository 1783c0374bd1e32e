"""Errors the domain raises on purpose. Each carries the HTTP status and a machine-readable code,
so every API function answers bad input the same way: {"error": code, "message": text, ...}."""

from __future__ import annotations

from typing import Any


class CaisseError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code:
            self.code = code

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.details}


class InvalidRequest(CaisseError):
    status = 422
    code = "invalid_request"


class Unauthorized(CaisseError):
    status = 401
    code = "unauthorized"


class Forbidden(CaisseError):
    status = 403
    code = "forbidden"


class NotFound(CaisseError):
    status = 404
    code = "not_found"


class Conflict(CaisseError):
    status = 409
    code = "conflict"


class SoldOut(Conflict):
    code = "sold_out"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class IdempotencyMismatch(CaisseError):
    status = 422
    code = "idempotency_key_reused"


class ProviderUnavailable(CaisseError):
    status = 503  # the provider, not us: try again later, as API Gateway says for a service down
    code = "provider_unavailable"


class Gone(CaisseError):
    status = 410
    code = "gone"
