"""Tradie jobs and photographers' sessions on the local stack: a booking carries the job's
address, notes and the customer's phone, encrypted on the order and shown to the tradie only; the
balance charged after the job is visible to the customer and in the order's history; a
photographer onboards on the sandbox's Connect pages and a session deposit lands on their own
account with the platform's fee."""

from __future__ import annotations

import json
import uuid

import httpx
from e2e_support import admin_view, emails_for, merchant_token, order_status, pay, plain, sandbox_post, wait_for
from signup_support import PLATFORM_KEY, sandbox_get
from test_bookings import FIXIT, account_of, free, next_weekday, onboard, paid_booking, staff

from caisse.orders.checkout import order_id_for

ADDRESS = "14 Wattle Street, Glebe NSW 2037"
NOTES = "Side gate code 4471; the leak is under the laundry sink."


def book_job(api, start: str, phone: str, key: str | None = None, **job) -> httpx.Response:
    return api.post(
        "/checkouts",
        headers={"Idempotency-Key": key} if key else {},
        json={
            "booking": {"merchant": FIXIT, "service": "callout", "start": start, **job},
            "currency": "AUD",
            "customer": {"name": "Robin Tran", "email": f"robin-{uuid.uuid4().hex[:6]}@example.test", "phone": phone},
        },
    )


def raw_order_items(stack, order_id: str) -> str:
    """Every item of the order's partition as DynamoDB holds it, read with boto3 from the stack."""
    items = stack.table("OrdersTable").query(
        KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": f"ORDER#{order_id}"}, ConsistentRead=True
    )["Items"]
    assert items
    return json.dumps(items, default=str)


def test_a_tradie_job_carries_address_notes_and_phone_encrypted_and_shown_to_the_tradie(api, stack):
    day = next_weekday(1, 12)  # a Tuesday
    slot = free(api, day)[2]  # 09:00 in Sydney
    answer = book_job(api, slot["start"], "0412 345 678", address=ADDRESS, notes=NOTES)
    assert answer.status_code == 201, answer.text
    booking = answer.json()
    pay(stack, booking)
    wait_for(lambda: order_status(api, booking) == "paid", what="the deposit to be paid")

    # The table holds ciphertext only: no address, notes or phone digits in any item of the order.
    raw = raw_order_items(stack, booking["order_id"])
    for secret in (ADDRESS, "Wattle", NOTES, "laundry", "412345678", "412 345 678"):
        assert secret not in raw, secret
    assert '"job_sealed"' in raw and '"phone_sealed"' in raw

    def tradie_and_customer() -> list[dict] | None:
        found = emails_for(stack, booking["order_id"])
        return found if {m["kind"] for m in found} >= {"new_booking", "order_confirmed"} else None

    mails = wait_for(tradie_and_customer, what="the tradie's and the customer's emails")
    tradie = next(m for m in mails if m["kind"] == "new_booking")
    text = plain(tradie["text"])
    assert tradie["to"] == "office@fixit.example"
    assert ADDRESS in text and NOTES in text and "+61412345678" in text
    local = slot["start"][:16].replace("T", " ")  # the appointment in the tradie's own zone
    assert f"on {local} (Australia/Sydney)" in text
    customer = plain(next(m for m in mails if m["kind"] == "order_confirmed")["text"])
    assert f"Your appointment: Plumbing call-out (1 hour) on {local} (Australia/Sydney)" in customer
    assert "balance of AUD 120.00" in customer  # AUD 150.00 less the AUD 30.00 deposit
    assert ADDRESS not in customer and "+61412345678" not in customer

    # Staff of the merchant read them in clear, and the read is written down on the order.
    view = admin_view(api, booking["order_id"], FIXIT)
    assert view["booking"]["address"] == ADDRESS and view["booking"]["notes"] == NOTES
    assert view["customer"]["phone"] == "+61412345678"
    assert any(sorted(e["read"]) == ["job", "phone"] and e["purpose"] == "staff_view" for e in view["access_log"])
    day_list = api.get("/admin/bookings", params={"date": day.isoformat()}, headers=staff(FIXIT))
    assert day_list.status_code == 200, day_list.text
    row = next(r for r in day_list.json()["bookings"] if r["booking_id"] == booking["order_id"])
    assert row["address"] == ADDRESS and row["notes"] == NOTES and row["customer"]["phone"] == "+61412345678"
    assert row["start"] == slot["start"]


