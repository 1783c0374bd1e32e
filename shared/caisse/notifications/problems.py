"""Emails that did not reach their recipient, for staff to act on: refused by SES for good
(failed), still being retried or stuck in the queue's DLQ (retry), never sent because the address
bounced or complained before (skipped), or lost between SES and our record (unknown).

They are listed from the notifications table's sparse email_problems index (one partition per
merchant, newest first), which holds an email exactly while it has a problem: the write that
records a later success takes it off.
"""

from __future__ import annotations

import hashlib
from typing import Any

from caisse.catalog.service import merchant_ids
from caisse.clock import iso
from caisse.config import settings
from caisse.db import batch_get, decode_cursor, encode_cursor, query_partitions
from caisse.notifications.ledger import EmailRecord
from caisse.orders import index
from caisse.staff import Staff

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
PLATFORM = "platform"  # the platform's own alerts (money for no order)


def email_view(record: EmailRecord) -> dict[str, Any]:
    return {
        "notification_id": record.notification_id,
        "kind": record.kind,
        "to": record.to,
        "status": record.status,
        "reason": record.reason,
        "attempts": int(record.attempts or 0),
        "merchant": record.merchant,
        "order_id": record.order_id,
        "order_number": record.order_number,
        "claimed_at": iso(record.claimed_at),
    }


def problems(
    staff: Staff, merchant: str | None, *, limit: int = PAGE_SIZE, cursor: str | None = None
) -> dict[str, Any]:
    """A merchant's emails that did not go, newest first (platform staff: every merchant's and
    the platform's own alerts, unless they name a merchant)."""
    lists = staff.scope(merchant, "these emails") or [*merchant_ids(), PLATFORM]
    fingerprint = hashlib.sha256("|".join(["emails", *lists]).encode()).hexdigest()[:16]
    found, more = query_partitions(
        settings().notifications_table,
        "email_problems",
        ("problem_list", lists),
        ("problem_at", index.LOWEST, index.HIGHEST),
        forward=False,
        limit=limit,
        after=decode_cursor(cursor, fingerprint),
    )
    records = {
        record.pk: record
        for record in batch_get([(EmailRecord, item["pk"]["S"], None) for item in found])
        if isinstance(record, EmailRecord)
    }
    rows = [
        email_view(records[item["pk"]["S"]])
        for item in found
        if item["pk"]["S"] in records and records[item["pk"]["S"]].problem_list in lists
    ]
    last = found[-1]["problem_at"]["S"] if found and more else None
    return {"emails": rows, "next_cursor": encode_cursor(last, fingerprint)}
