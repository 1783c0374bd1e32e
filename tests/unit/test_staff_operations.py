"""The pure parts of the staff operations: what an order carries for its indexes, how a list query
is read and planned, the CSV row, what the figures count, the shop's new-order email, resending,
and what customers never see of staff's notes."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest

from caisse.db import decode_cursor, encode_cursor
from caisse.errors import InvalidRequest
from caisse.notifications import changes
from caisse.notifications.kinds import Kind
from caisse.notifications.render import render
from caisse.notifications.resend import _sent_before
from caisse.orders import export, figures, index, personal
from caisse.orders.listing import OrderQuery, flags, order_row, plan
from caisse.orders.models import ORDER_SK, Customer, HistoryEntry, LineItem, Order, order_pk
from caisse.orders.service import OrderBundle, order_view

CREATED = datetime(2026, 11, 24, 9, 30, 15, 123456, tzinfo=UTC)


def order(**changes) -> Order:
    values = {
        "order_id": "o1",
        "order_number": "SC-2026-0001",
        "merchant": "songstudio",
        "merchant_contact": {"name": "Custom Song Studio", "staff_email": "team@x.example", "locale": "fr"},
        "status": "pending_payment",
        "money_state": "unpaid",
        "version": 1,
        "currency": "USD",
        "total_amount": 9900,
        "items": [LineItem(sku="SONG-STANDARD", name="Song", quantity=1, unit_amount=9900)],
        "customer": Customer(name="Élodie O'Brien", email="Elodie@Example.test", locale="en"),
        "stages": ["discovery", "delivered"],
        "provider": "stripe",
        "request_fingerprint": "f",
        "created_at": "2026-11-24T09:30:15Z",
        "updated_at": CREATED,
        "expires_at": CREATED,
    }
    values.update(changes)
    found = Order(order_pk(values["order_id"]), ORDER_SK, **values)
    index.index_order(found, CREATED)
    return found


# --------------------------------------------------------------------------- index keys


def test_an_order_carries_a_key_for_every_list_and_search():
    found = order()
    assert found.listed_at == "2026-11-24T09:30:15.123456Z#o1"
    assert (found.merchant_status, found.merchant_money, found.merchant_provider) == (
        "songstudio#pending_payment",
        "songstudio#unpaid",
        "songstudio#stripe",
    )
    assert found.email_key == personal.customer_ref("songstudio", "  elodie@EXAMPLE.test ")  # any case, no address
    assert "@" not in found.email_key
    assert found.name_key == "elodie o brien#2026-11-24T09:30:15.123456Z#o1"
    assert [line.merchant_product for line in index.lines(found)] == ["songstudio#SONG-STANDARD"]
    assert found.booking_merchant is None


def test_keys_sort_newest_first_to_the_microsecond_and_never_tie():
    earlier = index.listed_at(datetime(2026, 11, 24, 9, 30, 15, 9, tzinfo=UTC), "zz")
    later = index.listed_at(datetime(2026, 11, 24, 9, 30, 15, 10, tzinfo=UTC), "aa")
    assert earlier < later
    assert index.listed_at(CREATED, "a") < index.listed_at(CREATED, "b")


def test_a_booking_is_listed_by_its_start():
    found = order(booking={"start": "2026-12-01T22:00:00Z", "service": "Call-out"})
    assert (found.booking_merchant, found.booking_start) == ("songstudio", "2026-12-01T22:00:00Z#o1")


@pytest.mark.parametrize(
    ("name", "folded"),
    [("Élodie  O'Brien", "elodie o brien"), ("ZOË-Ndiaye", "zoe ndiaye"), ("李 雷", "李 雷"), ("  ", "")],
)
def test_names_are_folded_for_search(name, folded):
    assert index.fold(name) == folded


# --------------------------------------------------------------------------- queries


@pytest.mark.parametrize(
    ("q", "by"),
    [
        ("ada@example.test", "email"),
        ("sc-2026-0042", "number"),
        ("34647689-f278-56f9-97de-262bc40e0939", "id"),
        ("Élo", "name"),
        ("2026", "name"),
    ],
)
def test_one_search_box_finds_by_number_email_id_or_name(q, by):
    assert OrderQuery(q=q).search()[0] == by


def test_a_search_with_nothing_to_search_is_refused():
    with pytest.raises(InvalidRequest):
        OrderQuery(q="!!").search()


def test_a_date_means_the_whole_day_and_a_time_is_exact():
    query = OrderQuery(created_from=date(2026, 11, 24), created_to=date(2026, 11, 24))
    low, high = query.time_bounds()
    assert low <= order().listed_at <= high
    assert not OrderQuery(created_from=date(2026, 11, 25)).matches(order())
    assert not OrderQuery(created_to=datetime(2026, 11, 24, 9, 30, 15, tzinfo=UTC)).matches(order())
    assert OrderQuery(created_to=datetime(2026, 11, 24, 9, 30, 16, tzinfo=UTC)).matches(order())


def test_an_order_matches_every_filter_it_is_asked():
    paid = order(status="paid", money_state="paid")
    index.index_order(paid, CREATED)
    assert OrderQuery(status="paid", money_state="paid", provider="stripe", product="SONG-STANDARD").matches(paid)
    assert not OrderQuery(status="paid", provider="paypal").matches(paid)
    assert not OrderQuery(product="SONG-PREMIUM").matches(paid)
    assert OrderQuery(q="elodie@example.TEST").matches(paid)
    assert OrderQuery(q="SC-2026-0001").matches(paid) and not OrderQuery(q="SC-2026-0002").matches(paid)
    assert OrderQuery(q="elo").matches(paid) and not OrderQuery(q="obrien").matches(paid)


def test_the_plan_reads_the_index_of_the_narrowest_filter():
    merchants = ["songstudio", "festival"]
    assert plan(OrderQuery(), merchants).index == "orders_by_merchant"
    chosen = plan(OrderQuery(status="paid", provider="campay"), merchants)
    assert (chosen.index, chosen.partitions) == ("orders_by_provider", ("songstudio#campay", "festival#campay"))
    assert plan(OrderQuery(status="paid", product="X"), merchants).index == "orders_by_product"
    assert plan(OrderQuery(money_state="refunded"), merchants).index == "orders_by_money"
    email = plan(OrderQuery(q="a@b.example", status="paid"), merchants)
    refs = (personal.customer_ref("songstudio", "A@b.example"), personal.customer_ref("festival", "a@b.example"))
    assert (email.index, email.partitions) == ("orders_by_email", refs)  # each merchant's digest, any case
    name = plan(OrderQuery(q="Zoë"), merchants)
    assert (name.index, name.forward, name.low) == ("orders_by_name", True, "zoe")


def test_a_cursor_belongs_to_its_list():
    cursor = encode_cursor("2026-11-24T09:30:15.123456Z#o1", OrderQuery(status="paid").fingerprint())
    assert decode_cursor(cursor, OrderQuery(status="paid").fingerprint()) == "2026-11-24T09:30:15.123456Z#o1"
    with pytest.raises(InvalidRequest):
        decode_cursor(cursor, OrderQuery(status="cancelled").fingerprint())
    with pytest.raises(InvalidRequest):
        decode_cursor("bm90IGpzb24", OrderQuery().fingerprint())


def test_a_row_flags_what_needs_a_look():
    assert flags(order(status="needs_review")) == ["needs_review"]
    assert flags(order(money_state="disputed", refund_reserved=500)) == ["disputed", "refund_in_progress"]
    assert flags(order(owed_refunds=1, booking={"start": "2026-12-01T22:00:00Z"})) == ["refund_owed", "booking"]
    row = order_row(order(refunded_amount=1000, money_state="partially_refunded"))
    assert row["refunded"] == {"amount": 1000, "currency": "USD"} and row["items"] == "1 × Song"


# --------------------------------------------------------------------------- CSV


def test_a_csv_row_has_money_in_major_units_and_no_formula():
    paid = order(
        status="paid",
        money_state="partially_refunded",
        paid_amount=9900,
        refunded_amount=2500,
        customer=Customer(name='=HYPERLINK("http://evil")', email="+1@x.example"),
    )
    text = "".join(export.csv_lines([paid, order(order_id="o2", currency="XAF", total_amount=60000)]))
    assert text.startswith("\ufefforder_number,")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert (rows[0]["total"], rows[0]["paid"], rows[0]["refunded"], rows[0]["net"]) == (
        "99.00",
        "99.00",
        "25.00",
        "74.00",
    )
    assert rows[0]["customer_name"].startswith("'=") and rows[0]["customer_email"] == "'+1@x.example"
    assert (rows[1]["currency"], rows[1]["total"], rows[1]["paid"]) == ("XAF", "60000", "0")


def test_a_bookings_platform_fee_has_its_column():
    booking = order(
        money_state="paid",
        paid_amount=3000,
        currency="AUD",
        total_amount=3000,
        booking={"platform_fee": {"amount": 75, "currency": "AUD"}},
        balance={
            "status": "paid",
            "amount": {"amount": 12000, "currency": "AUD"},
            "fee": {"amount": 300, "currency": "AUD"},
        },
    )
    row = dict(zip(export.COLUMNS, export.row(booking), strict=True))
    assert (row["paid"], row["platform_fee"], row["net"]) == ("150.00", "3.75", "146.25")


def test_a_signed_up_merchants_cart_fee_has_its_column_and_counts_in_the_figures():
    fee = {"amount": 150, "currency": "USD", "bps": 150}  # the Pro plan's 1.5 % of USD 99.98
    cart = order(money_state="paid", version=2, paid_amount=9998, total_amount=9998, platform_fee=fee)
    row = dict(zip(export.COLUMNS, export.row(cart), strict=True))
    assert (row["paid"], row["platform_fee"], row["net"]) == ("99.98", "1.50", "98.48")
    assert figures.contribution(order(), cart).additions == {
        ("2026-11-24", "USD"): {"paid_orders": 1, "revenue": 9998, "fees": 150}
    }


# --------------------------------------------------------------------------- figures


def test_figures_count_a_payment_on_the_merchants_own_day():
    before = order()
    after = order(
        money_state="paid",
        status="paid",
        version=2,
        paid_amount=9900,
        paid_at=datetime(2026, 11, 24, 23, 30, tzinfo=UTC),  # already the 25th in Douala (UTC+1)
        merchant_contact={"name": "S", "timezone": "Africa/Douala"},
    )
    found = figures.contribution(before, after)
    assert found.additions == {("2026-11-25", "USD"): {"paid_orders": 1, "revenue": 9900}}
    assert figures.contribution(after, after).additions == {}  # nothing moved


def test_figures_count_refunds_chargebacks_and_a_balance_when_they_happen():
    paid = order(money_state="paid", paid_amount=9900, version=2)
    refunded = order(money_state="partially_refunded", paid_amount=9900, refunded_amount=2000, version=3)
    assert figures.contribution(paid, refunded).additions == {("2026-11-24", "USD"): {"refunds": 2000}}
    lost = order(
        money_state="charged_back", paid_amount=9900, version=4, dispute={"amount": {"amount": 9900, "currency": "USD"}}
    )
    assert figures.contribution(paid, lost).additions == {("2026-11-24", "USD"): {"charged_back": 9900}}
    due = order(money_state="paid", paid_amount=3000, balance={"status": "due"}, version=5)
    settled = order(
        money_state="paid",
        paid_amount=3000,
        version=6,
        balance={
            "status": "paid",
            "amount": {"amount": 12000, "currency": "USD"},
            "fee": {"amount": 300, "currency": "USD"},
        },
    )
    assert figures.contribution(due, settled).additions == {("2026-11-24", "USD"): {"revenue": 12000, "fees": 300}}


# --------------------------------------------------------------------------- the shop's email


class Shop:
    def __init__(self, new_order_email: bool) -> None:
        self.new_order_email = new_order_email


def test_a_paid_order_tells_the_shop_once_in_its_language():
    unpaid, paid = order(), order(status="paid", money_state="paid", version=2)
    found = changes.for_order_change(unpaid, paid, lambda _: Shop(True))
    [shop] = [n for n in found if n.kind is Kind.NEW_ORDER]
    assert (shop.to, shop.locale, shop.id) == ("team@x.example", "fr", "order:o1:new-order:new_order:merchant")
    # Its own FIFO group: a retry of the customer's confirmation never holds the shop's email back.
    [customer] = [n for n in found if n.kind is Kind.ORDER_CONFIRMED]
    assert (customer.group, shop.group) == ("order:o1:customer", "order:o1:merchant")
    # Paid again after a review (a new version): the same email, which the ledger sends once.
    again = changes.for_order_change(order(status="needs_review", version=4), order(status="paid", version=5))
    assert [n.id for n in again if n.kind is Kind.NEW_ORDER] == [shop.id]
    assert [n for n in changes.for_order_change(unpaid, paid, lambda _: Shop(False)) if n.kind is Kind.NEW_ORDER] == []
    booking = order(status="paid", version=2, booking={"start": "2026-12-01T22:00:00Z"})
    assert Kind.NEW_BOOKING in [n.kind for n in changes.for_order_change(unpaid, booking)]
    rendered = render("new_order", "fr", shop.context)
    assert rendered.subject.startswith("Nouvelle commande SC-2026-0001") and "Élodie O'Brien" in rendered.text
    assert render("new_order", "en", shop.context).subject.startswith("New order SC-2026-0001: USD")


def test_a_resend_asked_by_staff_is_one_email_named_by_the_request():
    writing = order(status="discovery", version=7)
    asked = order(status="discovery", version=8, resend={"id": "r1", "kind": "stage_changed"})
    [notification] = changes.for_order_change(writing, asked)
    assert (notification.kind, notification.to) == (Kind.STAGE_CHANGED, "Elodie@Example.test")
    assert notification.id == "order:o1:resend-r1:stage_changed:customer"
    assert (
        changes.for_order_change(
            asked, order(status="discovery", version=9, resend={"id": "r1", "kind": "stage_changed"})
        )
        == []
    )
    assert _sent_before(Kind.STAGE_CHANGED, writing) and not _sent_before(Kind.STAGE_CHANGED, order(status="paid"))
    assert _sent_before(Kind.ORDER_CONFIRMED, order(status="discovery"))
    assert not _sent_before(Kind.REFUND_PROCESSED, writing)


# --------------------------------------------------------------------------- notes


def entry(version: int, **values) -> HistoryEntry:
    base = {"version": version, "from_status": "paid", "to_status": "paid", "at": CREATED, "actor": "staff"}
    return HistoryEntry(order_pk("o1"), HistoryEntry.key(version), **{"actor_id": "staff:s1", **base, **values})


def test_customers_see_moves_and_messages_never_notes():
    bundle = OrderBundle(
        order(status="discovery", status_reason="We started"),
        history=[
            entry(2, to_status="discovery", message="We started", note="difficult client"),
            entry(3, to_status="discovery", from_status="discovery", action="note", note="call back friday"),
        ],
    )
    customer = order_view(bundle)
    assert [h["version"] for h in customer["history"]] == [2]
    assert customer["history"][0]["message"] == "We started" and "note" not in customer["history"][0]
    assert "difficult" not in str(customer) and "friday" not in str(customer)
    staff = order_view(bundle, staff=True)
    assert [n["note"] for n in staff["notes"]] == ["difficult client", "call back friday"]
    assert [h["action"] for h in staff["history"]] == [None, "note"]
