"""Stripe webhooks: verify the signature on the raw bytes, then reduce the event to a notice."""

from __future__ import annotations

import json
from typing import Any

import stripe

from caisse.payments.base import Outcome, PaymentNotice

TOLERANCE_SECONDS = 300


class InvalidWebhook(Exception):
    """The request is not an authentic, readable Stripe event. Nothing about it may be trusted."""


def verify(raw_body: bytes, signature_header: str | None, secret: str) -> dict[str, Any]:
    """Check `Stripe-Signature` over the exact bytes received (with the SDK), then parse."""
    if not signature_header:
        raise InvalidWebhook("missing Stripe-Signature header")
    try:
        payload = raw_body.decode("utf-8")
        stripe.WebhookSignature.verify_header(payload, signature_header, secret, TOLERANCE_SECONDS)
    except UnicodeDecodeError as error:
        raise InvalidWebhook("body is not UTF-8") from error
    except stripe.SignatureVerificationError as error:
        raise InvalidWebhook(str(error).split(".")[0] or "signature mismatch") from error
    try:
        event = json.loads(payload)
    except ValueError as error:
        raise InvalidWebhook("body is not JSON") from error
    if not isinstance(event, dict) or not event.get("id") or not event.get("type"):
        raise InvalidWebhook("not a Stripe event")
    return event


_SESSION_OUTCOMES = {
    "checkout.session.async_payment_succeeded": Outcome.PAID,
    "checkout.session.async_payment_failed": Outcome.FAILED,
    "checkout.session.expired": Outcome.EXPIRED,
}


def notice(event: dict[str, Any]) -> PaymentNotice:
    kind = event["type"]
    obj = (event.get("data") or {}).get("object") or {}
    metadata = obj.get("metadata") or {}
    currency = (obj.get("currency") or "").upper() or None
    # What later charges need (the card kept for a booking's balance) and what the payment was for.
    extra = {
        key: value
        for key, value in {
            "purpose": metadata.get("purpose"),
            "customer": obj.get("customer") if isinstance(obj.get("customer"), str) else None,
            "payment_method": obj.get("payment_method") if isinstance(obj.get("payment_method"), str) else None,
            "account": event.get("account"),
        }.items()
        if value
    }
    base = {"provider": "stripe", "event_id": event["id"], "event_type": kind, "currency": currency, "extra": extra}

    if kind.startswith("checkout.session."):
        if kind == "checkout.session.completed":
            # Completed is not paid: delayed methods complete unpaid and settle later.
            paid = obj.get("payment_status") in ("paid", "no_payment_required")
            outcome = Outcome.PAID if paid else Outcome.PENDING
        else:
            outcome = _SESSION_OUTCOMES.get(kind, Outcome.IGNORED)
        return PaymentNotice(
            **base,
            outcome=outcome,
            order_id=obj.get("client_reference_id") or metadata.get("order_id"),
            amount=obj.get("amount_total"),
            provider_ref=obj.get("id"),
            payment_ref=obj.get("payment_intent"),
        )

    if kind.startswith("payment_intent."):
        error = obj.get("last_payment_error") or {}
        outcome = {
            "payment_intent.succeeded": Outcome.PAID,
            "payment_intent.payment_failed": Outcome.FAILED,
        }.get(kind, Outcome.IGNORED)
        return PaymentNotice(
            **base,
            outcome=outcome,
            order_id=metadata.get("order_id"),
            amount=obj.get("amount_received") if outcome is Outcome.PAID else obj.get("amount"),
            payment_ref=obj.get("id"),
            reason=error.get("message"),
        )

    return PaymentNotice(**base, outcome=Outcome.IGNORED, order_id=metadata.get("order_id"))
