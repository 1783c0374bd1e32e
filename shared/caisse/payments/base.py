"""What every payment provider implements: the checkout and refund calls, and the one webhook
contract (verify the request, turn it into notices, settle them) with the notices it produces."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from caisse.errors import ProviderUnavailable
from caisse.money import Money

if TYPE_CHECKING:  # the webhooks import this module and need no catalog (nor its pydantic schemas)
    from caisse.catalog.service import CartLine


class InvalidWebhook(Exception):
    """The request is not an authentic, readable event of this provider. Nothing in it may be
    trusted: it gets a 4xx, a security log record and a metric, and changes nothing."""


class OutcomeUnknown(ProviderUnavailable):
    """The request may have reached the provider, but its answer never came back (a read timeout
    after a USSD push was sent): the payment may still happen."""


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
        """What the provider says now about a checkout (the browser's return, reconciliation, the
        expiry sweep); None if it cannot say. An approved PayPal order is captured here."""

    def refund(self, request: RefundRequest) -> RefundResult: ...

    def refunds(self, provider_ref: str | None, payment_ref: str | None) -> Sequence[RefundNotice]:
        """What the provider says about every refund of a payment (reconciliation); [] where it has
        no refund API."""


class Outcome(StrEnum):
    PAID = "paid"
    FAILED = "failed"
    EXPIRED = "expired"
    PENDING = "pending"  # e.g. Checkout completed, money not there yet
    IGNORED = "ignored"  # an event that moves nothing: answered before any write (webhook.handle)


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
    account: str | None = None  # the Stripe connected account the event came from

    def amount_matches(self, expected: Money) -> bool:
        return self.amount == expected.amount and self.currency == expected.currency


@dataclass(frozen=True)
class RefundNotice:
    """A provider's word on one refund: one we asked for (it carries our refund id) or one made
    in its dashboard. `status`: succeeded | pending | failed."""

    provider: str
    event_id: str
    event_type: str
    provider_refund_id: str
    status: str
    amount: int
    currency: str
    refund_id: str | None = None  # ours, when we asked for it
    order_id: str | None = None  # what the provider's metadata claims (matched on our references first)
    provider_ref: str | None = None
    payment_ref: str | None = None
    account: str | None = None


@dataclass(frozen=True)
class DisputeNotice:
    """A dispute opened or closed (a chargeback, a PayPal claim), or a payment the provider took
    back outright (a reversal: closed, lost). `outcome`: won | lost, when closed."""

    provider: str
    event_id: str
    event_type: str
    dispute_id: str
    stage: str  # opened | closed
    amount: int | None
    currency: str | None
    outcome: str | None = None
    reason: str | None = None
    status: str | None = None  # the provider's own status word
    due_by: str | None = None
    order_id: str | None = None
    provider_ref: str | None = None
    payment_ref: str | None = None
    account: str | None = None


@dataclass(frozen=True)
class AccountNotice:
    """A Stripe connected account's state (`account.updated`): can it take charges yet?"""

    provider: str
    event_id: str
    event_type: str
    account: str
    charges_enabled: bool
    payouts_enabled: bool
    created: int


@dataclass(frozen=True)
class PlanNotice:
    """A merchant's platform plan moved (Stripe Billing on the platform's account): its subscription
    was created by Checkout, changed, ended, or one of its invoices was paid or failed. `status` is
    the subscription's status as this event shows it; `invoice` the invoice's summary, if any."""

    provider: str
    event_id: str
    event_type: str
    merchant: str | None  # from the metadata we set on the Checkout Session and the subscription
    plan: str | None
    subscription: str | None
    customer: str | None
    status: str | None
    created: int
    period_end: int | None = None
    invoice: dict[str, Any] | None = None  # {"id", "amount", "currency", "paid", "next_attempt"}
    account: None = None  # always the platform's own account (owns() reads every notice's)
    # The subscription's own events say whether it is set to end (`ends_at`, None: it goes on);
    # an invoice's say nothing of it (`tells_end` False).
    tells_end: bool = False
    ends_at: int | None = None


Notice = PaymentNotice | RefundNotice | DisputeNotice | AccountNotice | PlanNotice


@dataclass(frozen=True)
class WebhookRequest:
    """A provider's request exactly as API Gateway delivered it: the raw bytes (signatures are over
    these, never over re-serialised JSON), headers by lower-case name, the query string."""

    method: str
    body: bytes
    headers: Mapping[str, str]
    query: Mapping[str, str]
    source_ip: str | None = None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class WebhookAdapter(Protocol):
    """Every provider's webhook: verify it (InvalidWebhook when not authentic, ProviderUnavailable
    when the provider could not be asked), then reduce it to notices (asking the provider's own API
    where its signature binds less than the whole payload). Settling is the same for everyone."""

    provider: str

    def verify(self, request: WebhookRequest) -> Any: ...

    def notices(self, verified: Any) -> Sequence[Notice]: ...
