"""A signed-up merchant's cart is paid like its bookings: a direct charge on its own Stripe account
with its plan's fee, settled once by the Connect endpoint, refunded on its account (the fee in
proportion). A demo shop's cart is unchanged: the platform's account, no fee, no read of its merchant."""

from __future__ import annotations

import uuid

import httpx
from e2e_support import admin_view, customer, dynamodb_requests, order_status, stripe_event, wait_for
from signup_support import PLATFORM_KEY, new_merchant, onboarded, sandbox_get, subscribed


def print_product(api, merchant: str, staff: dict) -> str:
    sku = f"PRINT-{uuid.uuid4().hex[:6].upper()}"
    created = api.post(
        "/admin/products",
        json={"sku": sku, "name": "Fine-art print, A3", "kind": "print", "prices": {"USD": 4999}},
        headers=staff,
    )
    assert created.status_code == 201, created.text
    return sku


def cart(sku: str, quantity: int, **extra) -> dict:
    return {"items": [{"sku": sku, "quantity": quantity}], "currency": "USD", "customer": customer(), **extra}


def session_of(stack, checkout: dict, account: str | None) -> dict:
    session_id = checkout["next_action"]["url"].rsplit("/", 1)[1]
    return sandbox_get(stack, f"/v1/checkout/sessions/{session_id}", account)


def payments(api, checkout: dict, merchant: str) -> list[dict]:
    """The order's history entries that moved its money to paid."""
    history = admin_view(api, checkout["order_id"], merchant)["history"]
    return [entry for entry in history if (entry.get("money") or {}).get("to") == "paid"]


def deliveries_of(stack, event_id: str) -> list[dict]:
    return [d for d in httpx.get(f"{stack.sandbox}/_sandbox/deliveries", timeout=5).json() if d["event_id"] == event_id]


