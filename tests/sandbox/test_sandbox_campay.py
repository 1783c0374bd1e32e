"""The sandbox's CamPay, driven the way Caisse drives CamPay: plain httpx with ``Authorization: Token``,
the customer's phone (``/handset``) through its HTML forms, and the callback caught on loopback with
its JWT checked by pyjwt pinned to HS256."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, urlsplit

import httpx
import jwt
import pytest
from sandbox_support import WAIT, LoopbackReceiver, api_client, deliveries, lower_headers
from sandbox_support import http as http
from sandbox_support import sandbox as sandbox

from provider_sandbox.app import SandboxServer

pytestmark = pytest.mark.timeout(60)

WEBHOOK_KEY = "campay-webhook-key-for-local-tests-only-0123456789"
PERMANENT_TOKEN = "campay-permanent-token-local"
MTN = "237670000001"
ORANGE = "237655000002"


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes


class Receiver(LoopbackReceiver[Received]):
    """Catches callbacks of any method on loopback and answers 200."""

    path = "/webhooks/campay"
    methods = ("GET", "POST")

    def capture(self, request: BaseHTTPRequestHandler, body: bytes) -> Received:
        parts = urlsplit(request.path)
        return Received(request.command, parts.path, dict(parse_qsl(parts.query)), lower_headers(request), body)

    def wait_for(self, count: int = 1, timeout: float = WAIT) -> list[Received]:
        return self.wait_until(lambda received: len(received) >= count, timeout, f"{count} callback(s)", len)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver


def configure_app(http: httpx.Client, sandbox: SandboxServer, receiver: Receiver, method: str = "POST") -> dict:
    """The app's dashboard settings, as the local stack sets them at start."""
    response = http.post(
        f"{sandbox.url}/_sandbox/campay/app",
        json={
            "callback_url": receiver.url,
            "callback_method": method,
            "webhook_key": WEBHOOK_KEY,
            "app_username": "caisse-app",
            "app_password": "caisse-password",
            "permanent_token": PERMANENT_TOKEN,
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def api(http: httpx.Client, sandbox: SandboxServer, receiver: Receiver) -> Iterator[httpx.Client]:
    """CamPay's API at its base URL with the permanent token, as our code calls it."""
    configure_app(http, sandbox, receiver)
    with api_client(f"{sandbox.url}/campay/", {"Authorization": f"Token {PERMANENT_TOKEN}"}) as client:
        yield client


def collect(api: httpx.Client, **overrides: object) -> httpx.Response:
    body = {
        "amount": "60000",
        "currency": "XAF",
        "from": MTN,
        "description": "Boutique Awa CM-1001",
        "external_reference": f"order-{time.monotonic_ns()}",
    }
    body.update(overrides)
    return api.post("api/collect/", json=body)


def test_token_and_authorization(http: httpx.Client, sandbox: SandboxServer, receiver: Receiver) -> None:
    configure_app(http, sandbox, receiver)
    base = f"{sandbox.url}/campay/api"

    assert http.get(f"{base}/transaction/nope/").status_code == 401
    bad = http.get(f"{base}/transaction/nope/", headers={"Authorization": "Token wrong"})
    assert (bad.status_code, bad.json()) == (401, {"detail": "Invalid token."})
    assert http.post(f"{base}/token/", json={"username": "caisse-app", "password": "no"}).status_code == 401

    issued = http.post(f"{base}/token/", json={"username": "caisse-app", "password": "caisse-password"})
    assert issued.status_code == 200
    assert issued.json()["expires_in"] == 3600
    token = issued.json()["token"]
    for value in (token, PERMANENT_TOKEN):
        found = http.get(f"{base}/transaction/nope/", headers={"Authorization": f"Token {value}"})
        assert (found.status_code, found.json()) == (404, {"detail": "Not found."})


def test_collect_refuses_decimals_bad_numbers_other_operators_and_currencies(api: httpx.Client) -> None:
    for amount in ("100.5", 100.0, "12.00", "abc", 0):
        refused = collect(api, amount=amount)
        assert (refused.status_code, refused.json()["error_code"]) == (400, "ER201"), amount
    for number in ("670000001", "+237670000001", "23767000000", "2376700000012", "237 670000001"):
        refused = collect(api, **{"from": number})
        assert (refused.status_code, refused.json()["error_code"]) == (400, "ER101"), number
    for number in ("237620000000", "237660000000", "237222000000"):  # Camtel, Nexttel, a landline
        refused = collect(api, **{"from": number})
        assert (refused.status_code, refused.json()["error_code"]) == (400, "ER102"), number
    euros = collect(api, currency="EUR")
    assert euros.status_code == 400 and "error_code" not in euros.json()

    mtn = collect(api, amount=25)
    assert mtn.status_code == 200
    assert (mtn.json()["operator"], mtn.json()["ussd_code"]) == ("mtn", "*126#")
    orange = collect(api, **{"from": ORANGE})
    assert (orange.json()["operator"], orange.json()["ussd_code"]) == ("orange", "#150*50#")
    assert collect(api, **{"from": "237699000000"}).json()["operator"] == "orange"
    assert collect(api, **{"from": "237652000000"}).json()["operator"] == "mtn"


def test_same_external_reference_answers_the_first_collect(api: httpx.Client, http: httpx.Client, sandbox) -> None:
    first = collect(api, external_reference="order-42")
    again = collect(api, external_reference="order-42", amount="999", **{"from": ORANGE})
    assert again.status_code == 200
    assert again.json() == first.json()
    prompts = http.get(f"{sandbox.url}/handset", headers={"Accept": "application/json"}).json()
    assert [p["reference"] for p in prompts] == [first.json()["reference"]]


def test_handset_approve_sends_a_post_callback_whose_jwt_binds_nothing(
    api: httpx.Client, http: httpx.Client, sandbox: SandboxServer, receiver: Receiver
) -> None:
    started = collect(api, external_reference="order-7").json()
    reference = started["reference"]
    pending = api.get(f"api/transaction/{reference}/").json()
    assert (pending["status"], pending["operator_reference"], pending["endpoint"]) == ("PENDING", None, "collect")

    phone = http.get(f"{sandbox.url}/handset")
    assert phone.status_code == 200
    assert "XAF 60000" in phone.text and "Boutique Awa CM-1001" in phone.text and MTN in phone.text
    assert "*126#" in phone.text
    assert f'action="/handset/{reference}/approve"' in phone.text and ">Approve</button>" in phone.text
    assert f'action="/handset/{reference}/reject"' in phone.text and ">Reject</button>" in phone.text

    approved = http.post(f"{sandbox.url}/handset/{reference}/approve")  # the HTML form, no JSON
    assert approved.status_code == 200 and "approved" in approved.text

    callback = receiver.wait_for()[0]
    assert (callback.method, callback.path) == ("POST", "/webhooks/campay")
    assert callback.headers["content-type"] == "application/json"
    fields = json.loads(callback.body)
    assert {
        key: fields[key]
        for key in ("status", "reference", "amount", "currency", "operator", "endpoint", "external_reference")
    } == {
        "status": "SUCCESSFUL",
        "reference": reference,
        "amount": "60000",
        "currency": "XAF",
        "operator": "MTN",
        "endpoint": "collect",
        "external_reference": "order-7",
    }
    assert fields["phone_number"] == MTN and fields["operator_reference"] and fields["code"].startswith("CP")
    for key in ("external_user", "description", "reason", "extra_first_name", "redirect_url"):
        assert key in fields

    claims = jwt.decode(fields["signature"], WEBHOOK_KEY, algorithms=["HS256"])
    assert claims["iss"] and claims["exp"] > time.time() and claims["nbf"] <= time.time() + 1
    assert not {"status", "reference", "amount", "external_reference"} & set(claims)  # must re-read the transaction
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(fields["signature"], "another-key-of-at-least-32-bytes-long!", algorithms=["HS256"])
    assert jwt.get_unverified_header(fields["signature"])["alg"] == "HS256"

    settled = api.get(f"api/transaction/{reference}/").json()
    assert settled["status"] == "SUCCESSFUL"
    assert settled["amount"] == 60000.0 and isinstance(settled["amount"], float)
    assert settled["operator_reference"] == fields["operator_reference"]
    assert (settled["external_reference"], settled["phone_number"], settled["reason"]) == ("order-7", MTN, "")
    assert reference not in http.get(f"{sandbox.url}/handset").text

    twice = http.post(f"{sandbox.url}/handset/{reference}/reject", headers={"Accept": "application/json"})
    assert twice.status_code == 409


def test_handset_reject_sends_a_get_callback_with_query_parameters(
    api: httpx.Client, http: httpx.Client, sandbox: SandboxServer, receiver: Receiver
) -> None:
    configure_app(http, sandbox, receiver, method="GET")
    reference = collect(api, **{"from": ORANGE}, external_reference="order-8").json()["reference"]

    rejected = http.post(f"{sandbox.url}/handset/{reference}/reject", headers={"Accept": "application/json"})
    assert rejected.status_code == 200
    assert (rejected.json()["status"], rejected.json()["reason"]) == ("FAILED", "rejected by the customer")

    callback = receiver.wait_for()[0]
    assert (callback.method, callback.path, callback.body) == ("GET", "/webhooks/campay", b"")
    query = callback.query
    assert (query["status"], query["reference"], query["amount"], query["operator"]) == (
        "FAILED",
        reference,
        "60000",
        "ORANGE",
    )
    assert (query["reason"], query["external_reference"], query["phone_number"]) == (
        "rejected by the customer",
        "order-8",
        ORANGE,
    )
    jwt.decode(query["signature"], WEBHOOK_KEY, algorithms=["HS256"])
    assert api.get(f"api/transaction/{reference}/").json()["status"] == "FAILED"


def test_control_hook_settles_and_drop_webhooks_loses_the_callback(
    api: httpx.Client, http: httpx.Client, sandbox: SandboxServer, receiver: Receiver
) -> None:
    quiet = collect(api).json()["reference"]
    hook = http.post(
        f"{sandbox.url}/_sandbox/campay/transactions/{quiet}/status", json={"status": "SUCCESSFUL", "callback": False}
    )
    assert hook.status_code == 200 and hook.json()["status"] == "SUCCESSFUL"
    assert (
        http.post(f"{sandbox.url}/_sandbox/campay/transactions/{quiet}/status", json={"status": "FAILED"}).status_code
        == 409
    )
    assert http.post(f"{sandbox.url}/_sandbox/campay/transactions/x/status", json={"status": "DONE"}).status_code == 400

    assert http.post(f"{sandbox.url}/_sandbox/config", json={"drop_webhooks": True}).json()["drop_webhooks"] is True
    lost = collect(api).json()["reference"]
    http.post(f"{sandbox.url}/_sandbox/campay/transactions/{lost}/status", json={"status": "SUCCESSFUL"})

    log = deliveries(http, sandbox, 1, provider="campay")
    assert [(d["dropped"], d["status_code"], d["method"]) for d in log] == [(True, None, "POST")]
    assert receiver.received == []  # nothing was sent for either transaction (a dropped one is only logged)
    assert api.get(f"api/transaction/{lost}/").json()["status"] == "SUCCESSFUL"  # reconciliation finds it


def test_app_settings_are_validated_and_readable(http: httpx.Client, sandbox: SandboxServer, receiver) -> None:
    app = f"{sandbox.url}/_sandbox/campay/app"
    assert http.post(app, json={"callback_method": "PUT"}).status_code == 400
    assert http.post(app, json={"callback_url": "https://example.com/hook"}).status_code == 400
    assert http.post(app, json={"colour": "blue"}).status_code == 400
    configure_app(http, sandbox, receiver, method="get")
    settings = http.get(app).json()
    assert (settings["callback_url"], settings["callback_method"], settings["webhook_key"]) == (
        receiver.url,
        "GET",
        WEBHOOK_KEY,
    )


def test_an_app_whose_answers_omit_external_reference_and_a_clock_ahead_of_ours(
    api: httpx.Client, http: httpx.Client, sandbox: SandboxServer, receiver: Receiver
) -> None:
    http.post(f"{sandbox.url}/_sandbox/campay/app", json={"omit_external_reference": "true"}).raise_for_status()
    http.post(f"{sandbox.url}/_sandbox/config", json={"clock_skew_seconds": {"campay": 30}}).raise_for_status()
    reference = collect(api, external_reference="order-8").json()["reference"]
    assert api.get(f"api/transaction/{reference}/").json()["external_reference"] == ""
    http.post(f"{sandbox.url}/handset/{reference}/approve", headers={"Accept": "application/json"})
    fields = json.loads(receiver.wait_for()[0].body)
    assert (fields["reference"], fields["external_reference"]) == (reference, "")
    with pytest.raises(jwt.ImmatureSignatureError):  # minted 30 s in our future
        jwt.decode(fields["signature"], WEBHOOK_KEY, algorithms=["HS256"])
    claims = jwt.decode(fields["signature"], WEBHOOK_KEY, algorithms=["HS256"], leeway=60)
    assert 25 < claims["iat"] - time.time() < 35


def test_a_slow_collect_has_sent_its_prompt_before_it_answers(
    api: httpx.Client, http: httpx.Client, sandbox: SandboxServer
) -> None:
    http.post(f"{sandbox.url}/_sandbox/config", json={"answer_delays": {"/campay/api/collect/": 3}}).raise_for_status()
    with pytest.raises(httpx.ReadTimeout):
        api.post(
            "api/collect/",
            json={"amount": "100", "currency": "XAF", "from": ORANGE, "description": "Slow shop SL-1"},
            timeout=1,
        )
    prompts = http.get(f"{sandbox.url}/handset", headers={"Accept": "application/json"}).json()
    assert [p["description"] for p in prompts] == ["Slow shop SL-1"]  # on the phone while we waited
