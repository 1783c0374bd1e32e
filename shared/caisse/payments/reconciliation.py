"""Asking the providers what really happened, for orders whose webhook may never have come.

- Daily reconciliation: every order still waiting for payment, and every order paid in the last
  days, is compared with what its provider says now. Stripe is asked through its list endpoints
  (100 Checkout Sessions, or refunds, per call) instead of once per order; the other providers,
  which have no such list, once per order, several at a time (`WORKERS`). Orders are read a page
  of the indexes at a time and a checkpoint is saved after each page, so a run stops cleanly
  before its deadline and a retry of the same run (the same scheduled event) resumes there.
  A payment whose webhook was lost is settled through the same settle path as a webhook (so it
  is settled once, whatever arrives later; an approved PayPal order is captured); refunds the
  provider has (ours still waiting for an answer, or made in its dashboard) are recorded the same
  way; an order paid here that the provider does not call paid, or amounts that differ, is a
  mismatch: a metric, a log record and an email to the merchant's staff.
- Expiry sweep (every few minutes): checkouts past their expiry are closed at the provider and
  expired here, releasing their holds, unless the provider says they were paid after all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.expressions.condition import Condition

from caisse.clock import iso, utcnow
from caisse.db import Transaction, TransactionCancelled
from caisse.errors import NotFound, ProviderUnavailable
from caisse.notifications import outbox
from caisse.notifications.changes import Notification, order_context
from caisse.notifications.kinds import Kind
from caisse.orders import states
from caisse.orders.models import Order, OrderRecord
from caisse.orders.service import add_move, load
from caisse.payments import runs
from caisse.payments.base import Outcome, PaymentNotice, RefundNotice
from caisse.payments.registry import load as load_provider
from caisse.payments.settlement import Settlement, settle

WAITING = (states.PENDING_PAYMENT, states.PAYMENT_FAILED)


@dataclass
class Report:
    checked: int = 0
    settled: list[dict[str, Any]] = field(default_factory=list)  # paid there, not here: settled now
    refunds: list[dict[str, Any]] = field(default_factory=list)  # refunds the provider has that we had not recorded
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    unavailable: list[dict[str, Any]] = field(default_factory=list)
    complete: bool = True  # False: stopped before the deadline; a retry of the run resumes it
    provider_calls: int = 0  # calls to providers' APIs (a list page counts one)

    def as_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "settled": self.settled,
            "refunds": self.refunds,
            "mismatches": self.mismatches,
            "expired": self.expired,
            "unavailable": self.unavailable,
            "complete": self.complete,
            "provider_calls": self.provider_calls,
        }

    def merge(self, other: Report) -> None:
        self.checked += other.checked
        self.provider_calls += other.provider_calls
        for name in ("settled", "refunds", "mismatches", "expired", "unavailable"):
            getattr(self, name).extend(getattr(other, name))


def orders_with_status(status: str, since: datetime, until: datetime | None = None) -> Iterator[Order]:
    condition: Condition = Order.created_at >= iso(since)
    if until is not None:
        condition = Order.created_at.between(iso(since), iso(until))
    for record in Order.by_status.query(status, condition):
        if isinstance(record, Order):
            yield record


def refresh(order_id: str) -> Settlement | None:
    """Ask the provider about one waiting order now and settle what it says (the customer came
    back from the provider's page). Unknown orders raise NotFound; a provider that cannot answer
    leaves the order to its webhook and to reconciliation."""
    bundle = load(order_id)
    if bundle is None:
        raise NotFound("no such order")
    order = bundle.order
    if order.status not in WAITING or not order.provider_ref:
        return None
    try:
        notice = load_provider(order.provider, order.connect_account).current_status(
            order.provider_ref, order.payment_ref
        )
    except ProviderUnavailable:
        return None
    if notice is None or notice.outcome is Outcome.PENDING:
        return None
    return settle(notice)


WORKERS = 8  # provider calls in flight at once, for providers without a list endpoint
PAGE = 100  # orders read from an index at once; a checkpoint is saved after each page
CHUNK = 2 * WORKERS  # orders checked between two looks at the clock
STOP_MARGIN_SECONDS = 20  # stop this long before the deadline: the chunk in flight finishes first
# (index, state, check) in the order a run goes through them; a checkpoint names the pass it is in.
PASSES = (
    ("status", states.PENDING_PAYMENT, "waiting"),
    ("status", states.PAYMENT_FAILED, "waiting"),
    ("money", states.MONEY_PAID, "settled"),
    ("money", states.PARTIALLY_REFUNDED, "settled"),
    ("money", states.DISPUTED, "settled"),
)


class ReconcileRun(OrderRecord, discriminator="reconcile_run"):
    """Where a reconciliation run is: the pass, and the index position after the last page done."""

    run_id = UnicodeAttribute()
    pass_index = NumberAttribute(default=0)
    last_key = UnicodeAttribute(null=True)  # the index's LastEvaluatedKey, as JSON
    complete = BooleanAttribute(default=False)
    checked = NumberAttribute(default=0)
    started_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()

    @staticmethod
    def key(run_id: str) -> str:
        return f"RECONCILE#{run_id}"


@dataclass
class Listed:
    """What Stripe's list endpoints said, read once per run: sessions by id, refunds by payment."""

    sessions: dict[str, PaymentNotice] | None = None
    refunds: dict[str, list[RefundNotice]] | None = None


def reconcile(
    now: datetime | None = None,
    *,
    run_id: str | None = None,
    remaining: Callable[[], float] | None = None,
    waiting_days: int = 3,
    settled_days: int = 2,
    trigger: str | None = None,
) -> Report:
    """Check every waiting and recently paid order against its provider. `remaining()` tells the
    seconds left before the deadline: the run stops STOP_MARGIN_SECONDS before it, with a
    checkpoint (report.complete False), and a run with the same `run_id` resumes from there. Each
    invocation adds what it found to the run staff read (caisse.payments.runs)."""
    now = now or utcnow()
    report = Report()
    run = _run(run_id or f"adhoc-{now.isoformat()}", now)
    if run.complete:
        return report
    checked_before = int(run.checked or 0)

    def save(index: int, last_key: Any, *, complete: bool = False) -> None:
        _save(run, index, last_key, checked_before + report.checked, complete=complete)
        if complete or not report.complete:  # the end of this invocation: staff see what it found
            runs.record(report.as_dict(), run.started_at, utcnow(), trigger, complete=complete)

    listed = _listed(now, waiting_days, settled_days, report)
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="reconcile") as pool:
        for index in range(int(run.pass_index), len(PASSES)):
            kind, state, check = PASSES[index]
            one = _check_waiting_one if check == "waiting" else _check_settled_one
            since = now - timedelta(days=waiting_days if check == "waiting" else settled_days)
            last_key = json.loads(run.last_key) if run.last_key and index == int(run.pass_index) else None
            while True:
                page, next_key = _page(kind, state, since, last_key)
                for start in range(0, max(len(page), 1), CHUNK):
                    if remaining is not None and remaining() < STOP_MARGIN_SECONDS:
                        report.complete = False
                        save(index, last_key)
                        return report
                    chunk = page[start : start + CHUNK]
                    for result in pool.map(lambda order, one=one: one(order, listed, run.started_at), chunk):
                        report.merge(result)
                    if chunk:
                        last_key = _position(chunk[-1], kind, state)
                last_key = next_key
                if last_key is None:
                    break
                save(index, last_key)
    save(len(PASSES), None, complete=True)
    return report


