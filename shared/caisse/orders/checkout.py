"""Starting a checkout: price on the server, open the provider's checkout, then write the order,
its first history entry and its stock holds in one transaction.

DynamoDB requests: one BatchGetItem (the cart), one UpdateItem (the order number), one
TransactWriteItems. A retried request with the same Idempotency-Key maps to the same order id; its
transaction finds the order already there and answers what the first request answered.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from caisse.catalog.models import OrderCounter, Product
from caisse.catalog.service import PricedCart, fetch_products, price_cart
from caisse.clock import iso, utcnow
from caisse.config import settings
from caisse.db import Transaction, TransactionCancelled
from caisse.errors import IdempotencyMismatch, SoldOut
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
from caisse.payments.base import CheckoutSpec, PaymentProvider, ProviderCheckout

# Order ids derived from an Idempotency-Key live in their own UUID namespace.
_IDEMPOTENT_ORDERS = uuid.UUID("5a0b3c3e-6a7c-4f0e-9d0b-5c2a1f0e8d11")


@dataclass(frozen=True)
class CheckoutRequest:
    items: tuple[tuple[str, int], ...]
    currency: str
    customer_name: str
    customer_email: str
    locale: str
    provider: str | None = None

    def fingerprint(self) -> str:
        canonical = json.dumps(
            [sorted(self.items), self.currency, self.customer_name, self.customer_email, self.locale, self.provider],
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class CheckoutResult:
    body: dict[str, Any]
    replayed: bool


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


def create_checkout(
    request: CheckoutRequest,
    idempotency_key: str | None,
    provider: PaymentProvider,
    token_key: str,
) -> CheckoutResult:
    order_id = order_id_for(idempotency_key)
    products = fetch_products(sku for sku, _ in request.items)
    cart = price_cart(products, request.items, request.currency)

    now = utcnow()
    order_number = next_order_number(cart.order_prefix, now.year)
    shop = settings().shop_url
    opened = provider.open_checkout(
        CheckoutSpec(
            order_id=order_id,
            order_number=order_number,
            merchant=cart.merchant,
            lines=cart.lines,
            total=cart.total,
            customer_name=request.customer_name,
            customer_email=request.customer_email,
            locale=request.locale,
            expires_at=now + timedelta(minutes=settings().checkout_ttl_minutes),
            return_url=f"{shop}/orders/{order_id}/return?result=success",
            cancel_url=f"{shop}/orders/{order_id}/return?result=cancel",
            idempotency_key=f"checkout-{order_id}-{order_number}",
        )
    )
    order = _new_order(order_id, order_number, cart, request, provider.name, opened, now)

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
    for line in cart.lines:
        if line.limited:
            tx.update(
                Product(Product.key(line.sku)),
                actions=[Product.stock.add(-line.quantity)],
                condition=Product.stock >= line.quantity,
                label=f"stock:{line.sku}",
            )
            tx.put(Hold(order.pk, Hold.key(line.sku), sku=line.sku, quantity=line.quantity, state="held"), label="hold")
    try:
        tx.commit()
    except TransactionCancelled as cancelled:
        # Either way the provider checkout we just opened will never be used.
        provider.close_checkout(opened.provider_ref)
        existing = cancelled.failed.get("order")
        if existing is not None and existing.raw_item:
            return _replay(Order.from_raw_data(existing.raw_item), request, token_key)
        sold_out = [label.split(":", 1)[1] for label in cancelled.failed if label.startswith("stock:")]
        if sold_out:
            raise SoldOut(
                f"{products[sold_out[0]].name} sold out while you were checking out",
                sku=sold_out[0],
                remaining=0,
            ) from cancelled
        raise
    return CheckoutResult(checkout_answer(order, token_key), replayed=False)


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
) -> Order:
    return Order(
        order_pk(order_id),
        ORDER_SK,
        order_id=order_id,
        order_number=order_number,
        merchant=cart.merchant,
        status=states.PENDING_PAYMENT,
        version=1,
        currency=cart.total.currency,
        total_amount=cart.total.amount,
        items=[
            LineItem(sku=line.sku, name=line.name, quantity=line.quantity, unit_amount=line.unit_price.amount)
            for line in cart.lines
        ],
        customer=Customer(name=request.customer_name, email=request.customer_email, locale=request.locale),
        stages=list(cart.stages),
        provider=provider,
        provider_ref=opened.provider_ref,
        next_action=opened.next_action,
        request_fingerprint=request.fingerprint(),
        created_at=iso(now),
        updated_at=now,
        expires_at=opened.expires_at,
    )
