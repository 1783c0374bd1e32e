"""Stripe webhooks: the signature is checked on the raw bytes (caisse.payments.stripe.signature,
without the SDK: it binds the whole payload, so the event's own data can be believed), then the
event becomes notices: payments,
refunds (ours and those made in the dashboard), disputes, and connected accounts' state.

Events of connected accounts carry `account`; settlement applies them only to orders of the
merchant that owns that account."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from caisse.payments.base import (
    AccountNotice,
    DisputeNotice,
    InvalidWebhook,
    Notice,
    Outcome,
    PaymentNotice,
    PlanNotice,
    RefundNotice,
    WebhookRequest,
)
from caisse.payments.stripe.signature import SignatureMismatch
from caisse.payments.stripe.signature import verify as verify_signature
from caisse.secrets import secret

# The signing secrets of the two endpoints (one per Stripe webhook endpoint, SSM parameters).
WEBHOOK_SECRET_PARAMETER = "stripe/webhook_secret"
CONNECT_WEBHOOK_SECRET_PARAMETER = "stripe/connect_webhook_secret"

# The merchants' platform plans (Stripe Billing on the platform's own account): a subscription
# Checkout completing links it to the merchant; then invoices and the subscription's own changes
# (https://docs.stripe.com/billing/subscriptions/webhooks). `customer.subscription.created` adds
# nothing the session's event does not say.
BILLING_EVENTS = (
    "invoice.paid",
    "invoice.payment_failed",
    "customer.subscription.updated",
    "customer.subscription.deleted",
)
_SUBSCRIPTION_EVENTS = ("customer.subscription.updated", "customer.subscription.deleted")

# What each endpoint is subscribed to, and so what its adapter acts on: the local stack's sandbox
# registers exactly these, the README prints them ("Provider events to subscribe to"), and any
# other type that still arrives is answered before anything is written. A Checkout payment is one
# delivery: Stripe also sends payment_intent.succeeded and charge.succeeded for it, which add
# nothing the session's event does not say. A declined card is only told by
# payment_intent.payment_failed (the session stays open for another card).
PLATFORM_EVENTS = (
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
    "payment_intent.payment_failed",
    "refund.created",
    "refund.updated",
    "refund.failed",
    "charge.dispute.created",
    "charge.dispute.closed",
    *BILLING_EVENTS,
)
# Connected accounts: the same (but for the platform's own billing) and their onboarding state. The
# card a booking keeps for its balance is read from the deposit's PaymentIntent when the balance is
# charged (bookings.service).
CONNECT_EVENTS = (*(e for e in PLATFORM_EVENTS if e not in BILLING_EVENTS), "account.updated")

_SESSION_OUTCOMES = {
    "checkout.session.async_payment_succeeded": Outcome.PAID,
    "checkout.session.async_payment_failed": Outcome.FAILED,
    "checkout.session.expired": Outcome.EXPIRED,
}
# stripe/_refund.py: pending | requires_action | succeeded | failed | canceled
REFUND_STATUS = {"succeeded": "succeeded", "pending": "pending", "requires_action": "pending"}
_REFUND_EVENTS = ("refund.created", "refund.updated", "refund.failed")
# stripe/_dispute.py: a closed dispute is won, lost, warning_closed (an inquiry that went nowhere)
# or prevented.
_DISPUTE_WON = ("won", "warning_closed", "prevented")


class StripeWebhook:
    """The adapter for /webhooks/stripe (the platform's events) and /webhooks/stripe-connect
    (its merchants' connected accounts), each with its own signing secret."""

    def __init__(self, secret_parameter: str, provider: str = "stripe", events: tuple[str, ...] = PLATFORM_EVENTS):
        self.secret_parameter = secret_parameter
        self.provider = provider
        self.events = frozenset(events)

    def verify(self, request: WebhookRequest) -> dict[str, Any]:
        return verify(request.body, request.header("Stripe-Signature"), secret(self.secret_parameter))

    def notices(self, event: dict[str, Any]) -> list[Notice]:
        if event["type"] not in self.events:
            return [ignored(event)]
        return [notice(event)]


def verify(raw_body: bytes, signature_header: str | None, signing_secret: str) -> dict[str, Any]:
    """Check `Stripe-Signature` over the exact bytes received, then parse."""
    if not signature_header:
        raise InvalidWebhook("missing Stripe-Signature header")
    try:
        verify_signature(raw_body, signature_header, signing_secret)
    except SignatureMismatch as error:
        raise InvalidWebhook(str(error)) from error
    try:
        event = json.loads(raw_body.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise InvalidWebhook("body is not UTF-8") from error
    except ValueError as error:
        raise InvalidWebhook("body is not JSON") from error
    if not isinstance(event, dict) or not event.get("id") or not event.get("type"):
        raise InvalidWebhook("not a Stripe event")
    return event


def _id(value: Any) -> str | None:
    """An expandable field's id, whether Stripe sent the id or the object."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def notice(event: dict[str, Any]) -> Notice:
    kind = event["type"]
    obj = (event.get("data") or {}).get("object") or {}
    metadata = obj.get("metadata") or {}
    currency = (obj.get("currency") or "").upper() or None
    account = event.get("account") or None
    base = {"provider": "stripe", "event_id": event["id"], "event_type": kind, "account": account}

    if kind == "account.updated":
        return AccountNotice(
            "stripe",
            event["id"],
            kind,
            account or obj["id"],  # the event's object is the account
            bool(obj.get("charges_enabled")),
            bool(obj.get("payouts_enabled")),
            int(event.get("created") or 0),
        )

    if event.get("account") is None and (
        kind in BILLING_EVENTS or (kind == "checkout.session.completed" and obj.get("mode") == "subscription")
    ):
        return plan_notice(event)

    if kind in _REFUND_EVENTS and obj.get("object") == "refund":
        return RefundNotice(
            **base,
            provider_refund_id=obj["id"],
            status=REFUND_STATUS.get(str(obj.get("status")), "failed"),
            amount=int(obj.get("amount") or 0),
            currency=currency or "",
            refund_id=metadata.get("refund_id"),
            order_id=metadata.get("order_id"),
            payment_ref=_id(obj.get("payment_intent")),
        )

    if kind in ("charge.dispute.created", "charge.dispute.closed"):
        closed = kind.endswith(".closed")
        status = obj.get("status")
        due = (obj.get("evidence_details") or {}).get("due_by")
        return DisputeNotice(
            **base,
            dispute_id=obj.get("id") or event["id"],
            stage="closed" if closed else "opened",
            amount=obj.get("amount"),
            currency=currency,
            outcome=("won" if status in _DISPUTE_WON else "lost") if closed else None,
            reason=obj.get("reason"),
            status=status,
            due_by=datetime.fromtimestamp(int(due), UTC).date().isoformat() if due else None,
            payment_ref=_id(obj.get("payment_intent")),
        )

    # What later charges need (the card kept for a booking's balance) and what the payment was for.
    extra = {
        key: value
        for key, value in {
            "purpose": metadata.get("purpose"),
            "customer": _id(obj.get("customer")),
            "payment_method": _id(obj.get("payment_method")),
        }.items()
        if value
    }
    base = {**base, "currency": currency, "extra": extra}

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
            payment_ref=_id(obj.get("payment_intent")),
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

    return ignored(event)


def subscription_state(obj: dict[str, Any]) -> tuple[str | None, dict[str, Any], int | None]:
    """A Subscription's status, metadata and the end of its current period (on its items, API
    2025-03-31 and later), as an event or Stripe's API shows it."""
    items = (obj.get("items") or {}).get("data") or [{}]
    return obj.get("status"), obj.get("metadata") or {}, items[0].get("current_period_end")


def invoice_summary(obj: dict[str, Any], paid: bool, at: int) -> dict[str, Any]:
    """What the merchant's billing keeps of an Invoice (`billing.last_invoice`): `at` is when the
    event about it was made."""
    return {
        "id": obj.get("id"),
        "amount": int((obj.get("amount_paid") if paid else obj.get("amount_due")) or 0),
        "currency": (obj.get("currency") or "").upper(),
        "paid": paid,
        "next_attempt": obj.get("next_payment_attempt"),
        "at": at,
        # Where the card holder pays it, confirming with the bank if it asks (3D Secure):
        # https://docs.stripe.com/invoicing/hosted-invoice-page
        "page": obj.get("hosted_invoice_url"),
    }


def plan_notice(event: dict[str, Any]) -> PlanNotice:
    """A billing event about a merchant's plan. Which merchant and plan: the metadata we put on the
    session and the subscription (an invoice carries its subscription's under
    `parent.subscription_details`, API version 2025-03-31 and later)."""
    kind = event["type"]
    obj = event["data"]["object"]
    invoice = None
    period_end = None
    ends_at = None
    status: str | None
    if kind == "checkout.session.completed":
        metadata = obj.get("metadata") or {}
        subscription = _id(obj.get("subscription"))
        status = "active" if obj.get("payment_status") in ("paid", "no_payment_required") else "incomplete"
    elif kind in _SUBSCRIPTION_EVENTS:
        subscription = obj.get("id")
        status, metadata, period_end = subscription_state(obj)
        # Set to end when its period does (https://docs.stripe.com/billing/subscriptions/cancel); a
        # deleted one has ended: nothing is left to come.
        ends_at = obj.get("cancel_at") if kind == "customer.subscription.updated" else None
    else:  # invoice.paid, invoice.payment_failed
        details = ((obj.get("parent") or {}).get("subscription_details")) or {}
        metadata = details.get("metadata") or {}
        subscription = _id(details.get("subscription")) or _id(obj.get("subscription"))
        paid = kind == "invoice.paid"
        # A renewal that fails leaves the subscription past_due while Stripe retries
        # (https://docs.stripe.com/billing/subscriptions/overview#failed-payments); a first invoice
        # that fails leaves it incomplete.
        status = (
            "active" if paid else ("incomplete" if obj.get("billing_reason") == "subscription_create" else "past_due")
        )
        # The period it pays for ends with its lines' (https://docs.stripe.com/api/invoices/line_item).
        ends = [(line.get("period") or {}).get("end") for line in (obj.get("lines") or {}).get("data") or []]
        period_end = max((end for end in ends if end), default=None)
        invoice = invoice_summary(obj, paid, int(event.get("created") or 0))
    return PlanNotice(
        "stripe",
        event["id"],
        kind,
        merchant=metadata.get("merchant"),
        plan=metadata.get("plan"),
        subscription=subscription,
        customer=_id(obj.get("customer")),
        status=status,
        created=int(event.get("created") or 0),
        period_end=int(period_end) if period_end else None,
        invoice=invoice,
        tells_end=kind in _SUBSCRIPTION_EVENTS,
        ends_at=int(ends_at) if ends_at else None,
    )


def ignored(event: dict[str, Any]) -> PaymentNotice:
    """An event that changes nothing: answered before anything is read or written."""
    obj = (event.get("data") or {}).get("object") or {}
    return PaymentNotice(
        "stripe",
        event["id"],
        event["type"],
        Outcome.IGNORED,
        (obj.get("metadata") or {}).get("order_id"),
        account=event.get("account") or None,
    )