def _run(run_id: str, now: datetime) -> ReconcileRun:
    try:
        return ReconcileRun.get(ReconcileRun.key(run_id), "RUN", consistent_read=True)
    except ReconcileRun.DoesNotExist:
        return ReconcileRun(ReconcileRun.key(run_id), "RUN", run_id=run_id, started_at=now, updated_at=now)


def _save(run: ReconcileRun, index: int, last_key: Any, checked: int, *, complete: bool = False) -> None:
    """The checkpoint: the pass, the index position after the last page done (None: the pass's
    first page), and how many orders the run has checked in all its invocations."""
    run.pass_index = index
    run.last_key = json.dumps(last_key) if last_key is not None else None
    run.complete = complete
    run.updated_at = utcnow()
    run.checked = checked
    run.save()


def _page(kind: str, state: str, since: datetime, last_key: Any) -> tuple[list[Order], Any]:
    """One page of an index's orders of `state` created since `since`, and where the next starts."""
    index = Order.by_status if kind == "status" else Order.by_money_state
    results = index.query(state, Order.created_at >= iso(since), limit=PAGE, last_evaluated_key=last_key)
    page = [record for record in results if isinstance(record, Order)]
    return page, results.last_evaluated_key


def _position(order: Order, kind: str, state: str) -> dict[str, Any]:
    """The index position just after `order` (a LastEvaluatedKey), so that a run stopped within a
    page resumes after the last order it checked."""
    index_key = "status" if kind == "status" else "money_state"
    return {
        "pk": {"S": order.pk},
        "sk": {"S": order.sk},
        index_key: {"S": state},
        "created_at": {"S": order.created_at},
    }


