"""A merchant's bookings by day or over a range of days, in the order of the appointments: what
a tradie reads in the morning (when, who, their phone, where, what they wrote).

Bookings sit in the orders table's bookings_by_merchant index, sorted by their start (UTC) then
order id; the merchant's own dates are turned into UTC bounds in its time zone, so a day is the
merchant's day, night clock changes included. One Query and one BatchGetItem a page.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from caisse.catalog.service import get_merchant
from caisse.clock import iso
from caisse.config import settings
from caisse.db import batch_get, decode_cursor, encode_cursor, query_partitions
from caisse.errors import InvalidRequest
from caisse.orders import personal, states
from caisse.orders.models import ORDER_SK, PERSONAL_SK, Order, PersonalData
from caisse.orders.service import booking_view, customer_view
from caisse.staff import Staff

MAX_DAYS = 62
PAGE_SIZE = 100
MAX_PAGE_SIZE = 200


def _bounds(first: date, last: date, timezone: str) -> tuple[str, str]:
    zone = ZoneInfo(timezone)
    start = datetime.combine(first, time.min, zone)
    end = datetime.combine(last + timedelta(days=1), time.min, zone) - timedelta(seconds=1)
    return iso(start), iso(end) + "~"


def agenda(
    staff: Staff,
    merchant: str | None,
    *,
    day: date | None = None,
    start: date | None = None,
    end: date | None = None,
    include_cancelled: bool = False,
    limit: int = PAGE_SIZE,
    cursor: str | None = None,
) -> dict[str, Any]:
    merchant_id = staff.merchant_for(merchant, "these bookings")
    if day is not None and (start is not None or end is not None):
        raise InvalidRequest("give a date, or a range (from, to), not both", field="date")
    first, last = (day, day) if day is not None else (start, end)
    if first is None or last is None:
        raise InvalidRequest("give a date, or a range with from and to", field="date")
    if last < first or (last - first).days >= MAX_DAYS:
        raise InvalidRequest(f"a range runs forward over at most {MAX_DAYS} days", field="to")
    merchant_record = get_merchant(merchant_id)
    timezone = merchant_record.timezone or "UTC"
    low, high = _bounds(first, last, timezone)
    fingerprint = hashlib.sha256(f"{merchant_id}|{first}|{last}|{include_cancelled}".encode()).hexdigest()[:16]
    keys, more = query_partitions(
        settings().orders_table,
        "bookings_by_merchant",
        ("booking_merchant", [merchant_id]),
        ("booking_start", low, high),
        forward=True,
        limit=limit,
        after=decode_cursor(cursor, fingerprint),
    )
    # Each booking with its PersonalData item (the phone, address and notes), in the same reads.
    records = batch_get(
        [(model, key["pk"]["S"], sk) for key in keys for model, sk in ((Order, ORDER_SK), (PersonalData, PERSONAL_SK))]
    )
    orders = {record.pk: record for record in records if isinstance(record, Order)}
    sealed = {record.pk: record for record in records if isinstance(record, PersonalData)}
    rows = []
    for key in keys:
        order = orders.get(key["pk"]["S"])
        if order is None or order.merchant != merchant_id:
            continue
        if order.status in states.CLOSED and not include_cancelled:
            continue
        rows.append(booking_row(order, staff, sealed.get(order.pk)))
    last_key = keys[-1]["booking_start"]["S"] if keys else None
    return {
        "merchant": merchant_id,
        "timezone": timezone,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "bookings": rows,
        "next_cursor": encode_cursor(last_key, fingerprint) if more else None,
    }


def booking_row(order: Order, staff: Staff, record: PersonalData | None = None) -> dict[str, Any]:
    """One appointment of the day. The tradie calls the customer and drives to the job: the phone,
    address and notes are decrypted for them and the read recorded on the order (caisse.orders.personal)."""
    balance = order.balance.as_dict() if order.balance else None
    customer = customer_view(order)
    revealed = personal.reveal(order, staff.actor_id, "bookings_day", want_answers=False, record=record)
    if personal.PHONE in revealed:
        customer["phone"] = revealed[personal.PHONE]
    appointment = {**(booking_view(order) or {}), **(revealed.get(personal.JOB) or {})}
    return {
        "booking_id": order.order_id,
        "order_number": order.order_number,
        "status": order.status,
        "money_state": order.money_state or states.UNPAID,
        **appointment,
        "customer": customer,
        "balance": balance,
    }
