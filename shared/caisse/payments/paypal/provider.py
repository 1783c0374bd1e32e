"""PayPal Orders v2: an order with `custom_id` = our order id, approved on PayPal's page, captured
by us (when the browser comes back, on the approval webhook, or by reconciliation: whichever is
first; the capture is idempotent), settled by the capture.

Webhooks are verified by PayPal's verify-webhook-signature API with the raw event spliced into the
request unchanged: a parsed and re-serialised event (keys reordered, spacing changed) fails
verification (reference/payment-providers.md 2.2, bug 4 of section 6). That signature binds only a
CRC-32 of the body, and CRC-32 collisions are cheap: a body can be rewritten to keep the CRC of a
genuine delivery. So a verified event is only a trigger, as CamPay's and PayDunya's are: what it
names (an order, a capture, a refund, a dispute) is read again from PayPal's own API, and only that
is settled. Deliveries whose transmission time is outside a window are refused (PayPal documents
none; reference 2.2 recommends enforcing one).
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from caisse.clock import utcnow
from caisse.config import settings
from caisse.errors import InvalidRequest, ProviderUnavailable
from caisse.money import Money, MoneyError
from caisse.payments.base import (
    CheckoutSpec,
    DisputeNotice,
    InvalidWebhook,
    Notice,
    Outcome,
    PaymentNotice,
    ProviderCheckout,
    RefundNotice,
    RefundRequest,
    RefundResult,
    WebhookRequest,
)
from caisse.payments.http import client, json_or_none
from caisse.secrets import secret

CLIENT_ID_PARAMETER = "paypal/client_id"
CLIENT_SECRET_PARAMETER = "paypal/client_secret"
WEBHOOK_ID_PARAMETER = "paypal/webhook_id"
# PayPal does not take CFA francs (reference 2.1); these are the ones our shops sell in.
CURRENCIES = frozenset({"USD", "EUR", "GBP", "CAD", "AUD", "NZD"})
# A capture refunded later was still paid: refunds are money moves of their own.
_CAPTURE = {
    "COMPLETED": Outcome.PAID,
    "PARTIALLY_REFUNDED": Outcome.PAID,
    "REFUNDED": Outcome.PAID,
    "DECLINED": Outcome.FAILED,
    "FAILED": Outcome.FAILED,
    "PENDING": Outcome.PENDING,
}
_REFUND = {"COMPLETED": "succeeded", "PENDING": "pending"}
# developer.paypal.com/api/customer-disputes/v1/definitions/dispute_outcome
_DISPUTE_WON = ("RESOLVED_SELLER_FAVOUR", "CANCELED_BY_BUYER", "DENIED")
TRANSMISSION_PAST = timedelta(minutes=15)
TRANSMISSION_FUTURE = timedelta(minutes=5)
TRANSMISSION_HEADERS = ("auth-algo", "cert-url", "transmission-id", "transmission-sig", "transmission-time")

_token: dict[str, Any] = {}


def _http() -> httpx.Client:
    return client(settings().paypal_api_base)


def _bearer() -> dict[str, str]:
    """An OAuth access token, reused until a minute before it expires."""
    if _token.get("expires", 0) < time.time() + 60:
        credentials = f"{secret(CLIENT_ID_PARAMETER)}:{secret(CLIENT_SECRET_PARAMETER)}".encode()
        try:
            response = _http().post(
                "v1/oauth2/token",
                data={"grant_type": "client_credentials"},
                headers={"Authorization": f"Basic {base64.b64encode(credentials).decode()}"},
            )
        except Exception as error:
            raise ProviderUnavailable("PayPal did not answer") from error
        answer = json_or_none(response) or {}
        if response.status_code != 200 or "access_token" not in answer:
            raise ProviderUnavailable(f"PayPal refused our credentials ({response.status_code})")
        _token.update(value=answer["access_token"], expires=time.time() + int(answer.get("expires_in", 300)))
    return {"Authorization": f"Bearer {_token['value']}"}


def _call(method: str, path: str, *, request_id: str | None = None, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    headers = {**_bearer(), "Prefer": "return=representation"}
    if request_id:
        headers["PayPal-Request-Id"] = request_id[:108]
    try:
        response = _http().request(method, path, headers=headers, **kwargs)
    except Exception as error:
        raise ProviderUnavailable("PayPal did not answer") from error
    return response.status_code, json_or_none(response) or {}


class PayPal:
    name = "paypal"
    currencies = CURRENCIES

    def check(self, spec: CheckoutSpec) -> None:
        if spec.total.currency not in CURRENCIES:
            raise InvalidRequest(f"PayPal does not take {spec.total.currency}", code="currency_not_supported")

    def open_checkout(self, spec: CheckoutSpec) -> ProviderCheckout:
        body = {
            "intent": "CAPTURE",
            "purchase_units": [
                {
                    "reference_id": spec.order_id,
                    "custom_id": spec.order_id,
                    "invoice_id": spec.order_number,
                    "description": f"{spec.merchant_name or spec.merchant} {spec.order_number}"[:127],
                    "amount": {"currency_code": spec.total.currency, "value": spec.total.to_major()},
                }
            ],
            "payment_source": {
                "paypal": {
                    "experience_context": {
                        "return_url": spec.return_url,
                        "cancel_url": spec.cancel_url,
                        "brand_name": (spec.merchant_name or spec.merchant)[:127],
                        "user_action": "PAY_NOW",
                        "locale": "fr-FR" if spec.locale == "fr" else "en-US",
                    }
                }
            },
        }
        status, answer = _call("POST", "v2/checkout/orders", request_id=spec.idempotency_key, json=body)
        if status >= 400:
            issue = ((answer.get("details") or [{}])[0]).get("issue", answer.get("name"))
            if status == 422:
                raise InvalidRequest(f"PayPal refused this payment: {issue}", code="payment_refused")
            raise ProviderUnavailable(f"PayPal refused the order ({status})")
        approve = next(
            (link["href"] for link in answer.get("links", []) if link.get("rel") in ("approve", "payer-action")), None
        )
        if not approve:
            raise ProviderUnavailable("PayPal gave no approval link")
        return ProviderCheckout(answer["id"], {"type": "redirect", "url": approve}, spec.expires_at)

    def close_checkout(self, provider_ref: str) -> None:
        return None  # an unapproved PayPal order expires on PayPal's side after 3 hours

    def capture(self, paypal_order_id: str) -> dict[str, Any]:
        """Capture an approved order (idempotent: the same request id replays the first capture)."""
        status, answer = _call(
            "POST", f"v2/checkout/orders/{paypal_order_id}/capture", request_id=f"capture-{paypal_order_id}", json={}
        )
        issue = ((answer.get("details") or [{}])[0]).get("issue")
        if status == 422 and issue == "ORDER_ALREADY_CAPTURED":
            status, answer = _call("GET", f"v2/checkout/orders/{paypal_order_id}")
        if status >= 400:
            raise ProviderUnavailable(f"PayPal could not capture ({status} {issue or ''})")
        return answer

    def order(self, paypal_order_id: str) -> dict[str, Any]:
        return _read(f"v2/checkout/orders/{paypal_order_id}", "an order")

    def capture_record(self, capture_id: str) -> dict[str, Any]:
        return _read(f"v2/payments/captures/{capture_id}", "a capture")

    def refund_record(self, refund_id: str) -> dict[str, Any]:
        return _read(f"v2/payments/refunds/{refund_id}", "a refund")

    def dispute_record(self, dispute_id: str) -> dict[str, Any]:
        return _read(f"v1/customer/disputes/{dispute_id}", "a dispute")

    def capture_notice(self, capture: dict[str, Any], event_id: str, event_type: str) -> PaymentNotice:
        amount = capture.get("amount") or {}
        currency = amount.get("currency_code")
        minor = _minor(amount)
        related = ((capture.get("supplementary_data") or {}).get("related_ids") or {}).get("order_id")
        status = str(capture.get("status", "")).upper()
        return PaymentNotice(
            provider=self.name,
            event_id=event_id,
            event_type=event_type,
            outcome=_CAPTURE.get(status, Outcome.IGNORED),
            order_id=capture.get("custom_id"),
            amount=minor,
            currency=currency,
            provider_ref=related,
            payment_ref=capture.get("id"),
            reason=(capture.get("status_details") or {}).get("reason"),
        )

    def order_notice(self, order: dict[str, Any], event_id: str) -> PaymentNotice:
        """The notice for a PayPal order's first capture (after we captured it, or reconciling)."""
        unit = (order.get("purchase_units") or [{}])[0]
        captures = ((unit.get("payments") or {}).get("captures")) or []
        if not captures:
            return PaymentNotice(
                self.name,
                event_id,
                "order." + str(order.get("status", "")).lower(),
                Outcome.PENDING,
                unit.get("custom_id"),
                provider_ref=order.get("id"),
            )
        capture = {**captures[0], "custom_id": captures[0].get("custom_id") or unit.get("custom_id")}
        capture.setdefault("supplementary_data", {"related_ids": {"order_id": order.get("id")}})
        return self.capture_notice(capture, event_id, "capture." + str(capture.get("status", "")).lower())

    def current_status(self, provider_ref: str, payment_ref: str | None) -> PaymentNotice | None:
        """The order as PayPal has it; an approved order is captured first (the same capture,
        whoever asks: the browser's return, the approval webhook or reconciliation)."""
        order = self.order(provider_ref)
        if order.get("status") == "APPROVED":
            order = self.capture(provider_ref)
        return self.order_notice(order, f"{provider_ref}:{order.get('status')}")

    def refund_notice(self, refund: dict[str, Any], event_id: str, event_type: str) -> RefundNotice:
        amount = refund.get("amount") or {}
        currency = amount.get("currency_code") or ""
        return RefundNotice(
            provider=self.name,
            event_id=event_id,
            event_type=event_type,
            provider_refund_id=refund["id"],
            status=_REFUND.get(str(refund.get("status")), "failed"),
            amount=_minor(amount) or 0,
            currency=currency,
            refund_id=refund.get("custom_id"),
            payment_ref=_up_capture(refund),
        )

    def refunds(self, provider_ref: str | None, payment_ref: str | None) -> list[RefundNotice]:
        """Every refund of the order's capture, as PayPal's order shows them."""
        if not provider_ref:
            return []
        unit = (self.order(provider_ref).get("purchase_units") or [{}])[0]
        refunds = (unit.get("payments") or {}).get("refunds") or []
        return [self.refund_notice(r, f"reconcile:{r['id']}:{r.get('status')}", "refund.retrieved") for r in refunds]

    def refund(self, request: RefundRequest) -> RefundResult:
        if not request.payment_ref:
            raise ProviderUnavailable("no PayPal capture is recorded for this order")
        status, answer = _call(
            "POST",
            f"v2/payments/captures/{request.payment_ref}/refund",
            request_id=request.idempotency_key,
            json={
                "amount": {"currency_code": request.amount.currency, "value": request.amount.to_major()},
                "custom_id": request.refund_id,
                "note_to_payer": (request.reason or "Refund")[:255],
            },
        )
        if status == 422:
            issue = ((answer.get("details") or [{}])[0]).get("issue", "")
            raise InvalidRequest(f"PayPal refused the refund: {issue}", code="refund_refused")
        if status >= 400:
            raise ProviderUnavailable(f"PayPal refused the refund ({status})")
        state = "succeeded" if answer.get("status") == "COMPLETED" else "pending"
        return RefundResult(status=state, provider_refund_id=answer.get("id"))