def _listed(now: datetime, waiting_days: int, settled_days: int, report: Report) -> Listed:
    """Stripe's sessions and refunds of the window, from its list endpoints (the platform's own
    account; orders on connected accounts, and any session not listed, are asked one by one)."""
    from caisse.payments.stripe.provider import Stripe

    since = now - timedelta(days=max(waiting_days, settled_days))
    try:
        sessions = Stripe().sessions_since(since)
        refunds = Stripe().refunds_since(since)
    except ProviderUnavailable:
        return Listed()  # every order is asked about on its own
    report.provider_calls += len(sessions) // 100 + 1 + sum(len(found) for found in refunds.values()) // 100 + 1
    return Listed(sessions, refunds)


def _check_waiting_one(order: Order, listed: Listed, run_started: datetime) -> Report:
    report = Report()
    _check_waiting(order, report, listed)
    return report


def _check_settled_one(order: Order, listed: Listed, run_started: datetime) -> Report:
    report = Report()
    if order.paid_at and order.paid_at >= run_started:
        return report  # paid during this run, by this run: the provider just said so
    _check_settled(order, report, listed)
    _check_refunds(order, report, listed)
    return report


def _ask(order: Order, report: Report, listed: Listed | None = None) -> PaymentNotice | None:
    report.checked += 1
    if not order.provider_ref:
        return None
    if listed is not None and listed.sessions is not None and _on_platform_stripe(order):
        notice = listed.sessions.get(order.provider_ref)
        if notice is not None:
            return notice
    try:
        provider = load_provider(order.provider, order.connect_account)
        report.provider_calls += 1
        return provider.current_status(order.provider_ref, order.payment_ref)
    except ProviderUnavailable:
        report.unavailable.append(_about(order))
        return None


def _on_platform_stripe(order: Order) -> bool:
    return order.provider == "stripe" and not order.connect_account


def _check_waiting(order: Order, report: Report, listed: Listed | None = None) -> None:
    notice = _ask(order, report, listed)
    if notice is None or notice.outcome not in (Outcome.PAID, Outcome.FAILED, Outcome.EXPIRED):
        return
    settlement = settle(notice)
    if settlement.result in ("moved", "flagged") or _moved_first_by_its_webhook(settlement, notice):
        report.settled.append({**_about(order), "status": settlement.status})


def _moved_first_by_its_webhook(settlement: Settlement, notice: PaymentNotice) -> bool:
    """Asking can itself make the provider call back: PayPal's capture of an approved order sends
    PAYMENT.CAPTURE.COMPLETED, which may settle the order a moment before this run's own notice
    (then found `unchanged`, already past waiting). The run still found a waiting order the
    provider had been paid for: it counts among the run's late payments."""
    return settlement.result == "unchanged" and notice.outcome is Outcome.PAID and settlement.status not in WAITING


