"""What every payment provider implements, and the normalised notice its webhooks become."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from caisse.catalog.service import CartLine
from caisse.money import Money


@dataclass(frozen=True)
class CheckoutSpec:
    """Everything a provider needs to take one payment for one order."""

    order_id: str
    order_number: str
    merchant: str
    lines: Sequence[CartLine]
    total: Money
    customer_name: str
    customer_email: str
    locale: str
    expires_at: datetime
    return_url: str
    cancel_url: str
    idempotency_key: str
    customer_phone: str | None = None
    merchant_name: str = ""  # what the customer sees on the provider's page
    notify_url: str | None = None  # for providers told per payment where to call back (PayDunya)
    application_fee: Money | None = None  # the platform's share, on a connected account
    save_card: bool = False  # keep the card for a later off-session charge (booking balances)
    purpose: str = "order"  # "balance": a booking's balance, paid after the job


@dataclass(frozen=True)
class ProviderCheckout:
    provider_ref: str
    next_action: dict[str, Any]
    expires_at: datetime


@dataclass(frozen=True)
class RefundRequest:
    refund_id: str
    order_id: str
    amount: Money
    reason: str | None
    provider_ref: str | None  # the checkout (session, PayPal order, ...)
    payment_ref: str | None  # what was paid (PaymentIntent, PayPal capture, ...)
    idempotency_key: str
    customer_phone: str | None = None  # where a mobile-money refund is paid back


@dataclass(frozen=True)
class RefundResult:
    status: str  # succeeded | pending | owed (no refund API: a person pays it back)
    provider_refund_id: str | None = None
    payout: dict[str, Any] | None = None  # what a person needs to pay an owed refund back


def owed_refund(request: RefundRequest, method: str, note: str) -> RefundResult:
    """A refund a person pays back by hand (mobile money has no refund API): what they need."""
    return RefundResult(
        status="owed",
        payout={
            "method": method,
            "amount": request.amount.as_dict(),
            "to": request.customer_phone,
            "reference": request.payment_ref or request.provider_ref,
            "note": note,
        },
    )


class PaymentProvider(Protocol):
    name: str
    currencies: frozenset[str]

    def check(self, spec: CheckoutSpec) -> None:
        """Refuse, before any call leaves, what this provider would refuse (4xx for the customer)."""

    def open_checkout(self, spec: CheckoutSpec) -> ProviderCheckout: ...

    def close_checkout(self, provider_ref: str) -> None:
        """Best effort: stop the customer paying for a checkout we will not honour."""

    def current_status(self, provider_ref: str, payment_ref: str | None) -> PaymentNotice | None:
        """What the provider says now about a checkout (reconciliation); None if it cannot say."""

    def refund(self, request: RefundRequest) -> RefundResult: ...


class Outcome(StrEnum):
    PAID = "paid"
    FAILED = "failed"
    EXPIRED = "expired"
    PENDING = "pending"  # e.g. Checkout completed, money not there yet
    IGNORED = "ignored"  # an event we record but that moves nothing


@dataclass(frozen=True)
class PaymentNotice:
    """A verified provider event, reduced to what settlement decides on."""

    provider: str
    event_id: str
    event_type: str
    outcome: Outcome
    order_id: str | None
    amount: int | None = None  # minor units, as the provider reported them
    currency: str | None = None  # upper-case ISO code
    provider_ref: str | None = None
    payment_ref: str | None = None
    reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def amount_matches(self, expected: Money) -> bool:
        return self.amount == expected.amount and self.currency == expected.currency
