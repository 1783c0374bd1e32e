"""Settling orders from verified provider notices: the one path every provider's webhook (and the
browser's return, and reconciliation) goes through, so an order is settled once.

DynamoDB requests in the normal case: the delivery record (PutItem), the order (Query), and one
TransactWriteItems that moves the order, appends its history, stores the payment event and marks
the delivery processed. A concurrent writer that moved the order first makes us re-read and decide
again (bounded), so no event is dropped and none is applied twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from caisse.clock import utcnow
from caisse.db import Transaction, TransactionCancelled
from caisse.money import Money, display
from caisse.orders import states
from caisse.orders.models import Order, OrderRecord, PaymentEvent
from caisse.orders.service import OrderBundle, add_move, load
from caisse.payments import deliveries
from caisse.payments.base import Outcome, PaymentNotice
from caisse.payments.deliveries import WebhookDelivery

MAX_ATTEMPTS = 3

_TARGETS = {
    Outcome.PAID: states.PAID,
    Outcome.FAILED: states.PAYMENT_FAILED,
    Outcome.EXPIRED: states.EXPIRED,
}


@dataclass(frozen=True)
class Settlement:
    """What a notice did. `result` is one of: moved, unchanged, flagged, duplicate, unknown_order."""

    result: str
    order_id: str | None = None
    status: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class Decision:
    target: str | None  # the status to move to; None: no move
    reason: str | None = None
    record: bool = True  # keep the event on the order (events about another checkout are not)


def decide(bundle: OrderBundle, notice: PaymentNotice) -> Decision:
    """What a notice does to the order. Pure."""
    order = bundle.order
    workflow = bundle.workflow
    target = _TARGETS.get(notice.outcome)
    if notice.provider_ref and order.provider_ref and notice.provider_ref != order.provider_ref:
        # About another checkout of this order (one a retried request opened and closed again):
        # its expiry or failure says nothing about ours; money on it needs a person.
        if notice.outcome is Outcome.PAID and workflow.can(order.status, states.NEEDS_REVIEW, states.Actor.PROVIDER):
            return Decision(states.NEEDS_REVIEW, f"payment on checkout {notice.provider_ref}, not the order's own")
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
                return Decision(states.NEEDS_REVIEW, reason)
            return Decision(None)
        if workflow.can(order.status, states.PAID, states.Actor.PROVIDER):
            if order.review_above is not None and order.total.amount > int(order.review_above):
                limit = display(Money(int(order.review_above), order.currency))
                return Decision(states.NEEDS_REVIEW, f"manual review: payments above {limit} are checked by a person")
            return Decision(states.PAID)
        if order.status in (states.EXPIRED, states.CANCELLED):
            # Money arrived for an order we had given up on: a person must refund or honour it.
            if workflow.can(order.status, states.NEEDS_REVIEW, states.Actor.PROVIDER):
                return Decision(states.NEEDS_REVIEW, f"payment received after the order was {order.status}")
        return Decision(None)
    if workflow.can(order.status, target, states.Actor.PROVIDER):
        return Decision(target, notice.reason)
    return Decision(None)


def settle(notice: PaymentNotice) -> Settlement:
    delivery = deliveries.record(notice.provider, notice.event_id, notice.event_type, notice.order_id)
    if delivery is None:
        return Settlement("duplicate", notice.order_id)

    for _ in range(MAX_ATTEMPTS):
        bundle = load(notice.order_id) if notice.order_id else None
        if bundle is None:
            deliveries.finish(delivery, "unknown_order")
            return Settlement("unknown_order", notice.order_id)
        if notice.extra.get("purpose") == "balance":
            try:
                return _settle_balance(bundle, notice, delivery)
            except TransactionCancelled as cancelled:
                if "delivery" in cancelled.failed:
                    return Settlement("duplicate", notice.order_id)
                continue
        decision = decide(bundle, notice)
        target = decision.target
        try:
            _commit(bundle, notice, delivery, decision)
        except TransactionCancelled as cancelled:
            if "delivery" in cancelled.failed:
                return Settlement("duplicate", notice.order_id)  # a concurrent copy finished first
            if "order" in cancelled.failed or "payment_event" in cancelled.failed:
                continue  # somebody moved the order meanwhile: read it again and decide again
            raise
        if target is None:
            return Settlement("unchanged", notice.order_id, bundle.order.status)
        result = "flagged" if target == states.NEEDS_REVIEW else "moved"
        return Settlement(result, notice.order_id, target, decision.reason)
    raise RuntimeError(f"order {notice.order_id} kept changing while settling {notice.event_id}")


def _commit(
    bundle: OrderBundle,
    notice: PaymentNotice,
    delivery: WebhookDelivery,
    decision: Decision,
) -> None:
    now = utcnow()
    order = bundle.order
    target = decision.target
    outcome = target or f"no move from {order.status}"
    tx = Transaction()
    tx.update(
        delivery,
        actions=[
            WebhookDelivery.status.set(deliveries.PROCESSED),
            WebhookDelivery.outcome.set(outcome),
            WebhookDelivery.processed_at.set(now),
        ],
        condition=WebhookDelivery.status == deliveries.RECEIVED,
        label="delivery",
    )
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
        if target == states.PAID:
            extra.append(Order.paid_at.set(now))
        if notice.payment_ref:
            extra.append(Order.payment_ref.set(notice.payment_ref))
        add_move(
            tx,
            bundle,
            target,
            actor=states.Actor.PROVIDER,
            actor_id=f"{notice.provider}:{notice.event_id}",
            note=decision.reason,
            at=now,
            extra=extra,
        )
    tx.commit()


def _saved_payment(order: Order, notice: PaymentNotice) -> dict | None:
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
    tx.update(
        delivery,
        actions=[
            WebhookDelivery.status.set(deliveries.PROCESSED),
            WebhookDelivery.outcome.set("balance paid" if paid else "balance: no change"),
            WebhookDelivery.processed_at.set(utcnow()),
        ],
        condition=WebhookDelivery.status == deliveries.RECEIVED,
        label="delivery",
    )
    if paid:
        updated = {**balance, "status": "paid", "payment_ref": notice.payment_ref, "link": None}
        tx.update(
            order, actions=[Order.balance.set(updated)], condition=Order.version == int(order.version), label="order"
        )
    tx.commit()
    return Settlement("moved" if paid else "unchanged", order.order_id, order.status, "balance")
