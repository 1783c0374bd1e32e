"""The sandbox's PayPal Orders v2, driven the way Caisse drives PayPal: plain httpx with an OAuth bearer
token, the approval page through its HTML forms, and webhooks caught on loopback, verified through
verify-webhook-signature with the raw body spliced in (and offline, with the certificate)."""

from __future__ import annotations

import base64
import calendar
import json
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from sandbox_support import WAIT, LoopbackReceiver, api_client, deliveries, lower_headers, poll
from sandbox_support import http as http
from sandbox_support import sandbox as sandbox

from provider_sandbox.app import SandboxServer

pytestmark = pytest.mark.timeout(60)

CLIENT_ID, CLIENT_SECRET = "local-client-id", "local-client-secret"
RETURN_URL = "http://127.0.0.1:3000/shop/orders/ord_1?result=success"
CANCEL_URL = "http://127.0.0.1:3000/shop/cart?result=cancel"


@dataclass
class Received:
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def event(self) -> dict:
        return json.loads(self.body)


class Receiver(LoopbackReceiver[Received]):
    """Catches webhook POSTs on loopback and answers 200."""

    path = "/webhooks/paypal"

    def capture(self, request: BaseHTTPRequestHandler, body: bytes) -> Received:
        return Received(lower_headers(request), body)

    def wait_for_type(self, event_type: str, timeout: float = WAIT) -> Received:
        def find(received: list[Received]) -> Received | None:
            return next((r for r in received if r.event["event_type"] == event_type), None)

        def got(received: list[Received]) -> list[str]:
            return [r.event["event_type"] for r in received]

        return find(self.wait_until(lambda received: find(received) is not None, timeout, event_type, got))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver


