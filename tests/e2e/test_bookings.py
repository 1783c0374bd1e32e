"""The tradie platform: bookings with a deposit on the tradie's own Stripe account, the balance
after the job, cancellation, onboarding, and every merchant kept to its own bookings."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from e2e_support import emails_for, merchant_token, order_status, plain, wait_for
from signup_support import PLATFORM_KEY, merchant_item, onboarded, sandbox_get

FIXIT = "fixit-plumbing"


def staff(merchant: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {merchant_token(merchant)}"}


def next_weekday(weekday: int, weeks_ahead: int) -> date:
    today = datetime.now(UTC).date()
    return today + timedelta(days=(weekday - today.weekday()) % 7 + 7 * weeks_ahead)


def free(api, day: date, service="callout", merchant=FIXIT) -> list[dict]:
    answer = api.get(f"/merchants/{merchant}/availability", params={"service": service, "date": day.isoformat()})
    assert answer.status_code == 200, answer.text
    return answer.json()["slots"]


def book(api, start: str, service="callout", merchant=FIXIT, key=None, email=None) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return api.post(
        "/checkouts",
        headers=headers,
        json={
            "booking": {"merchant": merchant, "service": service, "start": start},
            "currency": "AUD",
            "customer": {"name": "Sam", "email": email or f"sam-{uuid.uuid4().hex[:6]}@example.test"},
        },
    )


def account_of(stack, merchant=FIXIT) -> str:
    return merchant_item(stack, merchant)["stripe_account"]


def onboard(api, stack, merchant: str) -> None:
    """The merchant's staff complete Connect onboarding on the sandbox's page (signup_support.onboarded)."""
    onboarded(api, stack, merchant, staff(merchant))


def paid_booking(api, stack, weeks_ahead: int, slot_index: int = 0) -> dict:
    start = free(api, next_weekday(1, weeks_ahead))[slot_index]["start"]
    answer = book(api, start)
    assert answer.status_code == 201, answer.text
    booking = answer.json()
    httpx.post(f"{booking['next_action']['url']}/pay", timeout=10)
    wait_for(lambda: order_status(api, booking) == "paid", what="the deposit to be paid")
    wait_for(
        lambda: (
            stack.table("OrdersTable")
            .get_item(Key={"pk": f"ORDER#{booking['order_id']}", "sk": "ORDER"}, ConsistentRead=True)["Item"]
            .get("saved_payment", {})
            .get("customer")
        ),
        what="the customer the card is saved with",
    )
    return booking


def test_availability_is_in_the_merchants_time_zone_and_right_across_daylight_saving(api):
    tuesday = free(api, next_weekday(1, 2))
    assert tuesday and all(slot["start"].endswith(("+11:00", "+10:00")) for slot in tuesday)
    assert tuesday[0]["start"][11:16] == "08:00" and tuesday[-1]["start"][11:16] == "16:00"
    # Sydney leaves daylight saving on Sunday 2027-04-04: the same 09:00 is an hour later in UTC.
    before, after = free(api, date(2027, 3, 28)), free(api, date(2027, 4, 4))
    assert (before[0]["start"], before[0]["start_utc"]) == ("2027-03-28T09:00:00+11:00", "2027-03-27T22:00:00Z")
    assert (after[0]["start"], after[0]["start_utc"]) == ("2027-04-04T09:00:00+10:00", "2027-04-03T23:00:00Z")
    assert free(api, date(2026, 12, 25)) == []  # a blocked date


def test_a_deposit_on_the_tradies_account_with_the_platform_fee_and_the_emails(api, stack):
    booking = paid_booking(api, stack, weeks_ahead=3)
    assert booking["total"] == {"amount": 3000, "currency": "AUD"}  # 20 % of AUD 150.00
    assert booking["booking"]["card_saved_for_balance"] is True
    session_id = booking["next_action"]["url"].rsplit("/", 1)[1]
    account = account_of(stack)
    session = sandbox_get(stack, f"/v1/checkout/sessions/{session_id}", account)
    intent = sandbox_get(stack, f"/v1/payment_intents/{session['payment_intent']}", account)
    assert intent["application_fee_amount"] == 75  # 2.5 % of the deposit
    assert intent["setup_future_usage"] == "off_session" and intent["customer"] and intent["payment_method"]

    def both_sent() -> list[dict] | None:
        found = emails_for(stack, booking["order_id"])
        return found if {m["kind"] for m in found} >= {"new_booking", "order_confirmed"} else None

    mails = wait_for(both_sent, what="the booking emails")
    tradie = next(m for m in mails if m["kind"] == "new_booking")
    assert tradie["to"] == "office@fixit.example"
    assert "Plumbing call-out" in tradie["subject"] and "AUD 30.00" in plain(tradie["text"])


def test_twenty_customers_for_one_slot_get_it_once(api, stack):
    start = free(api, next_weekday(2, 4))[3]["start"]
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: book(api, start), range(20)))
    codes = sorted(answer.status_code for answer in answers)
    assert codes.count(201) == 1, codes
    assert codes.count(409) == 19, codes
    assert {a.json()["error"] for a in answers if a.status_code == 409} == {"slot_taken"}
    assert start not in [slot["start"] for slot in free(api, next_weekday(2, 4))]


def test_the_balance_is_charged_once_even_when_asked_twice(api, stack):
    booking = paid_booking(api, stack, weeks_ahead=5)
    path = f"/admin/bookings/{booking['order_id']}/charge-balance"
    first = api.post(path, json={"final_amount": 18000}, headers=staff(FIXIT))
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "paid"
    assert first.json()["amount"] == {"amount": 15000, "currency": "AUD"}  # AUD 180.00 - 30.00 deposit
    assert first.json()["fee"] == {"amount": 375, "currency": "AUD"}
    again = api.post(path, json={"final_amount": 18000}, headers=staff(FIXIT))
    assert again.json()["replayed"] is True and again.json()["payment_ref"] == first.json()["payment_ref"]
    intent = sandbox_get(stack, f"/v1/payment_intents/{first.json()['payment_ref']}", account_of(stack))
    assert intent["status"] == "succeeded" and intent["amount"] == 15000 and intent["application_fee_amount"] == 375


def test_a_card_that_needs_the_customer_leaves_the_balance_due_and_emails_a_link(api, stack):
    booking = paid_booking(api, stack, weeks_ahead=6)
    account = account_of(stack)
    session = sandbox_get(stack, f"/v1/checkout/sessions/{booking['next_action']['url'].rsplit('/', 1)[1]}", account)
    pm = sandbox_get(stack, f"/v1/payment_intents/{session['payment_intent']}", account)[
        "payment_method"
    ]  # the saved card
    httpx.post(
        f"{stack.sandbox}/_sandbox/stripe/payment_methods/{pm}/behaviour",
        json={"off_session": "authentication_required"},
        timeout=10,
    ).raise_for_status()
    answer = api.post(
        f"/admin/bookings/{booking['order_id']}/charge-balance", json={"final_amount": 15000}, headers=staff(FIXIT)
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "due" and answer.json()["reason"] == "authentication_required"
    [mail] = wait_for(lambda: emails_for(stack, booking["order_id"], "balance_due"), what="the balance email")
    link = answer.json()["link"]
    assert link in mail["text"] and "AUD 120.00" in plain(mail["text"])
    httpx.post(f"{link}/pay", timeout=10)
    wait_for(
        lambda: (
            stack.table("OrdersTable").get_item(
                Key={"pk": f"ORDER#{booking['order_id']}", "sk": "ORDER"}, ConsistentRead=True
            )["Item"]["balance"]["status"]
            == "paid"
        ),
        what="the balance paid through the link",
    )
    [receipt] = wait_for(lambda: emails_for(stack, booking["order_id"], "balance_paid"), what="the receipt")
    assert "Balance paid: AUD 120.00" in plain(receipt["text"])


def test_cancelling_frees_the_slot_and_refunds_the_fee_in_proportion(api, stack):
    day = next_weekday(3, 7)
    start = free(api, day)[0]["start"]
    answer = book(api, start)
    booking = answer.json()
    httpx.post(f"{booking['next_action']['url']}/pay", timeout=10)
    wait_for(lambda: order_status(api, booking) == "paid", what="paid")
    assert start not in [slot["start"] for slot in free(api, day)]
    cancelled = api.post(
        f"/admin/bookings/{booking['order_id']}/cancel", json={"reason": "customer moved"}, headers=staff(FIXIT)
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["refund"]["amount"] == {"amount": 3000, "currency": "AUD"}
    assert start in [slot["start"] for slot in free(api, day)]
    account = account_of(stack)
    session = sandbox_get(stack, f"/v1/checkout/sessions/{booking['next_action']['url'].rsplit('/', 1)[1]}", account)
    intent = sandbox_get(stack, f"/v1/payment_intents/{session['payment_intent']}", account)
    charge = sandbox_get(stack, f"/v1/charges/{intent['latest_charge']}", account)
    fee = httpx.get(
        f"{stack.sandbox}/v1/application_fees/{charge['application_fee']}", headers=PLATFORM_KEY, timeout=10
    ).json()
    assert fee["amount"] == 75 and fee["amount_refunded"] == 75


def test_a_merchant_not_onboarded_refuses_bookings_until_account_updated_says_so(api, stack):
    monday = next_weekday(0, 2)
    start = free(api, monday, service="safety-check", merchant="sparky-electrical")[0]["start"]
    refused = book(api, start, service="safety-check", merchant="sparky-electrical")
    assert refused.status_code == 409 and refused.json()["error"] == "merchant_not_onboarded"
    onboard(api, stack, "sparky-electrical")
    accepted = book(api, start, service="safety-check", merchant="sparky-electrical")
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["total"] == {"amount": 4500, "currency": "AUD"}  # 25 % of AUD 180.00


def test_staff_of_another_merchant_get_403_everywhere(api, stack):
    booking = paid_booking(api, stack, weeks_ahead=8)
    other = staff("sparky-electrical")
    assert (
        api.post(
            f"/admin/bookings/{booking['order_id']}/charge-balance", json={"final_amount": 1}, headers=other
        ).status_code
        == 403
    )
    assert api.post(f"/admin/bookings/{booking['order_id']}/cancel", json={}, headers=other).status_code == 403
    assert api.post(f"/admin/orders/{booking['order_id']}/refunds", json={}, headers=other).status_code == 403
    assert api.get(f"/admin/orders/{booking['order_id']}", headers=other).status_code == 403
    assert (
        api.put(
            f"/admin/merchants/{FIXIT}/services/callout",
            headers=other,
            json={"name": "x", "duration_minutes": 60, "currency": "AUD", "full_price": 1, "deposit": {"percent": 10}},
        ).status_code
        == 403
    )
    assert api.put(f"/admin/merchants/{FIXIT}/hours", headers=other, json={"weekly": {}}).status_code == 403
    assert api.post(f"/admin/merchants/{FIXIT}/stripe/connect", headers=other).status_code == 403


@pytest.mark.parametrize(
    ("start", "error"),
    [
        ("2020-01-07T09:00:00+11:00", "start_in_the_past"),
        ("2027-03-30T09:00:00", "invalid_start"),
        ("2027-03-30T09:10:00+11:00", "not_bookable"),
    ],
)
def test_a_booking_in_the_past_or_off_the_grid_is_refused(api, start, error):
    answer = book(api, start)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == error


def test_staff_define_services_and_hours(api):
    token = staff(FIXIT)
    service = api.put(
        f"/admin/merchants/{FIXIT}/services/leak-check",
        headers=token,
        json={
            "name": "Leak check",
            "duration_minutes": 90,
            "currency": "AUD",
            "full_price": 9900,
            "deposit": {"fixed": 2000},
        },
    )
    assert service.status_code == 200, service.text
    day = next_weekday(4, 9)  # a Friday: 08:00-15:00
    slots = free(api, day, service="leak-check")
    assert slots[0]["start"][11:16] == "08:00" and slots[-1]["start"][11:16] == "13:30"
    hours = api.put(
        f"/admin/merchants/{FIXIT}/hours",
        headers=token,
        json={
            "weekly": {
                "mon": [["08:00", "12:00"], ["13:00", "17:00"]],
                "tue": [["08:00", "17:00"]],
                "wed": [["08:00", "17:00"]],
                "thu": [["08:00", "17:00"]],
                "fri": [["10:00", "15:00"]],
                "sun": [["09:00", "12:00"]],
            },
            "blocked_dates": ["2026-12-25", "2026-12-26"],
        },
    )
    assert hours.status_code == 200, hours.text
    assert free(api, day, service="leak-check")[0]["start"][11:16] == "10:00"
    original = {**hours.json(), "weekly": {**hours.json()["weekly"], "fri": [["08:00", "15:00"]]}}
    original.pop("merchant")
    assert api.put(f"/admin/merchants/{FIXIT}/hours", headers=token, json=original).status_code == 200
    bad = api.put(
        f"/admin/merchants/{FIXIT}/services/odd",
        headers=token,
        json={"name": "Odd", "duration_minutes": 45, "currency": "AUD", "full_price": 100, "deposit": {"percent": 10}},
    )
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_duration"


def test_an_abandoned_booking_checkout_gives_its_slot_back_when_it_expires(api, stack):
    day = next_weekday(3, 10)
    start = free(api, day)[2]["start"]
    booking = book(api, start).json()
    assert start not in [slot["start"] for slot in free(api, day)]
    session = booking["next_action"]["url"].rsplit("/", 1)[1]
    expired = httpx.post(
        f"{stack.sandbox}/v1/checkout/sessions/{session}/expire",
        headers={**PLATFORM_KEY, "Stripe-Account": account_of(stack)},
        timeout=10,
    )
    assert expired.status_code == 200, expired.text
    wait_for(lambda: order_status(api, booking) == "expired", what="expired through the Connect webhook")
    assert start in [slot["start"] for slot in free(api, day)]


def test_a_retried_booking_is_the_same_order_and_a_reused_key_for_another_time_is_refused(api):
    day = next_weekday(3, 11)
    slots = free(api, day)
    first_start, second_start = slots[0]["start"], slots[4]["start"]  # two hours apart: no overlap
    key = f"booking-{uuid.uuid4()}"
    email = f"sam-{uuid.uuid4().hex[:6]}@example.test"
    first = book(api, first_start, key=key, email=email)
    assert first.status_code == 201, first.text
    again = book(api, first_start, key=key, email=email)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["order_id"] == first.json()["order_id"]
    assert again.json()["next_action"] == first.json()["next_action"]
    assert again.json()["booking"]["start"] == first_start
    other = book(api, second_start, key=key, email=email)
    assert other.status_code == 422 and other.json()["error"] == "idempotency_key_reused"
    assert second_start in [slot["start"] for slot in free(api, day)]  # nothing was held for it
