"""Dates a request gives are written as dates: a number is refused, not read as Unix time."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import TypeAdapter, ValidationError

from caisse.bookings.schemas import HoursIn
from caisse.date_input import Bound, Day, Moment


@pytest.mark.parametrize("number", [0, 1796169600, 0.5, "0", "0.5", " 86400 ", "-1", "1e3"])
@pytest.mark.parametrize("kind", [Day, Moment, Bound])
def test_a_number_or_text_that_reads_as_one_is_refused(kind, number):
    with pytest.raises(ValidationError, match="YYYY-MM-DD"):
        TypeAdapter(kind).validate_python(number)


def test_dates_and_date_times_written_as_such_are_read():
    assert TypeAdapter(Day).validate_python("2026-12-07") == date(2026, 12, 7)
    assert TypeAdapter(Moment).validate_python("2026-12-07T09:00:00Z") == datetime(2026, 12, 7, 9, tzinfo=UTC)
    # A range's bound written as a day is the day (the listing counts all of it), not its midnight.
    assert TypeAdapter(Bound).validate_python("2026-12-07") == date(2026, 12, 7)
    assert TypeAdapter(Bound).validate_python("2026-12-07T00:00:00+01:00") == datetime.fromisoformat(
        "2026-12-07T00:00:00+01:00"
    )
    assert TypeAdapter(Bound).validate_python(None) is None


def test_an_hours_blocked_date_given_as_a_number_is_refused():
    with pytest.raises(ValidationError, match="YYYY-MM-DD"):
        HoursIn.model_validate({"weekly": {}, "blocked_dates": [0]})
    assert HoursIn.model_validate({"weekly": {}, "blocked_dates": ["2026-12-25"]}).blocked_dates == [date(2026, 12, 25)]