def _read(path: str, what: str) -> dict[str, Any]:
    """A resource PayPal has; 404 too is "ask again later": an event can arrive before its resource
    is readable (paypal/PayPal-node-SDK#125), and PayPal delivers it again after a 5xx."""
    status, answer = _call("GET", path)
    if status >= 400:
        raise ProviderUnavailable(f"PayPal answered {status} for {what}")
    return answer


def _minor(amount: dict[str, Any]) -> int | None:
    currency, value = amount.get("currency_code"), amount.get("value")
    try:
        return Money.from_major(value, currency).amount if currency and value is not None else None
    except MoneyError:
        return None


def _up_capture(resource: dict[str, Any]) -> str | None:
    """The capture a refund (or a reversal) belongs to: its HATEOAS `up` link."""
    for link in resource.get("links") or []:
        if link.get("rel") == "up" and "/captures/" in str(link.get("href")):
            return str(link["href"]).rstrip("/").rsplit("/", 1)[1]
    return None


class PayPalWebhook:
    """The adapter for /webhooks/paypal."""

    provider = "paypal"

    def verify(self, request: WebhookRequest) -> dict[str, Any]:
        headers = {f"paypal-{name}": request.header(f"paypal-{name}") for name in TRANSMISSION_HEADERS}
        return verify_webhook(request.body, headers)

    def notices(self, event: dict[str, Any]) -> list[Notice]:
        """Read again from PayPal's API what the event names; settle only that."""
        provider = PayPal()
        kind, resource, event_id = event.get("event_type", ""), event.get("resource") or {}, str(event["id"])
        if not isinstance(resource, dict):
            resource = {}
        if kind == "CHECKOUT.ORDER.APPROVED" and resource.get("id"):
            found = provider.current_status(str(resource["id"]), None)
            return [replace(found, event_id=event_id, event_type=kind)] if found else []
        if kind == "PAYMENT.CAPTURE.REFUNDED" and resource.get("id"):
            return [provider.refund_notice(provider.refund_record(str(resource["id"])), event_id, kind)]
        if kind == "PAYMENT.CAPTURE.REVERSED" and resource.get("id"):
            return [_reversal(provider, resource, event_id, kind)]
        if kind.startswith("PAYMENT.CAPTURE.") and resource.get("id"):
            capture = provider.capture_record(str(resource["id"]))
            return [provider.capture_notice(capture, event_id, kind)]
        if kind.startswith("CUSTOMER.DISPUTE.") and (resource.get("dispute_id") or resource.get("id")):
            dispute = provider.dispute_record(str(resource.get("dispute_id") or resource.get("id")))
            return [_dispute_notice(dispute, event_id, kind)]
        return [PaymentNotice("paypal", event_id, kind, Outcome.IGNORED, None)]


