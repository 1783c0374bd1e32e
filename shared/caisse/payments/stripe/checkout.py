"""Stripe Checkout: the hosted payment page, expiring with the order's holds."""

from __future__ import annotations

from datetime import UTC, datetime

import stripe

from caisse.errors import ProviderUnavailable
from caisse.payments.base import CheckoutSpec, ProviderCheckout
from caisse.payments.stripe.client import client

# Checkout pages Stripe can show in these languages; others fall back to the browser's.
_LOCALES = {"en", "fr"}


class StripeCheckout:
    name = "stripe"

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
