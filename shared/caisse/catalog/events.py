"""Events a merchant sells tickets for, added by its staff (the catalog document seeds the others):
a concert promoter's next concert, then its ticket types (caisse.catalog.admin.create_product
naming the event). Times are local to the merchant's time zone, as the door and the emails show
them. An event can be corrected freely until its first ticket is issued; its ticket types' copies
change with it in the same transaction. After that, a change (a postponement, a new venue) is made
only when staff confirm that every holder is to be told: it is a new revision of the event, which
caisse.orders.ticket_holders carries to each order holding its tickets, whose change emails the
holder. Cancelling an event (saying why) is such a change, and the last: its ticket types go off
sale in the same transaction, and each holder is refunded (caisse.payments.cancelled_events)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.update import Action

from caisse.catalog.admin import catalog_records, event_view
from caisse.catalog.merchant_settings import record_change
from caisse.catalog.models import CatalogRecord, Event, Merchant, Product
from caisse.catalog.service import event_copy, get_merchant
from caisse.clock import utcnow
from caisse.errors import Conflict, InvalidRequest, NotFound
from caisse.staff import Staff


def add_event(merchant_id: str, staff: Staff, spec: dict[str, Any]) -> dict[str, Any]:
    """A new event: ending after it starts and not over already, its id given or made from its
    name and day; recorded with who added it among the merchant's changes (409 if another change
    came in between, or the id is taken)."""
    staff.require(merchant_id, "this merchant")
    merchant = get_merchant(merchant_id)
    start, end = _times(merchant, spec["start"], spec["end"])
    event_id = spec.get("id") or event_slug(spec["name"], spec["start"])
    try:
        Event.get(Event.key(merchant_id, event_id), consistent_read=True)
    except DoesNotExist:
        pass
    else:
        raise Conflict(f"{merchant.name} has an event {event_id} already", code="event_exists", event=event_id)
    event = Event.of(merchant_id, {**spec, "id": event_id, "start": start, "end": end}, added_by=staff.actor_id)
    record_change(merchant, staff, {f"event:{event_id}": (None, event.fields())}, [], also=(event,))
    return {**event_view(event), "timezone": merchant.timezone or "UTC"}


def event_slug(name: str, start: str) -> str:
    """An event's id from its name and day: "Nuit du Jazz à Ouaga" on 2027-02-14 is
    nuit-du-jazz-a-ouaga-2027-02-14 (accents dropped, at most 61 characters)."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    words = re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:50].strip("-")
    return f"{words or 'event'}-{start[:10]}"


def change_event(
    merchant_id: str,
    event_id: str,
    staff: Staff,
    changes: dict[str, Any],
    issued: Callable[[str, str], bool],
    tell_holders: bool = False,
) -> dict[str, Any]:
    """Change an event (its name, times, venue, address: an empty venue or address removes it; or
    `cancelled`, saying why: its ticket types go off sale); its ticket types carry the new copy.
    Once tickets are out (`issued`: caisse.orders.tickets.issued_for) their holders have the old
    details: a change is refused (409) unless `tell_holders` (a cancellation tells them anyway),
    and then it is a new revision whose holders are still to be told (the answer's
    `telling_holders`; the caller starts the telling). A cancelled event changes no more (409)."""
    staff.require(merchant_id, "this merchant")
    merchant = get_merchant(merchant_id)
    try:
        event = Event.get(Event.key(merchant_id, event_id), consistent_read=True)
    except DoesNotExist:
        raise NotFound("no such event") from None
    before = event.fields()
    after = {**before, **{key: value for key, value in changes.items() if value is not None}}
    cancelling = bool(after.get("cancelled"))
    for key in ("venue", "address"):
        if changes.get(key) == "":
            after.pop(key, None)
    after["start"], after["end"] = _times(merchant, after["start"], after["end"])
    if after == before:  # saved again: the caller restarts a telling that stalled
        return {**event_view(event), "timezone": merchant.timezone or "UTC"}
    if event.cancelled:
        raise Conflict(f"{event.name} is cancelled: it can no longer be changed", code="event_cancelled")
    revision = int(event.revision or 0)
    if cancelling or issued(merchant_id, event_id):  # a cancellation also closes checkouts not paid yet
        if not (tell_holders or cancelling):
            raise Conflict(
                f"tickets for {event.name} have been issued with these details: change it only to tell"
                " every holder (tell_holders: true emails each of them the new details and their tickets)",
                code="tickets_issued",
            )
        revision += 1
    corrected = Event.of(merchant_id, after, added_by=event.added_by, revision=revision, told=int(event.told or 0))
    copy = event_copy(corrected, merchant.timezone or "UTC")
    off_sale = [Product.active.set(False)] if cancelling else []
    tickets: list[tuple[CatalogRecord, list[Action]]] = [
        (Product(product.pk), [Product.event.set(copy), *off_sale])
        for product in catalog_records(merchant_id).products
        if product.event and product.event.as_dict().get("id") == event_id
    ]
    record_change(
        merchant, staff, {f"event:{event_id}": (before, after)}, [], also=(corrected,), updates=tuple(tickets)
    )
    return {**event_view(corrected), "timezone": merchant.timezone or "UTC"}


def _times(merchant: Merchant, start: str, end: str) -> tuple[str, str]:
    """An event's local start and end, checked: it ends after it starts, and is not over."""
    zone = ZoneInfo(merchant.timezone or "UTC")
    starts, ends = (datetime.fromisoformat(value).replace(tzinfo=zone) for value in (start, end))
    if ends <= starts:
        raise InvalidRequest("end: an event ends after it starts", code="invalid_event_times", field="end")
    if ends <= utcnow():
        raise InvalidRequest("end: this event is over already", code="invalid_event_times", field="end")
    return f"{starts:%Y-%m-%dT%H:%M}", f"{ends:%Y-%m-%dT%H:%M}"