def _reversal(provider: PayPal, resource: dict[str, Any], event_id: str, kind: str) -> DisputeNotice:
    """PayPal took a captured payment back (developer.paypal.com webhooks: "PayPal reverses a
    payment capture"): read the reversal (a refund record) or, failing that, the capture itself."""
    try:
        record = provider.refund_record(str(resource["id"]))
        capture_id = _up_capture(record)
    except ProviderUnavailable:
        record = provider.capture_record(str(resource["id"]))
        capture_id = record.get("id")
    amount = record.get("amount") or {}
    return DisputeNotice(
        provider="paypal",
        event_id=event_id,
        event_type=kind,
        dispute_id=str(record.get("id")),
        stage="closed",
        amount=_minor(amount),
        currency=amount.get("currency_code"),
        outcome="lost",
        reason="reversed by PayPal",
        status=record.get("status"),
        payment_ref=capture_id,
    )


def _dispute_notice(dispute: dict[str, Any], event_id: str, kind: str) -> DisputeNotice:
    """A dispute as PayPal's disputes API shows it (/v1/customer/disputes/{id})."""
    status = str(dispute.get("status") or "")
    outcome_code = (dispute.get("dispute_outcome") or {}).get("outcome_code")
    closed = status == "RESOLVED"
    transactions = dispute.get("disputed_transactions") or [{}]
    amount = dispute.get("dispute_amount") or {}
    due = dispute.get("seller_response_due_date")
    return DisputeNotice(
        provider="paypal",
        event_id=event_id,
        event_type=kind,
        dispute_id=str(dispute.get("dispute_id")),
        stage="closed" if closed else "opened",
        amount=_minor(amount),
        currency=amount.get("currency_code"),
        outcome=("won" if outcome_code in _DISPUTE_WON else "lost") if closed else None,
        reason=dispute.get("reason"),
        status=status,
        due_by=str(due)[:10] if due else None,
        payment_ref=transactions[0].get("seller_transaction_id"),
    )


