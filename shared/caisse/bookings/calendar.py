"""Which start times a merchant offers, in its own time zone. Pure.

Slots are counted in real time, not wall-clock time: on the night clocks go forward an hour of
wall time does not exist and no slot starts in it; on the night they go back, the repeated hour
is offered once per real hour. Every time leaves here as an aware datetime.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Hours:
    timezone: str
    weekly: Mapping[str, Sequence[Sequence[str]]]  # "mon" -> [["08:00", "12:00"], ["13:00", "17:00"]]
    blocked: frozenset[str]  # ISO dates off
    step_minutes: int = 30

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _local(day: date, hhmm: str, zone: ZoneInfo, *, fold: int = 0) -> datetime:
    hour, minute = (int(part) for part in hhmm.split(":"))
    if (hour, minute) == (24, 0):
        return datetime.combine(day + timedelta(days=1), time(0, 0), zone)
    return datetime.combine(day, time(hour, minute), zone).replace(fold=fold)


def _real(moment: datetime) -> datetime:
    """The same wall time moved to a real instant (a non-existent wall time resolves forward)."""
    return moment.astimezone(UTC)


def steps(hours: Hours, day: date) -> list[datetime]:
    """Every step start on `day` within working hours, as aware UTC datetimes."""
    if day.isoformat() in hours.blocked:
        return []
    zone, step = hours.zone, timedelta(minutes=hours.step_minutes)
    found: list[datetime] = []
    for opening, closing in hours.weekly.get(WEEKDAYS[day.weekday()], []):
        start = _real(_local(day, opening, zone))
        end = _real(_local(day, closing, zone, fold=1))
        moment = start
        while moment < end:
            found.append(moment)
            moment += step
    return found


def starts(hours: Hours, day: date, duration_minutes: int, taken: Iterable[datetime], now: datetime) -> list[datetime]:
    """Start times on `day` where a service of `duration_minutes` fits in working hours, every
    step it covers is free, and it starts after `now`."""
    grid = steps(hours, day)
    free = set(grid) - {moment.astimezone(UTC) for moment in taken}
    needed = max(1, -(-duration_minutes // hours.step_minutes))
    step = timedelta(minutes=hours.step_minutes)
    return [start for start in grid if start > now and all(start + step * n in free for n in range(needed))]


def covered(start: datetime, duration_minutes: int, step_minutes: int) -> list[datetime]:
    """The grid steps a booking from `start` occupies (what it holds)."""
    needed = max(1, -(-duration_minutes // step_minutes))
    return [start.astimezone(UTC) + timedelta(minutes=step_minutes * n) for n in range(needed)]


def local_day(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()
