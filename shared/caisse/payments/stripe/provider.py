"""Stripe: Checkout Sessions (the hosted payment page, expiring with the order's holds), refunds and
status for reconciliation."""

from __future__ import annotations

from datetime import UTC, datetime

import stripe

from caisse.errors import InvalidRequest, ProviderUnavailable
from caisse.payments.base import (
    CheckoutSpec,
    Outcome,
    PaymentNotice,
    ProviderCheckout,
    RefundRequest,
    RefundResult,
)
from caisse.payments.stripe.client import client

# Checkout pages Stripe can show in these languages; others fall back to the browser's.
_LOCALES = {"en", "fr"}


class Stripe:
    name = "stripe"
    currencies = frozenset({"USD", "EUR", "GBP", "CAD", "AUD", "NZD", "XAF", "XOF"})

    def check(self, spec: CheckoutSpec) -> None:
        if spec.total.currency not in self.currencies:
            raise InvalidRequest(f"card payments do not take {spec.total.currency}", code="currency_not_supported")

    def open_checkout(self, spec: CheckoutSpec) -> ProviderCheckout:
        params = {
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": line.unit_price.currency.lower(),
                        "unit_amount": line.unit_price.amount,
                        "product_data": {"name": line.name},
                    },
                    "quantity": line.quantity,
                }
                for line in spec.lines
            ],
            "client_reference_id": spec.order_id,
            "customer_email": spec.customer_email,
            "metadata": {"order_id": spec.order_id, "order_number": spec.order_number, "merchant": spec.merchant},
            "payment_intent_data": {"metadata": {"order_id": spec.order_id, "order_number": spec.order_number}},
            "expires_at": int(spec.expires_at.timestamp()),
            "success_url": spec.return_url,
            "cancel_url": spec.cancel_url,
        }
        if spec.locale in _LOCALES:
            params["locale"] = spec.locale
        try:
            session = client().v1.checkout.sessions.create(
                params=params, options={"idempotency_key": spec.idempotency_key}
            )
        except stripe.StripeError as error:
            raise ProviderUnavailable("the card payment provider did not answer; nothing was charged") from error
        if session.amount_total != spec.total.amount:
            # Stripe computed a different total from the same lines: never send a customer there.
            self.close_checkout(session.id)
            raise ProviderUnavailable("the payment provider computed a different total; nothing was charged")
        return ProviderCheckout(
            provider_ref=session.id,
            next_action={"type": "redirect", "url": session.url},
            expires_at=datetime.fromtimestamp(session.expires_at, UTC),
        )

    def close_checkout(self, provider_ref: str) -> None:
        try:
            client().v1.checkout.sessions.expire(provider_ref)
        except stripe.StripeError:
            pass  # it expires on its own by expires_at; the order was never written

    def current_status(self, provider_ref: str, payment_ref: str | None) -> PaymentNotice | None:
        try:
            session = client().v1.checkout.sessions.retrieve(provider_ref)
        except stripe.StripeError as error:
            raise ProviderUnavailable("Stripe did not answer") from error
        if session.payment_status in ("paid", "no_payment_required"):
            outcome = Outcome.PAID
        elif session.status == "expired":
            outcome = Outcome.EXPIRED
        else:
            outcome = Outcome.PENDING
        return PaymentNotice(
            provider=self.name,
            event_id=f"reconcile:{session.id}:{session.status}:{session.payment_status}",
            event_type="checkout.session.retrieved",
            outcome=outcome,
            order_id=session.client_reference_id or (session.metadata or {}).get("order_id"),
            amount=session.amount_total,
            currency=(session.currency or "").upper() or None,
            provider_ref=session.id,
            payment_ref=session.payment_intent if isinstance(session.payment_intent, str) else None,
        )

    def refund(self, request: RefundRequest) -> RefundResult:
        if not request.payment_ref:
            raise ProviderUnavailable("no Stripe payment is recorded for this order")
        try:
            refund = client().v1.refunds.create(
                params={
                    "payment_intent": request.payment_ref,
                    "amount": request.amount.amount,
                    "reason": "requested_by_customer",
                    "metadata": {"refund_id": request.refund_id, "order_id": request.order_id},
                },
                options={"idempotency_key": request.idempotency_key},
            )
        except stripe.InvalidRequestError as error:
            raise InvalidRequest(
                f"Stripe refused the refund: {error.user_message or error}", code="refund_refused"
            ) from error
        except stripe.StripeError as error:
            raise ProviderUnavailable("Stripe did not answer; the refund was not made") from error
        state = "succeeded" if refund.status == "succeeded" else "pending"
        return RefundResult(status=state, provider_refund_id=refund.id)
