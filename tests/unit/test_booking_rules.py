"""Booking arithmetic and time: deposits and platform fees in minor units, slots in the
merchant's own time zone across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from caisse.bookings import calendar, pricing
from caisse.catalog.platform import platform_fee
from caisse.errors import InvalidRequest
from caisse.money import Money

SYDNEY = calendar.Hours(
    "Australia/Sydney",
    {"sat": [["08:00", "10:00"]], "sun": [["00:00", "06:00"], ["09:00", "12:00"]]},
    frozenset({"2026-12-25"}),
    30,
)
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def local(moments, zone="Australia/Sydney"):
    from zoneinfo import ZoneInfo

    return [m.astimezone(ZoneInfo(zone)).strftime("%H:%M%z") for m in moments]


@pytest.mark.parametrize(
    ("full", "rule", "deposit"),
    [
        (Money(15000, "AUD"), {"percent": 20}, Money(3000, "AUD")),
        (Money(10001, "AUD"), {"percent": 25}, Money(2500, "AUD")),  # 2500.25 → 2500
        (Money(10002, "AUD"), {"percent": 25}, Money(2501, "AUD")),  # 2500.5 → 2501 (half up)
        (Money(32000, "AUD"), {"fixed": 5000}, Money(5000, "AUD")),
        (Money(3000, "AUD"), {"fixed": 5000}, Money(3000, "AUD")),  # never more than the price
        (Money(60001, "XOF"), {"percent": 30}, Money(18000, "XOF")),  # 18000.3
    ],
)
def test_deposits(full, rule, deposit):
    assert pricing.deposit(full, rule.get("percent"), rule.get("fixed")) == deposit


@pytest.mark.parametrize(
    ("charge", "bps", "fee"),
    [
        (Money(3000, "AUD"), 250, Money(75, "AUD")),
        (Money(1001, "USD"), 250, Money(25, "USD")),  # 25.025 cents → 25
        (Money(1020, "USD"), 250, Money(26, "USD")),  # 25.5 → 26, half up
        (Money(1001, "XOF"), 250, Money(25, "XOF")),  # zero-decimal: whole francs
        (Money(60, "XAF"), 250, Money(2, "XAF")),  # 1.5 → 2
        (Money(1, "AUD"), 10000, Money(1, "AUD")),  # never more than the charge
        (Money(19, "AUD"), 250, Money(0, "AUD")),
    ],
)
def test_platform_fee_rounds_half_up_in_minor_units(charge, bps, fee):
    assert platform_fee(charge, bps) == fee


def test_balance_is_what_is_left_and_never_negative():
    assert pricing.balance(Money(15000, "AUD"), Money(3000, "AUD")) == Money(12000, "AUD")
    with pytest.raises(InvalidRequest):
        pricing.balance(Money(2000, "AUD"), Money(3000, "AUD"))


def test_an_ordinary_day_in_local_time():
    saturday = calendar.steps(SYDNEY, date(2026, 11, 28))
    assert local(saturday) == ["08:00+1100", "08:30+1100", "09:00+1100", "09:30+1100"]
    assert saturday[0] == datetime(2026, 11, 27, 21, 0, tzinfo=UTC)


def test_clocks_going_forward_skip_the_missing_hour():
    # Sydney, 2027-10-03: 02:00 becomes 03:00.
    night = [s for s in calendar.steps(SYDNEY, date(2027, 10, 3)) if s < datetime(2027, 10, 2, 22, tzinfo=UTC)]
    assert local(night) == [
        "00:00+1000",
        "00:30+1000",
        "01:00+1000",
        "01:30+1000",
        "03:00+1100",
        "03:30+1100",
        "04:00+1100",
        "04:30+1100",
        "05:00+1100",
        "05:30+1100",
    ]


def test_clocks_going_back_offer_the_repeated_hour_twice():
    # Sydney, 2027-04-04: 03:00 becomes 02:00 again.
    night = calendar.steps(SYDNEY, date(2027, 4, 4))[:14]
    assert local(night) == [
        "00:00+1100",
        "00:30+1100",
        "01:00+1100",
        "01:30+1100",
        "02:00+1100",
        "02:30+1100",
        "02:00+1000",
        "02:30+1000",
        "03:00+1000",
        "03:30+1000",
        "04:00+1000",
        "04:30+1000",
        "05:00+1000",
        "05:30+1000",
    ]


def test_the_same_wall_time_is_a_different_instant_on_either_side_of_a_change():
    before = calendar.starts(SYDNEY, date(2027, 3, 28), 60, [], LONG_AGO)
    after = calendar.starts(SYDNEY, date(2027, 4, 4), 60, [], LONG_AGO)
    nine_before = next(s for s in before if local([s]) == ["09:00+1100"])
    nine_after = next(s for s in after if local([s]) == ["09:00+1000"])
    assert nine_before == datetime(2027, 3, 27, 22, 0, tzinfo=UTC)
    assert nine_after == datetime(2027, 4, 3, 23, 0, tzinfo=UTC)


def test_a_service_needs_every_step_it_covers_free_and_in_hours():
    day = date(2026, 11, 28)
    assert local(calendar.starts(SYDNEY, day, 60, [], LONG_AGO)) == ["08:00+1100", "08:30+1100", "09:00+1100"]
    taken = [datetime(2026, 11, 27, 21, 30, tzinfo=UTC)]  # 08:30 local
    assert local(calendar.starts(SYDNEY, day, 60, taken, LONG_AGO)) == ["09:00+1100"]
    assert calendar.covered(datetime(2026, 11, 27, 21, 0, tzinfo=UTC), 90, 30) == [
        datetime(2026, 11, 27, 21, 0, tzinfo=UTC),
        datetime(2026, 11, 27, 21, 30, tzinfo=UTC),
        datetime(2026, 11, 27, 22, 0, tzinfo=UTC),
    ]


def test_blocked_days_and_the_past_offer_nothing():
    assert calendar.steps(SYDNEY, date(2026, 12, 25)) == []
    now = datetime(2026, 11, 27, 21, 45, tzinfo=UTC)  # 08:45 local
    assert local(calendar.starts(SYDNEY, date(2026, 11, 28), 30, [], now)) == ["09:00+1100", "09:30+1100"]
