"""Issue 11: a day of a busy shop reconciled. 2 000 orders across the four providers, each paid at
its provider while its webhook was lost, are settled by reconciliation inside its deadline; a run
stopped before its deadline resumes from its checkpoint when Lambda retries the same event."""

from __future__ import annotations

import json
import subprocess
import time
import uuid

import pytest
from e2e_support import ROOT, STACK

ORDERS = 2000


def run_reconciliation(stack, event_id: str, detail: dict | None = None) -> tuple[int, dict, float]:
    """scripts/run_scheduled.py with one event id (the same id again is Lambda's retry of it)."""
    started = time.monotonic()
    done = subprocess.run(  # noqa: S603 - our own script
        [
            str(ROOT / ".venv/bin/python"),
            "scripts/run_scheduled.py",
            "ReconcilePaymentsFunction",
            "--event-id",
            event_id,
            "--detail",
            json.dumps(detail or {}),
        ],
        cwd=ROOT,
        env=stack.tool_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "--- result ---" in done.stdout, done.stdout[-3000:] + done.stderr[-3000:]
    return done.returncode, json.loads(done.stdout.split("--- result ---", 1)[1]), time.monotonic() - started


def paid_orders(stack, order_ids: list[str]) -> set[str]:
    dynamodb = stack.boto("dynamodb")
    table = f"{STACK}-OrdersTable"
    paid = set()
    for start in range(0, len(order_ids), 100):
        keys = [{"pk": {"S": f"ORDER#{i}"}, "sk": {"S": "ORDER"}} for i in order_ids[start : start + 100]]
        request = {table: {"Keys": keys, "ProjectionExpression": "order_id, money_state"}}
        while request:
            answer = dynamodb.batch_get_item(RequestItems=request)
            paid |= {i["order_id"]["S"] for i in answer["Responses"][table] if i["money_state"]["S"] == "paid"}
            request = answer.get("UnprocessedKeys") or None
    return paid


@pytest.mark.timeout(1800)  # seeding 2 000 paid orders at the sandbox is most of it
def test_reconciliation_of_2000_orders_finishes_inside_its_deadline_and_resumes(stack):
    seeded = json.loads(
        stack.run(
            str(ROOT / ".venv/bin/python"),
            "scripts/seed_reconciliation.py",
            "--orders",
            str(ORDERS),
            "--ids",
            timeout=900,
        )
    )
    order_ids = seeded["orders"]
    assert len(order_ids) == ORDERS and all(seeded["by_provider"].values())
    assert paid_orders(stack, order_ids) == set()  # paid at the providers, unknown here

    # The first invocation is given 60 s (it stops 20 s before): it checkpoints and fails on purpose.
    event_id = f"reconcile-{uuid.uuid4()}"
    status, error, first_seconds = run_reconciliation(stack, event_id, {"stop_after_seconds": 60})
    assert status == 2 and error["errorType"] == "ReconciliationIncomplete", error
    after_first = paid_orders(stack, order_ids)
    assert 0 < len(after_first) < ORDERS
    checkpoint = stack.table("OrdersTable").get_item(Key={"pk": f"RECONCILE#{event_id}", "sk": "RUN"})["Item"]
    assert checkpoint["complete"] is False and checkpoint["checked"] >= len(after_first)

    # Lambda's retry of the same event resumes there, inside the function's 300 s timeout.
    status, report, second_seconds = run_reconciliation(stack, event_id)
    assert status == 0 and report["complete"] is True, report
    settled_now = {s["order_id"] for s in report["settled"]} & set(order_ids)
    assert settled_now == set(order_ids) - after_first  # nothing checked twice, nothing missed
    assert paid_orders(stack, order_ids) == set(order_ids)
    # Stripe's 70 % come from its list endpoint: far fewer provider calls than orders.
    assert report["provider_calls"] < ORDERS // 2, report["provider_calls"]

    # The same event once more (a late duplicate) does nothing.
    status, again, _ = run_reconciliation(stack, event_id)
    assert status == 0 and again["checked"] == 0 and again["settled"] == []
    print(
        f"\nreconciliation of {ORDERS} orders {seeded['by_provider']}: seeded in {seeded['provider_seconds']} s "
        f"(+{seeded['table_seconds']} s table); first invocation {first_seconds:.0f} s settled {len(after_first)}, "
        f"resumed in {second_seconds:.0f} s settled {len(settled_now)} with {report['provider_calls']} provider calls"
    )
