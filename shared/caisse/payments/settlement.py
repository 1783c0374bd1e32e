"""Settling orders from verified provider notices: the one path every provider's webhook, the
browser's return and reconciliation go through, so each event changes an order once.

- Payments move the order's status and its money (a payment settles both in one version).
- Refunds and disputes move the money only (caisse.orders.refunds records refunds).
- Which order a notice is about: the one its verified data names, else the one we stored its
  provider id for (checkout, payment, transaction: recorded when we learned it). A payment on a
  checkout other than the order's own is flagged, never settled; an event from a Stripe connected
  account settles only orders of the merchant that owns that account.
- Money that arrives for no order we know is an incident: recorded, logged as an error, counted
  (and alarmed); money for a closed order is flagged for a person (needs_review, staff emailed).

DynamoDB requests in the normal case: the delivery record (PutItem), the order (Query; a
BatchGetItem of our references first when the event names no order), and one TransactWriteItems
that moves the order, appends its history, stores the payment event and marks the delivery
processed. A concurrent writer that moved the order first
makes us re-read and decide again (bounded), so no event is dropped and none is applied twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caisse.clock import moment, utcnow
from caisse.db import Transaction, TransactionCancelled
from caisse.money import Money, MoneyError, display
from caisse.observability import correlate
from caisse.orders import index, states
from caisse.orders.models import INCIDENT_SK, Incident, Order, OrderRecord, PaymentEvent
from caisse.orders.refunds import record_provider_refund
from caisse.orders.service import (
    OrderBundle,
    add_balance_paid,
    add_move,
    load,
    order_id_for_reference,
    put_reference,
)
from caisse.payments import deliveries
from caisse.payments.base import (
    AccountNotice,
    DisputeNotice,
    Notice,
    Outcome,
    PaymentNotice,
    PlanNotice,
    RefundNotice,
)
from caisse.payments.deliveries import WebhookDelivery

MAX_ATTEMPTS = 3

_TARGETS = {
    Outcome.PAID: states.PAID,
    Outcome.FAILED: states.PAYMENT_FAILED,
    Outcome.EXPIRED: states.EXPIRED,
}


@dataclass(frozen=True)
class Settlement:
    """What a notice did. `result` is one of: moved, unchanged, flagged, duplicate, unknown_order,
    payment_without_order, foreign_account, refund_recorded, refund_updated, refund_failed,
    dispute_opened, dispute_closed, for accounts: charges_enabled, charges_disabled, stale,
    unknown_account, and for merchants' plans: plan_updated and caisse.payments.plans.apply's
    others."""

    result: str
    order_id: str | None = None
    status: str | None = None
    detail: str | None = None
    late: bool = False  # money for an order we had closed


@dataclass(frozen=True)
class Decision:
    target: str | None  # the status to move to; None: no move
    reason: str | None = None
    record: bool = True  # keep the event on the order (events about another checkout are not)
    money: bool = False  # the notice brings money: the money state becomes paid
    late: bool = False


def owns(order: Order, notice: Notice) -> bool:
    """Whether the account the event came from owns the order: a connected account's events apply
    to that merchant's orders only, the platform's to its own. Pure."""
    return (notice.account or None) == (order.connect_account or None)


def decide(bundle: OrderBundle, notice: PaymentNotice) -> Decision:
    """What a payment notice does to the order. Pure."""
    order = bundle.order
    workflow = bundle.workflow
    target = _TARGETS.get(notice.outcome)
    unpaid = (order.money_state or states.UNPAID) == states.UNPAID
    if notice.provider_ref and order.provider_ref and notice.provider_ref != order.provider_ref:
        # About another checkout of this order (one a retried request opened and closed again):
        # its expiry or failure says nothing about ours; money on it needs a person.
        if notice.outcome is Outcome.PAID and workflow.can(order.status, states.NEEDS_REVIEW, states.Actor.PROVIDER):
            return Decision(
                states.NEEDS_REVIEW, f"payment on checkout {notice.provider_ref}, not the order's own", money=unpaid
            )
        return Decision(None, record=False)
    if target is None:
        return Decision(None, record=notice.outcome is not Outcome.IGNORED)
    if notice.outcome is Outcome.PAID:
        if not notice.amount_matches(order.total):
            reason = (
                f"amount mismatch: expected {order.total}, provider reported "
                f"{notice.currency or '?'} {notice.amount if notice.amount is not None else '?'} (minor units)"
            )
            if workflow.can(order.status, states.NEEDS_REVIEW, states.Actor.PROVIDER):
                return Decision(states.NEEDS_REVIEW, reason, money=unpaid)
            return Decision(None)
        if workflow.can(order.status, states.PAID, states.Actor.PROVIDER):
            if order.review_above is not None and order.total.amount > int(order.review_above):
                limit = display(Money(int(order.review_above), order.currency))
                return Decision(
                    states.NEEDS_REVIEW, f"manual review: payments above {limit} are checked by a person", money=True
                )
            return Decision(states.PAID, money=True)
        if order.status in states.CLOSED and workflow.can(order.status, states.NEEDS_REVIEW, states.Actor.PROVIDER):
            # Money arrived for an order we had given up on: a person must refund or honour it.
            return Decision(
                states.NEEDS_REVIEW, f"payment received after the order was {order.status}", money=unpaid, late=True
            )
        return Decision(None)
    if workflow.can(order.status, target, states.Actor.PROVIDER):
        return Decision(target, notice.reason)
    return Decision(None)


def settle(notice: Notice) -> Settlement:
    """Apply one verified notice, once (its delivery is recorded first: a duplicate stops there)."""
    if isinstance(notice, AccountNotice):
        return _settle_account(notice)
    if isinstance(notice, PlanNotice):
        return _settle_plan(notice)
    delivery = deliveries.record(notice.provider, notice.event_id, notice.event_type, notice.order_id)
    if delivery is None:
        return Settlement("duplicate", notice.order_id)
    # What the event names (verified, or read from the provider's own API), else what we stored
    # for its checkout, payment or transaction (a CamPay transaction without external_reference,
    # a refund made in a dashboard). A claim that contradicts what we stored is caught by decide().
    order_id = notice.order_id or order_id_for_reference(notice.provider, notice.provider_ref, notice.payment_ref)
    bundle = load(order_id) if order_id else None
    if bundle is None:
        if isinstance(notice, PaymentNotice) and notice.outcome is Outcome.PAID:
            _incident(notice, delivery)
            return Settlement("payment_without_order", notice.order_id)
        deliveries.finish(delivery, "unknown_order")
        return Settlement("unknown_order", order_id)
    correlate(bundle.order.correlation_id or notice.event_id)  # from here on, the order's story
    if not owns(bundle.order, notice):
        # A connected account's event about an order it does not own (or a platform event about
        # a connected account's order): never applied, whatever its metadata says.
        deliveries.finish(delivery, "foreign_account")
        return Settlement("foreign_account", bundle.order.order_id, detail=notice.account)
    if isinstance(notice, RefundNotice):
        return _settle_refund(bundle, notice, delivery)
    if isinstance(notice, DisputeNotice):
        return _settle_dispute(bundle, notice, delivery)
    return _settle_payment(bundle, notice, delivery)


def _settle_payment(bundle: OrderBundle, notice: PaymentNotice, delivery: WebhookDelivery) -> Settlement:
    order_id = bundle.order.order_id
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            reloaded = load(order_id)
            assert reloaded is not None
            bundle = reloaded
        if notice.extra.get("purpose") == "balance":
            try:
                return _settle_balance(bundle, notice, delivery)
            except TransactionCancelled as cancelled:
                if "delivery" in cancelled.failed:
                    return Settlement("duplicate", order_id)
                continue
        decision = decide(bundle, notice)
        try:
            try:
                _commit(bundle, notice, delivery, decision)
            except TransactionCancelled as cancelled:
                if not cancelled.failed or not all(label.startswith("ref:") for label in cancelled.failed):
                    raise
                # The provider's id is already recorded for another order: keep that record (it
                # came first) and settle this order without it; staff see both in the history.
                _commit(bundle, notice, delivery, decision, references=False)
        except TransactionCancelled as cancelled:
            if "delivery" in cancelled.failed:
                return Settlement("duplicate", order_id)  # a concurrent copy finished first
            continue  # somebody moved the order meanwhile: read it again and decide again
        if decision.target is None:
            return Settlement("unchanged", order_id, bundle.order.status)
        result = "flagged" if decision.target == states.NEEDS_REVIEW else "moved"
        return Settlement(result, order_id, decision.target, decision.reason, late=decision.late)
    raise RuntimeError(f"order {order_id} kept changing while settling {notice.event_id}")


def _processed(tx: Transaction, delivery: WebhookDelivery, outcome: str) -> None:
    tx.update(
        delivery,
        actions=[
            WebhookDelivery.status.set(deliveries.PROCESSED),
            WebhookDelivery.outcome.set(outcome),
            WebhookDelivery.processed_at.set(utcnow()),
        ],
        condition=WebhookDelivery.status == deliveries.RECEIVED,
        label="delivery",
    )


def _commit(
    bundle: OrderBundle,
    notice: PaymentNotice,
    delivery: WebhookDelivery,
    decision: Decision,
    *,
    references: bool = True,
) -> None:
    now = utcnow()
    order = bundle.order
    target = decision.target
    tx = Transaction()
    _processed(tx, delivery, target or f"no move from {order.status}")
    if decision.record:  # the delivery record keeps the rest
        tx.put(
            PaymentEvent(
                order.pk,
                PaymentEvent.key(notice.provider, notice.event_id),
                provider=notice.provider,
                event_id=notice.event_id,
                event_type=notice.event_type,
                outcome=notice.outcome.value,
                amount=notice.amount,
                currency=notice.currency,
                received_at=now,
            ),
            condition=OrderRecord.sk.does_not_exist(),
            label="payment_event",
        )
    saved = _saved_payment(order, notice)
    if target is None and saved:
        # No move, but the card a booking keeps for its balance arrived with this event.
        version = int(order.version)
        tx.update(order, actions=[Order.saved_payment.set(saved)], condition=Order.version == version, label="order")
    if target is not None:
        extra = [Order.saved_payment.set(saved)] if saved else []
        money = None
        if decision.money:
            money = states.MONEY_PAID
            extra.append(Order.paid_at.set(now))
            if notice.amount is not None and notice.currency == order.currency:
                extra.append(Order.paid_amount.set(notice.amount))
        if notice.payment_ref and decision.money:
            extra.append(Order.payment_ref.set(notice.payment_ref))
            if references:
                put_reference(tx, notice.provider, notice.payment_ref, order.order_id)
        if notice.provider_ref and not order.provider_ref and decision.money:
            # The checkout's answer never reached us (a CamPay collect that timed out): learn it now.
            extra.append(Order.provider_ref.set(notice.provider_ref))
            if references:
                put_reference(tx, notice.provider, notice.provider_ref, order.order_id)
        add_move(
            tx,
            bundle,
            target,
            money=money,
            amount=notice.amount if money else None,
            actor=states.Actor.PROVIDER,
            actor_id=f"{notice.provider}:{notice.event_id}",
            note=decision.reason,
            message=decision.reason,
            at=now,
            extra=extra,
        )
    tx.commit()


def _saved_payment(order: Order, notice: PaymentNotice) -> dict[str, Any] | None:
    """The customer and card Stripe kept for a booking's balance, merged with what we had."""
    if not order.booking or notice.outcome is not Outcome.PAID:
        return None
    known = order.saved_payment.as_dict() if order.saved_payment else {}
    found = {key: notice.extra[key] for key in ("customer", "payment_method") if notice.extra.get(key)}
    merged = {**known, **found}
    return merged if merged != known else None


