"""An event cancelled once its tickets were out (caisse.catalog.events): every holder's tickets
for it go back whole, the merchant's refund policy set aside (there is nothing left to come to),
through the refund staff make (caisse.payments.refunds), on behalf of the member of staff who
cancelled it and named by the cancellation, so a page of holders delivered twice refunds once.
A mobile-money payment is owed back, as any refund of one is. Checkouts for the event still
waiting for payment are closed at the provider, which then expires them. Called by
caisse.orders.ticket_holders for each order it told."""

from __future__ import annotations

from typing import Any

from caisse.errors import Conflict, InvalidRequest
from caisse.orders import states, tickets
from caisse.orders.service import load
from caisse.payments.refunds import request_refund
from caisse.payments.registry import load as load_provider
from caisse.staff import Staff


def refund_holder(order_id: str, event: dict[str, Any], staff: Staff) -> str | None:
    """Refund the tickets for a cancelled event an order still holds: the refund's status, or why
    not ("payment_disputed" or "nothing_to_refund": staff see it on the order); None when there is no
    cancellation or no valid ticket left (refunded already)."""
    bundle = load(order_id)
    if not event.get("cancelled") or bundle is None:
        return None
    codes = tickets.held(bundle.order, {event["id"]})
    if not codes:
        return None
    reason = f"{event['name']} is cancelled: {event['cancelled']}"[:300]
    try:
        key = f"event-cancelled-{event['id']}"
        refund = request_refund(order_id, staff, None, reason, key, None, codes, whole=True, shown=False)
    except (Conflict, InvalidRequest) as refused:
        return refused.code
    return str(refund["status"])


def close_waiting(order_id: str, event: dict[str, Any]) -> None:
    """A checkout for a cancelled event that nobody paid yet: closed at the provider (its expiry
    event then expires the order), so nobody pays for tickets to a night that will not happen."""
    bundle = load(order_id)
    if not event.get("cancelled") or bundle is None or bundle.order.status not in states.OPEN:
        return
    order = bundle.order
    load_provider(order.provider, order.connect_account).close_checkout(order.provider_ref or "")
