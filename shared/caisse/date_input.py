"""Dates and date-times a request gives us, written as dates. pydantic reads a number, or text
that is one, as Unix time: `?from=0` was taken for 1970-01-01 and `?created_to=0.5` for half a
second after it, and answered 200 with nothing in it. The API documents ISO 8601 text (its OpenAPI
document says `format: date` or `date-time`), so a number is refused with a 422 saying how to
write one (found by fuzzing: schemathesis sends numbers where a date is documented)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator

NOT_A_NUMBER = (
    "write a date as YYYY-MM-DD, or a date-time as ISO 8601 with its offset (2026-12-03T09:00:00+11:00), "
    "not as a number"
)


def written_as_date(value: Any) -> Any:
    """The value unchanged, unless it is a number or text that reads as one (ValueError)."""
    if isinstance(value, int | float):
        raise ValueError(NOT_A_NUMBER)
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return value
        raise ValueError(NOT_A_NUMBER)
    return value


Day = Annotated[date, BeforeValidator(written_as_date)]
DayOrNone = Annotated[date | None, BeforeValidator(written_as_date)]
Moment = Annotated[datetime, BeforeValidator(written_as_date)]


def day_or_moment(value: Any) -> Any:
    """A range's bound: YYYY-MM-DD is a day, anything longer a moment. Left to pydantic, the union
    would read "2026-12-07" as midnight, and `created_to=2026-12-07` (what the console's date field
    sends) would leave out that whole day."""
    value = written_as_date(value)
    if isinstance(value, str) and len(value.strip()) == len("YYYY-MM-DD"):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return value
    return value


# A range's bound: a day (from its start, or up to its end) or a moment.
Bound = Annotated[datetime | date | None, BeforeValidator(day_or_moment)]
