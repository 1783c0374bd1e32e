"""The sandbox's PayDunya, driven the way Caisse drives PayDunya: plain httpx with the three key
headers, the invoice page through its HTML forms, and the form-encoded IPN caught on loopback with
``data[hash]`` checked against SHA-512 of the master key."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl

import httpx
import pytest
from sandbox_support import WAIT, LoopbackReceiver, api_client, deliveries, lower_headers
from sandbox_support import http as http
from sandbox_support import sandbox as sandbox

from provider_sandbox.app import SandboxServer

pytestmark = pytest.mark.timeout(60)

MASTER_KEY = "paydunya-master-key-local"
KEYS = {
    "PAYDUNYA-MASTER-KEY": MASTER_KEY,
    "PAYDUNYA-PRIVATE-KEY": "test_private_local_caisse",
    "PAYDUNYA-TOKEN": "paydunya-token-local",
}


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("ascii"), keep_blank_values=True, strict_parsing=True))


class Receiver(LoopbackReceiver[Received]):
    """Catches IPN POSTs on loopback and answers 200."""

    path = "/webhooks/paydunya"

    def capture(self, request: BaseHTTPRequestHandler, body: bytes) -> Received:
        return Received(request.path, lower_headers(request), body)

    def wait_for(self, count: int = 1, timeout: float = WAIT) -> list[Received]:
        return self.wait_until(lambda received: len(received) >= count, timeout, f"{count} IPN(s)", len)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def api(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    """PayDunya's sandbox API at its base URL with the three key headers, as our code calls it."""
    with api_client(f"{sandbox.url}/paydunya/sandbox-api/v1/", KEYS) as client:
        yield client


def invoice_body(receiver: Receiver, **invoice: object) -> dict:
    return {
        "invoice": {
            "items": {
                "item_0": {"name": "Pagne wax", "quantity": 2, "unit_price": 2000, "total_price": 4000},
                "item_1": {"name": "Livraison", "quantity": 1, "unit_price": 1000, "total_price": 1000},
            },
            "total_amount": 5000,
            "description": "Boutique Awa SN-1001",
            **invoice,
        },
        "store": {"name": "Boutique Awa"},
        "custom_data": {"order_id": "ord_123", "order_number": "SN-1001"},
        "actions": {
            "cancel_url": "http://127.0.0.1:3000/shop/cart?result=cancel",
            "return_url": "http://127.0.0.1:3000/shop/orders/ord_123?result=success",
            "callback_url": receiver.url,
        },
    }


def create(api: httpx.Client, receiver: Receiver, **invoice: object) -> dict:
    response = api.post("checkout-invoice/create", json=invoice_body(receiver, **invoice))
    assert response.status_code == 200, response.text
    assert response.json()["response_code"] == "00"
    return response.json()


def test_pay_on_the_page_redirects_sends_the_ipn_and_confirms_completed(
    api: httpx.Client, http: httpx.Client, sandbox: SandboxServer, receiver: Receiver
) -> None:
    created = create(api, receiver)
    token = created["token"]
    assert created["description"] == "Checkout Invoice Created"
    assert created["response_text"] == f"{sandbox.url}/paydunya/checkout/invoice/{token}"

    pending = api.get(f"checkout-invoice/confirm/{token}").json()
    assert (pending["response_code"], pending["status"]) == ("00", "pending")
    assert pending["invoice"]["total_amount"] == 5000
    assert "token" not in pending["invoice"]  # the official SDK's confirm() reads no token back
    assert pending["custom_data"] == {"order_id": "ord_123", "order_number": "SN-1001"}
    assert "customer" not in pending and "receipt_url" not in pending

    page = http.get(created["response_text"])
    assert page.status_code == 200
    assert "XOF 5000" in page.text and "Boutique Awa SN-1001" in page.text and "Pagne wax" in page.text
    assert f'action="/paydunya/checkout/invoice/{token}/pay"' in page.text and ">Pay</button>" in page.text
    assert f'action="/paydunya/checkout/invoice/{token}/decline"' in page.text and ">Decline</button>" in page.text

    paid = http.post(
        f"{sandbox.url}/paydunya/checkout/invoice/{token}/pay",
        data={"name": "Awa Diop", "phone": "771234567", "email": "awa@example.sn"},
    )
    assert paid.status_code == 303
    assert paid.headers["Location"] == f"http://127.0.0.1:3000/shop/orders/ord_123?result=success&token={token}"

    ipn = receiver.wait_for()[0]
    assert ipn.path == "/webhooks/paydunya"
    assert ipn.headers["content-type"] == "application/x-www-form-urlencoded"
    form = ipn.form()
    assert form["data[hash]"] == hashlib.sha512(MASTER_KEY.encode()).hexdigest()
    assert {key: form[key] for key in ("data[status]", "data[response_code]", "data[mode]")} == {
        "data[status]": "completed",
        "data[response_code]": "00",
        "data[mode]": "test",
    }
    assert form["data[invoice][token]"] == token
    assert form["data[invoice][total_amount]"] == "5000"
    assert form["data[invoice][description]"] == "Boutique Awa SN-1001"
    assert (form["data[custom_data][order_id]"], form["data[custom_data][order_number]"]) == ("ord_123", "SN-1001")
    assert (form["data[customer][name]"], form["data[customer][phone]"], form["data[customer][email]"]) == (
        "Awa Diop",
        "771234567",
        "awa@example.sn",
    )
    assert form["data[receipt_url]"].startswith(sandbox.url)
    assert "data[response_text]" in form

    confirmed = api.get(f"checkout-invoice/confirm/{token}").json()
    assert confirmed["status"] == "completed"
    assert confirmed["customer"] == {"name": "Awa Diop", "phone": "771234567", "email": "awa@example.sn"}
    assert http.get(confirmed["receipt_url"]).status_code == 200
    again = http.get(created["response_text"])
    assert "paid" in again.text and ">Pay</button>" not in again.text
    assert http.post(f"{sandbox.url}/paydunya/checkout/invoice/{token}/pay").status_code == 409


