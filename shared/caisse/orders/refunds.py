"""Refunds, asked by staff: never more than was paid minus what was refunded, within the merchant's
refund policy, safe to retry.

1. One transaction records the refund as requested and reserves its amount on the order (only if
   the order's refunded amount is still what we read: two refunds racing cannot both pass).
2. The provider refunds it, with an idempotency key derived from the refund id (Stripe, PayPal),
   or it is owed: CamPay and PayDunya have no refund API, so a person pays it back and confirms.
3. One transaction records the outcome and moves the order to partially_refunded or refunded
   through the state machine (which is what sends the refund email, through the stream).

A request retried with the same Idempotency-Key names the same refund: if it finished, its record
is the answer; if it stopped after step 1, it resumes at step 2 with the same provider key.
"""

from __future__ import annotations

import uuid
from typing import Any

from caisse.clock import utcnow
from caisse.db import Transaction, TransactionCancelled
from caisse.errors import Conflict, InvalidRequest, NotFound
from caisse.money import Money, display
from caisse.orders import states
from caisse.orders.models import Order, Refund
from caisse.orders.service import OrderBundle, add_move, load, refund_view
from caisse.payments.base import RefundRequest
from caisse.payments.registry import load as load_provider
from caisse.staff import Staff

_REFUNDS = uuid.UUID("0d3f2a4e-7b1c-4c55-9a2e-3b8f6c1d9e07")
DONE = ("succeeded", "pending", "owed", "paid_out")


def refundable(bundle: OrderBundle) -> Money:
    """What may still be refunded now: the policy's share of the payment for the order's current
    status (song studio: all before production, half during, nothing once delivered), minus what
    was already refunded."""
    order = bundle.order
    policy = order.refund_policy.as_dict() if order.refund_policy else {}
    percent = int(policy.get(order.status, 100)) if order.status not in states.HOLDING else 0
    if order.status == states.PARTIALLY_REFUNDED:
        percent = 100  # the policy was applied to the first refund; the rest stays refundable
    allowed = order.total.fraction(percent, 100) - Money(int(order.refunded_amount or 0), order.currency)
    return allowed if allowed.amount > 0 else Money.zero(order.currency)


def request_refund(
    order_id: str, staff: Staff, amount: int | None, reason: str | None, idempotency_key: str | None
) -> dict[str, Any]:
    bundle = load(order_id)
    if bundle is None:
        raise NotFound("no such order")
    staff.require(bundle.order.merchant)
    refund_id = str(uuid.uuid5(_REFUNDS, f"{order_id}:{idempotency_key}")) if idempotency_key else str(uuid.uuid4())
    existing = next((r for r in bundle.refunds if r.refund_id == refund_id), None)
    if existing is not None and existing.status != "requested":
        return {**refund_view(existing), "replayed": True}
    if existing is None:
        refund = _reserve(bundle, refund_id, amount, reason, staff)
        bundle = load(order_id)
        assert bundle is not None
    else:
        refund = existing
    return _pay_back(bundle, refund, staff)


def _reserve(bundle: OrderBundle, refund_id: str, amount: int | None, reason: str | None, staff: Staff) -> Refund:
    order = bundle.order
    if order.status not in states.REFUNDABLE and order.status not in bundle.workflow.stages:
        raise Conflict(f"an order that is {order.status} has no payment to refund", current=order.status)
    limit = refundable(bundle)
    wanted = Money(amount, order.currency) if amount is not None else limit
    if wanted.amount <= 0:
        raise Conflict(
            f"nothing can be refunded now ({order.status}); refunded so far "
            f"{display(Money(int(order.refunded_amount or 0), order.currency))}",
            code="nothing_to_refund",
            refundable=limit.as_dict(),
        )
    if wanted > limit:
        raise InvalidRequest(
            f"at most {display(limit)} can be refunded now ({order.status})",
            code="refund_too_large",
            refundable=limit.as_dict(),
        )
    now = utcnow()
    refund = Refund(
        order.pk,
        Refund.key(refund_id),
        refund_id=refund_id,
        amount=wanted.amount,
        currency=wanted.currency,
        status="requested",
        reason=reason,
        requested_by=staff.actor_id,
        requested_at=now,
        provider=order.provider,
    )
    already = int(order.refunded_amount or 0)
    tx = Transaction()
    tx.put(refund, condition=Refund.sk.does_not_exist(), label="refund")
    unchanged = Order.refunded_amount == already
    if already == 0:
        unchanged = unchanged | Order.refunded_amount.does_not_exist()
    tx.update(order, actions=[Order.refunded_amount.set(already + wanted.amount)], condition=unchanged, label="order")
    try:
        tx.commit()
    except TransactionCancelled as cancelled:
        raise Conflict("another refund of this order was made meanwhile; reload and try again") from cancelled
    return refund


