"""Events a merchant sells tickets for, added by its staff (the catalog document seeds the others):
a concert promoter's next concert, then its ticket types (caisse.catalog.admin.create_product
naming the event). Times are local to the merchant's time zone, as the door and the emails show
them."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pynamodb.exceptions import DoesNotExist

from caisse.catalog.admin import event_view
from caisse.catalog.merchant_settings import record_change
from caisse.catalog.models import Event, merchant_parent
from caisse.catalog.service import get_merchant
from caisse.clock import utcnow
from caisse.errors import Conflict, InvalidRequest
from caisse.staff import Staff


def add_event(merchant_id: str, staff: Staff, spec: dict[str, Any]) -> dict[str, Any]:
    """A new event: ending after it starts and not over already, its id given or made from its
    name and day; recorded with who added it among the merchant's changes (409 if another change
    came in between, or the id is taken)."""
    staff.require(merchant_id, "this merchant")
    merchant = get_merchant(merchant_id)
    zone = ZoneInfo(merchant.timezone or "UTC")
    start, end = (datetime.fromisoformat(spec[key]).replace(tzinfo=zone) for key in ("start", "end"))
    if end <= start:
        raise InvalidRequest("end: an event ends after it starts", code="invalid_event_times", field="end")
    if end <= utcnow():
        raise InvalidRequest("end: this event is over already", code="invalid_event_times", field="end")
    event_id = spec.get("id") or event_slug(spec["name"], spec["start"])
    try:
        Event.get(Event.key(merchant_id, event_id), consistent_read=True)
    except DoesNotExist:
        pass
    else:
        raise Conflict(f"{merchant.name} has an event {event_id} already", code="event_exists", event=event_id)
    event = Event(
        Event.key(merchant_id, event_id),
        parent=merchant_parent(merchant_id),
        merchant=merchant_id,
        event_id=event_id,
        name=spec["name"],
        start=f"{start:%Y-%m-%dT%H:%M}",
        end=f"{end:%Y-%m-%dT%H:%M}",
        venue=spec.get("venue") or None,
        address=spec.get("address") or None,
        added_by=staff.actor_id,
    )
    record_change(merchant, staff, {f"event:{event_id}": (None, event.fields())}, [], also=(event,))
    return {**event_view(event), "timezone": merchant.timezone or "UTC"}


def event_slug(name: str, start: str) -> str:
    """An event's id from its name and day: "Nuit du Jazz à Ouaga" on 2027-02-14 is
    nuit-du-jazz-a-ouaga-2027-02-14 (accents dropped, at most 61 characters)."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    words = re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:50].strip("-")
    return f"{words or 'event'}-{start[:10]}"