def access_token(http: httpx.Client, sandbox: SandboxServer) -> str:
    response = http.post(
        f"{sandbox.url}/paypal/v1/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    assert response.status_code == 200, response.text
    assert (response.json()["token_type"], response.json()["expires_in"]) == ("Bearer", 32400)
    return response.json()["access_token"]


@pytest.fixture
def api(http: httpx.Client, sandbox: SandboxServer) -> Iterator[httpx.Client]:
    """PayPal's API at its base URL with a bearer token, as our code calls it."""
    with api_client(f"{sandbox.url}/paypal/", {"Authorization": f"Bearer {access_token(http, sandbox)}"}) as client:
        yield client


@pytest.fixture
def webhook_id(api: httpx.Client, receiver: Receiver) -> str:
    """Our webhook URL, registered once as the local stack does."""
    response = api.post("v1/notifications/webhooks", json={"url": receiver.url, "event_types": [{"name": "*"}]})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def order_body(currency: str = "USD", value: str = "99.00", **context: object) -> dict:
    return {
        "intent": "CAPTURE",
        "purchase_units": [
            {
                "reference_id": "ord_1",
                "custom_id": "ord_1",
                "invoice_id": f"US-{time.monotonic_ns()}",
                "description": "Ceramic shop US-1001",
                "amount": {"currency_code": currency, "value": value},
            }
        ],
        "payment_source": {
            "paypal": {
                "experience_context": {
                    "return_url": RETURN_URL,
                    "cancel_url": CANCEL_URL,
                    "brand_name": "Ceramic shop",
                    "locale": "en-US",
                    "user_action": "PAY_NOW",
                    **context,
                }
            }
        },
    }


def create_order(api: httpx.Client, body: dict | None = None, request_id: str | None = None) -> httpx.Response:
    headers = {"PayPal-Request-Id": request_id} if request_id else {}
    return api.post("v2/checkout/orders", json=body or order_body(), headers=headers)


def link(resource: dict, rel: str) -> str:
    return next(item["href"] for item in resource["links"] if item["rel"] == rel)


def verify(api: httpx.Client, received: Received, webhook_id: str, event_text: str) -> str:
    """Ask verify-webhook-signature, splicing ``event_text`` in as the webhook_event member."""
    names = ("auth_algo", "cert_url", "transmission_id", "transmission_sig", "transmission_time")
    envelope = {name: received.headers[f"paypal-{name.replace('_', '-')}"] for name in names}
    envelope["webhook_id"] = webhook_id
    body = json.dumps(envelope)[:-1] + ', "webhook_event": ' + event_text + "}"
    response = api.post(
        "v1/notifications/verify-webhook-signature", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    return response.json()["verification_status"]


def approve(http: httpx.Client, sandbox: SandboxServer, order_id: str, action: str = "pay") -> httpx.Response:
    return http.post(f"{sandbox.url}/paypal/checkoutnow/{order_id}/{action}")


# ---------------------------------------------------------------------------------------------------


def test_oauth_and_bearer_are_required(http: httpx.Client, sandbox: SandboxServer) -> None:
    token_url = f"{sandbox.url}/paypal/v1/oauth2/token"
    assert http.post(token_url, data={"grant_type": "client_credentials"}).status_code == 401
    wrong_grant = http.post(token_url, data={"grant_type": "password"}, auth=(CLIENT_ID, CLIENT_SECRET))
    assert wrong_grant.status_code == 400
    assert http.post(f"{sandbox.url}/paypal/v2/checkout/orders", json=order_body()).status_code == 401
    bad = http.get(f"{sandbox.url}/paypal/v2/checkout/orders/X", headers={"Authorization": "Bearer nope"})
    assert (bad.status_code, bad.json()["name"]) == (401, "AUTHENTICATION_FAILURE")
    assert access_token(http, sandbox).startswith("A21AA")


def test_create_order_links_idempotency_and_refusals(api: httpx.Client, sandbox: SandboxServer) -> None:
    first = create_order(api, request_id="order-ord_1-1")
    assert first.status_code == 201
    order = first.json()
    assert order["status"] == "PAYER_ACTION_REQUIRED" and "payment_source" in order
    assert link(order, "payer-action") == f"{sandbox.url}/paypal/checkoutnow?token={order['id']}"
    assert link(order, "self") == f"{sandbox.url}/paypal/v2/checkout/orders/{order['id']}"

    replay = create_order(api, request_id="order-ord_1-1")
    assert (replay.status_code, replay.json()["id"]) == (200, order["id"])
    assert create_order(api, request_id="order-ord_1-2").json()["id"] != order["id"]

    legacy = order_body()
    context = legacy.pop("payment_source")["paypal"]["experience_context"]
    legacy["application_context"] = context
    created = api.post("v2/checkout/orders", json=legacy, headers={"Prefer": "return=representation"})
    assert created.status_code == 201
    assert created.json()["status"] == "CREATED"
    assert {item["rel"] for item in created.json()["links"]} == {"self", "approve", "update", "capture"}
    assert created.json()["purchase_units"][0]["amount"] == {"currency_code": "USD", "value": "99.00"}

    full = api.get(f"v2/checkout/orders/{order['id']}").json()
    assert (full["intent"], full["purchase_units"][0]["custom_id"]) == ("CAPTURE", "ord_1")

    for currency, value, issue in (
        ("XAF", "60000", "CURRENCY_NOT_SUPPORTED"),
        ("XOF", "5000", "CURRENCY_NOT_SUPPORTED"),
        ("USD", "99.999", "DECIMAL_PRECISION"),
        ("JPY", "100.00", "DECIMALS_NOT_SUPPORTED"),
        ("USD", "0.00", "CANNOT_BE_ZERO_OR_NEGATIVE"),
    ):
        refused = create_order(api, order_body(currency, value))
        assert refused.status_code == 422, (currency, value)
        assert (refused.json()["name"], refused.json()["details"][0]["issue"]) == ("UNPROCESSABLE_ENTITY", issue)
    assert create_order(api, order_body("JPY", "1500")).status_code == 201
    malformed = create_order(api, order_body("USD", "ninety"))
    assert (malformed.status_code, malformed.json()["name"]) == (400, "INVALID_REQUEST")
    assert api.get("v2/checkout/orders/NOPE").status_code == 404


def test_pay_approve_capture_and_signed_webhooks(
    api: httpx.Client, http: httpx.Client, sandbox: SandboxServer, receiver: Receiver, webhook_id: str
) -> None:
    order_id = create_order(api).json()["id"]
    early = api.post(f"v2/checkout/orders/{order_id}/capture", json={})
    assert (early.status_code, early.json()["details"][0]["issue"]) == (422, "ORDER_NOT_APPROVED")

    page = http.get(f"{sandbox.url}/paypal/checkoutnow", params={"token": order_id})
    assert page.status_code == 200
    assert "USD 99.00" in page.text and "Ceramic shop" in page.text
    assert f'action="/paypal/checkoutnow/{order_id}/pay"' in page.text and ">Pay</button>" in page.text
    assert f'action="/paypal/checkoutnow/{order_id}/decline"' in page.text and ">Decline</button>" in page.text
    assert "Cancel and return" in page.text and f"result=cancel&amp;token={order_id}" in page.text

    paid = approve(http, sandbox, order_id)
    assert paid.status_code == 303
    location = paid.headers["Location"]
    assert location.startswith(f"{RETURN_URL}&token={order_id}&PayerID=")

    approved = receiver.wait_for_type("CHECKOUT.ORDER.APPROVED")
    event = approved.event
    assert event["id"].startswith("WH-") and event["event_version"] == "1.0"
    assert (event["resource_type"], event["resource_version"]) == ("checkout-order", "2.0")
    assert (event["resource"]["id"], event["resource"]["status"]) == (order_id, "APPROVED")
    assert approved.headers["paypal-auth-algo"] == "SHA256withRSA"

    raw = approved.body.decode()
    assert verify(api, approved, webhook_id, raw) == "SUCCESS"
    assert verify(api, approved, webhook_id, json.dumps(json.loads(raw))) == "FAILURE"  # re-serialised
    assert verify(api, approved, "WRONGWEBHOOKID123", raw) == "FAILURE"
    forged = Received({**approved.headers, "paypal-cert-url": "https://example.com/cert.pem"}, approved.body)
    assert verify(api, forged, webhook_id, raw) == "FAILURE"

    # Offline (option B): the certificate from PAYPAL-CERT-URL verifies the same message.
    cert = x509.load_pem_x509_certificate(http.get(approved.headers["paypal-cert-url"]).content)
    message = "|".join(
        [
            approved.headers["paypal-transmission-id"],
            approved.headers["paypal-transmission-time"],
            webhook_id,
            str(zlib.crc32(approved.body)),
        ]
    )
    signature = base64.b64decode(approved.headers["paypal-transmission-sig"])
    cert.public_key().verify(signature, message.encode(), padding.PKCS1v15(), hashes.SHA256())

    headers = {"PayPal-Request-Id": f"capture-{order_id}"}
    captured = api.post(f"v2/checkout/orders/{order_id}/capture", json={}, headers=headers)
    assert captured.status_code == 201
    assert captured.json()["status"] == "COMPLETED"
    capture = captured.json()["purchase_units"][0]["payments"]["captures"][0]
    assert (capture["status"], capture["amount"], capture["custom_id"]) == (
        "COMPLETED",
        {"currency_code": "USD", "value": "99.00"},
        "ord_1",
    )
    assert capture["supplementary_data"]["related_ids"]["order_id"] == order_id
    assert capture["seller_receivable_breakdown"]["gross_amount"]["value"] == "99.00"
    replay = api.post(f"v2/checkout/orders/{order_id}/capture", json={}, headers=headers)
    assert (replay.status_code, replay.json()["purchase_units"][0]["payments"]["captures"][0]["id"]) == (
        200,
        capture["id"],
    )
    again = api.post(f"v2/checkout/orders/{order_id}/capture", json={})
    assert (again.status_code, again.json()["details"][0]["issue"]) == (422, "ORDER_ALREADY_CAPTURED")

    completed = receiver.wait_for_type("PAYMENT.CAPTURE.COMPLETED")
    resource = completed.event["resource"]
    assert (resource["id"], resource["custom_id"], resource["status"]) == (capture["id"], "ord_1", "COMPLETED")
    assert resource["supplementary_data"]["related_ids"]["order_id"] == order_id
    assert verify(api, completed, webhook_id, completed.body.decode()) == "SUCCESS"
    assert api.get(f"v2/payments/captures/{capture['id']}").json()["status"] == "COMPLETED"
    assert api.get(f"v2/checkout/orders/{order_id}").json()["status"] == "COMPLETED"


def test_decline_approves_then_the_capture_is_declined(
    api: httpx.Client, http: httpx.Client, sandbox: SandboxServer, receiver: Receiver, webhook_id: str
) -> None:
    order_id = create_order(api).json()["id"]
    declined = http.post(f"{sandbox.url}/paypal/checkoutnow/{order_id}/decline", headers={"Accept": "application/json"})
    assert (declined.status_code, declined.json()["status"]) == (200, "APPROVED")
    receiver.wait_for_type("CHECKOUT.ORDER.APPROVED")

    captured = api.post(f"v2/checkout/orders/{order_id}/capture", json={})
    assert captured.status_code == 201
    capture = captured.json()["purchase_units"][0]["payments"]["captures"][0]
    assert capture["status"] == "DECLINED"

    event = receiver.wait_for_type("PAYMENT.CAPTURE.DECLINED")
    assert (event.event["resource"]["id"], event.event["resource"]["custom_id"]) == (capture["id"], "ord_1")
    assert verify(api, event, webhook_id, event.body.decode()) == "SUCCESS"
    refused = api.post(f"v2/payments/captures/{capture['id']}/refund")
    assert refused.status_code == 422


def test_full_partial_and_excess_refunds(
    api: httpx.Client, http: httpx.Client, sandbox: SandboxServer, receiver: Receiver, webhook_id: str
) -> None:
    order_id = create_order(api).json()["id"]
    approve(http, sandbox, order_id)
    captured = api.post(f"v2/checkout/orders/{order_id}/capture", json={}).json()
    capture_id = captured["purchase_units"][0]["payments"]["captures"][0]["id"]

    part = {"amount": {"currency_code": "USD", "value": "30.00"}, "note_to_payer": "Sorry"}
    partial = api.post(f"v2/payments/captures/{capture_id}/refund", json=part, headers={"PayPal-Request-Id": "r-1"})
    assert (partial.status_code, partial.json()["status"]) == (201, "COMPLETED")
    replay = api.post(f"v2/payments/captures/{capture_id}/refund", json=part, headers={"PayPal-Request-Id": "r-1"})
    assert (replay.status_code, replay.json()["id"]) == (200, partial.json()["id"])
    assert api.get(f"v2/payments/captures/{capture_id}").json()["status"] == "PARTIALLY_REFUNDED"

    too_much = {"amount": {"currency_code": "USD", "value": "70.00"}}
    exceeded = api.post(f"v2/payments/captures/{capture_id}/refund", json=too_much)
    assert (exceeded.status_code, exceeded.json()["details"][0]["issue"]) == (422, "REFUND_AMOUNT_EXCEEDED")

    rest = api.post(f"v2/payments/captures/{capture_id}/refund", headers={"Prefer": "return=representation"})
    assert rest.status_code == 201
    assert rest.json()["amount"] == {"currency_code": "USD", "value": "69.00"}
    assert api.get(f"v2/payments/refunds/{rest.json()['id']}").json()["status"] == "COMPLETED"
    assert api.get(f"v2/payments/captures/{capture_id}").json()["status"] == "REFUNDED"
    assert api.post(f"v2/payments/captures/{capture_id}/refund").status_code == 422

    refunds = poll(
        lambda: [r for r in receiver.received if r.event["event_type"] == "PAYMENT.CAPTURE.REFUNDED"],
        lambda found: len(found) >= 2,
    )
    values = sorted(r.event["resource"]["amount"]["value"] for r in refunds)
    assert values == ["30.00", "69.00"]
    up = link(refunds[0].event["resource"], "up")
    assert up == f"{sandbox.url}/paypal/v2/payments/captures/{capture_id}"
    assert verify(api, refunds[0], webhook_id, refunds[0].body.decode()) == "SUCCESS"


def captured_payment(api: httpx.Client, http: httpx.Client, sandbox: SandboxServer) -> str:
    order_id = create_order(api).json()["id"]
    approve(http, sandbox, order_id)
    captured = api.post(f"v2/checkout/orders/{order_id}/capture", json={}).json()
    return captured["purchase_units"][0]["payments"]["captures"][0]["id"]


def test_money_moved_outside_the_shop_refund_reversal_dispute(
    api: httpx.Client, http: httpx.Client, sandbox: SandboxServer, receiver: Receiver, webhook_id: str
) -> None:
    refunded = captured_payment(api, http, sandbox)
    dashboard = http.post(
        f"{sandbox.url}/_sandbox/paypal/captures/{refunded}/refund",
        json={"amount": {"currency_code": "USD", "value": "9.00"}},
    )
    assert dashboard.status_code == 200 and "custom_id" not in dashboard.json()
    event = receiver.wait_for_type("PAYMENT.CAPTURE.REFUNDED")
    assert event.event["resource"]["id"] == dashboard.json()["id"]

    reversed_ = captured_payment(api, http, sandbox)
    reversal = http.post(f"{sandbox.url}/_sandbox/paypal/captures/{reversed_}/reverse").json()
    event = receiver.wait_for_type("PAYMENT.CAPTURE.REVERSED")
    assert event.event["resource_type"] == "refund" and link(event.event["resource"], "up").endswith(reversed_)
    assert api.get(f"v2/payments/refunds/{reversal['id']}").json()["status"] == "COMPLETED"  # readable again
    assert api.get(f"v2/payments/captures/{reversed_}").json()["status"] == "REFUNDED"
    assert verify(api, event, webhook_id, event.body.decode()) == "SUCCESS"

    disputed = captured_payment(api, http, sandbox)
    opened = http.post(f"{sandbox.url}/_sandbox/paypal/captures/{disputed}/dispute", json={}).json()
    created = receiver.wait_for_type("CUSTOMER.DISPUTE.CREATED")
    assert created.event["resource"]["dispute_id"] == opened["dispute_id"]
    record = api.get(f"v1/customer/disputes/{opened['dispute_id']}").json()
    assert record["disputed_transactions"][0]["seller_transaction_id"] == disputed
    assert (record["status"], record["dispute_amount"]["value"]) == ("WAITING_FOR_SELLER_RESPONSE", "99.00")
    resolve = f"{sandbox.url}/_sandbox/paypal/disputes/{opened['dispute_id']}/resolve"
    assert http.post(resolve, json={"outcome": "RESOLVED_BUYER_FAVOUR"}).status_code == 200
    resolved = receiver.wait_for_type("CUSTOMER.DISPUTE.RESOLVED")
    assert resolved.event["resource"]["dispute_outcome"]["outcome_code"] == "RESOLVED_BUYER_FAVOUR"
    assert api.get(f"v1/customer/disputes/{opened['dispute_id']}").json()["status"] == "RESOLVED"


def test_transmissions_are_seen_as_on_the_wire_and_signed_with_paypals_clock(
    api: httpx.Client, http: httpx.Client, sandbox: SandboxServer, receiver: Receiver, webhook_id: str
) -> None:
    http.post(f"{sandbox.url}/_sandbox/config", json={"clock_skew_seconds": {"paypal": -3600}})
    captured_payment(api, http, sandbox)
    event = receiver.wait_for_type("PAYMENT.CAPTURE.COMPLETED")
    sent = calendar.timegm(time.strptime(event.headers["paypal-transmission-time"], "%Y-%m-%dT%H:%M:%SZ"))
    assert 3500 < time.time() - sent < 3700  # an hour behind, as configured
    wire = http.get(f"{sandbox.url}/_sandbox/paypal/transmissions").json()
    [seen] = [t for t in wire if t["body"] == event.body.decode()]
    assert seen["headers"]["PAYPAL-TRANSMISSION-SIG"] == event.headers["paypal-transmission-sig"]
    # Like PayPal's, the signature binds only the CRC-32 of the body.
    assert verify(api, event, webhook_id, event.body.decode()) == "SUCCESS"
    assert zlib.crc32(event.body) == zlib.crc32(seen["body"].encode())


def test_cancel_link_changes_nothing_and_drop_webhooks_drops(
    api: httpx.Client, http: httpx.Client, sandbox: SandboxServer, receiver: Receiver, webhook_id: str
) -> None:
    order_id = create_order(api).json()["id"]
    assert api.get(f"v2/checkout/orders/{order_id}").json()["status"] == "PAYER_ACTION_REQUIRED"

    http.post(f"{sandbox.url}/_sandbox/config", json={"drop_webhooks": True}).raise_for_status()
    approve(http, sandbox, order_id)
    log = deliveries(http, sandbox, 1, provider="paypal")
    assert [(d["type"], d["dropped"], d["endpoint"]) for d in log] == [("CHECKOUT.ORDER.APPROVED", True, webhook_id)]
    assert receiver.received == []  # a dropped delivery is logged instead of sent
    assert api.get(f"v2/checkout/orders/{order_id}").json()["status"] == "APPROVED"  # reconciliation sees it


def test_webhook_registration_rules(api: httpx.Client, receiver: Receiver, webhook_id: str) -> None:
    listed = api.get("v1/notifications/webhooks").json()["webhooks"]
    assert [(w["id"], w["url"]) for w in listed] == [(webhook_id, receiver.url)]
    duplicate = api.post("v1/notifications/webhooks", json={"url": receiver.url, "event_types": [{"name": "*"}]})
    assert (duplicate.status_code, duplicate.json()["name"]) == (400, "WEBHOOK_URL_ALREADY_EXISTS")
    remote = api.post(
        "v1/notifications/webhooks", json={"url": "https://example.com/h", "event_types": [{"name": "*"}]}
    )
    assert remote.status_code == 400
    typo = api.post(
        "v1/notifications/webhooks", json={"url": receiver.url + "2", "event_types": [{"name": "payment.done"}]}
    )
    assert typo.status_code == 400
    assert api.delete(f"v1/notifications/webhooks/{webhook_id}").status_code == 204
    assert api.get("v1/notifications/webhooks").json()["webhooks"] == []
