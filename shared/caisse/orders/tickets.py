"""Tickets: what a paid order of admissions gives its buyer, and what the door checks.

One ticket per admission (a pass for two is two tickets), issued by the system in the same
transaction that makes the order paid (caisse.orders.service.add_move), so a paid order always has
its tickets and an unpaid one never does. Each ticket is a record of its own, keyed by its code
(`TICKET#<code>`), so the door decides with one conditional write on one item; the order keeps the
list of its tickets (code, item, state) so its views, its emails and refunds read them with the
order. The attendee list of an event is a Query of the `by_event` index, never a Scan.

A code is 16 characters of Crockford's base32 (80 random bits from `secrets`): unguessable, and
easy to read out or type at the door (no I, L, O or U; dashes, spaces and case do not matter).

Transaction size: DynamoDB takes at most 100 items in one transaction. Settling a payment writes up
to 8 items besides the tickets (the delivery, the payment event, the order, its history, two
provider references, two open-checkout counters), a refund 3 plus 2 per item given back to stock
plus one per ticket voided; MAX_TICKETS_PER_ORDER keeps both far below 100 (and the 4 MB limit: a
ticket record is under 1 KB).
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from caisse.clock import iso
from caisse.db import Transaction, batch_get, document
from caisse.errors import Conflict, Forbidden, InvalidRequest, NotFound
from caisse.orders.models import Order, OrderRecord

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32: no I, L, O, U
CODE_LENGTH = 16  # 80 bits
MAX_TICKETS_PER_ORDER = 40
TICKET_SK = "TICKET"
VALID = "valid"
VOIDED = "voided"
STATE_RETURNING = "returning"  # the door list's state of a valid ticket whose holder is giving it back
GIVING_BACK = "its holder is giving it back"
EVENT_CHANGED = "event_changed"  # the history action of an event's new details carried to an order


class TicketsByEvent(GlobalSecondaryIndex[Any]):
    """An event's tickets (the attendee list for the door), by code."""

    class Meta:
        index_name = "by_event"
        projection = AllProjection()

    event_key = UnicodeAttribute(hash_key=True)
    code = UnicodeAttribute(range_key=True)


class Ticket(OrderRecord, discriminator="ticket"):
    """One admission. `state` is valid or voided (a refund gave it back); a check-in is recorded
    once, by a conditional write, and never undone. `returning`: the refund of a holder giving it
    back, while that refund goes through (the door refuses it meanwhile)."""

    code = UnicodeAttribute()
    order_id = UnicodeAttribute()
    order_number = UnicodeAttribute()
    merchant = UnicodeAttribute()
    event_key = UnicodeAttribute()  # <merchant>#<event id>: the by_event index
    event = document()  # id, name, start, end (local), timezone, venue, address
    sku = UnicodeAttribute()
    product = UnicodeAttribute()
    holder = UnicodeAttribute()
    number = NumberAttribute()  # 1..count within the order
    count = NumberAttribute()  # type: ignore[assignment]  # of the order's tickets; Model.count is never wanted here
    state = UnicodeAttribute()
    issued_at = UTCDateTimeAttribute()
    checked_in_at = UTCDateTimeAttribute(null=True)
    checked_in_by = UnicodeAttribute(null=True)  # the staff member who scanned it (email, else id)
    voided_at = UTCDateTimeAttribute(null=True)
    void_reason = UnicodeAttribute(null=True)
    returning = UnicodeAttribute(null=True)
    by_event = TicketsByEvent()

    @staticmethod
    def key(code: str) -> str:
        return f"TICKET#{code}"


def event_key(merchant: str, event_id: str) -> str:
    return f"{merchant}#{event_id}"


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalize(text: str) -> str | None:
    """A code as typed at the door (any case, dashes, spaces, O for 0, I or L for 1), or None."""
    code = re.sub(r"[\s-]", "", text or "").upper().translate(str.maketrans("OIL", "011"))
    if len(code) != CODE_LENGTH or any(char not in ALPHABET for char in code):
        return None
    return code


