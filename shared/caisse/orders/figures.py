"""Business figures per merchant, day and currency: paid orders, revenue, refunds, platform fees
and money charged back, kept up to date from the orders stream (never by scanning orders).

Each stream record is one committed version of an order; what it adds to the figures is worked
out from its old and new images (`contribution`, pure). It is applied once: a marker named by
the order and its version is written in the same transaction as the additions, on condition that
it does not exist, so a record delivered again (Lambda retries, a bisected batch) counts nothing.

A day is the merchant's own (its time zone, copied onto the order at checkout); money is counted
on the day it moved: a payment on the day it was paid, a refund on the day it was recorded.
Figures and markers share one partition per merchant (FIGURES#<merchant>), so reading a range of
days is one Query, and the figures function may write nowhere else (template.yaml).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from caisse.catalog.service import merchant_ids
from caisse.clock import utcnow
from caisse.db import Transaction, TransactionCancelled
from caisse.errors import InvalidRequest
from caisse.money import Money
from caisse.orders import states
from caisse.orders.models import Order, OrderRecord, order_from_image
from caisse.staff import Staff

MEASURES = ("paid_orders", "revenue", "refunds", "fees", "charged_back")
MAX_DAYS = 366


def partition(merchant: str) -> str:
    return f"FIGURES#{merchant}"


class DayFigures(OrderRecord, discriminator="figures"):
    merchant = UnicodeAttribute()
    day = UnicodeAttribute()  # the merchant's local date, YYYY-MM-DD
    currency = UnicodeAttribute()
    paid_orders = NumberAttribute(default=0)
    revenue = NumberAttribute(default=0)  # minor units received (deposits, orders, booking balances)
    refunds = NumberAttribute(default=0)  # minor units given back
    fees = NumberAttribute(default=0)  # the platform's fee on Connect charges, minor units
    charged_back = NumberAttribute(default=0)  # disputes lost (or reversals), minor units

    @staticmethod
    def key(day: str, currency: str) -> str:
        return f"DAY#{day}#{currency}"


class FiguresApplied(OrderRecord, discriminator="figures_applied"):
    """This version of this order was counted (the figures' idempotency marker)."""

    @staticmethod
    def key(order_id: str, version: int) -> str:
        return f"APPLIED#{order_id}#{version:06d}"


@dataclass
class Contribution:
    merchant: str
    order_id: str
    version: int
    additions: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)  # (day, currency) -> adds

    def add(self, day: str, currency: str, measure: str, amount: int) -> None:
        if amount:
            found = self.additions.setdefault((day, currency), {})
            found[measure] = found.get(measure, 0) + amount