def verify_webhook(raw_body: bytes, headers: dict[str, str | None], now: datetime | None = None) -> dict[str, Any]:
    """Ask PayPal whether it sent this event (the raw body goes in unchanged), after refusing
    deliveries whose transmission time is outside the window. PayPal's verify API failing is our
    outage, not a forgery: ProviderUnavailable (503, PayPal retries)."""
    names = ("auth_algo", "cert_url", "transmission_id", "transmission_sig", "transmission_time")
    values = {name: headers.get(f"paypal-{name.replace('_', '-')}") for name in names}
    if not all(values.values()):
        raise InvalidWebhook("missing PayPal transmission headers")
    try:
        sent = datetime.fromisoformat(str(values["transmission_time"]).replace("Z", "+00:00"))
        if sent.tzinfo is None:
            sent = sent.replace(tzinfo=UTC)
    except ValueError as error:
        raise InvalidWebhook("unreadable transmission time") from error
    now = now or utcnow()
    if not now - TRANSMISSION_PAST <= sent <= now + TRANSMISSION_FUTURE:
        raise InvalidWebhook("transmission time outside the accepted window")
    try:
        raw = raw_body.decode("utf-8")
        event = json.loads(raw)
    except ValueError as error:
        raise InvalidWebhook("body is not JSON") from error
    if not isinstance(event, dict) or not event.get("id"):
        raise InvalidWebhook("not a PayPal event")
    envelope = json.dumps({**values, "webhook_id": secret(WEBHOOK_ID_PARAMETER)})
    spliced = envelope[:-1] + ', "webhook_event": ' + raw + "}"
    status, answer = _verify_call(spliced)
    if status == 401:
        _token.clear()  # a token PayPal no longer takes: the next attempt gets a new one
    if status in (401, 403, 429) or status >= 500:
        raise ProviderUnavailable(f"PayPal's verify API answered {status}")
    if status != 200 or answer.get("verification_status") != "SUCCESS":
        raise InvalidWebhook("PayPal did not verify the signature")
    return event


def _verify_call(body: str) -> tuple[int, dict[str, Any]]:
    headers = {**_bearer(), "Content-Type": "application/json"}
    try:
        response = _http().post("v1/notifications/verify-webhook-signature", content=body.encode(), headers=headers)
    except Exception as error:
        raise ProviderUnavailable("PayPal did not answer") from error
    return response.status_code, json_or_none(response) or {}