def _pay_back(bundle: OrderBundle, refund: Refund, staff: Staff) -> dict[str, Any]:
    order = bundle.order
    provider = load_provider(order.provider, order.connect_account)
    amount = Money(int(refund.amount), refund.currency)
    try:
        result = provider.refund(
            RefundRequest(
                refund_id=refund.refund_id,
                order_id=order.order_id,
                amount=amount,
                reason=refund.reason,
                provider_ref=order.provider_ref,
                payment_ref=order.payment_ref,
                idempotency_key=f"refund-{refund.refund_id}",
                customer_phone=order.customer.phone,
            )
        )
    except InvalidRequest:
        _release(order, refund)  # the provider said no for good: nothing was refunded
        raise
    # ProviderUnavailable propagates with the refund still "requested": the same request, retried
    # with the same Idempotency-Key, resumes here with the same provider idempotency key.
    fully = int(order.refunded_amount or 0) >= order.total.amount
    target = states.REFUNDED if fully else states.PARTIALLY_REFUNDED
    now = utcnow()
    tx = Transaction()
    actions = [Refund.status.set(result.status)]
    if result.provider_refund_id:
        actions.append(Refund.provider_refund_id.set(result.provider_refund_id))
    if result.payout:
        actions.append(Refund.payout.set(result.payout))
    tx.update(refund, actions=actions, condition=Refund.status == "requested", label="refund")
    add_move(
        tx,
        bundle,
        target,
        actor=states.Actor.STAFF,
        actor_id=staff.actor_id,
        note=refund.reason,
        at=now,
        extra=[
            Order.last_refund.set(
                {
                    "refund_id": refund.refund_id,
                    "amount": amount.as_dict(),
                    "reason": refund.reason,
                    "manual": result.status == "owed",
                    "destination": order.customer.phone if result.status == "owed" else None,
                }
            )
        ],
    )
    try:
        tx.commit()
    except TransactionCancelled as cancelled:
        raise Conflict("the order changed while refunding; the refund is recorded, reload to see it") from cancelled
    refund.status = result.status
    refund.provider_refund_id = result.provider_refund_id
    refund.payout = result.payout
    return {**refund_view(refund), "order_status": target, "replayed": False}


def _release(order: Order, refund: Refund) -> None:
    """Give back the reservation of a refund the provider refused."""
    tx = Transaction()
    tx.update(refund, actions=[Refund.status.set("failed")], condition=Refund.status == "requested", label="refund")
    reserved = int(order.refunded_amount or 0)
    tx.update(
        order,
        actions=[Order.refunded_amount.set(reserved - int(refund.amount))],
        condition=Order.refunded_amount == reserved,
        label="order",
    )
    tx.commit()


def confirm_payout(order_id: str, refund_id: str, staff: Staff, reference: str | None) -> dict[str, Any]:
    """Staff paid an owed refund back by hand (mobile money withdrawal, disbursement)."""
    bundle = load(order_id)
    if bundle is None:
        raise NotFound("no such order")
    staff.require(bundle.order.merchant)
    refund = next((r for r in bundle.refunds if r.refund_id == refund_id), None)
    if refund is None:
        raise NotFound("no such refund")
    if refund.status == "paid_out":
        return refund_view(refund)
    if refund.status != "owed":
        raise Conflict(f"this refund is {refund.status}, not owed", current=refund.status)
    actions = [
        Refund.status.set("paid_out"),
        Refund.confirmed_by.set(staff.actor_id),
        Refund.confirmed_at.set(utcnow()),
    ]
    if reference:
        actions.append(Refund.provider_refund_id.set(reference))
    refund.update(actions=actions, condition=Refund.status == "owed")
    return refund_view(refund)
