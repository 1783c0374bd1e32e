"""Asking the providers what really happened, for orders whose webhook may never have come.

- Daily reconciliation: every order still waiting for payment, and every order paid in the last
  days, is compared with what its provider says now. A payment whose webhook was lost is settled
  through the same settle path as a webhook (so it is settled once, whatever arrives later; an
  approved PayPal order is captured); refunds the provider has (ours still waiting for an answer,
  or made in its dashboard) are recorded the same way; an order paid here that the provider does
  not call paid, or amounts that differ, is a mismatch: a metric, a log record and an email to the
  merchant's staff.
- Expiry sweep (every few minutes): checkouts past their expiry are closed at the provider and
  expired here, releasing their holds, unless the provider says they were paid after all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from caisse.clock import iso, utcnow
from caisse.db import Transaction, TransactionCancelled
from caisse.errors import NotFound, ProviderUnavailable
from caisse.notifications import outbox
from caisse.notifications.changes import Notification, order_context
from caisse.notifications.kinds import Kind
from caisse.orders import states
from caisse.orders.models import Order
from caisse.orders.service import add_move, load
from caisse.payments import runs
from caisse.payments.base import Outcome
from caisse.payments.registry import load as load_provider
from caisse.payments.settlement import Settlement, settle

WAITING = (states.PENDING_PAYMENT, states.PAYMENT_FAILED)
# Money states whose payment (and its refunds) the provider is asked about again.
MONEY_TAKEN = (states.MONEY_PAID, states.PARTIALLY_REFUNDED, states.DISPUTED)


@dataclass
class Report:
    checked: int = 0
    settled: list[dict] = field(default_factory=list)  # paid there, not here: settled now
    refunds: list[dict] = field(default_factory=list)  # refunds the provider has that we had not recorded
    mismatches: list[dict] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    unavailable: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "checked": self.checked,
            "settled": self.settled,
            "refunds": self.refunds,
            "mismatches": self.mismatches,
            "expired": self.expired,
            "unavailable": self.unavailable,
        }


def orders_with_status(status: str, since: datetime, until: datetime | None = None) -> Iterator[Order]:
    condition = Order.created_at >= iso(since)
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


def orders_with_money(state: str, since: datetime) -> Iterator[Order]:
    for record in Order.by_money_state.query(state, Order.created_at >= iso(since)):
        if isinstance(record, Order):
            yield record


def reconcile(
    now: datetime | None = None, *, waiting_days: int = 3, settled_days: int = 2, trigger: str | None = None
) -> Report:
    """One run, stored with what it found (caisse.payments.runs) for staff to read."""
    started = utcnow()
    now = now or started
    report = Report()
    for status in WAITING:
        for order in orders_with_status(status, now - timedelta(days=waiting_days)):
            _check_waiting(order, report)
    for state in MONEY_TAKEN:
        for order in orders_with_money(state, now - timedelta(days=settled_days)):
            _check_settled(order, report)
            _check_refunds(order, report)
    runs.record(report.as_dict(), started, utcnow(), trigger)
    return report


def _ask(order: Order, report: Report):
    report.checked += 1
    if not order.provider_ref:
        return None
    try:
        provider = load_provider(order.provider, order.connect_account)
        return provider.current_status(order.provider_ref, order.payment_ref)
    except ProviderUnavailable:
        report.unavailable.append(_about(order))
        return None


def _check_waiting(order: Order, report: Report) -> None:
    notice = _ask(order, report)
    if notice is None or notice.outcome not in (Outcome.PAID, Outcome.FAILED, Outcome.EXPIRED):
        return
    settlement = settle(notice)
    if settlement.result in ("moved", "flagged"):
        report.settled.append({**_about(order), "status": settlement.status})


def _check_settled(order: Order, report: Report) -> None:
    notice = _ask(order, report)
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


def _check_refunds(order: Order, report: Report) -> None:
    """Record the refunds the provider has for this payment and we do not (or not finished)."""
    try:
        provider = load_provider(order.provider, order.connect_account)
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


def _about(order: Order) -> dict:
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