def _check_settled(order: Order, report: Report, listed: Listed | None = None) -> None:
    notice = _ask(order, report, listed)
    if notice is None:
        return
    problem = None
    if notice.outcome is not Outcome.PAID:
        problem = f"paid here, but {order.provider} says {notice.event_type}"
    elif order.status != states.NEEDS_REVIEW and not notice.amount_matches(order.total):
        problem = f"amount differs: {order.total} here, {notice.currency} {notice.amount} at {order.provider}"
    if problem:
        report.mismatches.append({**_about(order), "problem": problem})
        _tell_staff(order, problem)


def _check_refunds(order: Order, report: Report, listed: Listed | None = None) -> None:
    """Record the refunds the provider has for this payment and we do not (or not finished)."""
    found: Sequence[RefundNotice]
    if listed is not None and listed.refunds is not None and _on_platform_stripe(order):
        found = listed.refunds.get(order.payment_ref or "", [])
    else:
        try:
            provider = load_provider(order.provider, order.connect_account)
            report.provider_calls += 1
            found = provider.refunds(order.provider_ref, order.payment_ref)
        except ProviderUnavailable:
            report.unavailable.append(_about(order))
            return
    for notice in found:
        settlement = settle(notice)
        if settlement.result in ("refund_recorded", "refund_failed", "refund_updated"):
            report.refunds.append(
                {**_about(order), "provider_refund_id": notice.provider_refund_id, "result": settlement.result}
            )


def _about(order: Order) -> dict[str, Any]:
    """Which order a finding is about, and whose (merchant staff read their own findings)."""
    return {
        "order_id": order.order_id,
        "order_number": order.order_number,
        "merchant": order.merchant,
        "provider": order.provider,
    }


def _tell_staff(order: Order, problem: str) -> None:
    contact = order.merchant_contact.as_dict() if order.merchant_contact else {}
    to = contact.get("staff_email") or contact.get("reply_to")
    if not to:
        return
    context = {**order_context(order), "reason": problem}
    source = f"reconcile:{utcnow().date().isoformat()}:{order.order_id}"  # at most one email a day
    outbox.publish([Notification(Kind.PAYMENT_FLAGGED, to, contact.get("locale", "en"), source, 0, context)])


def expire_checkouts(now: datetime | None = None, *, shortest_hold: timedelta = timedelta(minutes=5)) -> Report:
    """Close checkouts past their expiry (each merchant holds stock for its own time: the
    festival 15 minutes), unless the provider says they were paid after all."""
    now = now or utcnow()
    report = Report()
    for status in WAITING:
        for order in orders_with_status(status, now - timedelta(days=7), now - shortest_hold):
            if order.expires_at > now:
                continue
            notice = _ask(order, report)
            if notice is not None and notice.outcome is Outcome.PAID:
                _check_waiting(order, report)  # paid after all: settle it instead
                continue
            # Expire here first, then close the provider's checkout: closing it first would race its
            # own expiry webhook for the same move (and the sweep would not know it had expired it).
            if _expire(order.order_id, now):
                report.expired.append(order.order_id)
                load_provider(order.provider, order.connect_account).close_checkout(order.provider_ref or "")
    return report


def _expire(order_id: str, now: datetime) -> bool:
    bundle = load(order_id)
    if bundle is None or not bundle.workflow.can(bundle.order.status, states.EXPIRED, states.Actor.SYSTEM):
        return False
    tx = Transaction()
    add_move(
        tx,
        bundle,
        states.EXPIRED,
        actor=states.Actor.SYSTEM,
        actor_id="system:expiry",
        note="expired",
        message="expired",
        at=now,
    )
    try:
        tx.commit()
    except TransactionCancelled:
        return False  # moved meanwhile (the provider's own expiry event, most likely)
    return True
