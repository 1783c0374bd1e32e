"""The platform's plans (issue 17, part B): a signed-up tradie subscribes on the sandbox's Stripe
Checkout (subscription mode), its plan follows Stripe Billing's events through the platform's
webhook, the plan's fee is the application fee of its customers' deposits, a failed renewal warns it
while it keeps taking bookings, and a deleted subscription stops new bookings while an existing
booking's balance is still charged.

The tradie signs up for real (the local user pool, the emailed code) and onboards on the sandbox's
Connect pages (tests/e2e/signup_support.py)."""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from browser_support import (
    DESKTOP,
    PHONE,
    axe_violations,
    horizontal_overflow,
    open_page,
    screenshot,
    sign_in_to_console,
)
from e2e_support import merchant_token, order_status, plain, sandbox_post, sent_emails, stripe_event, wait_for
from playwright.sync_api import expect
from signup_support import (
    PLATFORM_KEY,
    billing,
    book,
    deposit_intent,
    merchant_item,
    new_merchant,
    offers,
    onboarded,
    paid_booking,
    sandbox_get,
    subscribed,
)

FIXIT = "fixit-plumbing"
WAIT_MS = 30_000  # API calls and stream-driven changes on a loaded 2-core machine
STARTER_FEE_BPS = 300  # data/catalog.json: the Starter plan takes 3 %, AUD 29.00 a month
WORKING_CARD = "4242 4242 4242 4242"  # Stripe's test card that pays, on the sandbox's portal page


