"""What every provider's webhook function shares: the raw body and headers exactly as API Gateway
delivered them, the security event for a forgery, and the answer."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from caisse.payments.base import PaymentNotice


def raw_body(event: dict[str, Any]) -> bytes:
    """The bytes the provider sent: signatures are over these, never over re-serialised JSON."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return b""
    return body.encode("utf-8")


def header(event: dict[str, Any], name: str) -> str | None:
    """A header by name, whatever case the client or API Gateway gave it."""
    wanted = name.lower()
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == wanted:
            return value
    for key, values in (event.get("multiValueHeaders") or {}).items():
        if key.lower() == wanted and values:
            return values[-1]
    return None


def answer(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def reject(logger: Logger, metrics: Metrics, provider: str, reason: str, event: dict[str, Any]) -> dict[str, Any]:
    """A request that failed verification: a security event, and nothing else written."""
    identity = (event.get("requestContext") or {}).get("identity") or {}
    logger.warning(
        "webhook rejected",
        extra={
            "security_event": "webhook_verification_failed",
            "provider": provider,
            "reason": reason,
            "source_ip": identity.get("sourceIp"),
        },
    )
    metrics.add_dimension(name="provider", value=provider)
    metrics.add_metric(name="WebhookVerificationFailed", unit=MetricUnit.Count, value=1)
    return answer(400, {"error": "invalid_webhook", "message": "the request could not be verified"})


def settle_and_answer(notice: PaymentNotice, logger: Logger, metrics: Metrics) -> dict[str, Any]:
    """Settle a verified notice, log and count what it did, and acknowledge it (2xx: it is recorded)."""
    from caisse.payments.settlement import settle

    settlement = settle(notice)
    logger.info(
        "payment event settled",
        extra={
            "provider": notice.provider,
            "event_id": notice.event_id,
            "event_type": notice.event_type,
            "order_id": notice.order_id,
            "result": settlement.result,
            "status": settlement.status,
        },
    )
    metrics.add_dimension(name="provider", value=notice.provider)
    if settlement.result == "flagged":
        metrics.add_metric(name="PaymentFlagged", unit=MetricUnit.Count, value=1)
    elif settlement.result == "moved" and settlement.status == "paid":
        metrics.add_metric(name="PaymentSucceeded", unit=MetricUnit.Count, value=1)
    elif settlement.result == "moved" and settlement.status == "payment_failed":
        metrics.add_metric(name="PaymentFailed", unit=MetricUnit.Count, value=1)
    return answer(200, {"received": True, "result": settlement.result})


def unavailable(logger: Logger, provider: str, error: Exception) -> dict[str, Any]:
    """The provider could not be asked about the event: 5xx, so it delivers it again later."""
    logger.warning("provider lookup failed", extra={"provider": provider, "error": str(error)})
    return answer(503, {"error": "provider_unavailable", "message": "could not confirm with the provider; retry"})