def display(code: str) -> str:
    """How a code is printed: four groups of four, e.g. 7K2M-Q9XD-3TPA-H4RB."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def admissions(items: list[Any]) -> int:
    """How many tickets these order lines (or cart lines) issue."""
    return sum(int(item.quantity) * int(item.admissions or 1) for item in items if item.event)


def check_admissions(lines: list[Any]) -> None:
    """Refuse, before anything is written, an order with more tickets than one transaction holds."""
    count = admissions(lines)
    if count > MAX_TICKETS_PER_ORDER:
        raise InvalidRequest(
            f"at most {MAX_TICKETS_PER_ORDER} tickets per order (this cart would issue {count})",
            code="too_many_tickets",
            maximum=MAX_TICKETS_PER_ORDER,
            requested=count,
        )


def issue(tx: Transaction, order: Order, at: datetime) -> list[dict[str, Any]]:
    """Add one new ticket per admission of `order` to the transaction; the entries for Order.tickets."""
    entries: list[dict[str, Any]] = []
    count = admissions(order.items)
    for item in order.items:
        if not item.event:
            continue
        event = item.event.as_dict()
        for unit in range(int(item.quantity)):
            for _ in range(int(item.admissions or 1)):
                code = new_code()
                entries.append(
                    {"code": code, "sku": item.sku, "unit": unit, "number": len(entries) + 1, "state": VALID}
                )
                tx.put(
                    Ticket(
                        Ticket.key(code),
                        TICKET_SK,
                        code=code,
                        order_id=order.order_id,
                        order_number=order.order_number,
                        merchant=order.merchant,
                        event_key=event_key(order.merchant, event["id"]),
                        event=event,
                        sku=item.sku,
                        product=item.name,
                        holder=order.customer.name,
                        number=len(entries),
                        count=count,
                        state=VALID,
                        issued_at=at,
                    ),
                    condition=OrderRecord.pk.does_not_exist(),
                    label=f"ticket:{len(entries)}",
                )
    return entries


def events_of(order: Order) -> dict[str, dict[str, Any]]:
    """The events the order's items admit to, by id, as the order keeps them."""
    return {item.event.as_dict()["id"]: item.event.as_dict() for item in order.items if item.event}


def held(order: Order, event_ids: set[str]) -> list[str]:
    """The codes of the order's valid tickets that admit to these events."""
    skus = {item.sku for item in order.items if item.event and item.event.as_dict()["id"] in event_ids}
    return [entry["code"] for entry in entries(order) if entry["sku"] in skus and entry["state"] == VALID]


def entries(order: Order) -> list[dict[str, Any]]:
    """The order's tickets as stored on it (numbers as ints)."""
    found = []
    for entry in order.tickets or []:
        entry = entry.as_dict() if hasattr(entry, "as_dict") else dict(entry)
        found.append({**entry, "unit": int(entry["unit"]), "number": int(entry["number"])})
    return found


def void(tx: Transaction, codes: list[str], reason: str, at: datetime) -> None:
    """Add the voiding of these tickets to a transaction (each once: only a valid one is voided)."""
    for code in codes:
        tx.update(
            Ticket(Ticket.key(code), TICKET_SK),
            actions=[
                Ticket.state.set(VOIDED),
                Ticket.voided_at.set(at),
                Ticket.void_reason.set(reason),
                Ticket.returning.remove(),
            ],
            condition=Ticket.state == VALID,
            label=f"void:{code}",
        )


RETURNING = "return:"  # the label of a ticket kept from the door in a transaction (keep_from_door)


def keep_from_door(tx: Transaction, codes: list[str], refund_id: str) -> None:
    """Add to a transaction: these tickets are being given back by their holder, so the door
    refuses them until the refund voids them; each only if still valid and never scanned (a scan
    in the same second as the holder's click wins, and the refund is refused)."""
    for code in codes:
        tx.update(
            Ticket(Ticket.key(code), TICKET_SK),
            actions=[Ticket.returning.set(refund_id)],
            condition=(Ticket.state == VALID) & Ticket.checked_in_at.does_not_exist(),
            label=f"{RETURNING}{code}",
        )


def back_to_door(tx: Transaction, codes: list[str], refund_id: str) -> None:
    """Add to a transaction: the holder's refund did not happen, these tickets admit again."""
    for code in codes:
        tx.update(
            Ticket(Ticket.key(code), TICKET_SK),
            actions=[Ticket.returning.remove()],
            condition=Ticket.returning == refund_id,
            label=f"{RETURNING}{code}",
        )


def admitted(codes: list[str]) -> set[str]:
    """Which of these tickets were scanned at the door already (their own records say so: the
    order's copy of its tickets does not change at check-in)."""
    records = batch_get([(Ticket, Ticket.key(code), TICKET_SK) for code in codes])
    return {record.code for record in records if record.checked_in_at}


def after_voiding(order: Order, codes: set[str]) -> list[dict[str, Any]]:
    """The order's ticket entries once these codes are voided."""
    return [{**entry, "state": VOIDED} if entry["code"] in codes else entry for entry in entries(order)]


def share(order: Order, entry: dict[str, Any]) -> int:
    """What one ticket cost (minor units): its item's price split over the item's admissions, the
    remainder on the first tickets, so the tickets of an item add up to its price exactly."""
    item = next(i for i in order.items if i.sku == entry["sku"])
    price, seats = int(item.unit_amount), int(item.admissions or 1)
    siblings = [e["code"] for e in entries(order) if e["sku"] == entry["sku"] and e["unit"] == entry["unit"]]
    place = siblings.index(entry["code"])
    return price // seats + (1 if place < price % seats else 0)