def test_a_phone_that_is_not_australian_is_refused_naming_the_field_and_nothing_is_written(api, stack):
    day = next_weekday(2, 12)
    start = free(api, day)[1]["start"]
    key = f"job-{uuid.uuid4()}"
    refused = book_job(api, start, "06 12 34 56 78", key=key, address=ADDRESS, notes=NOTES)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == "invalid_phone" and refused.json()["field"] == "customer.phone"
    item = stack.table("OrdersTable").get_item(
        Key={"pk": f"ORDER#{order_id_for(key)}", "sk": "ORDER"}, ConsistentRead=True
    )
    assert "Item" not in item
    assert start in [slot["start"] for slot in free(api, day)]  # the time was not held
    accepted = book_job(api, start, "+61 2 9374 4000", address=ADDRESS)  # a Sydney landline is a phone too
    assert accepted.status_code == 201, accepted.text


def test_another_merchants_staff_cannot_read_the_job(api, stack):
    start = free(api, next_weekday(3, 12))[0]["start"]
    booking = book_job(api, start, "0412 345 678", address=ADDRESS, notes=NOTES).json()
    other = api.get(
        f"/admin/orders/{booking['order_id']}",
        headers={"Authorization": f"Bearer {merchant_token('sparky-electrical')}"},
    )
    assert other.status_code == 403
    assert ADDRESS not in other.text


def test_a_customers_export_holds_the_job_and_erasure_removes_it(api, stack):
    start = free(api, next_weekday(4, 12))[0]["start"]  # a Friday
    email = f"erase-{uuid.uuid4().hex[:8]}@example.test"
    answer = api.post(
        "/checkouts",
        json={
            "booking": {"merchant": FIXIT, "service": "callout", "start": start, "address": ADDRESS, "notes": NOTES},
            "currency": "AUD",
            "customer": {"name": "Robin Tran", "email": email, "phone": "0412 345 678"},
        },
    )
    assert answer.status_code == 201, answer.text
    booking = answer.json()
    pay(stack, booking)
    wait_for(lambda: order_status(api, booking) == "paid", what="the deposit to be paid")
    exported = api.post("/admin/customers/export", json={"email": email}, headers=staff(FIXIT))
    assert exported.status_code == 200, exported.text
    [order] = exported.json()["orders"]
    assert order["booking"]["address"] == ADDRESS and order["booking"]["notes"] == NOTES
    assert order["customer"]["phone"] == "+61412345678"

    cancelled = api.post(f"/admin/bookings/{booking['order_id']}/cancel", json={}, headers=staff(FIXIT))
    assert cancelled.status_code == 200, cancelled.text
    wait_for(lambda: emails_for(stack, booking["order_id"], "new_booking"), what="the tradie's email")
    erased = api.post("/admin/customers/erase", json={"email": email}, headers=staff(FIXIT))
    assert erased.status_code == 200, erased.text
    stored = stack.table("OrdersTable").get_item(
        Key={"pk": f"ORDER#{booking['order_id']}", "sk": "ORDER"}, ConsistentRead=True
    )["Item"]
    assert "job_sealed" not in stored and "phone_sealed" not in stored["customer"] and "sealed_apart" not in stored
    personal_item = stack.table("OrdersTable").get_item(
        Key={"pk": f"ORDER#{booking['order_id']}", "sk": "PERSONAL"}, ConsistentRead=True
    )
    assert "Item" not in personal_item  # the ciphertexts are gone with the customer
    assert admin_view(api, booking["order_id"], FIXIT)["booking"]["address"] is None


