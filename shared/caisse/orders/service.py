"""Reading orders and moving them. Every move is checked by the workflow and written as one
conditional transaction: the order (only if nobody moved it meanwhile), its history entry, and
whatever else the move implies (released stock, the provider event that caused it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from caisse.catalog.models import Product
from caisse.clock import iso, utcnow
from caisse.db import Transaction, TransactionCancelled
from caisse.errors import Conflict, NotFound
from caisse.orders import states
from caisse.orders.models import (
    ORDER_SK,
    HistoryEntry,
    Hold,
    Order,
    OrderRecord,
    PaymentEvent,
    Refund,
    Slot,
    order_pk,
)
from caisse.staff import Staff


@dataclass
class OrderBundle:
    """An order with everything recorded in its partition."""

    order: Order
    history: list[HistoryEntry] = field(default_factory=list)
    payments: list[PaymentEvent] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)

    @property
    def workflow(self) -> states.Workflow:
        return states.Workflow.of(self.order.stages)


def load(order_id: str) -> OrderBundle | None:
    """One strongly consistent Query for the order and its history, payments and holds."""
    bundle: OrderBundle | None = None
    rest: list[OrderRecord] = []
    for record in OrderRecord.query(order_pk(order_id), consistent_read=True):
        if isinstance(record, Order) and record.sk == ORDER_SK:
            bundle = OrderBundle(record)
        else:
            rest.append(record)
    if bundle is None:
        return None
    for record in rest:
        if isinstance(record, HistoryEntry):
            bundle.history.append(record)
        elif isinstance(record, PaymentEvent):
            bundle.payments.append(record)
        elif isinstance(record, Hold):
            bundle.holds.append(record)
        elif isinstance(record, Refund):
            bundle.refunds.append(record)
    return bundle


def add_move(
    tx: Transaction,
    bundle: OrderBundle,
    target: str,
    *,
    actor: str,
    actor_id: str,
    note: str | None = None,
    at: datetime | None = None,
    extra: list[Any] | None = None,
) -> None:
    """Add a move of `bundle.order` to `target` to a transaction, with its history entry.

    The caller has checked the move against the workflow. The write only succeeds if the order is
    still at the version and status it was read at; holds are released when the order stops
    waiting for payment.
    """
    order = bundle.order
    at = at or utcnow()
    version = int(order.version)
    tx.update(
        order,
        actions=[
            Order.status.set(target),
            Order.version.set(version + 1),
            Order.updated_at.set(at),
            Order.status_reason.set(note) if note else Order.status_reason.remove(),
            *(extra or []),
        ],
        condition=(Order.version == version) & (Order.status == order.status),
        label="order",
    )
    tx.put(
        HistoryEntry(
            order.pk,
            HistoryEntry.key(version + 1),
            version=version + 1,
            from_status=order.status,
            to_status=target,
            at=at,
            actor=actor,
            actor_id=actor_id,
            note=note,
        ),
        condition=OrderRecord.sk.does_not_exist(),
        label="history",
    )
    if order.status in states.HOLDING and target not in states.HOLDING and target != states.PAID:
        release_holds(tx, bundle)


def release_holds(tx: Transaction, bundle: OrderBundle) -> None:
    """Give held stock back to the catalog, each hold exactly once, and free a booking's time."""
    order = bundle.order
    for partition, step in order.booking.as_dict().get("slots", []) if order.booking else []:
        slot = Slot(partition, step)
        mine = OrderRecord.pk.does_not_exist() | (Slot.order_id == order.order_id)
        tx.delete(slot, condition=mine, label=f"slot:{step}")
    for hold in bundle.holds:
        if hold.state != "held":
            continue
        tx.update(hold, actions=[Hold.state.set("released")], condition=Hold.state == "held", label=f"hold:{hold.sku}")
        tx.update(
            Product(Product.key(hold.sku)), actions=[Product.stock.add(int(hold.quantity))], label=f"stock:{hold.sku}"
        )


def change_status_by_staff(order_id: str, target: str, staff: Staff, note: str | None) -> OrderBundle:
    """A staff member moves an order (a fulfilment stage, or a decision on a flagged payment)."""
    bundle = load(order_id)
    if bundle is None:
        raise NotFound("no such order")
    staff.require(bundle.order.merchant)
    # Refund statuses are reached through the refund route, which gives the money back too.
    bundle.workflow.check(bundle.order.status, target, states.Actor.STAFF, refunds=False)
    tx = Transaction()
    add_move(tx, bundle, target, actor=states.Actor.STAFF, actor_id=staff.actor_id, note=note)
    try:
        tx.commit()
    except TransactionCancelled as cancelled:
        if "order" in cancelled.failed:
            raise Conflict("the order changed while you were editing it; reload and try again") from cancelled
        raise
    reloaded = load(order_id)
    assert reloaded is not None
    return reloaded


def order_view(bundle: OrderBundle, *, staff: bool = False) -> dict[str, Any]:
    """The order as the API shows it. Customers see their own order; staff also see provider refs."""
    order = bundle.order
    view: dict[str, Any] = {
        "order_id": order.order_id,
        "order_number": order.order_number,
        "merchant": order.merchant,
        "status": order.status,
        "status_reason": order.status_reason,
        "total": order.total.as_dict(),
        "items": [
            {
                "sku": item.sku,
                "name": item.name,
                "quantity": int(item.quantity),
                "unit_amount": int(item.unit_amount),
                "amount": int(item.unit_amount) * int(item.quantity),
            }
            for item in order.items
        ],
        "provider": order.provider,
        "created_at": order.created_at,
        "updated_at": iso(order.updated_at),
        "expires_at": iso(order.expires_at),
        "paid_at": iso(order.paid_at) if order.paid_at else None,
        "refunded": {"amount": int(order.refunded_amount or 0), "currency": order.currency},
        "next_statuses": bundle.workflow.allowed(order.status, states.Actor.STAFF, refunds=False) if staff else None,
        "history": [
            {
                "version": int(entry.version),
                "from": entry.from_status,
                "to": entry.to_status,
                "at": iso(entry.at),
                "by": entry.actor if not staff else entry.actor_id,
                "note": entry.note,
            }
            for entry in sorted(bundle.history, key=lambda e: int(e.version))
        ],
    }
    if order.status in states.HOLDING and order.next_action:
        view["next_action"] = order.next_action.as_dict()
    if staff:
        view["customer"] = {"name": order.customer.name, "email": order.customer.email, "locale": order.customer.locale}
        view["provider_ref"] = order.provider_ref
        view["payment_ref"] = order.payment_ref
        view["payments"] = [
            {
                "event_id": p.event_id,
                "type": p.event_type,
                "outcome": p.outcome,
                "amount": int(p.amount) if p.amount is not None else None,
                "currency": p.currency,
                "at": iso(p.received_at),
            }
            for p in sorted(bundle.payments, key=lambda p: p.received_at)
        ]
        view["refunds"] = [refund_view(r) for r in sorted(bundle.refunds, key=lambda r: r.requested_at)]
    else:
        view.pop("next_statuses")
    return view


def refund_view(refund: Refund) -> dict[str, Any]:
    return {
        "refund_id": refund.refund_id,
        "amount": {"amount": int(refund.amount), "currency": refund.currency},
        "status": refund.status,
        "reason": refund.reason,
        "provider": refund.provider,
        "provider_refund_id": refund.provider_refund_id,
        "provider_status": refund.provider_status,
        "payout": refund.payout.as_dict() if refund.payout else None,
        "requested_at": iso(refund.requested_at),
        "confirmed_at": iso(refund.confirmed_at) if refund.confirmed_at else None,
    }
