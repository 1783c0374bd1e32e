"""CamPay, PayDunya and PayPal end to end: pay, fail, duplicates, forgeries, limits."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from urllib.parse import urlencode

import httpx
import jwt
import pytest
from e2e_support import add_product, customer_client, made_to_order, order_status, wait_for

CAMPAY_KEY = "campay-local-webhook-key-not-a-secret-0000"
PAYDUNYA_MASTER = "paydunya-local-master-key-not-a-secret"


def buy(api, sku, currency, *, phone=None, provider=None, quantity=1, email=None) -> dict:
    customer = {"name": "Awa", "email": email or f"awa-{uuid.uuid4().hex[:6]}@example.test", "locale": "fr"}
    if phone:
        customer["phone"] = phone
    body = {"items": [{"sku": sku, "quantity": quantity}], "currency": currency, "customer": customer}
    body.update(made_to_order(sku))
    if provider:
        body["provider"] = provider
    with customer_client(api) as own:  # each customer on their own network (per-IP caps)
        answer = own.post("/checkouts", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def history(stack, order_id) -> list[str]:
    items = stack.table("OrdersTable").query(
        KeyConditionExpression="pk = :pk AND begins_with(sk, :h)",
        ExpressionAttributeValues={":pk": f"ORDER#{order_id}", ":h": "HISTORY#"},
        ConsistentRead=True,
    )["Items"]
    return [item["to_status"] for item in items]


def handset(stack, reference: str, action: str) -> None:
    answer = httpx.post(
        f"{stack.sandbox}/handset/{reference}/{action}", headers={"Accept": "application/json"}, timeout=10
    )
    assert answer.status_code == 200, answer.text


def campay_reference(stack, order: dict) -> str:
    prompts = httpx.get(f"{stack.sandbox}/handset", headers={"Accept": "application/json"}, timeout=10).json()
    prompts = prompts.get("prompts", prompts) if isinstance(prompts, dict) else prompts
    # The phone shows what the customer would see: the description names the order number.
    return next(p["reference"] for p in prompts if order["order_number"] in p["description"])


# --------------------------------------------------------------------------------------- CamPay


def test_campay_ussd_prompt_approved_on_the_phone_pays_the_order_once(api, stack):
    stack.sandbox_config(duplicates=3)
    order = buy(api, "SONG-STANDARD", "XAF", phone="237677777777")
    assert order["provider"] == "campay"
    assert order["total"] == {"amount": 60000, "currency": "XAF"}
    action = order["next_action"]
    assert action["type"] == "ussd_prompt" and action["operator"] == "mtn" and action["ussd_code"]
    page = httpx.get(f"{stack.sandbox}/handset", timeout=10)
    assert "XAF" in page.text and ">Approve<" in page.text and ">Reject<" in page.text
    handset(stack, campay_reference(stack, order), "approve")
    wait_for(lambda: order_status(api, order) == "paid", what="paid")
    stack.flush_deliveries()  # every duplicate callback has been answered
    assert history(stack, order["order_id"]) == ["pending_payment", "paid"]


def test_campay_prompt_rejected_fails_the_payment(api, stack):
    order = buy(api, "SONG-STANDARD", "XAF", phone="237699999999")
    assert order["next_action"]["operator"] == "orange"
    handset(stack, campay_reference(stack, order), "reject")
    wait_for(lambda: order_status(api, order) == "payment_failed", what="payment_failed")


@pytest.mark.parametrize(
    "token",
    [
        jwt.encode({"iat": int(time.time())}, None, algorithm="none"),
        jwt.encode({"iat": int(time.time())}, "a-key-that-is-not-ours-but-long-enough", algorithm="HS256"),
        "not-a-jwt",
    ],
    ids=["alg-none", "wrong-key", "garbage"],
)
def test_a_forged_campay_callback_settles_nothing(api, stack, token):
    order = buy(api, "SONG-STANDARD", "XAF", phone="237677777777")
    reference = campay_reference(stack, order)
    fields = {
        "status": "SUCCESSFUL",
        "reference": reference,
        "amount": "60000",
        "currency": "XAF",
        "external_reference": order["order_id"],
        "signature": token,
    }
    assert api.post("/webhooks/campay", json=fields).status_code == 400
    assert api.get(f"/webhooks/campay?{urlencode(fields)}").status_code == 400
    assert order_status(api, order) == "pending_payment"


def test_a_genuine_callback_whose_claims_lie_still_settles_only_what_campay_says(api, stack):
    """The JWT binds nothing: a real signature on a callback saying SUCCESSFUL for a prompt the
    customer never approved must not pay the order."""
    order = buy(api, "SONG-STANDARD", "XAF", phone="237677777777")
    token = jwt.encode({"iat": int(time.time())}, CAMPAY_KEY, algorithm="HS256")
    fields = {
        "status": "SUCCESSFUL",
        "reference": campay_reference(stack, order),
        "amount": "60000",
        "external_reference": order["order_id"],
        "signature": token,
    }
    answer = api.post("/webhooks/campay", json=fields)
    assert answer.status_code == 200
    assert answer.json()["result"] == "unchanged"
    assert order_status(api, order) == "pending_payment"


@pytest.mark.parametrize(
    ("phone", "error"),
    [(None, "invalid_phone"), ("677777777", "invalid_phone"), ("237620000000", "payment_refused")],
)
def test_campay_phone_rules_are_clear_4xx(api, phone, error):
    customer = {"name": "Awa", "email": "awa@example.test", **({"phone": phone} if phone else {})}
    answer = api.post(
        "/checkouts",
        json={
            "items": [{"sku": "SONG-STANDARD", "quantity": 1}],
            "currency": "XAF",
            "customer": customer,
            **made_to_order("SONG-STANDARD"),
        },
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == error


# ------------------------------------------------------------------------------------- PayDunya


def paydunya_token(order: dict) -> str:
    return order["next_action"]["url"].rstrip("/").rsplit("/", 1)[1]


def test_paydunya_invoice_paid_on_its_page_pays_the_order(api, stack):
    order = buy(api, "OL-CONCERT-STANDARD", "XOF", phone="+22670000001", quantity=2)
    assert order["provider"] == "paydunya"
    assert order["total"] == {"amount": 10000, "currency": "XOF"}
    page = httpx.get(order["next_action"]["url"], timeout=10)
    assert "10000" in page.text and ">Pay<" in page.text and ">Decline<" in page.text
    httpx.post(f"{order['next_action']['url']}/pay", timeout=10)
    wait_for(lambda: order_status(api, order) == "paid", what="paid")
    assert history(stack, order["order_id"]) == ["pending_payment", "paid"]


def test_paydunya_decline_fails_the_payment(api, stack):
    order = buy(api, "OL-CONCERT-STANDARD", "XOF", phone="+22670000002")
    httpx.post(f"{order['next_action']['url']}/decline", timeout=10)
    wait_for(lambda: order_status(api, order) == "payment_failed", what="payment_failed")


def ipn(token: str, order_id: str, total: int, status: str = "completed", master: str = PAYDUNYA_MASTER) -> bytes:
    return urlencode(
        {
            "data[hash]": hashlib.sha512(master.encode()).hexdigest(),
            "data[status]": status,
            "data[response_code]": "00",
            "data[invoice][token]": token,
            "data[invoice][total_amount]": str(total),
            "data[custom_data][order_id]": order_id,
        }
    ).encode()


def test_a_replayed_paydunya_ipn_for_a_pending_invoice_settles_nothing(api, stack):
    order = buy(api, "OL-CONCERT-STANDARD", "XOF", phone="+22670000003")
    body = ipn(paydunya_token(order), order["order_id"], 5000)  # the right hash, a lie about the status
    answer = api.post("/webhooks/paydunya", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 200
    assert answer.json()["result"] == "unchanged"
    assert order_status(api, order) == "pending_payment"


def test_a_paydunya_ipn_whose_total_or_order_differs_pays_only_what_paydunya_confirms(api, stack):
    cheap = buy(api, "OL-CONCERT-STANDARD", "XOF", phone="+22670000004")
    dear = buy(api, "OL-CONCERT-STANDARD", "XOF", phone="+22670000005", quantity=3)
    httpx.post(f"{cheap['next_action']['url']}/pay", timeout=10)
    wait_for(lambda: order_status(api, cheap) == "paid", what="the cheap order paid")
    # The cheap invoice's token, claiming the dear order and its total.
    body = ipn(paydunya_token(cheap), dear["order_id"], 15000)
    answer = api.post("/webhooks/paydunya", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 200
    assert order_status(api, dear) == "pending_payment"
    wrong_hash = ipn(paydunya_token(dear), dear["order_id"], 15000, master="not-our-master-key")
    assert (
        api.post(
            "/webhooks/paydunya", content=wrong_hash, headers={"Content-Type": "application/x-www-form-urlencoded"}
        ).status_code
        == 400
    )


def test_burkina_rules_phone_format_limits_review_and_attempts(api, stack):
    def attempt(phone, sku="OL-CONCERT-STANDARD", quantity=1):
        # Another email and another network each time: the attempt limit follows the phone.
        with customer_client(stack) as own:
            return own.post(
                "/checkouts",
                json={
                    "items": [{"sku": sku, "quantity": quantity}],
                    "currency": "XOF",
                    "customer": {"name": "A", "email": f"a-{uuid.uuid4().hex[:8]}@example.test", "phone": phone},
                },
            )

    assert attempt("70000001").json()["error"] == "invalid_phone"
    assert attempt("+2257000000").json()["error"] == "invalid_phone"
    cheap = f"E2E-OL-CHEAP-{time.time_ns()}"
    add_product(stack, cheap, stock=None, prices={"XOF": 50}, merchant="ouaga-live")
    small = attempt("+22670000100", sku=cheap)
    assert (small.status_code, small.json()["error"]) == (422, "amount_out_of_range")

    vip = buy(api, "OL-CONCERT-VIP", "XOF", phone="+22670000101")  # XOF 150 000: above the review line
    httpx.post(f"{vip['next_action']['url']}/pay", timeout=10)
    wait_for(lambda: order_status(api, vip) == "needs_review", what="manual review")

    phone = "+2267" + str(time.time_ns())[-7:]
    codes = [attempt(phone).status_code for _ in range(6)]
    assert codes == [201] * 5 + [429]


# --------------------------------------------------------------------------------------- PayPal


def paypal_id(order: dict) -> str:
    return order["next_action"]["url"].split("token=")[1]


def test_paypal_approved_is_captured_and_paid_once(api, stack):
    stack.sandbox_config(duplicates=2)
    order = buy(api, "FEST-DAY-PASS", "USD", provider="paypal")
    assert order["provider"] == "paypal"
    assert "/paypal/checkoutnow?token=" in order["next_action"]["url"]
    page = httpx.get(order["next_action"]["url"], timeout=10)
    assert "45.00" in page.text
    httpx.post(f"{stack.sandbox}/paypal/checkoutnow/{paypal_id(order)}/pay", timeout=10)
    wait_for(lambda: order_status(api, order) == "paid", what="paid")
    stack.flush_deliveries()  # every duplicate webhook has been answered
    assert history(stack, order["order_id"]) == ["pending_payment", "paid"]


def test_paypal_declined_capture_fails_the_payment(api, stack):
    order = buy(api, "FEST-DAY-PASS", "USD", provider="paypal")
    httpx.post(f"{stack.sandbox}/paypal/checkoutnow/{paypal_id(order)}/decline", timeout=10)
    wait_for(lambda: order_status(api, order) == "payment_failed", what="payment_failed")


def test_a_paypal_event_that_fails_verification_settles_nothing(api, stack):
    order = buy(api, "FEST-DAY-PASS", "USD", provider="paypal")
    event = {
        "id": f"WH-{uuid.uuid4().hex}",
        "event_type": "PAYMENT.CAPTURE.COMPLETED",
        "resource": {
            "id": "CAP1",
            "status": "COMPLETED",
            "custom_id": order["order_id"],
            "amount": {"currency_code": "USD", "value": "45.00"},
        },
    }
    headers = {
        "Content-Type": "application/json",
        "PAYPAL-TRANSMISSION-ID": str(uuid.uuid4()),
        "PAYPAL-TRANSMISSION-TIME": "2026-11-24T08:00:00Z",
        "PAYPAL-TRANSMISSION-SIG": "Zm9yZ2Vk",
        "PAYPAL-CERT-URL": f"{stack.sandbox}/paypal/v1/notifications/certs/forged",
        "PAYPAL-AUTH-ALGO": "SHA256withRSA",
    }
    assert api.post("/webhooks/paypal", content=json.dumps(event), headers=headers).status_code == 400
    assert (
        api.post(
            "/webhooks/paypal", content=json.dumps(event), headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )
    assert order_status(api, order) == "pending_payment"


def test_providers_refuse_currencies_they_cannot_take(api):
    for currency, provider in (("XAF", "paypal"), ("XOF", "stripe"), ("USD", "campay")):
        answer = api.post(
            "/checkouts",
            json={
                "items": [{"sku": "SONG-STANDARD", "quantity": 1}],
                "currency": currency,
                "provider": provider,
                "customer": {"name": "A", "email": "a@example.test", "phone": "237677777777"},
                **made_to_order("SONG-STANDARD"),
            },
        )
        assert answer.status_code == 422, (currency, provider, answer.text)
        assert answer.json()["error"] in ("provider_not_available", "currency_not_offered")
