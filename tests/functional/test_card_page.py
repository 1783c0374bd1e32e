"""Another card for a merchant's plan (caisse.payments.plans.card_page), and a failed invoice paid now
(pay_now), through their handlers and the Stripe sandbox: Stripe's customer portal at its
payment-method update, coming back to the console, with the subscription first made to pay with the
Customer's default card, the one the portal sets."""

from __future__ import annotations

import json

import httpx
from conftest import STRIPE_KEY, sample

from caisse.catalog.models import Merchant
from caisse.catalog.service import get_merchant

MERCHANT = "sparky-electrical"  # the sample events' merchant
STRIPE = {"Authorization": f"Bearer {STRIPE_KEY}"}


def body(result: dict) -> dict:
    return json.loads(result["body"])


def on_the_platform() -> None:
    get_merchant(MERCHANT).update(actions=[Merchant.business_kind.set("trades")])


def subscribed(invoke, sandbox) -> dict:
    """The merchant chose Starter and paid on the sandbox's Checkout; its plan as the events set it."""
    on_the_platform()
    answer = invoke("SubscribeMerchantFunction", sample("subscribe_merchant"))
    assert answer["statusCode"] == 200, answer["body"]
    paid = httpx.post(f"{body(answer)['checkout_url']}/pay", headers={"Accept": "application/json"}, timeout=10)
    assert paid.status_code == 200, paid.text
    session = paid.json()
    get_merchant(MERCHANT).update(  # what the subscription's events write (tests/e2e: through the webhook)
        actions=[
            Merchant.stripe_subscription.set(session["subscription"]),
            Merchant.plan.set("starter"),
            Merchant.plan_status.set("active"),
        ]
    )
    return stripe_object(sandbox, f"/v1/subscriptions/{session['subscription']}")


def stripe_object(sandbox, path: str) -> dict:
    answer = httpx.get(f"{sandbox.url}{path}", headers=STRIPE, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_card_page_is_stripes_portal_and_the_plan_then_pays_with_the_customers_default(invoke, sandbox):
    subscription = subscribed(invoke, sandbox)
    card = subscription["default_payment_method"]  # Checkout kept its card on the subscription
    assert card

    answer = invoke("UpdateCardFunction", sample("update_card"))
    assert answer["statusCode"] == 200, answer["body"]
    url = body(answer)["url"]
    assert url.startswith(f"{sandbox.url}/billing_portal/")
    portal = httpx.get(url, headers={"Accept": "application/json"}, timeout=10).json()
    assert portal["customer"] == subscription["customer"]
    assert portal["flow"]["type"] == "payment_method_update"
    assert portal["flow"]["after_completion"]["redirect"]["return_url"].endswith("/console#/billing?result=card_saved")
    assert portal["return_url"].endswith("/console#/billing") and portal["locale"] == "auto"
    # The same card pays until another is saved, now as the Customer's default.
    after = stripe_object(sandbox, f"/v1/subscriptions/{subscription['id']}")
    customer = stripe_object(sandbox, f"/v1/customers/{subscription['customer']}")
    assert after["default_payment_method"] is None
    assert customer["invoice_settings"]["default_payment_method"] == card

    again = invoke("UpdateCardFunction", sample("update_card"))  # a second visit: a new session, nothing else
    assert again["statusCode"] == 200 and body(again)["url"] != url
    assert (
        stripe_object(sandbox, f"/v1/customers/{subscription['customer']}")["invoice_settings"]
        == customer["invoice_settings"]
    )


def test_a_merchant_without_a_card_at_stripe_is_told_to_choose_a_plan(invoke):
    on_the_platform()
    answer = invoke("UpdateCardFunction", sample("update_card"))
    assert answer["statusCode"] == 409 and body(answer)["error"] == "no_running_plan", answer["body"]
    assert "choose a plan first" in body(answer)["message"]


def test_another_merchants_staff_cannot_open_its_card_page(invoke):
    on_the_platform()
    event = sample("update_card")
    event["requestContext"]["authorizer"]["claims"]["custom:merchant_id"] = "lumen"
    assert invoke("UpdateCardFunction", event)["statusCode"] == 403


def test_a_plan_in_good_standing_has_nothing_to_pay_now(invoke, sandbox):
    subscribed(invoke, sandbox)  # active, its first invoice paid
    answer = invoke("PayPlanInvoiceFunction", sample("pay_plan_invoice"))
    assert answer["statusCode"] == 409 and body(answer)["error"] == "nothing_to_pay", answer["body"]


def test_a_merchant_whose_plan_ended_still_gets_the_card_page_and_the_ended_subscription_is_left_alone(invoke, sandbox):
    subscription = subscribed(invoke, sandbox)
    ended = httpx.delete(f"{sandbox.url}/v1/subscriptions/{subscription['id']}", headers=STRIPE, timeout=10)
    assert ended.status_code == 200 and ended.json()["status"] == "canceled", ended.text
    get_merchant(MERCHANT).update(actions=[Merchant.plan_status.set("canceled")])
    answer = invoke("UpdateCardFunction", sample("update_card"))
    assert answer["statusCode"] == 200, answer["body"]  # Stripe refuses changes to an ended subscription
    assert stripe_object(sandbox, f"/v1/subscriptions/{subscription['id']}")["default_payment_method"]
