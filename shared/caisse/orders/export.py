"""The order list as a CSV file for the accountant: the same selection as the staff list, one row
per order, money in major units with its currency ("99.00 USD" is two columns: 99.00 and USD;
XAF and XOF have no decimals), refunds and the platform's fees as columns of their own.

UTF-8 with a byte-order mark, so spreadsheet programs read accents right; a cell a customer typed
that starts like a formula (=, +, -, @) is prefixed with a quote, so opening the file never runs
what a customer wrote (OWASP's CSV injection advice). Numbers are never prefixed.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from botocore.config import Config

from caisse.clock import iso, utcnow
from caisse.config import settings
from caisse.db import aws_client
from caisse.money import Money
from caisse.orders import states
from caisse.orders.listing import OrderQuery, every_order, items_summary
from caisse.orders.models import Order
from caisse.staff import Staff

BOM = "\ufeff"
COLUMNS = (
    "order_number",
    "order_id",
    "created_at",
    "paid_at",
    "merchant",
    "customer_name",
    "customer_email",
    "items",
    "status",
    "money_state",
    "provider",
    "payment_ref",
    "currency",
    "total",
    "paid",
    "refunded",
    "platform_fee",
    "net",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _fee(order: Order) -> int:
    """The platform's fee on this order's money: a cart's or a booking's deposit's, and a balance's."""
    paid = order.application_fee
    balance = order.balance.as_dict() if order.balance else {}
    fee = 0
    for part in (paid.as_dict() if paid else None, balance.get("fee") if balance.get("status") == "paid" else None):
        if part and part.get("currency") == order.currency:
            fee += int(part.get("amount") or 0)
    return fee


def _received(order: Order) -> int:
    """What was received: the payment (and a booking's balance paid after the job)."""
    if (order.money_state or states.UNPAID) == states.UNPAID:
        return 0
    return order.received.amount


def row(order: Order) -> list[str]:
    currency = order.currency
    received = _received(order)
    refunded = int(order.refunded_amount or 0)
    fee = _fee(order)
    net = received - refunded - fee
    if (order.money_state or states.UNPAID) == states.CHARGED_BACK:
        net = -fee  # the money went back to the customer's bank; the fee is the platform's

    def major(amount: int) -> str:
        return Money(amount, currency).to_major()

    return [
        _text(order.order_number),
        order.order_id,
        order.created_at,
        iso(order.paid_at) if order.paid_at else "",
        _text(order.merchant),
        _text(order.customer.name),
        _text(order.customer.email),
        _text(items_summary(order)),
        order.status,
        order.money_state or states.UNPAID,
        order.provider,
        _text(order.payment_ref),
        currency,
        major(order.total.amount),
        major(received),
        major(refunded),
        major(fee),
        major(net),
    ]


def csv_lines(orders: Iterable[Order]) -> Iterable[str]:
    """The file, a line at a time (the header first, with the byte-order mark)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    yield BOM + buffer.getvalue()
    for order in orders:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(row(order))
        yield buffer.getvalue()


# --------------------------------------------------------------------------- delivery

INLINE_ROWS = 5000  # about 1.5 MB: answered in the response itself
INLINE_BYTES = 4 * 1024 * 1024  # Lambda answers at most 6 MB
LINK_SECONDS = 15 * 60


@dataclass(frozen=True)
class Export:
    filename: str
    rows: int
    body: str | None = None  # the file itself, when small
    url: str | None = None  # else a presigned GET of the file written to the exports bucket
    expires_at: str | None = None


def export_orders(staff: Staff, query: OrderQuery, *, link: bool = False) -> Export:
    """The selection as CSV: in the answer when small, else (or when `link` is asked) written to
    the exports bucket (kept a day) and answered with a 15-minute link."""
    now = utcnow()
    scope_name = query.merchant or staff.merchant or "all"
    filename = f"orders-{scope_name}-{now:%Y%m%dT%H%M%SZ}.csv"
    lines, size = [], 0
    for line in csv_lines(every_order(staff, query)):
        lines.append(line)
        size += len(line.encode())
    rows = len(lines) - 1
    body = "".join(lines)
    if not link and rows <= INLINE_ROWS and size <= INLINE_BYTES:
        return Export(filename, rows, body=body)
    key = f"exports/{staff.merchant or 'platform'}/{uuid.uuid4().hex}/{filename}"
    client = aws_client("s3", Config(signature_version="s3v4"))
    client.put_object(
        Bucket=settings().exports_bucket,
        Key=key,
        Body=body.encode(),
        ContentType="text/csv; charset=utf-8",
        ContentDisposition=f'attachment; filename="{filename}"',
    )
    url = client.generate_presigned_url(
        "get_object", Params={"Bucket": settings().exports_bucket, "Key": key}, ExpiresIn=LINK_SECONDS
    )
    return Export(filename, rows, url=url, expires_at=iso(now + timedelta(seconds=LINK_SECONDS)))
