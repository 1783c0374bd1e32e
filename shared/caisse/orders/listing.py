"""The staff's order list: newest first, filtered and searched through the indexes of
template.yaml (caisse.orders.index says what each holds), a page at a time.

One filter or search picks the index and its partitions; everything else the query asks is
checked on the order as read (BatchGetItem, strongly consistent), so a page never shows an order
that does not match, even one whose index entry lags a move. A page reads at most a few rounds of
keys: with several filters at once a page may come back short, with a cursor to go on.

The cursor is the sort key of the last order looked at, so it works the same for one merchant
and for platform staff reading every merchant at once (one Query per merchant, merged). Scope is
enforced here: merchant staff only ever read their merchant's partitions, and every order read is
checked against the scope again.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from caisse.catalog.service import merchant_ids
from caisse.clock import iso, moment
from caisse.config import settings
from caisse.db import batch_get, decode_cursor, encode_cursor, query_partitions
from caisse.errors import InvalidRequest
from caisse.money import Money
from caisse.orders import index, personal, states
from caisse.orders.models import ORDER_SK, Order
from caisse.staff import Staff

PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
ROUNDS = 4  # rounds of keys one page may read when several filters narrow it

NUMBER = re.compile(r"^[A-Za-z0-9]{1,12}-\d{4}-\d{1,9}$")


@dataclass(frozen=True)
class OrderQuery:
    """What staff asked for: any of the filters, at most one search (`q`)."""

    merchant: str | None = None
    status: str | None = None
    money_state: str | None = None
    provider: str | None = None
    product: str | None = None
    created_from: datetime | date | None = None
    created_to: datetime | date | None = None
    q: str | None = None

    def search(self) -> tuple[str, str] | None:
        """What `q` searches by: an order id, an order number, an email (exact, any case), or
        else the start of the customer's name."""
        text = (self.q or "").strip()
        if not text:
            return None
        if "@" in text:
            return "email", text.lower()
        if NUMBER.match(text):
            return "number", text.upper()
        try:
            return "id", str(uuid.UUID(text))
        except ValueError:
            pass
        folded = index.fold(text)
        if not folded:
            raise InvalidRequest("q: search by order number, customer email or the start of a name", field="q")
        return "name", folded

    def time_bounds(self) -> tuple[str, str]:
        """The date range as bounds of the listed_at keys (inclusive)."""
        low = moment(_start(self.created_from)) if self.created_from else index.LOWEST
        high = moment(_end(self.created_to)) + index.HIGHEST if self.created_to else index.HIGHEST
        return low, high

    def matches(self, order: Order) -> bool:
        """Whether an order as read satisfies every filter and the search."""
        if self.status and order.status != self.status:
            return False
        if self.money_state and (order.money_state or states.UNPAID) != self.money_state:
            return False
        if self.provider and order.provider != self.provider:
            return False
        if self.product and self.product not in {item.sku for item in order.items}:
            return False
        low, high = self.time_bounds()
        if not (order.listed_at and low <= order.listed_at <= high):
            return False
        found = self.search()
        if found is None:
            return True
        by, value = found
        if by == "email":
            return order.email_key == personal.customer_ref(order.merchant, value)
        if by == "number":
            return order.order_number == value
        if by == "id":
            return order.order_id == value
        return (order.name_key or "").startswith(value)

    def fingerprint(self) -> str:
        text = json.dumps(asdict(self), default=str, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _start(value: datetime | date) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, time.min, UTC)


def _end(value: datetime | date) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value + timedelta(days=1), time.min, UTC) - timedelta(microseconds=1)


@dataclass(frozen=True)
class Plan:
    """Which index answers a query: its partitions (one per merchant where it is keyed by
    merchant), the sort key's range and direction."""

    index: str
    partition_attribute: str
    sort_attribute: str
    partitions: tuple[str, ...]
    low: str
    high: str
    forward: bool = False  # newest first, except a name search (alphabetical)


def plan(query: OrderQuery, merchants: list[str] | None) -> Plan:
    low, high = query.time_bounds()
    every = tuple(merchants) if merchants is not None else tuple(merchant_ids())
    found = query.search()
    if found is not None:
        by, value = found
        if by == "email":
            refs = tuple(personal.customer_ref(m, value) for m in every)  # one partition per merchant
            return Plan("orders_by_email", "email_key", "listed_at", refs, low, high)
        if by == "number":
            return Plan("orders_by_number", "order_number", "listed_at", (value,), low, high)
        if by == "id":
            return Plan("orders_by_id", "pk", "sk", (f"ORDER#{value}",), ORDER_SK, ORDER_SK)
        return Plan("orders_by_name", "merchant", "name_key", every, value, value + index.NAME_HIGHEST, forward=True)
    for wanted, name, attribute in (
        (query.product, "orders_by_product", "merchant_product"),
        (query.provider, "orders_by_provider", "merchant_provider"),
        (query.status, "orders_by_status", "merchant_status"),
        (query.money_state, "orders_by_money", "merchant_money"),
    ):
        if wanted:
            return Plan(name, attribute, "listed_at", tuple(index.keyed(m, wanted) for m in every), low, high)
    return Plan("orders_by_merchant", "merchant", "listed_at", every, low, high)


