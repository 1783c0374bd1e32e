"""The keys an order carries so staff can list, filter and search orders through DynamoDB
indexes (template.yaml's orders_by_* and bookings_by_merchant), never a Scan.

Every listing index is sorted by `listed_at`: the moment the order was created, to the
microsecond, then its id, so newest-first is a total order and a page's cursor is simply the
last key it showed. Filters are partitions: "<merchant>#<status>", "<merchant>#<money state>",
"<merchant>#<provider>", "<merchant>#<sku>" (on the order's lines). Searches: the order number,
the customer's digest (caisse.orders.personal.customer_ref: merchant and email, any case; the index
holds no address in clear, and erasure removes it), and
the customer's name folded for search (prefix, accents and case ignored).

Keys are set when the order is written (new_order_transaction) and moved with its status and
money (caisse.orders.service.add_move), in the same transactions: an index never names a status
the order did not commit.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any

from caisse.clock import moment
from caisse.orders import personal
from caisse.orders.models import Order, OrderLine

# Bounds of a key range: every listed_at starts with a digit, so these sit below and above all.
LOWEST = "0"
HIGHEST = "~"
# Above any character a folded name can hold (DynamoDB compares strings as UTF-8 bytes).
NAME_HIGHEST = "\U0010ffff"

WORK_REFUNDS_OWED = "refunds_owed"
WORK_INCIDENTS = "incidents"
PLATFORM = "platform"


def listed_at(created: datetime, order_id: str) -> str:
    return f"{moment(created)}#{order_id}"


def fold(text: str) -> str:
    """A name as searches compare it: accents and case dropped, punctuation to spaces, one space
    between words ("Élodie  O'Brien" -> "elodie o brien")."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return " ".join(re.sub(r"[^\w]+", " ", bare).split())


def name_key(name: str, listed: str) -> str:
    return f"{fold(name)}#{listed}"


def keyed(merchant: str, value: str) -> str:
    return f"{merchant}#{value}"


def work_list(name: str, scope: str) -> str:
    """A work list's partition: refunds a merchant owes by hand, the platform's open incidents."""
    return f"{name}#{scope}"


def index_order(order: Order, created: datetime) -> None:
    """Give a new order every key the staff lists and searches read."""
    order.listed_at = listed_at(created, order.order_id)
    order.merchant_status = keyed(order.merchant, order.status)
    order.merchant_money = keyed(order.merchant, order.money_state or "unpaid")
    order.merchant_provider = keyed(order.merchant, order.provider)
    order.email_key = personal.customer_ref(order.merchant, order.customer.email)
    order.name_key = name_key(order.customer.name, order.listed_at)
    booking = order.booking.as_dict() if order.booking else None
    if booking and booking.get("start"):
        order.booking_merchant = order.merchant
        order.booking_start = f"{booking['start']}#{order.order_id}"


def forget_customer() -> list[Any]:
    """An erased customer is found by no search: their digest and name leave the indexes."""
    return [Order.email_key.remove(), Order.name_key.remove()]


def lines(order: Order) -> list[OrderLine]:
    """One line record per product of the order (the product filter's index)."""
    skus = dict.fromkeys(item.sku for item in order.items)
    return [
        OrderLine(
            order.pk,
            OrderLine.key(sku),
            sku=sku,
            merchant_product=keyed(order.merchant, sku),
            listed_at=order.listed_at,
        )
        for sku in skus
    ]


def move_actions(order: Order, status: str | None, money: str | None) -> list[Any]:
    """The index keys that follow a status or money move, for the move's own update."""
    actions = []
    if status is not None:
        actions.append(Order.merchant_status.set(keyed(order.merchant, status)))
    if money is not None:
        actions.append(Order.merchant_money.set(keyed(order.merchant, money)))
    return actions