def cost(order: Order, codes: list[str]) -> int:
    """What these tickets of the order cost together (minor units)."""
    known = {entry["code"]: entry for entry in entries(order)}
    return sum(share(order, known[code]) for code in codes)


def units_given_back(order: Order, voided: set[str]) -> dict[str, int]:
    """Items whose every ticket is voided once `voided` are, by SKU: what can go back to stock."""
    units: dict[tuple[str, int], list[str]] = {}
    for entry in entries(order):
        units.setdefault((entry["sku"], entry["unit"]), []).append(entry["code"])
    back: dict[str, int] = {}
    for (sku, _), codes in units.items():
        if all(code in voided for code in codes):
            back[sku] = back.get(sku, 0) + 1
    return back


def skus(order: Order) -> set[str]:
    """The order's items that issued tickets."""
    return {entry["sku"] for entry in entries(order)}


def for_refund(order: Order, named: list[str], items: dict[str, int]) -> tuple[list[str], dict[str, int], int]:
    """What a refund gives back of an order with tickets: the codes it voids (those named, and for
    items of a ticket product whole items, the last ones first), the items that go back to stock
    with them (an item once all its tickets are voided), and what those tickets cost."""
    current = entries(order)
    known = {entry["code"]: entry for entry in current}
    voided_before = {entry["code"] for entry in current if entry["state"] == VOIDED}
    codes: list[str] = []
    for text in named:
        code = normalize(text)
        if code is None or code not in known:
            raise InvalidRequest(f"{text} is not a ticket of this order", code="unknown_ticket", ticket=text)
        if code in voided_before:
            raise InvalidRequest(
                f"ticket {display(code)} was given back already", code="ticket_voided", ticket=display(code)
            )
        codes.append(code)
    ticketed = skus(order)
    for sku, quantity in items.items():
        if sku not in ticketed:
            continue
        units: dict[int, list[str]] = {}
        for entry in current:
            if entry["sku"] == sku:
                units.setdefault(entry["unit"], []).append(entry["code"])
        whole = [
            unit for unit, group in sorted(units.items(), reverse=True) if not set(group) & (voided_before | set(codes))
        ]
        if quantity > len(whole):
            raise InvalidRequest(
                f"at most {len(whole)} of {sku} can still be given back", code="too_many_items", sku=sku
            )
        codes.extend(code for unit in whole[:quantity] for code in units[unit])
    codes = list(dict.fromkeys(codes))
    before = units_given_back(order, voided_before)
    after = units_given_back(order, voided_before | set(codes))
    back = {sku: after[sku] - before.get(sku, 0) for sku in after if after[sku] > before.get(sku, 0)}
    others = {sku: quantity for sku, quantity in items.items() if sku not in ticketed}
    return codes, {**others, **back}, cost(order, codes)


def local_iso(moment: str | None, timezone: str) -> str | None:
    """A local time of the merchant's ("2027-07-09T16:00") as ISO 8601 with its offset."""
    if not moment:
        return None
    return datetime.fromisoformat(moment).replace(tzinfo=ZoneInfo(timezone or "UTC")).isoformat()


def starts_after(event: dict[str, Any], at: datetime) -> bool:
    """Whether the event (as an order keeps it: local times and their zone) starts after `at`."""
    start = local_iso(event.get("start"), event.get("timezone") or "UTC")
    return start is not None and datetime.fromisoformat(start) > at


def when(event: dict[str, Any], locale: str = "en") -> str:
    """The event's dates in the merchant's local time, as emails and the PDF print them:
    "2027-07-09 16:00 to 2027-07-11 23:30" ("au" in French)."""
    start, end = (str(event.get(moment) or "")[:16].replace("T", " ") for moment in ("start", "end"))
    return f"{start} {'au' if locale == 'fr' else 'to'} {end}" if end else start


def event_view(event: dict[str, Any]) -> dict[str, Any]:
    timezone = event.get("timezone") or "UTC"
    return {
        "id": event["id"],
        "name": event.get("name"),
        "start": local_iso(event.get("start"), timezone),
        "end": local_iso(event.get("end"), timezone),
        "timezone": timezone,
        "venue": event.get("venue"),
        "address": event.get("address"),
        "cancelled": event.get("cancelled"),  # why, if it was cancelled
    }


