"""Reconciliation runs, stored: when each ran, how many orders it asked the providers about, and
what it found (payments settled late, refunds recorded, mismatches, providers that did not
answer), so staff read the last runs instead of searching logs. Each finding names its merchant:
merchant staff see their own findings only.

Runs live in one partition of the orders table, newest first by their key; a run keeps at most
FINDINGS_KEPT findings of each kind (and the full counts), far below DynamoDB's item size. A run
stopped before its function's deadline and resumed by Lambda's retry is one run: each invocation
adds what it found, and `complete` says whether it got to the end.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute

from caisse.clock import iso, moment
from caisse.db import document
from caisse.orders.models import OrderRecord
from caisse.staff import Staff

RUNS_PK = "RECONCILIATION"
FINDINGS_KEPT = 200
KINDS = ("settled", "refunds", "mismatches", "unavailable")
MAX_RUNS = 50


class ReconciliationRun(OrderRecord, discriminator="reconciliation_run"):
    started_at = UnicodeAttribute()
    finished_at = UnicodeAttribute()
    checked = NumberAttribute()
    counts = document()  # kind -> how many were found
    findings = document()  # kind -> [{order_id, merchant, provider, ...}] (at most FINDINGS_KEPT each)
    trigger = UnicodeAttribute(null=True)  # schedule | on demand
    complete = BooleanAttribute(null=True)  # False: stopped before its deadline, to be resumed

    @staticmethod
    def key(started: datetime) -> str:
        return f"RUN#{moment(started)}"


def record(
    report: dict[str, Any], started: datetime, finished: datetime, trigger: str | None = None, *, complete: bool = True
) -> None:
    """Store what one invocation of a run found (caisse.payments.reconciliation.Report.as_dict()),
    added to what the run's earlier invocations found (one invocation at a time: the schedule and
    Lambda's retries of it)."""
    key = ReconciliationRun.key(started)
    try:
        earlier = ReconciliationRun.get(RUNS_PK, key, consistent_read=True)
    except ReconciliationRun.DoesNotExist:
        earlier = None
    found = earlier.findings.as_dict() if earlier is not None and earlier.findings else {}
    counted = earlier.counts.as_dict() if earlier is not None and earlier.counts else {}
    ReconciliationRun(
        RUNS_PK,
        key,
        started_at=iso(started),
        finished_at=iso(finished),
        checked=int(earlier.checked if earlier is not None else 0) + int(report.get("checked") or 0),
        counts={kind: int(counted.get(kind) or 0) + len(report.get(kind) or []) for kind in KINDS},
        findings={kind: [*found.get(kind, []), *(report.get(kind) or [])][:FINDINGS_KEPT] for kind in KINDS},
        trigger=trigger,
        complete=complete,
    ).save()


def recent(staff: Staff, *, limit: int = 10) -> dict[str, Any]:
    """The last runs, newest first; merchant staff see the findings about their own orders."""
    runs = []
    for run in ReconciliationRun.query(RUNS_PK, scan_index_forward=False, limit=min(limit, MAX_RUNS)):
        if not isinstance(run, ReconciliationRun):
            continue
        findings = run.findings.as_dict() if run.findings else {}
        counts = run.counts.as_dict() if run.counts else {}
        if not staff.platform:
            findings = {
                kind: [f for f in findings.get(kind, []) if f.get("merchant") == staff.merchant] for kind in KINDS
            }
            counts = {kind: len(findings[kind]) for kind in KINDS}
        runs.append(
            {
                "started_at": run.started_at,
                "finished_at": run.finished_at,
                "checked": int(run.checked) if staff.platform else None,
                "counts": {kind: int(counts.get(kind, 0)) for kind in KINDS},
                "findings": {kind: findings.get(kind, []) for kind in KINDS},
                "trigger": run.trigger,
                "complete": run.complete is not False,
            }
        )
    return {"runs": runs}