def test_the_balance_charged_after_the_job_is_receipted_written_in_the_history_and_kept_paid(api, stack):
    booking = paid_booking(api, stack, weeks_ahead=13)
    charged = api.post(
        f"/admin/bookings/{booking['order_id']}/charge-balance", json={"final_amount": 18000}, headers=staff(FIXIT)
    )
    assert charged.status_code == 200, charged.text
    assert charged.json()["status"] == "paid" and charged.json()["amount"] == {"amount": 15000, "currency": "AUD"}

    [receipt] = wait_for(lambda: emails_for(stack, booking["order_id"], "balance_paid"), what="the balance receipt")
    text = plain(receipt["text"])
    assert receipt["to"] == booking_email(stack, booking["order_id"])
    assert "Balance paid: AUD 150.00" in text and "final price of AUD 180.00" in text and "AUD 30.00" in text
    assert booking["order_number"] in receipt["subject"]

    view = admin_view(api, booking["order_id"], FIXIT)
    assert view["money_state"] == "paid" and view["balance"]["status"] == "paid"
    [line] = [entry for entry in view["history"] if entry.get("action") == "balance_charged"]
    assert line["money"] == {"from": "paid", "to": "paid", "amount": 15000}
    mine = api.get(f"/orders/{booking['order_id']}", headers={"Authorization": f"Bearer {booking['order_token']}"})
    assert any((entry.get("money") or {}).get("amount") == 15000 for entry in mine.json()["history"])

    again = api.post(
        f"/admin/bookings/{booking['order_id']}/charge-balance", json={"final_amount": 18000}, headers=staff(FIXIT)
    )
    assert again.json()["replayed"] is True
    assert (
        len([e for e in admin_view(api, booking["order_id"], FIXIT)["history"] if e.get("action") == "balance_charged"])
        == 1
    )


def test_the_balance_is_refunded_on_its_own_payment_from_caisse_or_the_tradies_stripe_dashboard(api, stack):
    """The balance is a payment of its own on the tradie's account: what they refund on it in their
    Stripe dashboard is recorded on the job, and staff refund it through Caisse on that payment,
    the deposit on the deposit's (a provider refunds a payment, never more than it brought)."""
    booking = paid_booking(api, stack, weeks_ahead=15)
    order_id = booking["order_id"]
    charged = api.post(f"/admin/bookings/{order_id}/charge-balance", json={"final_amount": 18000}, headers=staff(FIXIT))
    assert charged.status_code == 200, charged.text
    balance_payment = charged.json()["payment_ref"]
    deposit_payment = admin_view(api, order_id, FIXIT)["payment_ref"]
    account = account_of(stack)

    def refunded_at_stripe(payment: str) -> int:
        return sum(r["amount"] for r in sandbox_get(stack, f"/v1/refunds?payment_intent={payment}", account)["data"])

    sandbox_post(stack, "/_sandbox/stripe/refunds", {"payment_intent": balance_payment, "amount": 5000})
    view = wait_for(
        lambda: (found := admin_view(api, order_id, FIXIT))["refunds"] and found, what="the dashboard refund recorded"
    )
    assert view["money_state"] == "partially_refunded"
    assert view["refunded"] == {"amount": 5000, "currency": "AUD"}
    [refund] = view["refunds"]
    assert refund["origin"] == "provider" and refund["of_balance"] is True and refund["status"] == "succeeded"
    [email] = wait_for(lambda: emails_for(stack, order_id, "refund_processed"), what="the customer's refund email")
    assert "AUD 50.00" in plain(email["text"])

    # What is left to refund is what was received less that: AUD 130.00, but no payment holds it all.
    terms = api.get(f"/admin/orders/{order_id}", headers=staff(FIXIT)).json()["refund_terms"]
    assert terms["refundable"] == {"amount": 13000, "currency": "AUD"}
    whole = api.post(f"/admin/orders/{order_id}/refunds", json={"reason": "job redone"}, headers=staff(FIXIT))
    assert whole.status_code == 422 and whole.json()["error"] == "refund_too_large", whole.text
    assert whole.json()["per_refund"] == {"amount": 10000, "currency": "AUD"}
    assert admin_view(api, order_id, FIXIT)["refunded"]["amount"] == 5000  # nothing reserved, nothing refunded

    balance = api.post(
        f"/admin/orders/{order_id}/refunds", json={"amount": 10000, "reason": "job redone"}, headers=staff(FIXIT)
    )
    assert balance.status_code == 201 and balance.json()["of_balance"] is True, balance.text
    deposit = api.post(
        f"/admin/orders/{order_id}/refunds", json={"amount": 3000, "reason": "job redone"}, headers=staff(FIXIT)
    )
    assert deposit.status_code == 201 and deposit.json()["of_balance"] is False, deposit.text
    assert (refunded_at_stripe(balance_payment), refunded_at_stripe(deposit_payment)) == (15000, 3000)

    view = wait_for(
        lambda: (found := admin_view(api, order_id, FIXIT))["money_state"] == "refunded" and found,
        what="everything received refunded",
    )
    assert view["refunded"] == {"amount": 18000, "currency": "AUD"}
    nothing = api.post(f"/admin/orders/{order_id}/refunds", json={"reason": "again"}, headers=staff(FIXIT))
    assert nothing.status_code == 409 and nothing.json()["error"] == "nothing_to_refund", nothing.text


