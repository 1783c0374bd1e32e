"""Checkout, the orders' side: the request, the merchant's checkout rules, and the records a
checkout writes. The pending order, its first history entry, its stock holds, the client's
attempt counter and its open-checkout counters are written in ONE transaction, before any
provider is asked for money (caisse.payments.checkout does the asking): money can never arrive
for an order that does not exist.

A retried request with the same Idempotency-Key is answered from the first read, before any
provider is called again (a second USSD prompt on a customer's phone would be a real problem, not
a detail).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from caisse.catalog.models import CheckoutAttempts, OpenCheckouts, OrderCounter, Product
from caisse.catalog.service import PricedCart
from caisse.clock import iso
from caisse.config import settings
from caisse.db import Transaction, TransactionCancelled
from caisse.errors import CaisseError, IdempotencyMismatch, InvalidRequest
from caisse.observability import correlation_id
from caisse.orders import capacity, index, personal, states, tokens
from caisse.orders.models import (
    ORDER_SK,
    CustomerLink,
    HistoryEntry,
    Hold,
    LineItem,
    Order,
    order_pk,
)
from caisse.orders.service import add_move, load, put_reference
from caisse.secrets import secret

# Order ids derived from an Idempotency-Key live in their own UUID namespace.
_IDEMPOTENT_ORDERS = uuid.UUID("5a0b3c3e-6a7c-4f0e-9d0b-5c2a1f0e8d11")


class TooManyAttempts(CaisseError):
    status = 429
    code = "too_many_attempts"


class TooManyOpenCheckouts(CaisseError):
    status = 429
    code = "too_many_open_checkouts"


@dataclass(frozen=True)
class BookingRequest:
    """A merchant's time asked for instead of products (caisse.bookings)."""

    merchant: str
    service: str
    start: datetime
    address: str | None = None  # where the job is: encrypted on the order, like the phone
    notes: str | None = None

    @property
    def job(self) -> dict[str, str] | None:
        found = {name: value for name, value in (("address", self.address), ("notes", self.notes)) if value}
        return found or None


@dataclass(frozen=True)
class CheckoutRequest:
    items: tuple[tuple[str, int], ...]
    currency: str
    customer_name: str
    customer_email: str
    locale: str | None  # None: the shop's language
    provider: str | None = None
    customer_phone: str | None = None
    client_ip: str | None = None  # from API Gateway's request context, never from a header
    answers: dict[str, Any] | None = None  # the product's questionnaire, answered (the song brief)
    source: dict[str, str] | None = None  # UTM fields: plain metadata
    day: date | None = None  # the day of the merchant's daily capacity asked for
    booking: BookingRequest | None = None

    def fingerprint(self, key: str) -> str:
        """What makes two requests the same checkout: an HMAC under a server key, so the stored
        fingerprint tells nothing about the phone or the answers it covers."""
        canonical = json.dumps(
            [
                sorted(self.items),
                self.currency,
                self.customer_name,
                self.customer_email,
                self.locale,
                self.provider,
                self.customer_phone,
                self.answers,
                self.source,
                self.day.isoformat() if self.day else None,
                # a booking's job details, only where given (every other fingerprint stays as it was)
                *([self.booking.job] if self.booking and self.booking.job else []),
            ],
            separators=(",", ":"),
            sort_keys=True,
            default=str,
        )
        return hmac.new(key.encode(), canonical.encode(), hashlib.sha256).hexdigest()

    @property
    def client(self) -> str:
        """Who is paying, for attempt limits: the phone if given, else the email."""
        return re.sub(r"\D", "", self.customer_phone or "") or self.customer_email.strip().lower()


@dataclass(frozen=True)
class LowStock:
    """A product a checkout left at or under its merchant's low-stock threshold."""

    merchant: str
    sku: str
    left: int
    threshold: int


@dataclass(frozen=True)
class CheckoutResult:
    body: dict[str, Any]
    replayed: bool
    low_stock: tuple[LowStock, ...] = ()


def return_urls(order_id: str) -> dict[str, str]:
    """Where a provider's page sends the customer back: our return route, which settles the order
    with what the provider says (PayPal is captured there) and then sends the browser on to the
    hosted order page. The order token rides in the fragment, which the browser keeps through that
    redirect and never sends to the provider's servers or ours."""
    page = f"{settings().public_api_url}/orders/{order_id}/return"
    fragment = f"#token={tokens.issue(order_id, secret(tokens.TOKEN_KEY_PARAMETER))}"
    return {"return_url": f"{page}?result=success{fragment}", "cancel_url": f"{page}?result=cancel{fragment}"}


