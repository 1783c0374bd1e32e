"""Issue 17 from end to end, as the two platforms live it: a new tradie and a new photographer sign
up themselves (the emailed code), onboard on the sandbox's Connect pages, pay for a plan on the
sandbox's Checkout, define what they sell and when, and take a customer's deposit on their own
Stripe account with their plan's fee; when the tradie's plan fails and is then cancelled, new
checkouts answer 409 while the balance of a job already booked is still charged; and another
merchant's staff never see any of it. Nothing here is written into a table by hand."""

from __future__ import annotations

import httpx
from e2e_support import plain, sent_emails, wait_for
from signup_support import (
    PLATFORM_KEY,
    billing,
    book,
    deposit_intent,
    new_merchant,
    offers,
    onboarded,
    paid_booking,
    subscribed,
)


def test_a_new_tradie_takes_deposits_with_its_plans_fee_until_the_plan_lapses_and_still_charges_a_balance(stack, api):
    tradie, staff = new_merchant(stack, api, kind="trades", name="Bright Sparks Electrical")
    offers(api, tradie, staff, currency="AUD", full_price=15000, deposit={"percent": 20})

    # Before it can be paid, its public answer says so and a customer cannot book.
    availability = api.get(f"/merchants/{tradie}/availability", params={"service": "callout", "date": "2030-01-08"})
    assert "not taking payments yet" in availability.json()["notice"], availability.text
    assert book(api, tradie).status_code == 409

    account = onboarded(api, stack, tradie, staff)
    no_plan = book(api, tradie)
    assert no_plan.status_code == 409 and no_plan.json()["error"] == "merchant_plan_inactive", no_plan.text

    subscription = subscribed(api, stack, tradie, staff, plan="starter", currency="AUD")
    assert billing(api, tradie, staff)["fee_bps"] == 300  # the Starter plan: 3 %

    # A customer books; the AUD 30.00 deposit (20 % of 150.00) is charged on the tradie's own account,
    # and the platform keeps its plan's 3 % as the application fee.
    booking = paid_booking(api, tradie)
    intent = deposit_intent(stack, booking, account)
    assert (intent["amount"], intent["currency"], intent["application_fee_amount"]) == (3000, "aud", 90), intent

    # The renewal fails: past due, the tradie is told and keeps taking bookings while Stripe retries.
    renewal = httpx.post(
        f"{stack.sandbox}/_sandbox/stripe/subscriptions/{subscription}/renew", json={"payment": "fails"}, timeout=10
    )
    assert renewal.status_code == 200, renewal.text
    wait_for(lambda: billing(api, tradie, staff)["status"] == "past_due", what="invoice.payment_failed")
    wait_for(lambda: sent_emails(stack, source=f"plan:{tradie}", kind="plan_payment_failed"), what="the warning")

    # Stripe gives up and deletes the subscription: no new checkout, with a reason a customer reads.
    cancelled = httpx.delete(f"{stack.sandbox}/v1/subscriptions/{subscription}", headers=PLATFORM_KEY, timeout=10)
    assert cancelled.status_code == 200, cancelled.text
    wait_for(lambda: billing(api, tradie, staff)["status"] == "canceled", what="customer.subscription.deleted")
    refused = book(api, tradie)
    assert refused.status_code == 409 and refused.json()["error"] == "merchant_plan_inactive", refused.text
    assert refused.json()["message"].startswith("Bright Sparks Electrical is not taking new orders")
    [lapsed] = wait_for(
        lambda: sent_emails(stack, source=f"plan:{tradie}", kind="plan_lapsed"), what="the plan-lapsed email"
    )
    assert lapsed["to"] == "jobs@bright-sparks.example" and "already taken continue" in plain(lapsed["text"])

    # The job booked before the lapse is done: its balance is still charged, at the fee it was booked with.
    balance = api.post(
        f"/admin/bookings/{booking['order_id']}/charge-balance", json={"final_amount": 18000}, headers=staff
    )
    assert balance.status_code == 200, balance.text
    assert balance.json()["amount"] == {"amount": 15000, "currency": "AUD"}
    assert balance.json()["fee"] == {"amount": 450, "currency": "AUD"}

    # Another tradie that signed up never sees any of it.
    _, other = new_merchant(stack, api, kind="trades", name="Other Plumbing")
    for path in (
        f"/admin/orders/{booking['order_id']}",
        f"/admin/orders?merchant={tradie}",
        f"/admin/bookings?merchant={tradie}",
        f"/admin/merchants/{tradie}/settings",
        f"/admin/merchants/{tradie}/billing",
    ):
        answer = api.get(path, headers=other)
        assert answer.status_code in (403, 404), (path, answer.status_code, answer.text)
        assert booking["order_id"] not in answer.text
    assert booking["order_id"] not in api.get("/admin/orders", headers=other).text
    charge = api.post(f"/admin/bookings/{booking['order_id']}/charge-balance", json={"final_amount": 1}, headers=other)
    assert charge.status_code in (403, 404), charge.text


def test_a_new_photographers_session_deposit_lands_on_their_account_with_their_plans_fee(stack, api):
    photographer, staff = new_merchant(
        stack,
        api,
        kind="photography",
        name="Northlight Portraits",
        timezone="America/Chicago",
        reply_to="hello@northlight.example",
        staff_email="studio@northlight.example",
    )
    account = onboarded(api, stack, photographer, staff)
    subscribed(api, stack, photographer, staff, plan="pro", currency="USD")
    assert billing(api, photographer, staff)["fee_bps"] == 150  # the Pro plan: 1.5 %
    offers(api, photographer, staff, currency="USD", full_price=45000, deposit={"fixed": 15000})

    booking = paid_booking(api, photographer, currency="USD")
    intent = deposit_intent(stack, booking, account)
    # USD 150.00 deposit on the photographer's account; 1.5 % of it, USD 2.25, is the platform's.
    assert (intent["amount"], intent["currency"], intent["application_fee_amount"]) == (15000, "usd", 225), intent
    assert intent["status"] == "succeeded"
