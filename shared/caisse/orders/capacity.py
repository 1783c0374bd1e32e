"""A merchant's daily capacity (the song studio takes 3 orders a day) and the dates it takes none.

The customer may name the day (`day` at checkout; today in the merchant's time zone if not). The
day's counter is taken in the pending order's own transaction, only while it is below the limit,
and held by the order (a CapacityHold) until the state machine gives it back with the stock holds
(expired, failed, cancelled). A full or blacked-out day answers 409 with the next day that has
room, read in one BatchGetItem.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from caisse.catalog.models import DailyCapacity
from caisse.db import Transaction, batch_get
from caisse.errors import Conflict, InvalidRequest
from caisse.orders.models import CapacityHold, Order

BATCH = 100  # keys per BatchGetItem


class DayUnavailable(Conflict):
    code = "day_unavailable"


@dataclass(frozen=True)
class DailyLimit:
    per_day: int
    blackout: frozenset[str]
    timezone: str
    days_ahead: int

    @classmethod
    def of(cls, rules: dict[str, Any]) -> DailyLimit | None:
        raw = rules.get("capacity")
        if not raw:
            return None
        return cls(
            per_day=int(raw["per_day"]),
            blackout=frozenset(str(d) for d in raw.get("blackout_dates") or ()),
            timezone=str(raw.get("timezone") or "UTC"),
            days_ahead=int(raw.get("days_ahead") or 365),
        )

    def today(self, now: datetime) -> date:
        return now.astimezone(ZoneInfo(self.timezone)).date()

    def choose(self, merchant: str, wanted: date | None, now: datetime) -> date:
        """The day asked for (today if none), refused when it is past, too far or blacked out."""
        today = self.today(now)
        day = wanted or today
        if day < today:
            raise InvalidRequest("that day has passed; choose today or a later day", code="day_in_past")
        if day > today + timedelta(days=self.days_ahead):
            raise InvalidRequest(
                f"orders can be placed at most {self.days_ahead} days ahead", code="day_too_far", days=self.days_ahead
            )
        if day.isoformat() in self.blackout:
            raise self.refuse(merchant, day, now, full=False)
        return day

    def refuse(self, merchant: str, day: date, now: datetime, *, full: bool) -> DayUnavailable:
        free = next_free_day(self, merchant, day + timedelta(days=1), now)
        why = "is fully booked" if full else "is a day the shop takes no orders"
        return DayUnavailable(
            f"{day.isoformat()} {why}; "
            + (f"the next day with room is {free.isoformat()}" if free else "no day has room in the coming months"),
            day=day.isoformat(),
            next_free_day=free.isoformat() if free else None,
        )


def next_free_day(limit: DailyLimit, merchant: str, start: date, now: datetime) -> date | None:
    """The first day from `start` that is neither blacked out nor full."""
    last = limit.today(now) + timedelta(days=limit.days_ahead)
    days = [start + timedelta(days=n) for n in range((last - start).days + 1)]
    days = [day for day in days if day.isoformat() not in limit.blackout]
    for first in range(0, len(days), BATCH):
        chunk = days[first : first + BATCH]
        taken = {
            record.pk: int(record.taken or 0)
            for record in batch_get([(DailyCapacity, DailyCapacity.key(merchant, d.isoformat()), None) for d in chunk])
            if isinstance(record, DailyCapacity)
        }
        for day in chunk:
            if taken.get(DailyCapacity.key(merchant, day.isoformat()), 0) < limit.per_day:
                return day
    return None


def take(tx: Transaction, order: Order, limit: DailyLimit, day: date) -> None:
    """Add to the pending order's transaction: one of the day's places, only if one is left."""
    tx.update(
        DailyCapacity(DailyCapacity.key(order.merchant, day.isoformat())),
        actions=[DailyCapacity.taken.add(1), DailyCapacity.record_type.set(DailyCapacity)],
        condition=DailyCapacity.taken.does_not_exist() | (DailyCapacity.taken < limit.per_day),
        label="capacity",
    )
    tx.put(
        CapacityHold(
            order.pk, CapacityHold.key(day.isoformat()), merchant=order.merchant, day=day.isoformat(), state="held"
        ),
        label="capacity_hold",
    )


class PlanLimitReached(Conflict):
    code = "plan_limit_reached"


def count_monthly(tx: Transaction, merchant: str, limit: str, per_month: int, month: str) -> str:
    """Add to a transaction: one of the month's allowance under the merchant's plan (`limit`:
    bookings_per_month, galleries_per_month), only if one is left; the counter's period."""
    period = f"{limit}-{month}"
    tx.update(
        DailyCapacity(DailyCapacity.key(merchant, period)),
        actions=[DailyCapacity.taken.add(1), DailyCapacity.record_type.set(DailyCapacity)],
        condition=DailyCapacity.taken.does_not_exist() | (DailyCapacity.taken < per_month),
        label="plan_limit",
    )
    return period


def take_monthly(tx: Transaction, order: Order, limit: str, per_month: int, month: str) -> None:
    """Count the pending order against its month's allowance, held by the order like a day's place,
    so the state machine gives it back the same way when the checkout lapses (give_back)."""
    period = count_monthly(tx, order.merchant, limit, per_month, month)
    tx.put(
        CapacityHold(order.pk, CapacityHold.key(period), merchant=order.merchant, day=period, state="held"),
        label="plan_limit_hold",
    )


def give_back(tx: Transaction, hold: CapacityHold) -> None:
    """The order no longer takes its day's place: given back exactly once."""
    tx.update(
        hold,
        actions=[CapacityHold.state.set("released")],
        condition=CapacityHold.state == "held",
        label="capacity_hold",
    )
    tx.update(
        DailyCapacity(DailyCapacity.key(hold.merchant, hold.day)),
        actions=[DailyCapacity.taken.add(-1)],
        label="capacity",
    )
