"""Which provider takes a checkout: the currency and the customer's choice, within what the
merchant allows. Each provider is imported only when chosen, so a function never loads an SDK it
does not use."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from caisse.errors import InvalidRequest
from caisse.payments.base import PaymentProvider

PROVIDERS = ("stripe", "paypal", "campay", "paydunya")

# What a merchant gets unless its catalog entry says otherwise: the first is the default.
DEFAULT_ROUTES: dict[str, tuple[str, ...]] = {
    "XAF": ("campay",),
    "XOF": ("paydunya",),
    "USD": ("stripe", "paypal"),
    "EUR": ("stripe", "paypal"),
    "GBP": ("stripe", "paypal"),
    "CAD": ("stripe", "paypal"),
    "AUD": ("stripe", "paypal"),
    "NZD": ("stripe", "paypal"),
}


def load(name: str, account: str | None = None) -> PaymentProvider:
    """The provider by name; `account` is a Stripe connected account (direct charges)."""
    if name == "stripe":
        from caisse.payments.stripe.provider import Stripe

        return Stripe(account)
    if name == "paypal":
        from caisse.payments.paypal.provider import PayPal

        return PayPal()
    if name == "campay":
        from caisse.payments.campay.provider import CamPay

        return CamPay()
    if name == "paydunya":
        from caisse.payments.paydunya.provider import PayDunya

        return PayDunya()
    raise InvalidRequest(f"unknown payment provider {name!r}", code="provider_not_available", providers=list(PROVIDERS))


def provider_for(
    currency: str,
    requested: str | None,
    routes: Mapping[str, Sequence[str]] | None = None,
    account: str | None = None,
) -> PaymentProvider:
    """The provider for this checkout, or a 4xx naming what is possible. With `account` (a signed-up
    merchant's connected Stripe account) only Stripe, on that account, takes it."""
    allowed = list((routes or {}).get(currency) or DEFAULT_ROUTES.get(currency, ()))
    if account:
        allowed = [name for name in allowed if name == "stripe"]
    if not allowed:
        raise InvalidRequest(f"this shop takes no payments in {currency}", code="currency_not_supported")
    name = requested or allowed[0]
    if name not in allowed:
        raise InvalidRequest(
            f"{name} is not available for {currency} payments here; choose one of: {', '.join(allowed)}",
            code="provider_not_available",
            providers=allowed,
        )
    return load(name, account)