def order_id_for(idempotency_key: str | None) -> str:
    if idempotency_key:
        return str(uuid.uuid5(_IDEMPOTENT_ORDERS, idempotency_key))
    return str(uuid.uuid4())


def next_order_number(prefix: str, year: int) -> str:
    counter = OrderCounter(OrderCounter.key(prefix, year))
    counter.update(actions=[OrderCounter.value.add(1), OrderCounter.record_type.set(OrderCounter)])
    return f"{prefix}-{year}-{int(counter.value):04d}"


def checkout_answer(order: Order, token_key: str) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "order_number": order.order_number,
        "status": order.status,
        "money_state": order.money_state or states.UNPAID,
        "total": order.total.as_dict(),
        "provider": order.provider,
        "next_action": order.next_action.as_dict() if order.next_action else None,
        "expires_at": iso(order.expires_at),
        "order_token": tokens.issue(order.order_id, token_key),
        **({"day": order.day} if order.day else {}),
    }


@dataclass(frozen=True)
class Rules:
    """A merchant's checkout rules (data/catalog.json "rules"), as copied onto its products."""

    raw: dict[str, Any]

    def check_phone(self, phone: str | None) -> None:
        wanted = self.raw.get("phone")
        if not wanted:
            return
        prefix, digits = wanted["prefix"], int(wanted["digits"])
        if not re.fullmatch(re.escape(prefix) + rf"\d{{{digits}}}", re.sub(r"[\s().-]", "", phone or "")):
            raise InvalidRequest(
                f"give a phone number in the {prefix} format: {prefix} then {digits} digits", code="invalid_phone"
            )

    def attempt_window(self, now: datetime) -> tuple[int, int, int] | None:
        """(window number, limit, window seconds) where attempts are limited."""
        limit = self.raw.get("attempt_limit")
        if not limit:
            return None
        seconds = int(limit["window_minutes"]) * 60
        return int(now.timestamp()) // seconds, int(limit["count"]), seconds

    def review_above(self, currency: str) -> int | None:
        value = (self.raw.get("review_above") or {}).get(currency)
        return int(value) if value is not None else None

    @property
    def hold_minutes(self) -> int:
        """How long a checkout holds stock (the festival: 15 minutes); the shop-wide default else."""
        return int(self.raw.get("hold_minutes") or settings().checkout_ttl_minutes)

    @property
    def retention_months(self) -> int | None:
        """Months after an order closes when its customer's personal data is erased (a schedule)."""
        value = self.raw.get("retention_months")
        return int(value) if value else None

    @property
    def limits(self) -> dict[str, int]:
        return {key: int(value) for key, value in (self.raw.get("limits") or {}).items()}

    def low_stock(self, products: dict[str, Product], cart: PricedCart) -> tuple[LowStock, ...]:
        """The limited products this checkout left at or under the merchant's `low_stock_threshold`:
        the stock read before the hold less what it held (a concurrent checkout can only have left
        less, and reports its own)."""
        threshold = self.raw.get("low_stock_threshold")
        if threshold is None:
            return ()
        left = {line.sku: int(products[line.sku].stock) - line.quantity for line in cart.lines if line.limited}
        return tuple(
            LowStock(cart.merchant, sku, max(stock, 0), int(threshold))
            for sku, stock in left.items()
            if stock <= int(threshold)
        )

    def check_items_per_order(self, cart: PricedCart) -> None:
        """At most this many limited items (tickets) in one order."""
        cap = self.limits.get("items_per_order")
        held = sum(line.quantity for line in cart.lines if line.limited)
        if cap is not None and held > cap:
            raise InvalidRequest(f"at most {cap} tickets per order", code="too_many_items", maximum=cap, requested=held)

    def open_counters(self, merchant: str, request: CheckoutRequest) -> list[tuple[str, int, str]]:
        """(counter key, limit, what) for each cap on open checkouts that applies to this request."""
        counters = []
        for kind, who in (("email", request.customer_email.strip().lower()), ("ip", request.client_ip)):
            cap = self.limits.get(f"open_checkouts_per_{kind}")
            if cap is not None and who:
                digest = hashlib.sha256(f"{merchant}:{kind}:{who}".encode()).hexdigest()[:32]
                counters.append((OpenCheckouts.key(merchant, kind, digest), cap, kind))
        return counters