def views(order: Order, returning: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """The order's tickets as the API, the emails and the hosted page show them; a valid one of
    `returning` (its holder's give-back under way: kept from the door) reads `returning`."""
    items = {item.sku: item for item in order.items}
    count = len(order.tickets or [])
    return [
        {
            "code": display(entry["code"]),
            "number": entry["number"],
            "count": count,
            "state": STATE_RETURNING if entry["state"] == VALID and entry["code"] in returning else entry["state"],
            "holder": order.customer.name,
            "sku": entry["sku"],
            "product": items[entry["sku"]].name,
            "event": event_view(items[entry["sku"]].event.as_dict()),
        }
        for entry in entries(order)
    ]


def record_view(ticket: Ticket) -> dict[str, Any]:
    """One ticket record as staff see it at the door."""
    return {
        "code": display(ticket.code),
        "state": ticket.state,
        "holder": ticket.holder,
        "product": ticket.product,
        "number": int(ticket.number),
        "count": int(ticket.count),
        "order_id": ticket.order_id,
        "order_number": ticket.order_number,
        "merchant": ticket.merchant,
        "event": event_view(ticket.event.as_dict()),
        "checked_in_at": iso(ticket.checked_in_at) if ticket.checked_in_at else None,
        "checked_in_by": ticket.checked_in_by,
        "voided_at": iso(ticket.voided_at) if ticket.voided_at else None,
        "void_reason": ticket.void_reason,
    }


def _local_time(moment: datetime, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone or "UTC")).strftime("%H:%M")


def check_in(code_text: str, staff: Any, at: datetime) -> dict[str, Any]:
    """Admit the holder of a ticket, once. One conditional write decides, however many doors
    scan the same code at once: it succeeds only on a valid ticket of the staff's merchant that
    was never checked in. A refusal is read back to say why (used at 20:14 by whom, voided,
    another merchant's, no such ticket)."""
    code = normalize(code_text)
    if code is None:
        raise NotFound("no ticket has this code", code="unknown_ticket")
    ticket = Ticket(Ticket.key(code), TICKET_SK)
    condition = (
        Ticket.pk.exists()
        & (Ticket.state == VALID)
        & Ticket.checked_in_at.does_not_exist()
        & Ticket.returning.does_not_exist()
    )
    if not staff.platform:
        condition &= Ticket.merchant == staff.merchant
    try:
        ticket.update(
            actions=[Ticket.checked_in_at.set(at), Ticket.checked_in_by.set(staff.email or staff.actor_id)],
            condition=condition,
        )
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        raise _refusal(code, staff) from None
    return {"result": "admitted", "ticket": record_view(ticket)}


def _refusal(code: str, staff: Any) -> Exception:
    try:
        ticket = Ticket.get(Ticket.key(code), TICKET_SK, consistent_read=True)
    except Ticket.DoesNotExist:
        return NotFound("no ticket has this code", code="unknown_ticket")
    if not (staff.platform or staff.merchant == ticket.merchant):
        return Forbidden("this ticket belongs to another merchant", code="other_merchant")
    view = record_view(ticket)
    if ticket.state == VOIDED:
        reason = ticket.void_reason or "voided"
        return Conflict(f"ticket voided: {reason}", code="ticket_voided", ticket=view)
    if ticket.returning:
        return Conflict(f"ticket voided: {GIVING_BACK}", code="ticket_voided", ticket=view)
    used_at = _local_time(ticket.checked_in_at, ticket.event.as_dict().get("timezone"))
    return Conflict(f"already used at {used_at} by {ticket.checked_in_by}", code="already_checked_in", ticket=view)


ATTENDEE_COLUMNS = [
    "code",
    "state",
    "holder",
    "product",
    "ticket",
    "order_number",
    "checked_in_at",
    "checked_in_by",
    "void_reason",
]


def issued_for(merchant: str, event_id: str) -> bool:
    """Whether any ticket admits to the event yet (valid, used or voided): one Query of by_event."""
    return next(iter(Ticket.by_event.query(event_key(merchant, event_id), limit=1)), None) is not None


def attendees_csv(merchant: str, event_id: str) -> str:
    """An event's tickets for the door when the network is down (one Query of the by_event index):
    every code with its holder and state, times in the event's zone. Voided tickets are listed so
    the door can tell a refunded ticket from a forged one, and one being given back reads
    `returning`: it no longer admits, as at the online door. An event with no ticket sold yet (or
    another merchant's) has an empty list."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(ATTENDEE_COLUMNS)
    for ticket in Ticket.by_event.query(event_key(merchant, event_id)):
        zone = ticket.event.as_dict().get("timezone") or "UTC"
        checked = (
            ticket.checked_in_at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M") if ticket.checked_in_at else ""
        )
        returning = ticket.state == VALID and ticket.returning
        writer.writerow(
            [
                display(ticket.code),
                STATE_RETURNING if returning else ticket.state,
                ticket.holder,
                ticket.product,
                f"{int(ticket.number)}/{int(ticket.count)}",
                ticket.order_number,
                checked,
                ticket.checked_in_by or "",
                GIVING_BACK if returning else ticket.void_reason or "",
            ]
        )
    return out.getvalue()