def _zone(order: Order) -> ZoneInfo:
    contact = order.merchant_contact.as_dict() if order.merchant_contact else {}
    booking = order.booking.as_dict() if order.booking else {}
    try:
        return ZoneInfo(contact.get("timezone") or booking.get("timezone") or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _day(order: Order, at: datetime | None) -> str:
    return (at or order.updated_at).astimezone(_zone(order)).date().isoformat()


def _fee(money: dict[str, Any] | None, currency: str) -> int:
    if not money or money.get("currency") != currency:
        return 0
    return int(money.get("amount") or 0)


def contribution(old: Order | None, new: Order) -> Contribution:
    """What one committed version adds to its merchant's figures. Pure."""
    found = Contribution(new.merchant, new.order_id, int(new.version))
    currency = new.currency
    old_money = (old.money_state if old is not None else None) or states.UNPAID
    new_money = new.money_state or states.UNPAID
    if old_money == states.UNPAID and new_money != states.UNPAID:
        day = _day(new, new.paid_at)
        found.add(day, currency, "paid_orders", 1)
        found.add(day, currency, "revenue", new.paid.amount)
        fee = new.application_fee
        found.add(day, currency, "fees", _fee(fee.as_dict() if fee else None, currency))
    refunded = int(new.refunded_amount or 0) - int((old.refunded_amount if old is not None else 0) or 0)
    if refunded:
        found.add(_day(new, new.updated_at), currency, "refunds", refunded)
    if new_money == states.CHARGED_BACK and old_money != states.CHARGED_BACK:
        dispute = new.dispute.as_dict() if new.dispute else {}
        lost = _fee(dispute.get("amount"), currency) or new.paid.amount
        found.add(_day(new, new.updated_at), currency, "charged_back", lost)
    old_balance = (old.balance.as_dict() if old is not None and old.balance else {}) or {}
    balance = new.balance.as_dict() if new.balance else {}
    if balance.get("status") == "paid" and old_balance.get("status") != "paid":
        day = _day(new, new.updated_at)
        found.add(day, currency, "revenue", new.balance_paid.amount)
        found.add(day, currency, "fees", _fee(balance.get("fee"), currency))
    return found


def apply_stream_images(
    old_image: dict[str, Any] | None, new_image: dict[str, Any] | None
) -> tuple[str, Contribution | None]:
    """Count one stream record, once: "counted" (with what it added), "nothing" (it moved no
    money) or "duplicate"."""
    new = order_from_image(new_image)
    if new is None:
        return "nothing", None
    found = contribution(order_from_image(old_image), new)
    if not found.additions:
        return "nothing", None
    key = partition(found.merchant)
    tx = Transaction()
    tx.put(
        FiguresApplied(key, FiguresApplied.key(found.order_id, found.version)),
        condition=OrderRecord.sk.does_not_exist(),
        label="marker",
    )
    for (day, currency), adds in sorted(found.additions.items()):
        actions = [
            DayFigures.record_type.set(DayFigures),
            DayFigures.merchant.set(found.merchant),
            DayFigures.day.set(day),
            DayFigures.currency.set(currency),
        ]
        actions += [getattr(DayFigures, measure).add(amount) for measure, amount in sorted(adds.items())]
        tx.update(DayFigures(key, DayFigures.key(day, currency)), actions=actions, label=f"day:{day}:{currency}")
    try:
        tx.commit()
    except TransactionCancelled as cancelled:
        if "marker" in cancelled.failed:
            return "duplicate", None
        raise
    return "counted", found


def figures(staff: Staff, merchant: str | None, start: date, end: date) -> dict[str, Any]:
    """Per day and currency over [start, end] (the merchant's dates), with totals per currency;
    platform staff naming no merchant get every merchant's."""
    if end < start or (end - start).days >= MAX_DAYS:
        raise InvalidRequest(f"a range runs forward over at most {MAX_DAYS} days", field="to")
    merchants = staff.scope(merchant, "these figures") or merchant_ids()
    low, high = DayFigures.key(start.isoformat(), ""), DayFigures.key(end.isoformat(), "~")
    days: list[dict[str, Any]] = []
    totals: dict[tuple[str, str], dict[str, Any]] = {}
    for merchant_id in merchants:
        for record in DayFigures.query(partition(merchant_id), DayFigures.sk.between(low, high)):
            if not isinstance(record, DayFigures):
                continue
            row: dict[str, Any] = {"merchant": merchant_id, "date": record.day, "currency": record.currency}
            for measure in MEASURES:
                row[measure] = int(getattr(record, measure) or 0)
            days.append(row)
            total = totals.setdefault((merchant_id, record.currency), dict.fromkeys(MEASURES, 0))
            for measure in MEASURES:
                total[measure] += row[measure]
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "days": [_money_view(row) for row in sorted(days, key=lambda r: (r["date"], r["merchant"], r["currency"]))],
        "totals": [_money_view({"merchant": m, "currency": c, **total}) for (m, c), total in sorted(totals.items())],
        "as_of": utcnow().isoformat(timespec="seconds"),
    }


def _money_view(row: dict[str, Any]) -> dict[str, Any]:
    """Amounts as the API shows money; net is what stayed (revenue less refunds, fees, chargebacks)."""
    currency = row["currency"]
    view = {key: value for key, value in row.items() if key not in MEASURES}
    view["paid_orders"] = row["paid_orders"]
    for measure in ("revenue", "refunds", "fees", "charged_back"):
        view[measure] = Money(row[measure], currency).as_dict()
    net = row["revenue"] - row["refunds"] - row["fees"] - row["charged_back"]
    view["net"] = {"amount": net, "currency": currency}
    return view