def staff(merchant: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {merchant_token(merchant)}"}


def signed_up_tradie(api, stack) -> str:
    """A tradie that signed up on the platform, onboarded on Connect, with a service and hours."""
    tradie, headers = new_merchant(stack, api, kind="trades")
    onboarded(api, stack, tradie, headers)
    offers(api, tradie, headers)
    return tradie


def subscribe(api, stack, merchant: str) -> str:
    return subscribed(api, stack, merchant, staff(merchant), plan="starter", currency="AUD")


def emails(stack, merchant: str, kind: str) -> list[dict]:
    return sent_emails(stack, source=f"plan:{merchant}", kind=kind)


def billing_on_a_phone_in_french(browser, stack, merchant: str):
    """The console's Formule et facturation, signed in as the merchant's staff, on a phone in French."""
    phone = open_page(browser, PHONE, locale="fr-FR")
    phone.goto(f"{stack.api}/console")
    phone.get_by_label("Jeton du personnel").fill(merchant_token(merchant))
    phone.get_by_role("button", name="Se connecter").click()
    phone.get_by_role("link", name="Formule et facturation").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Formule et facturation", timeout=WAIT_MS)
    return phone


def test_the_plans_are_public_with_their_prices_fee_and_limits(api):
    answer = api.get("/platform/plans")
    assert answer.status_code == 200, answer.text
    starter = next(plan for plan in answer.json()["plans"] if plan["id"] == "starter")
    assert starter["name"] == "Starter" and starter["fee_bps"] == STARTER_FEE_BPS and starter["fee_percent"] == "3 %"
    assert {"amount": 2900, "currency": "AUD"}.items() <= starter["monthly"][0].items()
    assert plain(starter["monthly"][0]["display"]) == "AUD 29.00"
    assert starter["limits"] == {"galleries_per_month": 5, "bookings_per_month": 40}


def test_subscribing_activates_the_plan_whose_fee_each_deposit_then_pays(api, stack):
    tradie = signed_up_tradie(api, stack)
    before = book(api, tradie)  # signed up, no plan yet: no bookings
    assert before.status_code == 409 and before.json()["error"] == "merchant_plan_inactive", before.text
    assert billing(api, tradie, staff(tradie))["next_step"]["action"] == "choose_plan"
    wrong = api.post(
        f"/admin/merchants/{tradie}/subscription", headers=staff(tradie), json={"plan": "starter", "currency": "EUR"}
    )
    assert wrong.status_code == 422 and wrong.json()["error"] == "currency_not_offered"
    other = api.post(
        f"/admin/merchants/{tradie}/subscription", headers=staff(FIXIT), json={"plan": "starter", "currency": "AUD"}
    )
    assert other.status_code == 403  # another merchant's staff
    assert api.get(f"/admin/merchants/{tradie}/billing", headers=staff(FIXIT)).status_code == 403

    abandoned = api.post(  # a first Checkout left open in another tab
        f"/admin/merchants/{tradie}/subscription", headers=staff(tradie), json={"plan": "pro", "currency": "AUD"}
    )
    assert abandoned.status_code == 200, abandoned.text
    subscription = subscribe(api, stack, tradie)
    late = httpx.post(f"{abandoned.json()['checkout_url']}/pay", headers={"Accept": "application/json"}, timeout=10)
    assert late.status_code == 409, late.text  # expired when the second opened: never a second subscription
    view = billing(api, tradie, staff(tradie))
    assert (view["plan"], view["status"], view["fee_bps"], view["taking_orders"]) == (
        "starter",
        "active",
        STARTER_FEE_BPS,
        True,
    )
    assert view["limits"]["bookings_per_month"] == 40 and view["next_step"] is None
    assert view["last_invoice"]["paid"] is True and view["last_invoice"]["amount"] == 2900
    assert view["current_period_end"] > time.time() + 27 * 86400  # a month paid for, told by its first invoice
    item = merchant_item(stack, tradie)
    assert item["stripe_subscription"] == subscription and item["stripe_customer"].startswith("cus_")
    sub = sandbox_get(stack, f"/v1/subscriptions/{subscription}")
    assert sub["status"] == "active" and sub["metadata"] == {"merchant": tradie, "plan": "starter", "purpose": "plan"}
    [active] = wait_for(lambda: emails(stack, tradie, "plan_active"), what="the plan-active email")
    assert active["to"] == "jobs@bright-sparks.example" and "Starter plan is active" in plain(active["text"])

    again = api.post(
        f"/admin/merchants/{tradie}/subscription", headers=staff(tradie), json={"plan": "starter", "currency": "AUD"}
    )
    assert again.status_code == 409 and again.json()["error"] == "already_on_plan", again.text

    booking = paid_booking(api, tradie)  # AUD 30.00 deposit: 3 % is AUD 0.90
    session_id = booking["next_action"]["url"].rsplit("/", 1)[1]
    account = item["stripe_account"]
    session = sandbox_get(stack, f"/v1/checkout/sessions/{session_id}", account)
    intent = sandbox_get(stack, f"/v1/payment_intents/{session['payment_intent']}", account)
    assert intent["amount"] == 3000 and intent["application_fee_amount"] == 90


def test_a_running_plan_moves_at_once_with_the_difference_invoiced_the_new_fee_and_one_email_each_way(api, stack):
    tradie = signed_up_tradie(api, stack)
    subscription = subscribe(api, stack, tradie)  # Starter, AUD 29.00 a month, 3 %
    path = f"/admin/merchants/{tradie}/subscription"
    usd = api.post(path, headers=staff(tradie), json={"plan": "pro", "currency": "USD"})
    assert usd.status_code == 422 and usd.json()["error"] == "currency_not_changeable", usd.text

    asked = time.time()
    up = api.post(path, headers=staff(tradie), json={"plan": "pro", "currency": "AUD"})
    assert up.status_code == 200, up.text
    answer = up.json()
    assert answer["checkout_url"] is None and answer["changing_from"] == "starter" and answer["plan"] == "pro"
    assert answer["monthly"]["amount"] == 7900 and answer["invoice"].startswith("in_")
    stack.flush_deliveries()
    view = billing(api, tradie, staff(tradie))
    assert (view["plan"], view["status"], view["fee_bps"], view["limits"]["bookings_per_month"]) == (
        "pro",
        "active",
        150,
        400,
    ), view

    sub = sandbox_get(stack, f"/v1/subscriptions/{subscription}")
    [item] = sub["items"]["data"]
    assert item["price"]["unit_amount"] == 7900 and sub["metadata"]["plan"] == "pro" and sub["status"] == "active"
    invoice = sandbox_get(stack, f"/v1/invoices/{answer['invoice']}")
    assert invoice["billing_reason"] == "subscription_update" and invoice["status"] == "paid"
    # The rest of the period at AUD 79.00 less its unused part at AUD 29.00: nearly all of a month's AUD 50.00.
    period = item["current_period_end"] - item["current_period_start"]
    left = item["current_period_end"] - asked
    assert 5000 * (left - 60) / period <= invoice["amount_paid"] <= 5000, invoice
    assert view["last_invoice"] == {**view["last_invoice"], "amount": invoice["amount_paid"], "paid": True}

    [moved] = wait_for(lambda: emails(stack, tradie, "plan_changed"), what="the plan-changed email")
    told = plain(moved["text"])
    assert moved["to"] == "jobs@bright-sparks.example", moved
    assert "moved from the Starter plan to the Pro plan" in told and "takes 1.5 % of each payment" in told

    booking = paid_booking(api, tradie)  # AUD 30.00 deposit: Pro's 1.5 % is AUD 0.45
    assert (
        deposit_intent(stack, booking, merchant_item(stack, tradie)["stripe_account"])["application_fee_amount"] == 45
    )

    same = api.post(path, headers=staff(tradie), json={"plan": "pro", "currency": "AUD"})
    assert same.status_code == 409 and same.json()["error"] == "already_on_plan", same.text
    down = api.post(path, headers=staff(tradie), json={"plan": "starter", "currency": "AUD"})
    assert down.status_code == 200 and down.json()["changing_from"] == "pro", down.text
    stack.flush_deliveries()
    view = billing(api, tradie, staff(tradie))
    assert (view["plan"], view["fee_bps"]) == ("starter", STARTER_FEE_BPS), view
    credit = sandbox_get(stack, f"/v1/invoices/{down.json()['invoice']}")
    assert credit["amount_due"] == 0 and credit["total"] < 0, credit  # the unused Pro time: a credit
    assert sandbox_get(stack, f"/v1/customers/{sub['customer']}")["balance"] == credit["total"]
    changes = wait_for(
        lambda: len(emails(stack, tradie, "plan_changed")) == 2 and emails(stack, tradie, "plan_changed"),
        what="a second email",
    )
    assert "moved from the Pro plan to the Starter plan" in plain(changes[-1]["text"])
    stack.flush_deliveries()
    assert len(emails(stack, tradie, "plan_changed")) == 2  # one per move, however many events told it


def card_answers(stack, subscription: str, behaviour: str) -> None:
    """How the card the plan is paid with answers the next charge: succeeds, card_declined..."""
    card = sandbox_get(stack, f"/v1/subscriptions/{subscription}")["default_payment_method"]
    sandbox_post(stack, f"/_sandbox/stripe/payment_methods/{card}/behaviour", {"off_session": behaviour})


def test_a_move_the_card_declines_is_refused_until_the_merchant_gives_another_card_on_stripes_page(api, stack, browser):
    tradie = signed_up_tradie(api, stack)
    subscription = subscribe(api, stack, tradie)  # Starter, AUD 29.00 a month, 3 %
    before = sandbox_get(stack, f"/v1/subscriptions/{subscription}")
    card_answers(stack, subscription, "card_declined")

    path = f"/admin/merchants/{tradie}/subscription"
    up = api.post(path, headers=staff(tradie), json={"plan": "pro", "currency": "AUD"})
    assert up.status_code == 409 and up.json()["error"] == "plan_change_refused", up.text
    assert "declined" in up.json()["message"] and "unchanged" in up.json()["message"]
    # Nothing moved at Stripe (no dearer plan on credit, no open invoice) nor here, and no email.
    after = sandbox_get(stack, f"/v1/subscriptions/{subscription}")
    assert (after["status"], after["items"]["data"][0]["price"]["unit_amount"], after["metadata"]["plan"]) == (
        "active",
        2900,
        "starter",
    )
    assert after["latest_invoice"] == before["latest_invoice"]
    stack.drain()
    view = billing(api, tradie, staff(tradie))
    assert (view["plan"], view["status"], view["fee_bps"]) == ("starter", "active", STARTER_FEE_BPS), view
    assert emails(stack, tradie, "plan_changed") == []
    # The console says so in the merchant's language; the merchant gives another card on Stripe's
    # page (its customer portal, the sandbox's here) and comes back to the console.
    phone = billing_on_a_phone_in_french(browser, stack, tradie)
    try:
        pro = phone.locator("article.plan", has=phone.get_by_role("heading", name="Pro"))
        pro.get_by_role("button", name="Passer à cette formule").click()
        expect(pro.get_by_role("alert")).to_have_text(
            "La carte qui paie votre formule a été refusée : la formule Pro n’a pas été activée, "
            "rien n’a été débité et votre formule reste la même. Donnez une autre carte sous Votre formule, "
            "puis réessayez.",
            timeout=WAIT_MS,
        )
        expect(phone.locator(".facts")).to_contain_text("3 %")
        assert horizontal_overflow(phone) == 0 and axe_violations(phone) == []
        screenshot(phone, "console-billing-declined-phone-fr")

        phone.get_by_role("button", name="Donner une autre carte").click()
        expect(phone.get_by_role("heading", level=1)).to_have_text(
            "Mettre à jour votre moyen de paiement", timeout=WAIT_MS
        )
        assert horizontal_overflow(phone) == 0 and axe_violations(phone) == []
        screenshot(phone, "sandbox-card-portal-phone-fr")
        phone.get_by_label(WORKING_CARD).check()
        phone.get_by_role("button", name="Enregistrer").click()
        expect(phone.get_by_role("heading", level=1)).to_have_text("Formule et facturation", timeout=WAIT_MS)
        expect(phone.get_by_role("status").filter(has_text="nouvelle carte")).to_have_text(
            "Votre nouvelle carte est enregistrée : Stripe l’utilise pour le prochain paiement de votre formule.",
            timeout=WAIT_MS,
        )
        assert horizontal_overflow(phone) == 0 and axe_violations(phone) == []
        screenshot(phone, "console-billing-card-saved-phone-fr")
    finally:
        phone.context.close()

    # The plan now pays with the Customer's default, the card just saved, and the same move goes through.
    now = sandbox_get(stack, f"/v1/subscriptions/{subscription}")
    saved = sandbox_get(stack, f"/v1/customers/{now['customer']}")["invoice_settings"]["default_payment_method"]
    assert now["default_payment_method"] is None
    assert sandbox_get(stack, f"/v1/payment_methods/{saved}")["card"]["last4"] == "4242"
    again = api.post(path, headers=staff(tradie), json={"plan": "pro", "currency": "AUD"})
    assert again.status_code == 200 and again.json()["changing_from"] == "starter", again.text
    wait_for(lambda: billing(api, tradie, staff(tradie))["plan"] == "pro", what="the move to Pro")
    assert len(wait_for(lambda: emails(stack, tradie, "plan_changed"), what="the plan-changed email")) == 1


def test_a_plan_ends_with_the_period_paid_for_is_kept_by_choosing_it_or_another_and_then_stops_new_bookings(api, stack):
    tradie = signed_up_tradie(api, stack)
    subscription = subscribe(api, stack, tradie)
    path = f"/admin/merchants/{tradie}/subscription"
    assert api.delete(path, headers=staff(FIXIT)).status_code == 403  # another merchant's staff
    [item] = sandbox_get(stack, f"/v1/subscriptions/{subscription}")["items"]["data"]
    period_end = item["current_period_end"]
    assert billing(api, tradie, staff(tradie))["current_period_end"] == period_end  # the first invoice said it

    end = api.delete(path, headers=staff(tradie))
    assert end.status_code == 200, end.text
    assert end.json() == {"merchant": tradie, "plan": "starter", "ends_at": period_end}
    stack.flush_deliveries()
    view = billing(api, tradie, staff(tradie))
    assert (view["ends_at"], view["status"], view["taking_orders"]) == (period_end, "active", True), view
    assert view["next_step"]["action"] == "keep_plan"
    assert book(api, tradie).status_code == 201  # the period paid for goes on
    [told] = wait_for(lambda: emails(stack, tradie, "plan_ending"), what="the plan-ending email")
    day = datetime.fromtimestamp(period_end, UTC).date().isoformat()
    assert f"ends with the period you paid for, on {day}" in plain(told["text"]), told["text"]
    assert api.delete(path, headers=staff(tradie)).json()["ends_at"] == period_end  # asked twice: one end
    stack.flush_deliveries()
    assert len(emails(stack, tradie, "plan_ending")) == 1

    kept = api.post(path, headers=staff(tradie), json={"plan": "starter", "currency": "AUD"})
    assert kept.status_code == 200 and kept.json()["kept"] is True and kept.json()["ends_at"] is None, kept.text
    stack.flush_deliveries()
    view = billing(api, tradie, staff(tradie))
    assert (view["ends_at"], view["next_step"], view["plan"]) == (None, None, "starter"), view
    assert not sandbox_get(stack, f"/v1/subscriptions/{subscription}")["cancel_at_period_end"]

    assert api.delete(path, headers=staff(tradie)).status_code == 200
    stack.flush_deliveries()  # as in the console, which waits for the end to be confirmed
    moved = api.post(path, headers=staff(tradie), json={"plan": "pro", "currency": "AUD"})  # going on, on Pro
    assert moved.status_code == 200 and moved.json()["changing_from"] == "starter", moved.text
    stack.flush_deliveries()
    view = billing(api, tradie, staff(tradie))
    assert (view["plan"], view["ends_at"], view["status"]) == ("pro", None, "active"), view
    assert not sandbox_get(stack, f"/v1/subscriptions/{subscription}")["cancel_at_period_end"]

    assert api.delete(path, headers=staff(tradie)).status_code == 200  # ended for good this time
    stack.flush_deliveries()
    period = httpx.post(f"{stack.sandbox}/_sandbox/stripe/subscriptions/{subscription}/renew", json={}, timeout=10)
    assert period.status_code == 200, period.text  # the period's end: Stripe ends the subscription
    stack.flush_deliveries()
    view = billing(api, tradie, staff(tradie))
    assert (view["status"], view["taking_orders"], view["ends_at"]) == ("canceled", False, None), view
    refused = book(api, tradie)
    assert refused.status_code == 409 and refused.json()["error"] == "merchant_plan_inactive", refused.text
    wait_for(lambda: emails(stack, tradie, "plan_lapsed"), what="the plan-lapsed email")
    assert len(emails(stack, tradie, "plan_ending")) == 3
    gone = api.delete(path, headers=staff(tradie))
    assert gone.status_code == 409 and gone.json()["error"] == "no_running_plan", gone.text


def test_a_failed_renewal_warns_then_a_deleted_plan_stops_new_bookings_but_not_a_balance(api, stack):
    tradie = signed_up_tradie(api, stack)
    subscription = subscribe(api, stack, tradie)
    booking = paid_booking(api, tradie)

    renewal = httpx.post(
        f"{stack.sandbox}/_sandbox/stripe/subscriptions/{subscription}/renew", json={"payment": "fails"}, timeout=10
    )
    assert renewal.status_code == 200, renewal.text
    wait_for(lambda: billing(api, tradie, staff(tradie))["status"] == "past_due", what="the plan to be past due")
    view = billing(api, tradie, staff(tradie))
    assert view["taking_orders"] is True and view["next_step"]["action"] == "update_card"
    assert view["last_invoice"]["paid"] is False and view["last_invoice"]["amount"] == 2900
    [failed] = wait_for(lambda: emails(stack, tradie, "plan_payment_failed"), what="the payment-failed email")
    told = plain(failed["text"])
    assert "AUD 29.00" in told and "keep taking orders" in told and "next try on" in told
    still = book(api, tradie)  # past_due is Stripe's retry window: the tradie still takes bookings
    assert still.status_code == 201, still.text

    cancelled = httpx.delete(f"{stack.sandbox}/v1/subscriptions/{subscription}", headers=PLATFORM_KEY, timeout=10)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "canceled", cancelled.text
    wait_for(lambda: billing(api, tradie, staff(tradie))["status"] == "canceled", what="the plan to lapse")
    assert billing(api, tradie, staff(tradie))["taking_orders"] is False
    refused = book(api, tradie)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "merchant_plan_inactive" and "not taking new orders" in refused.json()["message"]
    [lapsed] = wait_for(lambda: emails(stack, tradie, "plan_lapsed"), what="the plan-lapsed email")
    assert "already taken continue" in plain(lapsed["text"])

    balance = api.post(
        f"/admin/bookings/{booking['order_id']}/charge-balance", json={"final_amount": 18000}, headers=staff(tradie)
    )
    assert balance.status_code == 200, balance.text
    assert balance.json()["status"] == "paid" and balance.json()["amount"] == {"amount": 15000, "currency": "AUD"}
    # The balance pays the fee agreed when the job was booked: the Starter plan's 3 %.
    assert balance.json()["fee"] == {"amount": 450, "currency": "AUD"}


def test_a_failed_renewal_is_paid_at_once_with_another_card_and_the_plan_is_active_again(api, stack, browser):
    tradie = signed_up_tradie(api, stack)
    subscription = subscribe(api, stack, tradie)
    card_answers(stack, subscription, "card_declined")  # the card expired: the renewal charges it and fails
    renewal = httpx.post(f"{stack.sandbox}/_sandbox/stripe/subscriptions/{subscription}/renew", json={}, timeout=10)
    assert renewal.status_code == 200, renewal.text
    wait_for(lambda: billing(api, tradie, staff(tradie))["status"] == "past_due", what="the plan to be past due")
    wait_for(lambda: emails(stack, tradie, "plan_payment_failed"), what="the payment-failed email")

    pay = f"/admin/merchants/{tradie}/billing/pay"
    again = api.post(pay, headers=staff(tradie))  # the same card: declined again, nothing changes
    assert again.status_code == 409 and again.json()["error"] == "plan_payment_refused", again.text
    assert again.json()["reason"] == "card_declined"
    assert api.post(pay, headers=staff(FIXIT)).status_code == 403  # another merchant's staff

    # Another card on Stripe's page (the portal's form, as the browser posts it), back to the console.
    page = api.post(f"/admin/merchants/{tradie}/billing/card", headers=staff(tradie))
    assert page.status_code == 200, page.text
    saved = httpx.post(f"{page.json()['url']}/payment_method", data={"card": "4242424242424242"}, timeout=10)
    assert saved.status_code == 303 and saved.headers["location"].endswith("/console#/billing?result=card_saved")

    desk = open_page(browser, DESKTOP)
    try:
        sign_in_to_console(desk, stack.api, merchant_token(tradie))
        desk.goto(f"{stack.api}/console#/billing")
        expect(desk.locator(".facts")).to_contain_text("Payment failed, retrying", timeout=WAIT_MS)
        desk.get_by_role("button", name="Pay A$29.00 now").click()
        expect(desk.locator(".notice.ok")).to_have_text("Paid: your plan is active again.", timeout=WAIT_MS)
        expect(desk.locator(".facts")).to_contain_text("Active")
        expect(desk.get_by_role("button", name="Pay A$29.00 now")).to_have_count(0)
        assert axe_violations(desk) == []
        screenshot(desk, "console-billing-paid-again-desktop")
    finally:
        desk.context.close()

    view = billing(api, tradie, staff(tradie))
    assert view["last_invoice"]["paid"] is True and view["last_invoice"]["amount"] == 2900, view
    assert view["next_step"] is None
    # Told once more that the plan is active (the first time was the subscription).
    wait_for(lambda: len(emails(stack, tradie, "plan_active")) == 2, what="the plan-active-again email")
    texts = [plain(email["text"]) for email in emails(stack, tradie, "plan_active")]
    # Each says what was paid, whichever of the subscription's and the invoice's events came first.
    assert all("Starter plan is active: we received" in text and "takes orders" in text for text in texts), texts
    # Told once that the invoice failed: not again when Pay now was declined (the console said so).
    assert len(emails(stack, tradie, "plan_payment_failed")) == 1
    done = api.post(pay, headers=staff(tradie))
    assert done.status_code == 409 and done.json()["error"] == "nothing_to_pay", done.text


def test_a_card_whose_bank_asks_to_confirm_is_paid_on_stripes_invoice_page_not_moved(api, stack, browser):
    tradie = signed_up_tradie(api, stack)
    subscribe(api, stack, tradie)
    page = api.post(f"/admin/merchants/{tradie}/billing/card", headers=staff(tradie))
    assert page.status_code == 200, page.text
    confirms = "4000002760003184"  # Stripe's test card whose bank asks for 3D Secure on every charge
    saved = httpx.post(f"{page.json()['url']}/payment_method", data={"card": confirms}, timeout=10)
    assert saved.status_code == 303, saved.text

    # A move cannot ask the bank: refused as such, not as a decline, and nothing changes.
    up = api.post(
        f"/admin/merchants/{tradie}/subscription", headers=staff(tradie), json={"plan": "pro", "currency": "AUD"}
    )
    assert up.status_code == 409 and up.json()["reason"] == "authentication_required", up.text
    assert "asks to confirm" in up.json()["message"] and "unchanged" in up.json()["message"]

    subscription = merchant_item(stack, tradie)["stripe_subscription"]
    renewal = httpx.post(f"{stack.sandbox}/_sandbox/stripe/subscriptions/{subscription}/renew", json={}, timeout=10)
    assert renewal.status_code == 200, renewal.text
    wait_for(lambda: billing(api, tradie, staff(tradie))["status"] == "past_due", what="the plan to be past due")
    # The email links the invoice's page at Stripe, where the bank can ask its question.
    page_url = sandbox_get(stack, f"/v1/subscriptions/{subscription}?expand[]=latest_invoice")["latest_invoice"][
        "hosted_invoice_url"
    ]
    [failed] = wait_for(lambda: emails(stack, tradie, "plan_payment_failed"), what="the payment-failed email")
    assert f"where your bank can ask you to confirm the payment: {page_url}" in plain(failed["text"])

    desk = open_page(browser, DESKTOP)
    try:
        sign_in_to_console(desk, stack.api, merchant_token(tradie))
        desk.goto(f"{stack.api}/console#/billing")
        desk.get_by_role("button", name="Pay A$29.00 now").click()
        alert = desk.get_by_role("alert").filter(has_text="Your bank asks you to confirm this payment")
        expect(alert).to_be_visible(timeout=WAIT_MS)
        assert axe_violations(desk) == []
        screenshot(desk, "console-billing-confirm-payment-desktop")
        with desk.expect_popup() as opened:
            alert.get_by_role("link", name="Confirm the payment on Stripe’s page").click()
        invoice = opened.value  # Stripe's page for the invoice (the sandbox's), in a tab of its own
        expect(invoice.get_by_text("Card: Visa ending in 3184")).to_be_visible(timeout=WAIT_MS)
        invoice.get_by_role("button", name="Pay AUD 29.00").click()
        expect(invoice.get_by_role("heading", level=1)).to_have_text("Confirm this payment with your bank")
        assert axe_violations(invoice) == []
        screenshot(invoice, "sandbox-invoice-3ds-desktop")
        invoice.get_by_role("button", name="Complete authentication").click()
        expect(invoice.get_by_role("status")).to_have_text("This invoice is paid", timeout=WAIT_MS)
        invoice.close()
        # The console's tab waits for Stripe's event and then says so.
        expect(desk.locator(".notice.ok")).to_have_text("Paid: your plan is active again.", timeout=WAIT_MS)
        expect(desk.locator(".facts")).to_contain_text("Active")
    finally:
        desk.context.close()
    assert billing(api, tradie, staff(tradie))["last_invoice"]["paid"] is True


def test_billing_events_apply_once_in_order_and_only_when_authentic(api, stack):
    tradie = signed_up_tradie(api, stack)
    subscription = subscribe(api, stack, tradie)
    stack.flush_deliveries()
    item = merchant_item(stack, tradie)
    base = {
        "id": subscription,
        "object": "subscription",
        "customer": item["stripe_customer"],
        "metadata": {"merchant": tradie, "plan": "starter", "purpose": "plan"},
        "items": {"object": "list", "data": []},
    }

    def deliver(body: bytes, signature: str | None = None) -> httpx.Response:
        headers = {"Stripe-Signature": signature or stack.sign_stripe(body), "Content-Type": "application/json"}
        return api.post("/webhooks/stripe", content=body, headers=headers)

    # An older event arriving late (Stripe does not promise order): it changes nothing.
    late = json.loads(stripe_event("customer.subscription.updated", {**base, "status": "unpaid"}))
    late["created"] = int(item["plan_event_at"]) - 60
    answer = deliver(json.dumps(late).encode())
    assert answer.status_code == 200 and answer.json()["result"] == "stale", answer.text
    assert billing(api, tradie, staff(tradie))["status"] == "active"

    # A forged one (not signed with the endpoint's secret) is refused and changes nothing.
    forged = stripe_event("customer.subscription.deleted", {**base, "status": "canceled"})
    answer = deliver(forged, stack.sign_stripe(forged, secret="whsec_not_the_endpoints"))
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_webhook"
    assert billing(api, tradie, staff(tradie))["status"] == "active"

    # A newer one applies, once: delivered again, it is a duplicate and emails nobody twice.
    cancelled = httpx.delete(f"{stack.sandbox}/v1/subscriptions/{subscription}", headers=PLATFORM_KEY, timeout=10)
    assert cancelled.status_code == 200, cancelled.text
    stack.flush_deliveries()  # Stripe's customer.subscription.deleted
    assert billing(api, tradie, staff(tradie))["status"] == "canceled"
    [deleted] = subscription_events(stack, subscription, "customer.subscription.deleted")
    assert deliver(json.dumps(deleted).encode()).json()["result"] == "duplicate"
    wait_for(lambda: emails(stack, tradie, "plan_lapsed"), what="the plan-lapsed email")
    stack.flush_deliveries()
    assert len(emails(stack, tradie, "plan_lapsed")) == 1

    # A billing event that names no merchant of ours changes nothing.
    stranger = stripe_event("invoice.paid", {"id": "in_x", "object": "invoice", "customer": "cus_someone_else"})
    answer = deliver(stranger)
    assert answer.json()["result"] == "unknown_merchant"


def subscription_events(stack, subscription: str, kind: str) -> list[dict]:
    """The events of that type Stripe (the sandbox) sent about the subscription, oldest first."""
    answer = httpx.get(f"{stack.sandbox}/_sandbox/events", params={"type": kind}, timeout=10)
    assert answer.status_code == 200, answer.text
    return [event for event in answer.json() if event["data"]["object"]["id"] == subscription]


def test_two_changes_in_one_second_leave_the_plan_as_stripe_has_it_whatever_order_they_arrive_in(api, stack):
    tradie = signed_up_tradie(api, stack)
    subscription = subscribe(api, stack, tradie)
    path = f"/admin/merchants/{tradie}/subscription"
    assert api.delete(path, headers=staff(tradie)).status_code == 200  # set to end...
    stack.flush_deliveries()
    assert billing(api, tradie, staff(tradie))["ends_at"]
    kept = api.post(path, headers=staff(tradie), json={"plan": "starter", "currency": "AUD"})  # ...and kept after all
    assert kept.status_code == 200 and kept.json()["kept"] is True, kept.text
    stack.flush_deliveries()
    assert billing(api, tradie, staff(tradie))["ends_at"] is None

    # The first change's event arrives again after the second, within its second (a new delivery
    # id, the second's `created`): `created` cannot order them, so the plan is read from Stripe.
    ending, keeping = subscription_events(stack, subscription, "customer.subscription.updated")[-2:]
    assert ending["data"]["object"]["cancel_at"] and keeping["data"]["object"]["cancel_at"] is None
    late = {**ending, "id": f"evt_late_{uuid.uuid4().hex[:12]}", "created": keeping["created"]}
    body = json.dumps(late).encode()
    headers = {"Stripe-Signature": stack.sign_stripe(body), "Content-Type": "application/json"}
    answer = api.post("/webhooks/stripe", content=body, headers=headers)
    assert answer.status_code == 200 and answer.json()["result"] == "plan_updated", answer.text
    view = billing(api, tradie, staff(tradie))
    assert (view["status"], view["ends_at"], view["next_step"]) == ("active", None, None), view
    stack.drain()
    assert len(emails(stack, tradie, "plan_ending")) == 1  # the first change's, not a second


def test_a_merchant_from_the_catalog_file_has_no_plan_to_buy(api):
    answer = api.post(
        f"/admin/merchants/{FIXIT}/subscription", headers=staff(FIXIT), json={"plan": "starter", "currency": "AUD"}
    )
    assert answer.status_code == 409 and answer.json()["error"] == "not_a_platform_merchant"
    view = billing(api, FIXIT, staff(FIXIT))
    assert view["on_platform"] is False and view["taking_orders"] is True and view["next_step"] is None


def plan_counter(stack, merchant: str, limit: str) -> dict:
    """The merchant's count against its plan's monthly `limit` this month (its own time zone)."""
    month = datetime.now(ZoneInfo(merchant_item(stack, merchant)["timezone"])).strftime("%Y-%m")
    return {"pk": f"CAPACITY#{merchant}#{limit}-{month}", "type": "capacity"}


def taken(stack, key: dict) -> int:
    item = stack.table("CatalogTable").get_item(Key={"pk": key["pk"]}, ConsistentRead=True).get("Item") or {}
    return int(item.get("taken", 0))


def test_the_plans_monthly_bookings_are_counted_refused_past_the_limit_and_given_back(api, stack):
    tradie = signed_up_tradie(api, stack)
    subscribe(api, stack, tradie)
    counter = plan_counter(stack, tradie, "bookings_per_month")
    first = book(api, tradie)
    assert first.status_code == 201, first.text
    assert taken(stack, counter) == 1
    # 39 more bookings this month, as if taken: the Starter plan's 40th was the last.
    stack.table("CatalogTable").put_item(Item={**counter, "taken": 40})
    refused = book(api, tradie)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "plan_limit_reached" and refused.json()["limit"] == "bookings_per_month"
    assert "40 bookings this month" in refused.json()["message"] and refused.json()["allowed"] == 40
    assert taken(stack, counter) == 40  # the refused checkout took nothing

    # The first checkout is abandoned: when it expires its place in the month is given back.
    session = first.json()["next_action"]["url"].rsplit("/", 1)[1]
    account = merchant_item(stack, tradie)["stripe_account"]
    expired = httpx.post(
        f"{stack.sandbox}/v1/checkout/sessions/{session}/expire",
        headers={**PLATFORM_KEY, "Stripe-Account": account},
        timeout=10,
    )
    assert expired.status_code == 200, expired.text
    wait_for(lambda: order_status(api, first.json()) == "expired", what="the abandoned checkout to expire")
    assert taken(stack, counter) == 39
    assert book(api, tradie).status_code == 201


def test_a_signed_up_merchants_cart_is_refused_until_it_has_a_plan_in_good_standing(api, stack):
    tradie = signed_up_tradie(api, stack)
    sku = f"VOUCHER-{uuid.uuid4().hex[:6].upper()}"
    created = api.post(
        "/admin/products",
        json={"sku": sku, "name": "Gift voucher", "kind": "merch", "prices": {"AUD": 5000}},
        headers=staff(tradie),
    )
    assert created.status_code == 201, created.text
    cart = {
        "items": [{"sku": sku, "quantity": 1}],
        "currency": "AUD",
        "customer": {"name": "Sam", "email": "sam@example.test"},
    }
    refused = api.post("/checkouts", json=cart)  # no plan yet
    assert refused.status_code == 409 and refused.json()["error"] == "merchant_plan_inactive", refused.text
    subscribe(api, stack, tradie)
    assert api.post("/checkouts", json=cart).status_code == 201


def test_a_photographers_plan_limits_its_galleries_per_month(api, stack):
    photographer, headers = new_merchant(stack, api, kind="photography", timezone="UTC")
    subscribed(api, stack, photographer, headers, plan="starter", currency="USD")  # 5 galleries a month
    month = datetime.now(UTC).strftime("%Y-%m")
    counter = {"pk": f"CAPACITY#{photographer}#galleries_per_month-{month}", "type": "capacity"}

    def new_gallery() -> httpx.Response:
        return api.post(
            "/admin/galleries",
            headers=staff(photographer),
            json={
                "title": "Portraits",
                "client": {"name": "Awa", "email": "awa@example.test", "locale": "en"},
                "expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
            },
        )

    stack.table("CatalogTable").put_item(Item={**counter, "taken": 4})
    assert new_gallery().status_code == 201
    assert taken(stack, counter) == 5
    refused = new_gallery()
    assert refused.status_code == 409 and refused.json()["error"] == "plan_limit_reached", refused.text
    assert refused.json()["limit"] == "galleries_per_month" and refused.json()["allowed"] == 5
    listed = api.get("/admin/galleries", headers=staff(photographer))
    assert listed.status_code == 200 and len(listed.json()["galleries"]) == 1  # the refused one was not made


def test_the_console_shows_the_plans_subscribes_and_warns_in_english_and_french(api, stack, browser):
    tradie = signed_up_tradie(api, stack)
    desk = open_page(browser, DESKTOP)
    try:
        sign_in_to_console(desk, stack.api, merchant_token(tradie))
        desk.goto(f"{stack.api}/console#/billing")
        expect(desk.get_by_role("heading", level=1)).to_have_text("Plan and billing", timeout=WAIT_MS)
        expect(desk.get_by_role("status").first).to_contain_text("Choose a plan to start taking orders")
        starter = desk.locator("article.plan", has=desk.get_by_role("heading", name="Starter"))
        expect(starter).to_contain_text("The platform takes 3 % of each payment.")
        expect(starter).to_contain_text("Up to 40 bookings a month")
        assert axe_violations(desk) == []
        screenshot(desk, "console-billing-desktop")
        starter.get_by_label("Pay in").select_option("AUD")
        starter.get_by_role("button", name="Subscribe").click()
        expect(desk.locator("#recurring")).to_contain_text("every month", timeout=WAIT_MS)  # Stripe's page
        desk.get_by_role("button", name="Pay").click()
        expect(desk.get_by_role("heading", name="Your plan")).to_be_visible(timeout=WAIT_MS)  # back in the console
        stack.flush_deliveries()
        desk.reload()
        facts = desk.locator(".facts")
        expect(facts).to_contain_text("Active", timeout=WAIT_MS)
        expect(facts).to_contain_text("paid")
        expect(starter.get_by_role("button", name="Your plan")).to_be_disabled()
        pro = desk.locator("article.plan", has=desk.get_by_role("heading", name="Pro"))
        expect(pro).to_contain_text("the difference for the rest of this period is invoiced at once")
        pro.get_by_role("button", name="Switch to this plan").click()
        expect(desk.locator(".notice.ok")).to_have_text("You are now on the Pro plan.", timeout=WAIT_MS)
        expect(facts).to_contain_text("1.5 %")
        expect(pro.get_by_role("button", name="Your plan")).to_be_disabled()
        assert axe_violations(desk) == []
        screenshot(desk, "console-billing-switched-desktop")
    finally:
        desk.context.close()

    subscription = merchant_item(stack, tradie)["stripe_subscription"]
    renewal = httpx.post(
        f"{stack.sandbox}/_sandbox/stripe/subscriptions/{subscription}/renew", json={"payment": "fails"}, timeout=10
    )
    assert renewal.status_code == 200, renewal.text
    stack.flush_deliveries()
    phone = billing_on_a_phone_in_french(browser, stack, tradie)
    try:
        expect(phone.locator(".notice").first).to_contain_text("Le dernier paiement de votre formule a échoué")
        expect(phone.locator(".facts")).to_contain_text("paiement échoué")
        assert horizontal_overflow(phone) == 0
        assert axe_violations(phone) == []
        screenshot(phone, "console-billing-phone-fr")
    finally:
        phone.context.close()


def test_on_a_phone_in_french_staff_end_their_plan_in_two_steps_then_keep_it(api, stack, browser):
    tradie = signed_up_tradie(api, stack)
    subscribe(api, stack, tradie)
    phone = billing_on_a_phone_in_french(browser, stack, tradie)
    try:
        phone.get_by_role("button", name="Mettre fin à ma formule…").click()
        expect(phone.locator(".end-plan")).to_contain_text("vous continuez à prendre des commandes")
        phone.get_by_role("button", name="Garder ma formule").click()  # a second thought: nothing asked
        expect(phone.get_by_role("button", name="Mettre fin à ma formule…")).to_be_visible()
        phone.get_by_role("button", name="Mettre fin à ma formule…").click()
        phone.get_by_role("button", name=re.compile("^Mettre fin à ma formule le ")).click()
        expect(phone.locator(".notice.ok")).to_have_text(
            "C’est noté : votre formule prendra fin avec la période payée.", timeout=WAIT_MS
        )
        expect(phone.locator(".notice.warning")).to_contain_text("Votre formule prend fin le")
        expect(phone.locator(".facts")).to_contain_text("Prend fin le")
        assert horizontal_overflow(phone) == 0
        assert axe_violations(phone) == []
        screenshot(phone, "console-billing-ending-phone-fr")
        phone.get_by_role("button", name="Garder cette formule").click()
        expect(phone.locator(".notice.ok")).to_have_text("Votre formule Starter continue.", timeout=WAIT_MS)
        expect(phone.locator(".facts")).not_to_contain_text("Prend fin le")
    finally:
        phone.context.close()
    assert billing(api, tradie, staff(tradie))["ends_at"] is None
