"""The one webhook contract: every provider's function is `handle(adapter, event, ...)`.

1. The request is read exactly as API Gateway delivered it (raw bytes, headers by lower-case
   name, the query string of a GET callback).
2. The adapter verifies it first, before anything in it is believed. Not authentic: 400, a
   security log record and a metric, nothing written. The provider could not be asked (PayPal's
   verify API down, CamPay's transaction API slow): 503, so the provider delivers it again; that
   is our outage, not an attack, and counts as one.
3. The adapter reduces it to notices, asking the provider's own API where its signature binds
   less than the whole payload (CamPay, PayDunya, PayPal).
4. A notice that changes nothing (an event type we do not act on) is answered 200 at once: no
   DynamoDB request, only a log line. Every other notice is settled through
   caisse.payments.settlement (recorded once, then applied).
5. 2xx: everything the request said is recorded.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import parse_qsl

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from caisse.errors import ProviderUnavailable
from caisse.observability import correlate
from caisse.payments.base import InvalidWebhook, Notice, Outcome, PaymentNotice, WebhookAdapter, WebhookRequest

# Metrics per settlement result (with the provider as dimension).
_RESULT_METRICS = {
    "foreign_account": "WebhookForeignAccount",
    "dispute_closed": "DisputeClosed",
    "refund_recorded": "RefundRecorded",
    "refund_failed": "RefundFailed",
}
# What needs a person, without dimensions: template.yaml's alarms watch these account-wide.
_ALARMED = {
    "payment_without_order": "PaymentWithoutOrder",
    "dispute_opened": "DisputeOpened",
    "flagged": "PaymentFlagged",
}


def raw_body(event: dict[str, Any]) -> bytes:
    """The bytes the provider sent: signatures are over these, never over re-serialised JSON."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return b""
    return body.encode("utf-8")


def request_of(event: dict[str, Any]) -> WebhookRequest:
    """An API Gateway proxy event (REST v1 or HTTP v2) as the provider's request."""
    headers: dict[str, str] = {}
    for key, values in (event.get("multiValueHeaders") or {}).items():
        if values:
            headers[key.lower()] = values[-1]
    for key, value in (event.get("headers") or {}).items():
        if value is not None:
            headers[key.lower()] = value
    raw_query = event.get("rawQueryString")
    if raw_query is not None:
        query = dict(parse_qsl(raw_query, keep_blank_values=True))
    else:
        query = {k: v for k, v in (event.get("queryStringParameters") or {}).items() if v is not None}
    context = event.get("requestContext") or {}
    method = context.get("httpMethod") or (context.get("http") or {}).get("method") or event.get("httpMethod") or ""
    source = (context.get("identity") or {}).get("sourceIp") or (context.get("http") or {}).get("sourceIp")
    return WebhookRequest(str(method).upper(), raw_body(event), headers, query, source)


def answer(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def handle(adapter: WebhookAdapter, event: dict[str, Any], logger: Logger, metrics: Metrics) -> dict[str, Any]:
    """Verify → notices → settle, the same for every provider."""
    request = request_of(event)
    metrics.add_dimension(name="provider", value=adapter.provider)
    try:
        verified = adapter.verify(request)
        notices = list(adapter.notices(verified))
    except InvalidWebhook as error:
        return _reject(logger, metrics, adapter.provider, str(error), request)
    except ProviderUnavailable as error:
        logger.warning("provider could not be asked", extra={"provider": adapter.provider, "error": str(error)})
        metrics.add_metric(name="WebhookProviderUnavailable", unit=MetricUnit.Count, value=1)
        return answer(503, {"error": "provider_unavailable", "message": "could not confirm with the provider; retry"})
    results = []
    for notice in notices:
        correlate(notice.event_id)  # until settle() finds the order (caisse.observability)
        if ignored(notice):
            logger.info(
                "provider event ignored",
                extra={"provider": notice.provider, "event_id": notice.event_id, "event_type": notice.event_type},
            )
            results.append("ignored")
            continue
        from caisse.payments.settlement import settle

        settlement = settle(notice)
        _log(logger, metrics, notice, settlement)
        results.append(settlement.result)
    return answer(200, {"received": True, "result": results[0] if len(results) == 1 else results})


def ignored(notice: Notice) -> bool:
    """Changes nothing whatever the order's state: no need to read it, nor to record the event."""
    return isinstance(notice, PaymentNotice) and notice.outcome is Outcome.IGNORED


def _log(logger: Logger, metrics: Metrics, notice: Notice, settlement: Any) -> None:
    details = {
        "provider": notice.provider,
        "event_id": notice.event_id,
        "event_type": notice.event_type,
        "order_id": settlement.order_id,
        "result": settlement.result,
        "status": settlement.status,
    }
    if settlement.result == "payment_without_order":
        # Money was taken and no order is waiting for it: staff must give it back or match it.
        logger.error("payment for no known order", extra={**details, "incident": "payment_without_order"})
    elif settlement.result == "foreign_account":
        logger.warning(
            "event from an account that does not own the order",
            extra={**details, "security_event": "webhook_foreign_account", "account": settlement.detail},
        )
    elif settlement.late:
        logger.error("payment for a closed order", extra={**details, "incident": "payment_for_closed_order"})
    else:
        logger.info("provider event settled", extra=details)
    name = _RESULT_METRICS.get(settlement.result)
    if name:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    alarmed = "PaymentForClosedOrder" if settlement.late else _ALARMED.get(settlement.result)
    if alarmed:
        with single_metric(name=alarmed, unit=MetricUnit.Count, value=1):
            pass
    if isinstance(notice, PaymentNotice) and settlement.result == "moved":
        if settlement.status == "paid":
            _per_provider("PaymentSucceeded", notice.provider)
        elif settlement.status == "payment_failed":
            _per_provider("PaymentFailed", notice.provider)


def _per_provider(name: str, provider: str) -> None:
    """A count with the provider as its only dimension (not the function's service), as
    template.yaml's per-provider alarms and the dashboard read it."""
    with single_metric(name=name, unit=MetricUnit.Count, value=1, default_dimensions={"provider": provider}):
        pass


def _reject(logger: Logger, metrics: Metrics, provider: str, reason: str, request: WebhookRequest) -> dict[str, Any]:
    """A request that failed verification: a security event, and nothing else written."""
    logger.warning(
        "webhook rejected",
        extra={
            "security_event": "webhook_verification_failed",
            "provider": provider,
            "reason": reason,
            "source_ip": request.source_ip,
        },
    )
    _per_provider("WebhookVerificationFailed", provider)
    return answer(400, {"error": "invalid_webhook", "message": "the request could not be verified"})
