"""A booking is one kind of order source of the one checkout pipeline: what it reads, what makes
two requests the same booking, what it refuses before anything is written, and what a cancelled
write means (the time was taken)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from caisse.bookings.service import BOOKING, SlotTaken, _slot_taken
from caisse.catalog.models import Merchant, Service
from caisse.db import TransactionCancelled
from caisse.errors import CaisseError
from caisse.orders.checkout import BookingRequest, CheckoutRequest

KEY = "unit-token-key"
NOW = datetime(2027, 3, 1, 0, 0, tzinfo=UTC)  # a Monday
TUESDAY_9_SYDNEY = datetime.fromisoformat("2027-03-02T09:00:00+11:00")


def request(start=TUESDAY_9_SYDNEY, currency="AUD", merchant="fixit", service="callout") -> CheckoutRequest:
    return CheckoutRequest(
        items=(),
        currency=currency,
        customer_name="Sam",
        customer_email="sam@example.test",
        locale=None,
        booking=BookingRequest(merchant, service, start),
    )


def merchant(**changes) -> Merchant:
    values = dict(
        merchant_id="fixit",
        name="Fixit",
        order_prefix="FIX",
        timezone="Australia/Sydney",
        weekly_hours={"tue": [["08:00", "17:00"]]},
        slot_minutes=30,
        stripe_account="acct_fixit",
        charges_enabled=True,
        platform_fee_bps=250,
    )
    values.update(changes)
    return Merchant(Merchant.key("fixit"), **values)


def service(**changes) -> Service:
    values = dict(
        merchant="fixit",
        service_id="callout",
        name="Call-out",
        duration_minutes=60,
        currency="AUD",
        full_price=15000,
        deposit_percent=20,
        active=True,
    )
    values.update(changes)
    return Service(Service.key("fixit", "callout"), **values)


def test_a_booking_reads_its_merchant_and_service_with_the_replayed_order():
    assert [(model, key) for model, key, _ in BOOKING.reads(request())] == [
        (Merchant, "MERCHANT#fixit"),
        (Service, "SERVICE#fixit#callout"),
    ]


def test_the_same_booking_has_the_same_fingerprint_and_another_time_another():
    first = BOOKING.fingerprint(request(), KEY)
    assert first == BOOKING.fingerprint(request(), KEY)
    assert first != BOOKING.fingerprint(request(start=datetime.fromisoformat("2027-03-02T09:30:00+11:00")), KEY)


def test_a_start_without_its_offset_is_refused_before_anything_is_read():
    with pytest.raises(CaisseError) as refused:
        BOOKING.fingerprint(request(start=datetime(2027, 3, 2, 9, 0)), KEY)
    assert (refused.value.status, refused.value.code) == (422, "invalid_start")


@pytest.mark.parametrize(
    ("found", "asked", "status", "code"),
    [
        ([service()], request(), 404, "not_found"),
        ([merchant(), service(active=False)], request(), 404, "unknown_service"),
        ([merchant(charges_enabled=False), service()], request(), 409, "merchant_not_onboarded"),
        ([merchant(stripe_account=None), service()], request(), 409, "merchant_not_onboarded"),
        ([merchant(), service()], request(currency="USD"), 422, "currency_not_offered"),
        (
            [merchant(), service()],
            request(start=datetime.fromisoformat("2027-02-01T09:00:00+11:00")),
            422,
            "start_in_the_past",
        ),
        (
            [merchant(), service()],
            request(start=datetime.fromisoformat("2027-03-02T09:10:00+11:00")),
            422,
            "not_bookable",
        ),
        (
            [merchant(), service()],
            request(start=datetime.fromisoformat("2027-03-03T09:00:00+11:00")),
            422,
            "not_bookable",
        ),
    ],
)
def test_what_a_booking_refuses_before_anything_is_written(found, asked, status, code):
    with pytest.raises(CaisseError) as refused:
        BOOKING.draft(found, asked, "order-1", NOW, "fingerprint")
    assert (refused.value.status, refused.value.code) == (status, code)


def test_a_cancelled_write_on_a_slot_means_the_time_was_taken():
    refusal = _slot_taken(TransactionCancelled({"slot:2027-03-01T22:00:00Z": "ConditionalCheckFailed"}))
    assert isinstance(refusal, SlotTaken) and refusal.status == 409 and refusal.code == "slot_taken"
    assert _slot_taken(TransactionCancelled({"history": "ConditionalCheckFailed"})) is None


def test_a_phone_that_is_not_one_of_the_merchants_country_is_refused_before_anything_is_written():
    asked = CheckoutRequest(
        items=(),
        currency="AUD",
        customer_name="Sam",
        customer_email="sam@example.test",
        locale=None,
        customer_phone="06 12 34 56 78",  # French, dialled as if in Australia
        booking=BookingRequest("fixit", "callout", TUESDAY_9_SYDNEY, "1 George St", "Side gate"),
    )
    with pytest.raises(CaisseError) as refused:
        BOOKING.draft([merchant(country="AU"), service()], asked, "order-1", NOW, "fingerprint")
    assert (refused.value.status, refused.value.code) == (422, "invalid_phone")
    assert refused.value.details["field"] == "customer.phone"


def test_the_job_details_make_another_booking_and_an_order_without_them_keeps_its_fingerprint():
    plain = request()
    with_job = CheckoutRequest(
        **{**plain.__dict__, "booking": BookingRequest("fixit", "callout", TUESDAY_9_SYDNEY, "1 George St")}
    )
    assert BOOKING.fingerprint(plain, KEY) != BOOKING.fingerprint(with_job, KEY)
    assert plain.fingerprint(KEY) == CheckoutRequest(**{**plain.__dict__, "booking": None}).fingerprint(KEY)