def test_a_photographers_print_is_paid_on_their_account_with_the_pro_plans_fee_and_refunded_there(api, stack):
    photographer, staff = new_merchant(stack, api, kind="photography", name="Northlight Prints", timezone="UTC")
    account = onboarded(api, stack, photographer, staff)
    subscribed(api, stack, photographer, staff, plan="pro", currency="USD")  # 1.5 %
    sku = print_product(api, photographer, staff)

    stack.sandbox_config(duplicates=2)  # every webhook delivered twice, concurrently
    key = {"Idempotency-Key": str(uuid.uuid4())}
    answer = api.post("/checkouts", json=cart(sku, 2), headers=key)
    assert answer.status_code == 201, answer.text
    checkout = answer.json()
    assert checkout["total"] == {"amount": 9998, "currency": "USD"}, checkout
    retried = api.post("/checkouts", json=cart(sku, 2), headers=key)  # the same checkout, on the same account
    assert retried.status_code == 201 and retried.headers["Idempotent-Replayed"] == "true", retried.text
    assert (retried.json()["order_id"], retried.json()["next_action"]) == (
        checkout["order_id"],
        checkout["next_action"],
    )

    # The Checkout Session is on the photographer's account; the platform's own has no such session.
    session = session_of(stack, checkout, account)
    session_id = session["id"]
    platform_view = httpx.get(f"{stack.sandbox}/v1/checkout/sessions/{session_id}", headers=PLATFORM_KEY, timeout=10)
    assert platform_view.status_code == 404, platform_view.text

    httpx.post(f"{checkout['next_action']['url']}/pay", timeout=10)
    wait_for(lambda: order_status(api, checkout) == "paid", what="the print order to be paid")
    stack.flush_deliveries()
    intent = sandbox_get(
        stack, f"/v1/payment_intents/{session_of(stack, checkout, account)['payment_intent']}", account
    )
    # USD 99.98 on the photographer's account; 1.5 % of it, USD 1.4997, rounds to USD 1.50: the platform's.
    assert (intent["amount"], intent["currency"], intent["application_fee_amount"]) == (9998, "usd", 150), intent
    assert intent["status"] == "succeeded"

    # The session's completion came from the photographer's account to the Connect endpoint, twice; paid once.
    events = httpx.get(
        f"{stack.sandbox}/_sandbox/events", params={"type": "checkout.session.completed"}, timeout=5
    ).json()
    [completed] = [e for e in events if e["data"]["object"]["id"] == session_id]
    assert completed["account"] == account
    delivered = deliveries_of(stack, completed["id"])
    assert len(delivered) == 2 and all(d["url"].endswith("/webhooks/stripe-connect") for d in delivered), delivered
    assert all(d["status_code"] == 200 for d in delivered), delivered
    view = admin_view(api, checkout["order_id"], photographer)
    assert len(payments(api, checkout, photographer)) == 1
    assert view["platform_fee"] == {"amount": 150, "currency": "USD"}, view

    # The same event sent to the platform's endpoint (signed with its secret) settles nothing there.
    body = stripe_event("checkout.session.completed", completed["data"]["object"], completed["id"] + "_platform")
    platform = api.post(
        "/webhooks/stripe",
        content=body,
        headers={"Content-Type": "application/json", "Stripe-Signature": stack.sign_stripe(body)},
    )
    assert platform.status_code == 200 and platform.json()["result"] == "foreign_account", platform.text
    assert len(payments(api, checkout, photographer)) == 1

    # Staff refund it: on the photographer's account, the platform's fee given back in proportion.
    refund = api.post(
        f"/admin/orders/{checkout['order_id']}/refunds",
        json={"reason": "print damaged in transit"},
        headers={**staff, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert refund.status_code == 201, refund.text
    assert refund.json()["money_state"] == "refunded", refund.text
    refunds = sandbox_get(stack, f"/v1/refunds?payment_intent={intent['id']}", account)["data"]
    assert [(r["amount"], r["status"]) for r in refunds] == [(9998, "succeeded")], refunds
    charge = sandbox_get(stack, f"/v1/charges/{intent['latest_charge']}", account)
    fee = sandbox_get(stack, f"/v1/application_fees/{charge['application_fee']}")  # the platform's
    assert (fee["amount"], fee["amount_refunded"]) == (150, 150), fee


def test_a_photographer_not_onboarded_yet_takes_no_cart_and_only_stripe_takes_its_carts(api, stack):
    photographer, staff = new_merchant(stack, api, kind="photography", name="Harbour Light", timezone="UTC")
    subscribed(api, stack, photographer, staff, plan="pro", currency="USD")
    sku = print_product(api, photographer, staff)

    refused = api.post("/checkouts", json=cart(sku, 1))
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "merchant_not_onboarded"
    assert refused.json()["message"] == "Harbour Light is not taking payments yet"

    onboarded(api, stack, photographer, staff)
    paypal = api.post("/checkouts", json=cart(sku, 1, provider="paypal"))
    assert paypal.status_code == 422 and paypal.json()["error"] == "provider_not_available", paypal.text
    assert paypal.json()["providers"] == ["stripe"]
    assert api.post("/checkouts", json=cart(sku, 1)).status_code == 201


def test_a_demo_shops_cart_stays_on_the_platforms_account_without_a_fee_or_a_read_of_its_merchant(api, stack):
    photographer, staff = new_merchant(stack, api, kind="photography", name="Quay Studio", timezone="UTC")
    onboarded(api, stack, photographer, staff)
    subscribed(api, stack, photographer, staff, plan="pro", currency="USD")
    sku = print_product(api, photographer, staff)
    stack.flush_deliveries()

    def checkout(body: dict) -> dict:
        answer = api.post("/checkouts", json=body)
        assert answer.status_code == 201, answer.text
        return answer.json()

    festival: dict = {}
    demo = dynamodb_requests(stack, lambda: festival.update(checkout(cart("FEST-DAY-PASS", 1))))
    signed_up = dynamodb_requests(stack, lambda: checkout(cart(sku, 1)))
    print(f"DynamoDB requests of a cart checkout: demo shop {demo}, signed-up merchant {signed_up}")
    # The demo shop's cart costs what caisse.payments.checkout's budget says and never reads its
    # merchant; the signed-up merchant's cart reads it once more (its account and current fee).
    assert demo == {"BatchGetItem": 1, "UpdateItem": 1, "TransactWriteItems": 2}, demo
    assert signed_up == {**demo, "GetItem": 1}, signed_up

    httpx.post(f"{festival['next_action']['url']}/pay", timeout=10)
    wait_for(lambda: order_status(api, festival) == "paid", what="the festival order to be paid")
    intent = sandbox_get(stack, f"/v1/payment_intents/{session_of(stack, festival, None)['payment_intent']}")
    assert intent["application_fee_amount"] is None, intent
    assert intent.get("on_behalf_of") is None and intent["amount"] == festival["total"]["amount"]
