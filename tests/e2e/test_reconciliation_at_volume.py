"""A day of a busy shop reconciled: orders across the four providers, each paid at its provider
while its webhook was lost, are settled by reconciliation inside its deadline; a run stopped
before its deadline resumes from its checkpoint when Lambda retries the same event.

`make test` runs it with 150 orders (the first run stopped after 5 s of work); `make
bench-reconciliation` with 2 000 (CAISSE_RECONCILE_ORDERS), printing how long each run took.

On a local stack of its own: the 2 000 confirmations it causes would keep the shared stack's email
pipeline busy for minutes and slow every test after it."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid

import pytest
from e2e_support import ROOT, STACK, Stack, platform_token

from caisse_local.child import child_stack

ORDERS = int(os.environ.get("CAISSE_RECONCILE_ORDERS", "150"))
FIRST_RUN_SECONDS = 25 if ORDERS < 1000 else 60  # the run stops 20 s before: 5 s (40 s) of work
INVOCATIONS = 8  # Lambda retries twice; a local stack on a loaded 2-core machine may need more


@pytest.fixture(scope="module")
def own_stack():
    with child_stack({"CAISSE_EMAIL_RETRY_BASE_SECONDS": "0"}, start_timeout=120) as child:
        yield Stack(api=child.api, aws=child.aws, sandbox=child.sandbox, output=child.output)


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


@pytest.mark.timeout(3000)  # seeding, then up to INVOCATIONS runs of at most 300 s each
def test_reconciliation_of_a_busy_day_finishes_inside_its_deadline_and_resumes(own_stack):
    stack = own_stack
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

    # The first invocation is given a short deadline (it stops 20 s before): it checkpoints and
    # fails on purpose.
    event_id = f"reconcile-{uuid.uuid4()}"
    status, error, first_seconds = run_reconciliation(stack, event_id, {"stop_after_seconds": FIRST_RUN_SECONDS})
    assert status == 2 and error["errorType"] == "ReconciliationIncomplete", error
    after_first = paid_orders(stack, order_ids)
    assert 0 < len(after_first) < ORDERS
    checkpoint = stack.table("OrdersTable").get_item(Key={"pk": f"RECONCILE#{event_id}", "sk": "RUN"})["Item"]
    assert checkpoint["complete"] is False and checkpoint["checked"] >= len(after_first)

    # Retries of the same event resume there, each inside the function's 300 s timeout (it stops
    # itself 20 s before, with a checkpoint): never a timeout, never a start from scratch.
    invocations = [first_seconds]
    status, report = 2, {}
    while status == 2 and len(invocations) < INVOCATIONS:
        status, report, seconds = run_reconciliation(stack, event_id)
        invocations.append(seconds)
        assert status == 0 or report["errorType"] == "ReconciliationIncomplete", report
    assert status == 0 and report["complete"] is True, report
    settled_now = set(order_ids) - after_first
    assert paid_orders(stack, order_ids) == set(order_ids)  # nothing missed
    run = stack.table("OrdersTable").get_item(Key={"pk": f"RECONCILE#{event_id}", "sk": "RUN"})["Item"]
    assert run["complete"] is True and run["checked"] >= ORDERS
    # Staff read it as one run, complete, with every invocation's findings counted.
    token = {"Authorization": f"Bearer {platform_token()}"}
    with stack.client() as api:
        [newest] = api.get("/admin/reconciliations", params={"limit": 1}, headers=token).json()["runs"]
    assert newest["complete"] is True and newest["counts"]["settled"] >= ORDERS, newest["counts"]
    # Stripe's 70 % come from its list endpoint: far fewer provider calls than orders.
    assert report["provider_calls"] < report["checked"] // 2, report

    # The same event once more (a late duplicate) does nothing.
    status, again, _ = run_reconciliation(stack, event_id)
    assert status == 0 and again["checked"] == 0 and again["settled"] == []
    print(
        f"\nreconciliation of {ORDERS} orders {seeded['by_provider']}: seeded in {seeded['provider_seconds']} s "
        f"(+{seeded['table_seconds']} s table); invocations {[round(t) for t in invocations]} s, the first "
        f"settled {len(after_first)}, the rest {len(settled_now)}; last invocation {report['provider_calls']} "
        f"provider calls for {report['checked']} orders"
    )
