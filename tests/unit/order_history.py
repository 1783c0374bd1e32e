"""One version of order o1's history, for the unit tests of what a history means (refund caps,
the emails it owed); when and by whom do not matter to them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from caisse.orders.models import HistoryEntry, order_pk


def entry(version: int, before: str | None, after: str, actor: str = "system", **fields: Any) -> HistoryEntry:
    return HistoryEntry(
        order_pk("o1"),
        HistoryEntry.key(version),
        version=version,
        from_status=before,
        to_status=after,
        at=datetime(2026, 11, 24, tzinfo=UTC),
        actor=actor,
        actor_id="t",
        **fields,
    )