@dataclass
class Page:
    orders: list[Order]
    next_cursor: str | None
    search: str | None


def page(staff: Staff, query: OrderQuery, *, limit: int = PAGE_SIZE, cursor: str | None = None) -> Page:
    """One page of the orders `query` selects that `staff` may see."""
    merchants = staff.scope(query.merchant, "these orders")
    chosen = plan(query, merchants)
    position = decode_cursor(cursor, query.fingerprint())
    found: list[Order] = []
    for _ in range(ROUNDS):
        keys, more = _next_keys(chosen, position, limit - len(found))
        orders = _read(keys)
        for key in keys:
            position = key[chosen.sort_attribute]["S"]
            order = orders.get(key["pk"]["S"])
            if order is not None and _visible(order, merchants) and query.matches(order):
                found.append(order)
                if len(found) == limit:
                    break
        consumed_all = not keys or position == keys[-1][chosen.sort_attribute]["S"]
        if not more and consumed_all:
            return Page(found, None, (query.search() or (None,))[0])
        if len(found) == limit:
            break
    return Page(found, encode_cursor(position, query.fingerprint()), (query.search() or (None,))[0])


def every_order(staff: Staff, query: OrderQuery) -> Iterator[Order]:
    """Every order `query` selects that `staff` may see, in list order (the export)."""
    cursor = None
    while True:
        found = page(staff, query, limit=MAX_PAGE_SIZE, cursor=cursor)
        yield from found.orders
        if found.next_cursor is None:
            return
        cursor = found.next_cursor


def _visible(order: Order, merchants: list[str] | None) -> bool:
    return merchants is None or order.merchant in merchants


def _next_keys(chosen: Plan, position: str | None, wanted: int) -> tuple[list[dict[str, Any]], bool]:
    """The next `wanted` keys after `position` across the plan's partitions, in list order, and
    whether more may follow them."""
    if chosen.index == "orders_by_id":
        key = {"pk": {"S": chosen.partitions[0]}, "sk": {"S": ORDER_SK}}
        return ([key] if position is None else []), False
    return query_partitions(
        settings().orders_table,
        chosen.index,
        (chosen.partition_attribute, chosen.partitions),
        (chosen.sort_attribute, chosen.low, chosen.high),
        forward=chosen.forward,
        limit=wanted,
        after=position,
    )


def _read(keys: list[dict[str, Any]]) -> dict[str, Order]:
    wanted = [(Order, pk, ORDER_SK) for pk in dict.fromkeys(key["pk"]["S"] for key in keys)]
    found: dict[str, Order] = {}
    for start in range(0, len(wanted), 100):
        for record in batch_get(wanted[start : start + 100]):
            if isinstance(record, Order):
                found[record.pk] = record
    return found


# --------------------------------------------------------------------------- rows


def flags(order: Order) -> list[str]:
    """What needs a look, at a glance (the console shows them as badges)."""
    found = []
    if order.status == states.NEEDS_REVIEW:
        found.append("needs_review")
    if order.status == states.PAYMENT_FAILED:
        found.append("payment_failed")
    money = order.money_state or states.UNPAID
    if money in (states.DISPUTED, states.CHARGED_BACK):
        found.append(money)
    if int(order.refund_reserved or 0) > 0:
        found.append("refund_in_progress")
    if int(order.owed_refunds or 0) > 0:
        found.append("refund_owed")
    if order.balance and order.balance.as_dict().get("status") == "due":
        found.append("balance_due")
    if order.booking:
        found.append("booking")
    return found


def items_summary(order: Order) -> str:
    return ", ".join(f"{int(item.quantity)} × {item.name}" for item in order.items)


def order_row(order: Order) -> dict[str, Any]:
    """One line of the staff list: enough to recognise the order and see what needs doing."""
    return {
        "order_id": order.order_id,
        "order_number": order.order_number,
        "merchant": order.merchant,
        "created_at": order.created_at,
        "customer": {"name": order.customer.name, "email": order.customer.email},
        "items": items_summary(order),
        "item_count": sum(int(item.quantity) for item in order.items),
        "total": order.total.as_dict(),
        "refunded": Money(int(order.refunded_amount or 0), order.currency).as_dict(),
        "status": order.status,
        "money_state": order.money_state or states.UNPAID,
        "provider": order.provider,
        "paid_at": iso(order.paid_at) if order.paid_at else None,
        "flags": flags(order),
    }
