"""PayPal Orders v2: an order with `custom_id` = our order id, approved on PayPal's page, captured
by us (on the approval webhook), settled by the capture.

Webhooks are verified by PayPal's verify-webhook-signature API with the raw event spliced into the
request unchanged: a parsed and re-serialised event (keys reordered, spacing changed) fails
verification (reference/payment-providers.md 2.2, bug 4 of section 6).
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from caisse.config import settings
from caisse.errors import InvalidRequest, ProviderUnavailable
from caisse.money import Money, MoneyError
from caisse.payments.base import (
    CheckoutSpec,
    Outcome,
    PaymentNotice,
    ProviderCheckout,
    RefundRequest,
    RefundResult,
)
from caisse.payments.http import client, json_or_none
from caisse.secrets import secret

CLIENT_ID_PARAMETER = "paypal/client_id"
CLIENT_SECRET_PARAMETER = "paypal/client_secret"
WEBHOOK_ID_PARAMETER = "paypal/webhook_id"
# PayPal does not take CFA francs (reference 2.1); these are the ones our shops sell in.
CURRENCIES = frozenset({"USD", "EUR", "GBP", "CAD", "AUD", "NZD"})
_CAPTURE = {"COMPLETED": Outcome.PAID, "DECLINED": Outcome.FAILED, "FAILED": Outcome.FAILED, "PENDING": Outcome.PENDING}

_token: dict[str, Any] = {}


class InvalidWebhook(Exception):
    """PayPal did not vouch for this event."""


def _http():
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
        status, answer = _call("GET", f"v2/checkout/orders/{paypal_order_id}")
        if status >= 400:
            raise ProviderUnavailable(f"PayPal answered {status} for an order")
        return answer

    def capture_notice(self, capture: dict[str, Any], event_id: str, event_type: str) -> PaymentNotice:
        amount = capture.get("amount") or {}
        currency = amount.get("currency_code")
        try:
            minor = Money.from_major(amount.get("value"), currency).amount if currency else None
        except MoneyError:
            minor = None
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
        order = self.order(provider_ref)
        return self.order_notice(order, f"reconcile:{provider_ref}:{order.get('status')}")

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


def verify_webhook(raw_body: bytes, headers: dict[str, str | None]) -> dict[str, Any]:
    """Ask PayPal whether it sent this event; the raw body goes in unchanged."""
    names = ("auth_algo", "cert_url", "transmission_id", "transmission_sig", "transmission_time")
    values = {name: headers.get(f"paypal-{name.replace('_', '-')}") for name in names}
    if not all(values.values()):
        raise InvalidWebhook("missing PayPal transmission headers")
    try:
        raw = raw_body.decode("utf-8")
        json.loads(raw)
    except ValueError as error:
        raise InvalidWebhook("body is not JSON") from error
    envelope = json.dumps({**values, "webhook_id": secret(WEBHOOK_ID_PARAMETER)})
    spliced = envelope[:-1] + ', "webhook_event": ' + raw + "}"
    status, answer = _verify_call(spliced)
    if status != 200 or answer.get("verification_status") != "SUCCESS":
        raise InvalidWebhook("PayPal did not verify the signature")
    return json.loads(raw)


def _verify_call(body: str) -> tuple[int, dict[str, Any]]:
    headers = {**_bearer(), "Content-Type": "application/json"}
    try:
        response = _http().post("v1/notifications/verify-webhook-signature", content=body.encode(), headers=headers)
    except Exception as error:
        raise ProviderUnavailable("PayPal did not answer") from error
    return response.status_code, json_or_none(response) or {}
