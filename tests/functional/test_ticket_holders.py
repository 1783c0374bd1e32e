"""An event's change carried to its ticket holders (caisse.orders.ticket_holders) page by page,
against moto in-process: every order once, whatever the page size and however often a page is
delivered; its tickets carry the change; the event records who was told."""

from __future__ import annotations

import json

from conftest import sample, set_header

from caisse.catalog.models import Event
from caisse.db import Transaction
from caisse.orders import service, states, ticket_holders, tickets
from caisse.orders.models import HistoryEntry


def checkout_of_passes(invoke, quantity: int, client: str, sku: str = "FEST-WEEKEND-PASS") -> str:
    """An order of festival passes (weekend passes unless `sku` names another), waiting for payment."""
    event = sample("create_checkout")
    set_header(event, "Idempotency-Key", None)
    set_header(event, "X-Forwarded-For", client)
    body = json.loads(event["body"])
    event["body"] = json.dumps({**body, "items": [{"sku": sku, "quantity": quantity}], "currency": "USD"})
    answer = invoke("CreateCheckoutFunction", event)
    assert answer["statusCode"] == 201, answer["body"]
    return json.loads(answer["body"])["order_id"]


def paid_passes(invoke, quantity: int, client: str, sku: str = "FEST-WEEKEND-PASS") -> str:
    """An order of festival passes, paid: its tickets issued by the payment's own write."""
    order_id = checkout_of_passes(invoke, quantity, client, sku)
    pay(order_id)
    return order_id


def pay(order_id: str) -> None:
    bundle = service.load(order_id)
    assert bundle is not None
    tx = Transaction()
    service.add_move(tx, bundle, states.PAID, money=states.PAID, actor="provider", actor_id="evt_test")
    tx.commit()


def told_entries(order_id: str) -> list[HistoryEntry]:
    bundle = service.load(order_id)
    assert bundle is not None
    return [entry for entry in bundle.history if entry.action == tickets.EVENT_CHANGED]


def test_every_order_is_told_once_across_pages_even_when_a_page_comes_twice(invoke, monkeypatch):
    orders = [paid_passes(invoke, n, f"198.51.100.{n}") for n in (2, 1, 2)]  # 5 tickets
    festival = Event.get(Event.key("festival", "sunset-2027"))
    festival.update(actions=[Event.start.set("2027-07-10T16:00"), Event.revision.set(1)])
    assert festival.telling_holders
    monkeypatch.setattr(ticket_holders, "PAGE", 2)  # an order's tickets straddle pages

    message: dict | None = {"merchant": "festival", "event": "sunset-2027", "revision": 1}
    pages = 0
    while message is not None:
        again = ticket_holders.tell(message)  # SQS delivers at least once: every page twice here
        assert ticket_holders.tell(message) == again
        message, pages = again, pages + 1

    assert pages == 3  # 5 tickets, 2 a page
    for order_id in orders:
        [entry] = told_entries(order_id)
        changes = entry.changes.as_dict()
        assert (changes["before"]["start"], changes["after"]["start"]) == ("2027-07-09T16:00", "2027-07-10T16:00")
        order = service.load(order_id).order
        assert {event["start"] for event in tickets.events_of(order).values()} == {"2027-07-10T16:00"}
        for entry in tickets.entries(order):
            record = tickets.Ticket.get(tickets.Ticket.key(entry["code"]), tickets.TICKET_SK)
            assert record.event.as_dict()["start"] == "2027-07-10T16:00" and record.state == tickets.VALID
    festival.refresh(consistent_read=True)
    assert not festival.telling_holders

    # A later change overtakes a telling still queued: the old message stops, the new one tells all.
    festival.update(actions=[Event.venue.set("Parc des Expositions"), Event.revision.set(2)])
    assert ticket_holders.tell({"merchant": "festival", "event": "sunset-2027", "revision": 1}) is None
    assert all(len(told_entries(order_id)) == 1 for order_id in orders)


def test_a_ticket_type_added_after_a_change_sells_the_changed_night_and_its_buyers_are_not_told_of_it(invoke):
    """Its copy of the event carries the revision its buyers already know, so the telling of that
    revision leaves their orders alone."""
    from caisse.catalog.admin import create_product
    from caisse.catalog.models import Product
    from caisse.staff import Staff

    festival = Event.get(Event.key("festival", "sunset-2027"))
    festival.update(actions=[Event.start.set("2027-07-10T16:00"), Event.revision.set(1)])
    staff = Staff(subject="s-4", email=None, merchant="festival", platform=False)
    spec = {"sku": "FEST-LATE-DAY", "name": "Late day pass", "kind": "ticket", "prices": {"USD": 4000}}
    create_product(staff, {**spec, "event": "sunset-2027", "admissions": 1})
    copied = Product.get(Product.key("FEST-LATE-DAY"), consistent_read=True).event.as_dict()
    assert (copied["start"], copied["revision"]) == ("2027-07-10T16:00", 1)

    order_id = paid_passes(invoke, 1, "198.51.100.9", sku="FEST-LATE-DAY")
    assert ticket_holders.tell({"merchant": "festival", "event": "sunset-2027", "revision": 1}) is None
    assert told_entries(order_id) == []


def test_a_cancelled_events_checkout_paid_just_after_a_look_passed_it_is_looked_at_again(invoke):
    """The sweep watches the checkouts that could still be paid; a payment landing while a look is
    under way, after the look passed its order, gets its tickets refunded by the next look."""
    order_id = checkout_of_passes(invoke, 1, "198.51.100.20")
    festival = Event.get(Event.key("festival", "sunset-2027"))
    festival.update(actions=[Event.cancelled.set("storm warning"), Event.revision.set(1)])
    sweep = ticket_holders.tell({"merchant": "festival", "event": "sunset-2027", "revision": 1})
    assert sweep is not None and sweep["sweep"]
    watch = ticket_holders.tell(sweep)
    assert watch is not None and watch["watch"] == [order_id]

    looked_at: list[str] = []

    def paid_right_after_its_look(looked: str, _event: dict) -> None:
        looked_at.append(looked)
        if service.load(looked).order.status == states.PENDING_PAYMENT:
            pay(looked)  # the customer approves the collection now: its tickets are issued

    again = ticket_holders.tell(watch, holder=paid_right_after_its_look)
    assert looked_at == [order_id] and service.load(order_id).order.status == states.PAID
    assert again is not None and again["watch"] == [order_id]  # before: None, its tickets never refunded

    last: list[str] = []
    assert ticket_holders.tell(again, holder=lambda looked, _event: last.append(looked)) is None
    assert last == [order_id]  # the look that refunds it (the function's holder); then none is left
