"""Time as the system shows it: always UTC, ISO 8601 with a Z, to the second."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def moment(at: datetime) -> str:
    """A time as indexes sort it: UTC to the microsecond, fixed width ("2026-11-20T10:00:00.000000Z")."""
    return f"{at.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%f}Z"