def test_a_job_cancelled_after_its_balance_was_paid_refunds_both_payments_each_on_its_own(api, stack):
    booking = paid_booking(api, stack, weeks_ahead=18)
    order_id = booking["order_id"]
    charged = api.post(f"/admin/bookings/{order_id}/charge-balance", json={"final_amount": 18000}, headers=staff(FIXIT))
    assert charged.status_code == 200, charged.text
    cancelled = api.post(
        f"/admin/bookings/{order_id}/cancel",
        json={"reason": "the customer sold the house"},
        headers={**staff(FIXIT), "Idempotency-Key": f"cancel-{order_id}"},
    )
    assert cancelled.status_code == 200, cancelled.text
    refunds = cancelled.json()["refunds"]
    assert [(r["amount"]["amount"], r["of_balance"]) for r in refunds] == [(15000, True), (3000, False)]
    assert cancelled.json()["money_state"] == "refunded" and cancelled.json()["status"] == "cancelled"
    account = account_of(stack)
    for payment, amount in (
        (charged.json()["payment_ref"], 15000),
        (admin_view(api, order_id, FIXIT)["payment_ref"], 3000),
    ):
        assert (
            sum(r["amount"] for r in sandbox_get(stack, f"/v1/refunds?payment_intent={payment}", account)["data"])
            == amount
        )
    again = api.post(
        f"/admin/bookings/{order_id}/cancel",
        json={"reason": "the customer sold the house"},
        headers={**staff(FIXIT), "Idempotency-Key": f"cancel-{order_id}"},
    )
    assert again.status_code in (200, 409), again.text  # nothing more goes back
    assert admin_view(api, order_id, FIXIT)["refunded"] == {"amount": 18000, "currency": "AUD"}


def test_a_chargeback_on_the_balance_puts_the_job_in_dispute(api, stack):
    booking = paid_booking(api, stack, weeks_ahead=16)
    order_id = booking["order_id"]
    charged = api.post(f"/admin/bookings/{order_id}/charge-balance", json={"final_amount": 18000}, headers=staff(FIXIT))
    assert charged.status_code == 200, charged.text
    sandbox_post(
        stack, "/_sandbox/stripe/disputes", {"payment_intent": charged.json()["payment_ref"], "reason": "fraudulent"}
    )
    wait_for(lambda: admin_view(api, order_id, FIXIT)["money_state"] == "disputed", what="the dispute on the job")
    refused = api.post(f"/admin/orders/{order_id}/refunds", json={"reason": "goodwill"}, headers=staff(FIXIT))
    assert refused.status_code == 409 and refused.json()["error"] == "payment_disputed", refused.text


