"""Settling orders from verified provider notices: the one path every provider's webhook (and the
browser's return, and reconciliation) goes through, so an order is settled once.

DynamoDB requests in the normal case: the delivery record (PutItem), the order (Query), and one
TransactWriteItems that moves the order, appends its history, stores the payment event and marks
the delivery processed. A concurrent writer that moved the order first makes us re-read and decide
again (bounded), so no event is dropped and none is applied twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from caisse.db import Transaction, TransactionCancelled, utcnow
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


def decide(bundle: OrderBundle, notice: PaymentNotice) -> tuple[str | None, str | None]:
    """Which status a notice moves the order to (None: no move), and why. Pure."""
    order = bundle.order
    workflow = bundle.workflow
    target = _TARGETS.get(notice.outcome)
    if target is None:
        return None, None
    if notice.outcome is Outcome.PAID:
        if not notice.amount_matches(order.total):
            reason = (
                f"amount mismatch: expected {order.total}, provider reported "
                f"{notice.currency or '?'} {notice.amount if notice.amount is not None else '?'} (minor units)"
            )
            if workflow.can(order.status, states.NEEDS_REVIEW, states.Actor.PROVIDER):
                return states.NEEDS_REVIEW, reason
            return None, None
        if workflow.can(order.status, states.PAID, states.Actor.PROVIDER):
            return states.PAID, None
        if order.status in (states.EXPIRED, states.CANCELLED):
            # Money arrived for an order we had given up on: a person must refund or honour it.
            if workflow.can(order.status, states.NEEDS_REVIEW, states.Actor.PROVIDER):
                return states.NEEDS_REVIEW, f"payment received after the order was {order.status}"
        return None, None
    if workflow.can(order.status, target, states.Actor.PROVIDER):
        return target, notice.reason
    return None, None


def settle(notice: PaymentNotice) -> Settlement:
    delivery = deliveries.record(notice.provider, notice.event_id, notice.event_type, notice.order_id)
    if delivery is None:
        return Settlement("duplicate", notice.order_id)

    for _ in range(MAX_ATTEMPTS):
        bundle = load(notice.order_id) if notice.order_id else None
        if bundle is None:
            _finish_delivery_alone(delivery, "unknown_order")
            return Settlement("unknown_order", notice.order_id)
        target, reason = decide(bundle, notice)
        try:
            _commit(bundle, notice, delivery, target, reason)
        except TransactionCancelled as cancelled:
            if "delivery" in cancelled.failed:
                return Settlement("duplicate", notice.order_id)  # a concurrent copy finished first
            if "order" in cancelled.failed or "payment_event" in cancelled.failed:
                continue  # somebody moved the order meanwhile: read it again and decide again
            raise
        if target is None:
            return Settlement("unchanged", notice.order_id, bundle.order.status)
        result = "flagged" if target == states.NEEDS_REVIEW else "moved"
        return Settlement(result, notice.order_id, target, reason)
    raise RuntimeError(f"order {notice.order_id} kept changing while settling {notice.event_id}")


def _commit(
    bundle: OrderBundle,
    notice: PaymentNotice,
    delivery: WebhookDelivery,
    target: str | None,
    reason: str | None,
) -> None:
    now = utcnow()
    order = bundle.order
    outcome = target or f"no move from {order.status}"
    tx = Transaction(OrderRecord)
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
    if target is not None:
        extra = []
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
            note=reason,
            at=now,
            extra=extra,
        )
    tx.commit()


def _finish_delivery_alone(delivery: WebhookDelivery, outcome: str) -> None:
    delivery.update(
        actions=[
            WebhookDelivery.status.set(deliveries.PROCESSED),
            WebhookDelivery.outcome.set(outcome),
            WebhookDelivery.processed_at.set(utcnow()),
        ]
    )
