"""An event changed after its tickets were issued (caisse.catalog.events.change_event, staff having
confirmed that its holders are to be told): every order holding its tickets gets the new details,
one version each with its history entry, and that change emails the holder (event_changed, with
their tickets again: caisse.notifications.changes). Orders still waiting for payment get them too,
so the tickets they are issued when paid carry the new details.

One message on the ticket holders queue starts the telling of one revision of an event; each
message handles one page of the event's tickets (the by_event index) and queues the next page, so
an event of any size is told within the function's time. A cancellation's telling is done once
more, a while later (its sweep), for payments that landed while it was told; the checkouts that
could still be paid then are looked at again, as long as they can (a mobile-money collection
approved late, a payment staff approve after review). Every step is idempotent: an order
already carrying this revision is left alone, a revision overtaken by a later one stops (the later
one tells every holder), and the event records the revision told once the last page is done. So a
message delivered twice, or staff saving the event again to restart a telling that stalled, tells
nobody twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from caisse.catalog.models import Event
from caisse.catalog.service import event_copy, get_merchant
from caisse.clock import iso, utcnow
from caisse.config import settings
from caisse.db import Transaction, aws_client, batch_get
from caisse.orders import states, tickets
from caisse.orders.models import ORDER_SK, Order, order_pk
from caisse.orders.service import OrderBundle, record_action
from caisse.staff import Staff

# Tickets per message: at most 50 orders, each one transaction, and for a cancellation one refund
# at the provider (~0.3 s each on the local stack, `make bench-tickets`): well within the
# function's 120 s even when the provider is slow.
PAGE = 50
TELLER = "event-change"  # the system actor named in the orders' history
WAITING_DAYS = 2  # orders still waiting for payment are younger than this (checkouts expire sooner)


def start(merchant: str, event_id: str, revision: int, by: Staff) -> None:
    """Queue the telling of this revision of the event to its ticket holders, on behalf of `by`
    (a cancellation's refunds are theirs: named by their subject, no email on the queue)."""
    staff = {"subject": by.subject, "merchant": by.merchant, "platform": by.platform}
    queue({"merchant": merchant, "event": event_id, "revision": revision, "by": staff})


def staff_of(message: dict[str, Any]) -> Staff:
    """Who made the change a message tells of."""
    return Staff(email=None, **message["by"])


def queue(message: dict[str, Any]) -> None:
    """Send a message of the telling; a cancellation's sweep waits (cancellation_sweep_seconds)."""
    delay = settings().cancellation_sweep_seconds if message.get("sweep") and "after" not in message else 0
    aws_client("sqs").send_message(
        QueueUrl=settings().ticket_holders_queue_url, MessageBody=json.dumps(message), DelaySeconds=delay
    )


def tell(
    message: dict[str, Any],
    *,
    holder: Callable[[str, dict[str, Any]], Any] | None = None,
    waiting: Callable[[str, dict[str, Any]], Any] | None = None,
) -> dict[str, Any] | None:
    """One page of the telling `message` asks for; the message for the next page (or, once a
    cancellation is told, for its sweep), or None when every holder has been told (or a later
    revision took over). `holder(order_id, event)` follows
    the telling of each order holding tickets, `waiting(order_id, event)` that of each order still
    waiting for payment (a cancellation refunds the one and closes the other's checkout: they are
    called again when a page is delivered again, and must do their work once)."""
    merchant_id, event_id, revision = message["merchant"], message["event"], int(message["revision"])
    try:
        event = Event.get(Event.key(merchant_id, event_id), consistent_read=True)
    except DoesNotExist:
        return None
    if int(event.revision or 0) != revision:
        return None  # a later change was made: its telling carries the latest details to everyone
    copy = event_copy(event, get_merchant(merchant_id).timezone or "UTC")
    if "watch" in message:
        return _watch(message, copy, holder)
    cursor = message.get("after")
    if cursor is None:
        unpaid = _waiting_for_payment(merchant_id, event_id)
        for order_id in unpaid:
            carry(order_id, copy)
            if waiting is not None:
                waiting(order_id, copy)
        if message.get("sweep"):
            message = {**message, "waiting": unpaid}  # watched after the sweep, until paid or closed
    order_ids, after = _page(merchant_id, event_id, cursor)
    for order_id in order_ids:
        carry(order_id, copy)
        if holder is not None:
            holder(order_id, copy)
    if after is not None:
        return {**message, "after": after}
    try:
        event.update(actions=[Event.told.set(revision)], condition=Event.revision == revision)
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
    if copy.get("cancelled") and not message.get("sweep"):
        # Once more, later: a payment that landed meanwhile (a mobile-money collection cannot be
        # stopped; a card paid in the seconds before its checkout closed) got tickets to refund.
        return {key: value for key, value in message.items() if key != "after"} | {"sweep": True}
    if message.get("waiting"):
        # Read when the sweep began, all looked at once more: one paid while the pages were read
        # may have got its tickets after its page.
        return _look_again(message, message["waiting"])
    return None


def _watch(
    message: dict[str, Any], copy: dict[str, Any], holder: Callable[[str, dict[str, Any]], Any] | None
) -> dict[str, Any] | None:
    """A later look at a cancelled event's checkouts that could still be paid when it was swept
    (a collection the customer approves late, a payment staff approve after review): each one paid
    since is refunded as its holders were; the look is repeated while any can still be paid."""
    # Read before looking: one paid after this read, its look already past it, is looked at again.
    unpaid = _may_still_be_paid(message["watch"])
    for order_id in message["watch"]:
        carry(order_id, copy)
        if holder is not None:
            holder(order_id, copy)
    return _look_again(message, unpaid)


def _may_still_be_paid(order_ids: list[str]) -> list[str]:
    """Those of `order_ids` still waiting for payment (pending, or in review) within WAITING_DAYS."""
    since = iso(utcnow() - timedelta(days=WAITING_DAYS))
    found = batch_get([(Order, order_pk(order_id), ORDER_SK) for order_id in order_ids])
    return sorted(order.order_id for order in found if order.status in states.HOLDING and order.created_at >= since)


def _look_again(message: dict[str, Any], order_ids: list[str]) -> dict[str, Any] | None:
    """The next look (delayed like the sweep: caisse.orders.ticket_holders.queue) at `order_ids`,
    or None when there is none to look at."""
    if not order_ids:
        return None
    kept = {key: value for key, value in message.items() if key not in ("after", "waiting", "watch")}
    return kept | {"sweep": True, "watch": order_ids}


def _page(merchant: str, event_id: str, after: dict[str, Any] | None) -> tuple[list[str], dict[str, Any] | None]:
    """The orders holding one page of the event's tickets, in code order, and the key the next
    page starts after (None on the last page)."""
    found = tickets.Ticket.by_event.query(tickets.event_key(merchant, event_id), limit=PAGE, last_evaluated_key=after)
    order_ids = list(dict.fromkeys(ticket.order_id for ticket in found))
    return order_ids, found.last_evaluated_key


def _waiting_for_payment(merchant: str, event_id: str) -> list[str]:
    """Orders of the event's tickets that may still be paid: their tickets are not issued yet."""
    since = iso(utcnow() - timedelta(days=WAITING_DAYS))
    found = []
    for status in sorted(states.HOLDING):
        for order in Order.by_status.query(status, Order.created_at >= since):
            if order.merchant == merchant and tickets.events_of(order).get(event_id) is not None:
                found.append(order.order_id)
    return found


class _Told(Exception):
    """The order carries this revision already."""


def carry(order_id: str, copy: dict[str, Any]) -> bool:
    """The event's new details on one order and its tickets, in one version of the order whose
    history entry says what changed; False if the order had them already."""
    event_id, revision = copy["id"], int(copy["revision"])

    def changes(bundle: OrderBundle) -> dict[str, Any]:
        before = tickets.events_of(bundle.order).get(event_id) or {}
        return {"event": event_id, "revision": revision, "before": _details(before), "after": _details(copy)}

    def writes(bundle: OrderBundle, tx: Transaction) -> list[Any]:
        order = bundle.order
        if int((tickets.events_of(order).get(event_id) or {}).get("revision") or 0) >= revision:
            raise _Told
        skus = set()
        for item in order.items:
            if item.event and item.event.as_dict()["id"] == event_id:
                item.event = copy
                skus.add(item.sku)
        for entry in tickets.entries(order):
            if entry["sku"] in skus:
                tx.update(
                    tickets.Ticket(tickets.Ticket.key(entry["code"]), tickets.TICKET_SK),
                    actions=[tickets.Ticket.event.set(copy)],
                    condition=tickets.Ticket.pk.exists(),
                    label=f"ticket:{entry['number']}",
                )
        return [Order.items.set(order.items)]

    try:
        record_action(order_id, None, tickets.EVENT_CHANGED, changes=changes, writes=writes, system=TELLER)
    except _Told:
        return False
    return True


def _details(event: dict[str, Any]) -> dict[str, Any]:
    """What a holder is told of an event's details (history entries and the email compare them)."""
    keys = ("id", "name", "start", "end", "venue", "address", "timezone", "cancelled")
    return {key: event.get(key) for key in keys}