def pending_order_transaction(
    order: Order,
    cart: PricedCart,
    now: datetime,
    attempts: tuple[CheckoutAttempts, int, int] | None = None,
    counters: list[tuple[str, int, str]] | None = None,
    day: tuple[capacity.DailyLimit, date] | None = None,
) -> Transaction:
    """The new order with its history, its stock holds (never below zero), the client's attempt
    counter, its open-checkout counters and its place in the day's capacity: all or nothing."""
    tx = new_order_transaction(order, now, cart.questionnaire)
    if day is not None:
        capacity.take(tx, order, *day)
    for line in cart.lines:
        if line.limited:
            tx.update(
                Product(Product.key(line.sku)),
                actions=[Product.stock.add(-line.quantity)],
                condition=Product.stock >= line.quantity,
                label=f"stock:{line.sku}",
            )
            tx.put(Hold(order.pk, Hold.key(line.sku), sku=line.sku, quantity=line.quantity, state="held"), label="hold")
    if attempts is not None:
        counter, limit, seconds = attempts
        tx.update(
            counter,
            actions=[
                CheckoutAttempts.attempts.add(1),
                CheckoutAttempts.record_type.set(CheckoutAttempts),
                CheckoutAttempts.expires_at.set(now + timedelta(seconds=2 * seconds)),
            ],
            condition=CheckoutAttempts.attempts.does_not_exist() | (CheckoutAttempts.attempts < limit),
            label="attempts",
        )
    for key, cap, kind in counters or []:
        tx.update(
            OpenCheckouts(key),
            actions=[OpenCheckouts.count.add(1), OpenCheckouts.record_type.set(OpenCheckouts)],
            condition=OpenCheckouts.count.does_not_exist() | (OpenCheckouts.count < cap),
            label=f"open:{kind}",
        )
    return tx


def new_order_transaction(order: Order, now: datetime, questions: str | None = None) -> Transaction:
    """A transaction that writes a new order, indexed for the staff lists (caisse.orders.index),
    with its first history entry and its product lines; if the order already exists (a retried
    request), the cancellation carries it under the label "order". The order keeps the correlation
    id of the request creating it, which its stream records and emails log under; its encrypted
    fields go into its PersonalData item, written here too (caisse.orders.personal.set_apart), with
    the `questions` its answers were given to."""
    index.index_order(order, now)
    order.correlation_id = order.correlation_id or correlation_id()
    sealed = personal.set_apart(order, questions)
    tx = Transaction()
    tx.put(order, condition=Order.pk.does_not_exist(), label="order", return_old=True)
    if sealed is not None:
        tx.put(sealed, label="personal")
    for line in index.lines(order):
        tx.put(line, label=f"line:{line.sku}")
    tx.put(
        HistoryEntry(
            order.pk,
            HistoryEntry.key(1),
            version=1,
            from_status=None,
            to_status=states.PENDING_PAYMENT,
            to_money=states.UNPAID,
            at=now,
            actor="customer",
            actor_id="checkout",
        ),
        label="history",
    )
    tx.put(
        CustomerLink(
            CustomerLink.partition(order.merchant, personal.customer_ref(order.merchant, order.customer.email)),
            CustomerLink.key(order.order_id),
            order_id=order.order_id,
            merchant=order.merchant,
            created_at=order.created_at,
        ),
        label="customer",
    )
    return tx


def existing_order(cancelled: TransactionCancelled) -> Order | None:
    """The order a cancelled new-order transaction found already written (a retried request)."""
    found = cancelled.failed.get("order")
    if found is not None and getattr(found, "raw_item", None):
        return Order.from_raw_data(found.raw_item)
    return None


def attach(order: Order, provider_ref: str | None, next_action: dict[str, Any]) -> Order:
    """Record the provider's checkout on the pending order (and which order its id belongs to).
    If the order already moved (a fast callback paid it first), it is read back as it is."""
    tx = Transaction()
    actions = [Order.next_action.set(next_action)]
    if provider_ref:
        actions.append(Order.provider_ref.set(provider_ref))
        put_reference(tx, order.provider, provider_ref, order.order_id)
    unset = Order.provider_ref.does_not_exist()
    if provider_ref:
        unset = unset | (Order.provider_ref == provider_ref)
    tx.update(order, actions=actions, condition=unset & Order.status.is_in(*states.HOLDING), label="order")
    try:
        tx.commit()
    except TransactionCancelled:
        # Settled meanwhile, or another copy of this request attached the checkout: read it back.
        bundle = load(order.order_id)
        assert bundle is not None
        return bundle.order
    order.next_action = next_action
    if provider_ref:
        order.provider_ref = provider_ref
    return order