def booking_email(stack, order_id: str) -> str:
    return stack.table("OrdersTable").get_item(Key={"pk": f"ORDER#{order_id}", "sk": "ORDER"}, ConsistentRead=True)[
        "Item"
    ]["customer"]["email"]


def test_a_photographer_onboards_and_a_session_deposit_lands_on_their_account_with_the_platform_fee(api, stack):
    saturday = next_weekday(5, 3)
    slots = free(api, saturday, service="portrait-session", merchant="lumen")
    assert slots[0]["start"].startswith(f"{saturday.isoformat()}T09:00:00-0")  # New York time
    session = {
        "merchant": "lumen",
        "service": "portrait-session",
        "start": slots[0]["start"],
        "address": "Prospect Park Boathouse, Brooklyn",
    }
    customer = {"name": "Ada Park", "email": f"ada-{uuid.uuid4().hex[:6]}@example.test", "phone": "(718) 965-8951"}
    order = {"booking": session, "currency": "USD", "customer": customer}
    refused = api.post("/checkouts", json=order)
    assert refused.status_code == 409 and refused.json()["error"] == "merchant_not_onboarded"

    # The photographer onboards on the sandbox's Connect pages; account.updated enables charges.
    onboard(api, stack, "lumen")

    answer = api.post("/checkouts", json=order)
    assert answer.status_code == 201, answer.text
    booked = answer.json()
    assert booked["total"] == {"amount": 15000, "currency": "USD"}  # the session's fixed deposit
    assert booked["booking"]["start"] == slots[0]["start"]
    pay(stack, booked)
    wait_for(lambda: order_status(api, booked) == "paid", what="the session deposit to be paid")

    # What Stripe would show: the PaymentIntent lives on the photographer's connected account (a
    # direct charge), with the platform's 3 % as its application fee; the platform has no such intent.
    account = account_of(stack, "lumen")
    session_id = booked["next_action"]["url"].rsplit("/", 1)[1]
    checkout = sandbox_get(stack, f"/v1/checkout/sessions/{session_id}", account)
    intent = sandbox_get(stack, f"/v1/payment_intents/{checkout['payment_intent']}", account)
    assert intent["status"] == "succeeded" and intent["amount"] == 15000 and intent["currency"] == "usd"
    assert intent["application_fee_amount"] == 450  # 3 % of USD 150.00
    assert intent["setup_future_usage"] == "off_session"  # the card kept for the balance after the shoot
    on_platform = httpx.get(f"{stack.sandbox}/v1/payment_intents/{intent['id']}", headers=PLATFORM_KEY, timeout=10)
    assert on_platform.status_code == 404
    charge = sandbox_get(stack, f"/v1/charges/{intent['latest_charge']}", account)
    fee = httpx.get(
        f"{stack.sandbox}/v1/application_fees/{charge['application_fee']}", headers=PLATFORM_KEY, timeout=10
    )
    assert fee.status_code == 200 and fee.json()["amount"] == 450 and fee.json()["account"] == account

    [mail] = wait_for(lambda: emails_for(stack, booked["order_id"], "new_booking"), what="the photographer's email")
    assert mail["to"] == "bookings@lumen.example"
    assert "Prospect Park Boathouse" in plain(mail["text"]) and "+17189658951" in plain(mail["text"])

    # The balance after the shoot, on the same account with the same fee rate.
    balance = api.post(
        f"/admin/bookings/{booked['order_id']}/charge-balance", json={"final_amount": 45000}, headers=staff("lumen")
    )
    assert balance.status_code == 200, balance.text
    assert balance.json()["status"] == "paid" and balance.json()["amount"] == {"amount": 30000, "currency": "USD"}
    paid = sandbox_get(stack, f"/v1/payment_intents/{balance.json()['payment_ref']}", account)
    assert paid["amount"] == 30000 and paid["application_fee_amount"] == 900