def _settle_balance(bundle: OrderBundle, notice: PaymentNotice, delivery: WebhookDelivery) -> Settlement:
    """The customer paid a booking's balance on the page we emailed them."""
    order = bundle.order
    balance = order.balance.as_dict() if order.balance else {}
    due = balance.get("amount") or {}
    paid = (
        notice.outcome is Outcome.PAID
        and balance.get("status") == "due"
        and notice.amount == due.get("amount")
        and notice.currency == due.get("currency")
    )
    tx = Transaction()
    _processed(tx, delivery, "balance paid" if paid else "balance: no change")
    if paid:
        updated = {**balance, "status": "paid", "payment_ref": notice.payment_ref, "link": None}
        add_balance_paid(
            tx, bundle, updated, actor=states.Actor.PROVIDER, actor_id=f"{notice.provider}:{notice.event_id}"
        )
    tx.commit()
    return Settlement("moved" if paid else "unchanged", order.order_id, order.status, "balance")


def _incident(notice: PaymentNotice, delivery: WebhookDelivery) -> None:
    """Money taken for no order we know: recorded for staff (the stream emails them), once."""
    reference = notice.payment_ref or notice.provider_ref or notice.event_id
    now = utcnow()
    tx = Transaction()
    _processed(tx, delivery, "payment_without_order")
    tx.put(
        Incident(
            Incident.key(notice.provider, reference),
            INCIDENT_SK,
            provider=notice.provider,
            event_id=notice.event_id,
            event_type=notice.event_type,
            provider_ref=notice.provider_ref,
            payment_ref=notice.payment_ref,
            claimed_order_id=notice.order_id,
            amount=notice.amount,
            currency=notice.currency,
            at=now,
            work_list=index.work_list(index.WORK_INCIDENTS, index.PLATFORM),
            work_at=f"{moment(now)}#{reference}",
        ),
        condition=OrderRecord.pk.does_not_exist(),
        label="incident",
    )
    try:
        tx.commit()
    except TransactionCancelled as cancelled:
        if "incident" in cancelled.failed and "delivery" not in cancelled.failed:
            deliveries.finish(delivery, "payment_without_order")  # the same money, seen before


