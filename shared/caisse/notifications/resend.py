"""Sending a customer's email again, when staff ask (the customer lost it, or it bounced before
they fixed their mailbox): the last email of a kind, rebuilt from the order as it is now. The
delivery email is sent again the one way issue 15 made for it (caisse.orders.service.resend_delivery:
a new delivery round, the download window opened again, so a fresh link).

Staff do not send it themselves: they record the request on the order (a new version, with who,
when and which email in its history), and the orders stream turns that committed change into the
email like any other, named by the request so a redelivered record sends it once.
"""

from __future__ import annotations

import uuid
from typing import Any

from caisse.db import Transaction
from caisse.errors import Conflict, InvalidRequest
from caisse.notifications.kinds import RESENDABLE, Kind
from caisse.orders import states
from caisse.orders.models import Order
from caisse.orders.service import OrderBundle, record_action, resend_delivery
from caisse.staff import Staff


def _sent_before(kind: Kind, order: Order) -> bool:
    """Whether the order is where an email of this kind was (or should have been) sent."""
    stages = list(order.stages or [])
    balance = order.balance.as_dict() if order.balance else {}
    return {
        Kind.ORDER_CONFIRMED: order.status == states.PAID or order.status in stages,
        Kind.STAGE_CHANGED: order.status in stages[:-1],
        Kind.REFUND_PROCESSED: order.last_refund is not None,
        Kind.PAYMENT_FAILED: order.status == states.PAYMENT_FAILED,
        Kind.BALANCE_DUE: balance.get("status") == "due",
    }[kind]


def request_resend(order_id: str, staff: Staff, kind: str) -> dict[str, Any]:
    try:
        wanted = Kind(kind)
    except ValueError:
        wanted = None
    if wanted not in RESENDABLE:
        raise InvalidRequest(
            f"kind: one of {', '.join(k.value for k in RESENDABLE)}",
            field="kind",
            allowed=[k.value for k in RESENDABLE],
        )
    if wanted is Kind.DELIVERY:
        bundle = resend_delivery(order_id, staff)
        return {
            "order_id": order_id,
            "kind": wanted.value,
            "resend_id": f"delivery-{int(bundle.order.delivery_round)}",
            "to": bundle.order.customer.email,
            "version": int(bundle.order.version),
        }
    resend_id = str(uuid.uuid4())

    def writes(bundle: OrderBundle, tx: Transaction) -> list[Any]:
        if not _sent_before(wanted, bundle.order):
            raise Conflict(
                f"order {bundle.order.order_number} has no {wanted.value} email to send again "
                f"(it is {bundle.order.status})",
                code="nothing_to_resend",
                kind=wanted.value,
            )
        return [Order.resend.set({"id": resend_id, "kind": wanted.value})]

    bundle = record_action(
        order_id, staff, "email_resent", changes={"kind": wanted.value, "resend_id": resend_id}, writes=writes
    )
    return {
        "order_id": order_id,
        "kind": wanted.value,
        "resend_id": resend_id,
        "to": bundle.order.customer.email,
        "version": int(bundle.order.version),
    }