def test_decline_cancels_sends_a_cancelled_ipn_and_redirects_to_cancel_url(
    api: httpx.Client, http: httpx.Client, sandbox: SandboxServer, receiver: Receiver
) -> None:
    token = create(api, receiver)["token"]

    declined = http.post(f"{sandbox.url}/paydunya/checkout/invoice/{token}/decline")
    assert declined.status_code == 303
    assert declined.headers["Location"] == f"http://127.0.0.1:3000/shop/cart?result=cancel&token={token}"

    form = receiver.wait_for()[0].form()
    assert (form["data[status]"], form["data[invoice][token]"]) == ("cancelled", token)
    assert form["data[hash]"] == hashlib.sha512(MASTER_KEY.encode()).hexdigest()
    assert "data[customer][name]" not in form
    assert api.get(f"checkout-invoice/confirm/{token}").json()["status"] == "cancelled"


def test_errors_answer_a_non_00_response_code(
    api: httpx.Client, http: httpx.Client, sandbox: SandboxServer, receiver: Receiver
) -> None:
    for total in (5000.5, "5000.50", 5000.0, "5 000", -5, 0):
        refused = api.post("checkout-invoice/create", json=invoice_body(receiver, total_amount=total))
        assert refused.json()["response_code"] != "00", total
        assert refused.json()["response_text"], total
    decimal_item = invoice_body(receiver)
    decimal_item["invoice"]["items"]["item_0"]["unit_price"] = 1999.99
    assert api.post("checkout-invoice/create", json=decimal_item).json()["response_code"] != "00"
    no_store = invoice_body(receiver)
    del no_store["store"]
    assert "store.name" in api.post("checkout-invoice/create", json=no_store).json()["response_text"]

    base = f"{sandbox.url}/paydunya/sandbox-api/v1"
    missing = http.post(f"{base}/checkout-invoice/create", json=invoice_body(receiver))
    assert (missing.status_code, missing.json()["response_code"]) == (401, "1001")
    live = http.post(
        f"{base}/checkout-invoice/create",
        json=invoice_body(receiver),
        headers={**KEYS, "PAYDUNYA-PRIVATE-KEY": "live_private_x"},
    )
    assert live.json()["response_code"] == "1001"

    token = create(api, receiver)["token"]
    other_app = http.get(f"{base}/checkout-invoice/confirm/{token}", headers={**KEYS, "PAYDUNYA-MASTER-KEY": "other"})
    assert (other_app.status_code, other_app.json()["response_code"]) == (404, "1004")
    assert api.get("checkout-invoice/confirm/test_unknown").json()["response_code"] != "00"


def test_control_hook_without_ipn_and_drop_webhooks(
    api: httpx.Client, http: httpx.Client, sandbox: SandboxServer, receiver: Receiver
) -> None:
    quiet = create(api, receiver)["token"]
    hook = http.post(
        f"{sandbox.url}/_sandbox/paydunya/invoices/{quiet}/status", json={"status": "completed", "ipn": False}
    )
    assert hook.status_code == 200 and hook.json()["status"] == "completed"
    assert hook.json()["customer"]["name"]
    assert (
        http.post(f"{sandbox.url}/_sandbox/paydunya/invoices/{quiet}/status", json={"status": "x"}).status_code == 400
    )

    http.post(f"{sandbox.url}/_sandbox/config", json={"drop_webhooks": True}).raise_for_status()
    lost = create(api, receiver)["token"]
    http.post(f"{sandbox.url}/_sandbox/paydunya/invoices/{lost}/status", json={"status": "completed"})
    log = deliveries(http, sandbox, 1, provider="paydunya")
    assert [(d["dropped"], d["status_code"], d["url"]) for d in log] == [(True, None, receiver.url)]
    assert receiver.received == []  # a dropped delivery is logged instead of sent
    assert api.get(f"checkout-invoice/confirm/{lost}").json()["status"] == "completed"