def _settle_refund(bundle: OrderBundle, notice: RefundNotice, delivery: WebhookDelivery) -> Settlement:
    order = bundle.order
    try:
        amount = Money(int(notice.amount), notice.currency)
    except (MoneyError, TypeError, ValueError):
        deliveries.finish(delivery, "unreadable amount")
        return Settlement("unchanged", order.order_id, order.status)
    result = record_provider_refund(
        order.order_id,
        provider=notice.provider,
        provider_refund=notice.provider_refund_id,
        claimed_refund_id=notice.refund_id,
        amount=amount,
        status=notice.status,
        actor_id=f"{notice.provider}:{notice.event_id}",
        payment_ref=notice.payment_ref,
    )
    deliveries.finish(delivery, result)
    return Settlement(result, order.order_id, order.status)


def _dispute_target(order: Order, notice: DisputeNotice) -> str | None:
    current = order.money_state or states.UNPAID
    if notice.stage == "opened":
        target = states.DISPUTED
    elif notice.outcome == "lost":
        target = states.CHARGED_BACK
    elif current == states.DISPUTED:
        target = states.money_after_refunds(int(order.refunded_amount or 0), order.received.amount)
    else:
        return None
    return target if states.can_move_money(current, target, states.Actor.PROVIDER) else None


def _settle_dispute(bundle: OrderBundle, notice: DisputeNotice, delivery: WebhookDelivery) -> Settlement:
    order_id = bundle.order.order_id
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            reloaded = load(order_id)
            assert reloaded is not None
            bundle = reloaded
        order = bundle.order
        target = _dispute_target(order, notice)
        info = {
            "id": notice.dispute_id,
            "provider": notice.provider,
            "reason": notice.reason,
            "amount": {"amount": notice.amount, "currency": notice.currency} if notice.amount is not None else None,
            "status": notice.status,
            "outcome": notice.outcome,
            "due_by": notice.due_by,
        }
        tx = Transaction()
        _processed(tx, delivery, f"money {target}" if target else f"no money move from {order.money_state}")
        if target is not None:
            what = "dispute opened" if notice.stage == "opened" else f"dispute closed: {notice.outcome or 'closed'}"
            add_move(
                tx,
                bundle,
                money=target,
                amount=notice.amount,
                actor=states.Actor.PROVIDER,
                actor_id=f"{notice.provider}:{notice.event_id}",
                note=f"{what}{f' ({notice.reason})' if notice.reason else ''}",
                extra=[Order.dispute.set(info)],
            )
        try:
            tx.commit()
        except TransactionCancelled as cancelled:
            if "delivery" in cancelled.failed:
                return Settlement("duplicate", order_id)
            continue
        if target is None:
            return Settlement("unchanged", order_id, order.status)
        result = "dispute_opened" if notice.stage == "opened" else "dispute_closed"
        return Settlement(result, order_id, order.status, notice.outcome)
    raise RuntimeError(f"order {order_id} kept changing while settling {notice.event_id}")


def _settle_account(notice: AccountNotice) -> Settlement:
    from caisse.payments.stripe.connect import account_updated

    delivery = deliveries.record(notice.provider, notice.event_id, notice.event_type, None)
    if delivery is None:
        return Settlement("duplicate")
    result = account_updated(notice.account, notice.charges_enabled, notice.payouts_enabled, notice.created)
    deliveries.finish(delivery, result)
    return Settlement(result, detail=notice.account)


def _settle_plan(notice: PlanNotice) -> Settlement:
    """A merchant's platform plan (caisse.payments.plans): recorded once, applied conditionally."""
    from caisse.payments.plans import apply, as_stripe_has_it

    delivery = deliveries.record(notice.provider, notice.event_id, notice.event_type, None)
    if delivery is None:
        return Settlement("duplicate")
    notice = as_stripe_has_it(notice)
    result = apply(notice, lambda tx, outcome: _processed(tx, delivery, outcome))
    if result not in ("plan_updated", "duplicate"):
        deliveries.finish(delivery, result)
    return Settlement(result, status=notice.status, detail=notice.merchant)