def abandon(order_id: str, reason: str) -> None:
    """The provider refused to open the checkout: cancel the order, giving its stock back."""
    bundle = load(order_id)
    if bundle is None or not bundle.workflow.can(bundle.order.status, states.CANCELLED, states.Actor.SYSTEM):
        return
    tx = Transaction()
    add_move(
        tx, bundle, states.CANCELLED, actor=states.Actor.SYSTEM, actor_id="system:checkout", note=reason, message=reason
    )
    try:
        tx.commit()
    except TransactionCancelled:
        pass  # moved meanwhile: whatever moved it decides


def attempts_so_far(
    rules: Rules, merchant: str, client: str, now: datetime
) -> tuple[CheckoutAttempts, int, int] | None:
    window = rules.attempt_window(now)
    if window is None:
        return None
    number, limit, seconds = window
    counter = CheckoutAttempts(CheckoutAttempts.key(merchant, hashlib.sha256(client.encode()).hexdigest()[:32], number))
    try:
        current = CheckoutAttempts.get(counter.pk, consistent_read=True).attempts
    except CheckoutAttempts.DoesNotExist:
        current = 0
    if current >= limit:
        raise too_many(rules)
    return counter, limit, seconds


def too_many(rules: Rules) -> TooManyAttempts:
    limit = rules.raw["attempt_limit"]
    return TooManyAttempts(
        f"at most {limit['count']} payment attempts every {limit['window_minutes']} minutes; please wait and try again",
        retry_after_minutes=int(limit["window_minutes"]),
    )


def too_many_open(rules: Rules, kind: str) -> TooManyOpenCheckouts:
    cap = rules.limits[f"open_checkouts_per_{kind}"]
    who = "this email address" if kind == "email" else "your network"
    return TooManyOpenCheckouts(
        f"{who} already has {cap} checkouts waiting for payment with this shop; pay or let one expire "
        f"(after {rules.hold_minutes} minutes) before starting another",
        maximum=cap,
        retry_after_minutes=rules.hold_minutes,
    )


def check_replay(existing: Order, fingerprint: str) -> None:
    """A replayed request must be the same checkout as the one that wrote the order."""
    if existing.request_fingerprint != fingerprint:
        raise IdempotencyMismatch("this Idempotency-Key was already used for a different checkout")


def new_order(
    order_id: str,
    order_number: str,
    cart: PricedCart,
    request: CheckoutRequest,
    provider: str,
    now: datetime,
    rules: Rules,
    counters: list[tuple[str, int, str]],
    fingerprint: str,
    answers: dict[str, Any] | None = None,
    day: date | None = None,
    connect_account: str | None = None,
    platform_fee: dict[str, Any] | None = None,
) -> Order:
    """The pending order, before any provider was asked: no provider reference or next action yet.
    The phone and the answers are encrypted here, before anything is written. A signed-up merchant's
    cart records the connected account and the fee it is paid with, so a retry asks for the same."""
    return Order(
        order_pk(order_id),
        ORDER_SK,
        order_id=order_id,
        order_number=order_number,
        merchant=cart.merchant,
        merchant_contact=cart.merchant_contact,
        status=states.PENDING_PAYMENT,
        money_state=states.UNPAID,
        version=1,
        currency=cart.total.currency,
        total_amount=cart.total.amount,
        items=[
            LineItem(  # type: ignore[no-untyped-call]  # pynamodb's constructor
                sku=line.sku,
                name=line.name,
                quantity=line.quantity,
                unit_amount=line.unit_price.amount,
                event=line.event,
                admissions=line.admissions,
            )
            for line in cart.lines
        ],
        customer=personal.customer(
            order_id,
            request.customer_name,
            request.customer_email,
            request.locale or (cart.merchant_contact or {}).get("locale") or "en",
            request.customer_phone,
        ),
        answers_sealed=personal.seal_answers(order_id, answers),
        source=request.source or None,
        day=day.isoformat() if day else None,
        stages=list(cart.stages),
        workflow=cart.workflow,
        provider=provider,
        request_fingerprint=fingerprint,
        created_at=iso(now),
        updated_at=now,
        expires_at=now + timedelta(minutes=rules.hold_minutes),
        review_above=rules.review_above(cart.total.currency),
        refund_policy=rules.raw.get("refund_policy"),
        open_counters=[key for key, _, _ in counters] or None,
        retention_months=rules.retention_months,
        connect_account=connect_account,
        platform_fee=platform_fee,
    )
