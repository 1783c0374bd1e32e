"""Starting a checkout: price on the server, apply the merchant's rules, open the provider's
checkout, then write the order, its first history entry and its stock holds in one transaction.

DynamoDB requests: one BatchGetItem (the cart's products, the order an Idempotency-Key names, and
the client's attempt counter where the merchant limits attempts), one UpdateItem (the order
number), one TransactWriteItems. A retried request with the same Idempotency-Key is answered from
the first read, before any provider is called again (a second USSD prompt on a customer's phone
would be a real problem, not a detail).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from caisse.catalog.models import CheckoutAttempts, OrderCounter, Product
from caisse.catalog.service import PricedCart, price_cart
from caisse.clock import iso, utcnow
from caisse.config import settings
from caisse.db import Transaction, TransactionCancelled, batch_get
from caisse.errors import CaisseError, IdempotencyMismatch, InvalidRequest, SoldOut
from caisse.orders import states, tokens
from caisse.orders.models import (
    ORDER_SK,
    Customer,
    HistoryEntry,
    Hold,
    LineItem,
    Order,
    order_pk,
)
from caisse.payments.base import CheckoutSpec, ProviderCheckout
from caisse.payments.registry import provider_for

# Order ids derived from an Idempotency-Key live in their own UUID namespace.
_IDEMPOTENT_ORDERS = uuid.UUID("5a0b3c3e-6a7c-4f0e-9d0b-5c2a1f0e8d11")


class TooManyAttempts(CaisseError):
    status = 429
    code = "too_many_attempts"


@dataclass(frozen=True)
class CheckoutRequest:
    items: tuple[tuple[str, int], ...]
    currency: str
    customer_name: str
    customer_email: str
    locale: str
    provider: str | None = None
    customer_phone: str | None = None

    def fingerprint(self) -> str:
        canonical = json.dumps(
            [
                sorted(self.items),
                self.currency,
                self.customer_name,
                self.customer_email,
                self.locale,
                self.provider,
                self.customer_phone,
            ],
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()

    @property
    def client(self) -> str:
        """Who is paying, for attempt limits: the phone if given, else the email."""
        return re.sub(r"\D", "", self.customer_phone or "") or self.customer_email.strip().lower()


@dataclass(frozen=True)
class CheckoutResult:
    body: dict[str, Any]
    replayed: bool


def return_urls(order_id: str) -> dict[str, str]:
    """Where a provider's page sends the customer back: the shop's page for this order."""
    page = f"{settings().shop_url}/orders/{order_id}/return"
    return {"return_url": f"{page}?result=success", "cancel_url": f"{page}?result=cancel"}


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
        "total": order.total.as_dict(),
        "provider": order.provider,
        "next_action": order.next_action.as_dict() if order.next_action else None,
        "expires_at": iso(order.expires_at),
        "order_token": tokens.issue(order.order_id, token_key),
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


def create_checkout(request: CheckoutRequest, idempotency_key: str | None, token_key: str) -> CheckoutResult:
    order_id = order_id_for(idempotency_key)
    now = utcnow()
    skus = list(dict.fromkeys(sku for sku, _ in request.items))
    products, existing = _read(skus, order_id if idempotency_key else None)
    if existing is not None:
        return _replay(existing, request, token_key)
    cart = price_cart(products, request.items, request.currency)
    rules = Rules(cart.merchant_rules or {})
    rules.check_phone(request.customer_phone)
    provider = provider_for(request.currency, request.provider, rules.raw.get("routes"))
    attempts = _attempts_so_far(rules, cart.merchant, request.client, now)

    order_number = next_order_number(cart.order_prefix, now.year)
    spec = CheckoutSpec(
        order_id=order_id,
        order_number=order_number,
        merchant=cart.merchant,
        merchant_name=(cart.merchant_contact or {}).get("name") or cart.merchant,
        lines=cart.lines,
        total=cart.total,
        customer_name=request.customer_name,
        customer_email=request.customer_email,
        customer_phone=request.customer_phone,
        locale=request.locale,
        expires_at=now + timedelta(minutes=settings().checkout_ttl_minutes),
        **return_urls(order_id),
        notify_url=f"{settings().public_api_url}/webhooks/{provider.name}",
        idempotency_key=f"checkout-{order_id}",
    )
    provider.check(spec)
    opened = provider.open_checkout(spec)
    order = _new_order(order_id, order_number, cart, request, provider.name, opened, now, rules)

    tx = new_order_transaction(order, now)
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
    try:
        tx.commit()
    except TransactionCancelled as cancelled:
        # Either way the provider checkout we just opened will never be used.
        provider.close_checkout(opened.provider_ref)
        existing_order = cancelled.failed.get("order")
        if existing_order is not None and existing_order.raw_item:
            return _replay(Order.from_raw_data(existing_order.raw_item), request, token_key)
        sold_out = [label.split(":", 1)[1] for label in cancelled.failed if label.startswith("stock:")]
        if sold_out:
            raise SoldOut(
                f"{products[sold_out[0]].name} sold out while you were checking out",
                sku=sold_out[0],
                remaining=0,
            ) from cancelled
        if "attempts" in cancelled.failed:
            raise _too_many(rules) from cancelled
        raise
    return CheckoutResult(checkout_answer(order, token_key), replayed=False)


def new_order_transaction(order: Order, now: datetime) -> Transaction:
    """A transaction that writes a new order and its first history entry; if the order already
    exists (a retried request), the cancellation carries it under the label "order"."""
    tx = Transaction()
    tx.put(order, condition=Order.pk.does_not_exist(), label="order", return_old=True)
    tx.put(
        HistoryEntry(
            order.pk,
            HistoryEntry.key(1),
            version=1,
            from_status=None,
            to_status=states.PENDING_PAYMENT,
            at=now,
            actor="customer",
            actor_id="checkout",
        ),
        label="history",
    )
    return tx


def _read(skus: list[str], order_id: str | None) -> tuple[dict[str, Product], Order | None]:
    wanted: list[tuple[Any, Any, Any]] = [(Product, Product.key(sku), None) for sku in skus]
    if order_id:
        wanted.append((Order, order_pk(order_id), ORDER_SK))
    products: dict[str, Product] = {}
    existing: Order | None = None
    for record in batch_get(wanted):
        if isinstance(record, Product):
            products[record.sku] = record
        elif isinstance(record, Order):
            existing = record
    return products, existing


def _attempts_so_far(rules: Rules, merchant: str, client: str, now: datetime):
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
        raise _too_many(rules)
    return counter, limit, seconds


def _too_many(rules: Rules) -> TooManyAttempts:
    limit = rules.raw["attempt_limit"]
    return TooManyAttempts(
        f"at most {limit['count']} payment attempts every {limit['window_minutes']} minutes; please wait and try again",
        retry_after_minutes=int(limit["window_minutes"]),
    )


def _replay(existing: Order, request: CheckoutRequest, token_key: str) -> CheckoutResult:
    if existing.request_fingerprint != request.fingerprint():
        raise IdempotencyMismatch("this Idempotency-Key was already used for a different checkout")
    return CheckoutResult(checkout_answer(existing, token_key), replayed=True)


def _new_order(
    order_id: str,
    order_number: str,
    cart: PricedCart,
    request: CheckoutRequest,
    provider: str,
    opened: ProviderCheckout,
    now: datetime,
    rules: Rules,
) -> Order:
    return Order(
        order_pk(order_id),
        ORDER_SK,
        order_id=order_id,
        order_number=order_number,
        merchant=cart.merchant,
        merchant_contact=cart.merchant_contact,
        status=states.PENDING_PAYMENT,
        version=1,
        currency=cart.total.currency,
        total_amount=cart.total.amount,
        items=[
            LineItem(sku=line.sku, name=line.name, quantity=line.quantity, unit_amount=line.unit_price.amount)
            for line in cart.lines
        ],
        customer=Customer(
            name=request.customer_name,
            email=request.customer_email,
            locale=request.locale,
            phone=request.customer_phone,
        ),
        stages=list(cart.stages),
        provider=provider,
        provider_ref=opened.provider_ref,
        next_action=opened.next_action,
        request_fingerprint=request.fingerprint(),
        created_at=iso(now),
        updated_at=now,
        expires_at=opened.expires_at,
        review_above=rules.review_above(cart.total.currency),
        refund_policy=rules.raw.get("refund_policy"),
    )
