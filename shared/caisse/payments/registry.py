"""Which provider takes a checkout. Imports each provider only when it is chosen, so a function
never loads an SDK it does not use."""

from __future__ import annotations

from caisse.errors import InvalidRequest
from caisse.payments.base import PaymentProvider

PROVIDERS = ("stripe",)


def provider_for(currency: str, requested: str | None) -> PaymentProvider:
    name = requested or "stripe"
    if name not in PROVIDERS:
        raise InvalidRequest(
            f"unknown payment provider {name!r}", code="provider_not_available", providers=list(PROVIDERS)
        )
    from caisse.payments.stripe.checkout import StripeCheckout

    return StripeCheckout()
