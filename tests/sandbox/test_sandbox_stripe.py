"""The local Stripe sandbox, driven the way Caisse drives Stripe: through the real ``stripe`` SDK,
the hosted page's HTML forms, and signed webhooks checked with ``stripe.Webhook.construct_event``."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

import httpx
import pytest
import stripe
from sandbox_support import WAIT, LoopbackReceiver, deliveries, flush
from sandbox_support import http as http
from sandbox_support import sandbox as sandbox

from provider_sandbox import sign
from provider_sandbox.app import SandboxServer

pytestmark = pytest.mark.timeout(60)

API_KEY = "sk_test_local_caisse"


# ---------------------------------------------------------------------------------------------------
# A webhook receiver on loopback, and fixtures


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]


class Receiver(LoopbackReceiver[Received]):
    """Catches webhook POSTs; answers with queued status codes first, then 200."""

    path = "/webhooks/stripe"

    def capture(self, request: BaseHTTPRequestHandler, body: bytes) -> Received:
        return Received(body, dict(request.headers.items()))

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float = WAIT) -> list[Received]:
        return self.wait_until(predicate, timeout, "webhooks", lambda received: [event_type(r) for r in received])

    def wait_for_types(self, *types: str, count: int = 1) -> list[Received]:
        def done(received: list[Received]) -> bool:
            return all(sum(event_type(r) == t for r in received) >= count for t in types)

        return self.wait_for(done)


def event_type(received: Received) -> str:
    return json.loads(received.body)["type"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def client(sandbox: SandboxServer) -> stripe.StripeClient:
    return stripe.StripeClient(API_KEY, base_addresses={"api": sandbox.url}, max_network_retries=0)


@pytest.fixture
def secret(client: stripe.StripeClient, receiver: Receiver) -> str:
    """A webhook endpoint for every event, pointing at the receiver; returns its signing secret."""
    endpoint = client.v1.webhook_endpoints.create(params={"url": receiver.url, "enabled_events": ["*"]})
    return endpoint.secret


def configure(http: httpx.Client, sandbox: SandboxServer, **settings: object) -> dict:
    response = http.post(f"{sandbox.url}/_sandbox/config", json=settings)
    assert response.status_code == 200, response.text
    return response.json()


def session_params(**overrides: object) -> dict:
    params: dict = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {"currency": "usd", "unit_amount": 4950, "product_data": {"name": "Ceramic mug"}},
                "quantity": 2,
            }
        ],
        "client_reference_id": "order_42",
        "customer_email": "ada@example.com",
        "metadata": {"order_id": "order_42"},
        "payment_intent_data": {"metadata": {"order_id": "order_42"}},
        "success_url": "http://127.0.0.1:3000/thanks?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://127.0.0.1:3000/cart",
    }
    params.update(overrides)
    return params


def verified(received: list[Received], secret: str) -> list[stripe.Event]:
    """Every delivery must verify with the SDK, exactly as a production handler checks it."""
    return [stripe.Webhook.construct_event(r.body, r.headers["Stripe-Signature"], secret) for r in received]


def pay(http: httpx.Client, sandbox: SandboxServer, session_id: str) -> dict:
    response = http.post(f"{sandbox.url}/pay/{session_id}/pay", headers={"Accept": "application/json"})
    assert response.status_code == 200, response.text
    return response.json()


# ---------------------------------------------------------------------------------------------------
# Checkout Sessions through the SDK


def test_sdk_creates_and_retrieves_a_checkout_session(client: stripe.StripeClient, sandbox: SandboxServer) -> None:
    created = client.v1.checkout.sessions.create(params=session_params(), options={"idempotency_key": "order_42:1"})

    assert isinstance(created, stripe.checkout.Session)
    assert created.id.startswith("cs_test_")
    assert (created.amount_total, created.amount_subtotal, created.currency) == (9900, 9900, "usd")
    assert (created.status, created.payment_status, created.payment_intent) == ("open", "unpaid", None)
    assert created.url == f"{sandbox.url}/pay/{created.id}"
    assert created.client_reference_id == "order_42"
    assert created.metadata.to_dict() == {"order_id": "order_42"}
    assert created.livemode is False
    assert "line_items" not in created  # needs expand, like Stripe
    assert 86390 <= created.expires_at - created.created <= 86400

    retrieved = client.v1.checkout.sessions.retrieve(created.id, params={"expand": ["line_items"]})
    assert retrieved.id == created.id
    assert retrieved.line_items.data[0].description == "Ceramic mug"
    assert retrieved.line_items.data[0].quantity == 2


def test_unknown_ids_and_bad_params_answer_like_stripe(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.checkout.sessions.retrieve("cs_test_does_not_exist")
    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")

    with pytest.raises(stripe.InvalidRequestError) as no_items:
        client.v1.checkout.sessions.create(params=session_params(line_items=None))
    assert (no_items.value.http_status, no_items.value.param) == (400, "line_items")

    upper = session_params()
    upper["line_items"][0]["price_data"]["currency"] = "USD"
    with pytest.raises(stripe.InvalidRequestError, match="lowercase"):
        client.v1.checkout.sessions.create(params=upper)

    with pytest.raises(stripe.InvalidRequestError, match="unknown parameter: colour"):
        client.v1.checkout.sessions.create(params=session_params(colour="blue"))


def test_expires_at_must_be_between_30_minutes_and_24_hours(client: stripe.StripeClient) -> None:
    now = int(time.time())
    for too_soon_or_late in (now + 10 * 60, now + 25 * 3600):
        with pytest.raises(stripe.InvalidRequestError) as error:
            client.v1.checkout.sessions.create(params=session_params(expires_at=too_soon_or_late))
        assert error.value.param == "expires_at"

    # Measured from the request's arrival, with no slack: "now + 30 minutes" computed a moment
    # earlier is already short (docs.stripe.com/payments/checkout/managing-limited-inventory).
    with pytest.raises(stripe.InvalidRequestError) as short:
        client.v1.checkout.sessions.create(params=session_params(expires_at=int(time.time()) + 1799))
    assert short.value.param == "expires_at"
    later = int(time.time()) + 1860
    session = client.v1.checkout.sessions.create(params=session_params(expires_at=later))
    assert session.expires_at == later


def test_wrong_api_key_is_refused(sandbox: SandboxServer, http: httpx.Client) -> None:
    live = stripe.StripeClient("sk_live_not_for_tests", base_addresses={"api": sandbox.url}, max_network_retries=0)
    with pytest.raises(stripe.AuthenticationError):
        live.v1.checkout.sessions.create(params=session_params())

    response = http.get(f"{sandbox.url}/v1/checkout/sessions/cs_test_x")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"


# ---------------------------------------------------------------------------------------------------
# Idempotency


def test_idempotent_replay_and_key_reuse_with_other_params(client: stripe.StripeClient) -> None:
    options = {"idempotency_key": "checkout:order_42:1"}
    first = client.v1.checkout.sessions.create(params=session_params(), options=options)
    replay = client.v1.checkout.sessions.create(params=session_params(), options=options)

    assert replay.id == first.id
    assert replay.last_response.headers["Idempotent-Replayed"] == "true"

    with pytest.raises(stripe.IdempotencyError):
        client.v1.checkout.sessions.create(params=session_params(client_reference_id="order_43"), options=options)

    # Keys are scoped per connected account.
    other = client.v1.checkout.sessions.create(params=session_params(), options={**options, "stripe_account": "acct_1"})
    assert other.id != first.id


# ---------------------------------------------------------------------------------------------------
# The hosted page and the webhooks it causes


def test_hosted_page_shows_items_total_and_both_buttons(
    client: stripe.StripeClient, sandbox: SandboxServer, http: httpx.Client
) -> None:
    session = client.v1.checkout.sessions.create(params=session_params())
    page = http.get(session.url)

    assert page.status_code == 200
    assert "Ceramic mug" in page.text and "2" in page.text
    assert "USD 99.00" in page.text
    assert f'action="/pay/{session.id}/pay"' in page.text and ">Pay</button>" in page.text
    assert f'action="/pay/{session.id}/decline"' in page.text and ">Decline</button>" in page.text

    xaf_params = session_params()
    xaf_params["line_items"] = [
        {"price_data": {"currency": "xaf", "unit_amount": 30000, "product_data": {"name": "Pagne"}}, "quantity": 2}
    ]
    xaf = client.v1.checkout.sessions.create(params=xaf_params)
    assert xaf.amount_total == 60000
    assert "XAF 60000" in http.get(xaf.url).text


def test_pay_redirects_and_delivers_signed_completed_and_succeeded_events(
    client: stripe.StripeClient, sandbox: SandboxServer, http: httpx.Client, receiver: Receiver, secret: str
) -> None:
    session = client.v1.checkout.sessions.create(params=session_params())

    response = http.post(f"{sandbox.url}/pay/{session.id}/pay")
    assert response.status_code == 303
    assert response.headers["Location"] == f"http://127.0.0.1:3000/thanks?session={session.id}"

    received = receiver.wait_for_types("checkout.session.completed", "payment_intent.succeeded")
    events = {event.type: event for event in verified(received, secret)}
    completed = events["checkout.session.completed"]
    assert completed.api_version == stripe._api_version._ApiVersion.CURRENT
    assert completed.data.object.id == session.id
    assert completed.data.object.payment_status == "paid"
    assert completed.data.object.customer_details.email == "ada@example.com"
    assert "account" not in completed
    intent_id = completed.data.object.payment_intent
    assert events["payment_intent.succeeded"].data.object.id == intent_id

    first = received[0]
    assert first.headers["Content-Type"] == "application/json; charset=utf-8"
    assert first.headers["User-Agent"] == "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(first.body, first.headers["Stripe-Signature"], "whsec_wrong")

    intent = client.v1.payment_intents.retrieve(intent_id)
    assert (intent.status, intent.amount, intent.amount_received) == ("succeeded", 9900, 9900)
    assert intent.metadata.to_dict() == {"order_id": "order_42"}
    assert intent.latest_charge.startswith("ch_")
    assert client.v1.checkout.sessions.retrieve(session.id).url is None
    assert client.v1.events.retrieve(completed.id).type == "checkout.session.completed"

    again = http.get(session.url)
    assert "complete" in again.text and ">Pay</button>" not in again.text


def test_decline_keeps_the_session_open_and_a_retry_can_pay(
    client: stripe.StripeClient, sandbox: SandboxServer, http: httpx.Client, receiver: Receiver, secret: str
) -> None:
    session = client.v1.checkout.sessions.create(params=session_params())

    page = http.post(f"{sandbox.url}/pay/{session.id}/decline")
    assert page.status_code == 200
    assert "Your card was declined" in page.text and ">Pay</button>" in page.text

    failed = verified(receiver.wait_for_types("payment_intent.payment_failed"), secret)
    intent_event = next(e for e in failed if e.type == "payment_intent.payment_failed")
    assert intent_event.data.object.last_payment_error.code == "card_declined"

    declined = client.v1.checkout.sessions.retrieve(session.id)
    assert (declined.status, declined.payment_status) == ("open", "unpaid")
    intent = client.v1.payment_intents.retrieve(declined.payment_intent)
    assert intent.status == "requires_payment_method"
    assert intent.last_payment_error.decline_code == "generic_decline"

    paid = pay(http, sandbox, session.id)
    assert (paid["status"], paid["payment_intent"]) == ("complete", declined.payment_intent)
    assert client.v1.payment_intents.retrieve(declined.payment_intent).last_payment_error is None


def test_expire_through_the_api(
    client: stripe.StripeClient, sandbox: SandboxServer, http: httpx.Client, receiver: Receiver, secret: str
) -> None:
    session = client.v1.checkout.sessions.create(params=session_params())

    expired = client.v1.checkout.sessions.expire(session.id)
    assert (expired.status, expired.url) == ("expired", None)
    event = verified(receiver.wait_for_types("checkout.session.expired"), secret)[0]
    assert event.data.object.id == session.id

    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.expire(session.id)
    page = http.get(session.url)
    assert "expired" in page.text and ">Pay</button>" not in page.text
    assert http.post(f"{sandbox.url}/pay/{session.id}/pay").status_code == 409


def test_sessions_expire_on_their_own_when_expires_at_passes(
    client: stripe.StripeClient, sandbox: SandboxServer, http: httpx.Client, receiver: Receiver, secret: str
) -> None:
    # 31 minutes: Stripe's floor is 30 from the session's creation, and a second may tick before the sandbox's
    session = client.v1.checkout.sessions.create(params=session_params(expires_at=int(time.time()) + 1860))
    configure(http, sandbox, clock_offset_seconds=1861)

    event = verified(receiver.wait_for_types("checkout.session.expired"), secret)[0]
    assert event.data.object.id == session.id
    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"


# ---------------------------------------------------------------------------------------------------
# Delivery quirks


def test_duplicates_deliver_each_event_several_times(
    client: stripe.StripeClient, sandbox: SandboxServer, http: httpx.Client, receiver: Receiver, secret: str
) -> None:
    configure(http, sandbox, duplicates=3)
    session = client.v1.checkout.sessions.create(params=session_params())
    pay(http, sandbox, session.id)

    received = receiver.wait_for_types("checkout.session.completed", "payment_intent.succeeded", count=3)
    completed_ids = [e.id for e in verified(received, secret) if e.type == "checkout.session.completed"]
    assert len(completed_ids) == 3 and len(set(completed_ids)) == 1

    log = deliveries(http, sandbox, 3, event_id=completed_ids[0])
    assert [entry["status_code"] for entry in log] == [200, 200, 200]


def test_flush_answers_once_every_emitted_delivery_was_made(
    client: stripe.StripeClient, sandbox: SandboxServer, http: httpx.Client, receiver: Receiver, secret: str
) -> None:
    configure(http, sandbox, delay_seconds=0.5, duplicates=2)
    session = client.v1.checkout.sessions.create(params=session_params())
    pay(http, sandbox, session.id)
    flush(http, sandbox)  # waits out the delay and both copies of each event
    paid = ["charge.succeeded", "checkout.session.completed", "payment_intent.succeeded"]
    assert sorted(event_type(r) for r in receiver.received) == sorted(paid * 2)
    receiver.statuses = [500]  # the next attempt fails; its retry comes after the backoff
    configure(http, sandbox, delay_seconds=0, duplicates=1, retry_backoff_seconds=[0.3])
    client.v1.checkout.sessions.expire(client.v1.checkout.sessions.create(params=session_params()).id)
    flush(http, sandbox)
    assert [event_type(r) for r in receiver.received[6:]] == ["checkout.session.expired"] * 2  # the retry too


def test_shuffle_reverses_each_batch(
    client: stripe.StripeClient, sandbox: SandboxServer, http: httpx.Client, receiver: Receiver, secret: str
) -> None:
    configure(http, sandbox, shuffle=True)
    session = client.v1.checkout.sessions.create(params=session_params())
    pay(http, sandbox, session.id)

    received = receiver.wait_for(lambda r: len(r) >= 3)
    assert [e.type for e in verified(received, secret)] == [
        "charge.succeeded",
        "payment_intent.succeeded",
        "checkout.session.completed",
    ]


def test_a_failing_receiver_gets_a_retry(
    client: stripe.StripeClient, sandbox: SandboxServer, http: httpx.Client, receiver: Receiver
) -> None:
    configure(http, sandbox, retry_backoff_seconds=[0.05])
    endpoint = client.v1.webhook_endpoints.create(
        params={"url": receiver.url, "enabled_events": ["checkout.session.expired"]}
    )
    receiver.statuses = [500]
    session = client.v1.checkout.sessions.create(params=session_params())
    client.v1.checkout.sessions.expire(session.id)

    received = receiver.wait_for(lambda r: len(r) >= 2)
    events = verified(received, endpoint.secret)
    assert events[0].id == events[1].id
    log = deliveries(http, sandbox, 2, event_id=events[0].id)
    assert [(entry["attempt"], entry["status_code"]) for entry in log] == [(1, 500), (2, 200)]


def test_connect_events_carry_the_account_and_go_to_connect_endpoints_only(
    client: stripe.StripeClient, sandbox: SandboxServer, http: httpx.Client, receiver: Receiver, secret: str
) -> None:
    connect_receiver = Receiver()
    try:
        connect = client.v1.webhook_endpoints.create(
            params={"url": connect_receiver.url, "enabled_events": ["*"], "connect": True}
        )
        session = client.v1.checkout.sessions.create(params=session_params(), options={"stripe_account": "acct_1Shop"})
        pay(http, sandbox, session.id)

        events = verified(connect_receiver.wait_for_types("checkout.session.completed"), connect.secret)
        assert events[0].account == "acct_1Shop"
        with pytest.raises(stripe.InvalidRequestError):  # lives on the connected account
            client.v1.checkout.sessions.retrieve(session.id)
        on_account = client.v1.checkout.sessions.retrieve(session.id, options={"stripe_account": "acct_1Shop"})
        assert on_account.status == "complete"
        flush(http, sandbox)
        assert receiver.received == []  # the platform endpoint gets no connected-account events
    finally:
        connect_receiver.close()


# ---------------------------------------------------------------------------------------------------
# Refunds


def test_full_partial_and_over_refunds(
    client: stripe.StripeClient, sandbox: SandboxServer, http: httpx.Client, receiver: Receiver, secret: str
) -> None:
    session = client.v1.checkout.sessions.create(params=session_params())
    intent_id = pay(http, sandbox, session.id)["payment_intent"]

    partial = client.v1.refunds.create(params={"payment_intent": intent_id, "amount": 3000, "reason": "duplicate"})
    assert isinstance(partial, stripe.Refund)
    assert (partial.amount, partial.status, partial.currency, partial.payment_intent) == (
        3000,
        "succeeded",
        "usd",
        intent_id,
    )
    with pytest.raises(stripe.InvalidRequestError, match="greater than unrefunded amount") as too_much:
        client.v1.refunds.create(params={"payment_intent": intent_id, "amount": 7000})
    assert too_much.value.param == "amount"

    rest = client.v1.refunds.create(params={"payment_intent": intent_id})
    assert rest.amount == 6900
    assert client.v1.refunds.retrieve(rest.id).amount == 6900
    with pytest.raises(stripe.InvalidRequestError) as already:
        client.v1.refunds.create(params={"payment_intent": intent_id})
    assert already.value.code == "charge_already_refunded"

    received = receiver.wait_for_types("charge.refunded", "refund.created", count=2)
    refunded = [e.data.object for e in verified(received, secret) if e.type == "charge.refunded"]
    assert [(c.amount_refunded, c.refunded) for c in refunded] == [(3000, False), (9900, True)]
    assert refunded[0].payment_intent == intent_id
    assert refunded[0].metadata.to_dict() == {"order_id": "order_42"}


def test_a_dashboard_refund_carries_none_of_our_metadata_and_refunds_list_by_payment(
    client: stripe.StripeClient, sandbox: SandboxServer, http: httpx.Client, receiver: Receiver, secret: str
) -> None:
    session = client.v1.checkout.sessions.create(params=session_params())
    intent_id = pay(http, sandbox, session.id)["payment_intent"]
    ours = client.v1.refunds.create(
        params={"payment_intent": intent_id, "amount": 1000, "metadata": {"refund_id": "r1"}}
    )
    dashboard = http.post(f"{sandbox.url}/_sandbox/stripe/refunds", json={"payment_intent": intent_id, "amount": 2000})
    assert dashboard.status_code == 200, dashboard.text
    assert (dashboard.json()["amount"], dashboard.json()["metadata"]) == (2000, {})
    received = receiver.wait_for_types("refund.created", count=2)
    created = [e.data.object for e in verified(received, secret) if e.type == "refund.created"]
    assert [(r.amount, r.metadata.to_dict()) for r in created] == [(1000, {"refund_id": "r1"}), (2000, {})]
    listed = client.v1.refunds.list(params={"payment_intent": intent_id})
    assert [r.id for r in listed.data] == [dashboard.json()["id"], ours.id]  # newest first
    assert client.v1.refunds.list(params={"payment_intent": "pi_unknown"}).data == []


def test_disputes_open_block_refunds_and_close_won_or_lost(
    client: stripe.StripeClient, sandbox: SandboxServer, http: httpx.Client, receiver: Receiver, secret: str
) -> None:
    session = client.v1.checkout.sessions.create(params=session_params())
    intent_id = pay(http, sandbox, session.id)["payment_intent"]
    opened = http.post(f"{sandbox.url}/_sandbox/stripe/disputes", json={"payment_intent": intent_id})
    assert opened.status_code == 200, opened.text
    dispute = client.v1.disputes.retrieve(opened.json()["id"])
    assert (dispute.status, dispute.amount, dispute.payment_intent, dispute.reason) == (
        "needs_response",
        9900,
        intent_id,
        "fraudulent",
    )
    assert dispute.evidence_details.due_by > time.time()
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.refunds.create(params={"payment_intent": intent_id})
    assert refused.value.code == "charge_disputed"
    closed = http.post(f"{sandbox.url}/_sandbox/stripe/disputes/{dispute.id}/close", json={"status": "won"})
    assert closed.json()["status"] == "won"
    again = http.post(f"{sandbox.url}/_sandbox/stripe/disputes/{dispute.id}/close", json={"status": "lost"})
    assert again.status_code == 400
    received = receiver.wait_for_types(
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.closed",
        "charge.dispute.funds_reinstated",
    )
    [closed_event] = [e for e in verified(received, secret) if e.type == "charge.dispute.closed"]
    assert (closed_event.data.object.id, closed_event.data.object.status) == (dispute.id, "won")


# ---------------------------------------------------------------------------------------------------
# Webhook endpoints, signing helper and the control API


def test_webhook_endpoints_list_and_delete(client: stripe.StripeClient, receiver: Receiver) -> None:
    endpoint = client.v1.webhook_endpoints.create(
        params={"url": receiver.url, "enabled_events": ["checkout.session.completed"]}
    )
    assert endpoint.secret.startswith("whsec_local_") and endpoint.status == "enabled"
    assert [e.id for e in client.v1.webhook_endpoints.list().data] == [endpoint.id]

    with pytest.raises(stripe.InvalidRequestError, match="Invalid event type"):
        client.v1.webhook_endpoints.create(params={"url": receiver.url, "enabled_events": ["checkout.typo"]})

    assert client.v1.webhook_endpoints.delete(endpoint.id).deleted is True
    assert client.v1.webhook_endpoints.list().data == []


def test_sign_matches_the_sdk_verifier() -> None:
    payload = b'{"id": "evt_1", "object": "event", "type": "ping"}'
    header = sign(payload, "whsec_x")
    assert stripe.Webhook.construct_event(payload, header, "whsec_x").id == "evt_1"
    assert sign(payload, "whsec_x", timestamp=1).startswith("t=1,v1=")


def test_a_slow_answer_is_slow_after_the_work_is_done_and_faults_do_no_work(
    client: stripe.StripeClient, sandbox: SandboxServer, http: httpx.Client
) -> None:
    configure(http, sandbox, answer_delays={"/v1/checkout/sessions": 0.5})
    started = time.monotonic()
    session = client.v1.checkout.sessions.create(params=session_params())
    assert time.monotonic() - started >= 0.5  # a lower bound only: the answer waited, then came
    configure(http, sandbox, provider_faults=[{"path": "/v1/checkout/sessions", "status": 503, "count": 1}])
    with pytest.raises(stripe.APIError):
        client.v1.checkout.sessions.retrieve(session.id)
    assert client.v1.checkout.sessions.retrieve(session.id).id == session.id  # one fault, then normal
    faults = http.get(f"{sandbox.url}/_sandbox/config").json()["provider_faults"]
    assert faults == [{"path": "/v1/checkout/sessions", "status": 503, "count": 0, "fired": 1}]
    bad = http.post(f"{sandbox.url}/_sandbox/config", json={"provider_faults": [{"path": "x", "status": 200}]})
    assert bad.status_code == 400


def test_control_api_config_roundtrip(sandbox: SandboxServer, http: httpx.Client) -> None:
    assert http.get(f"{sandbox.url}/_sandbox/health").status_code == 200
    assert configure(http, sandbox, duplicates=2, delay_seconds=0.5)["duplicates"] == 2
    assert http.post(f"{sandbox.url}/_sandbox/config", json={"duplicates": 0}).status_code == 400
    assert http.post(f"{sandbox.url}/_sandbox/config", json={"nonsense": 1}).status_code == 400
    reset = http.post(f"{sandbox.url}/_sandbox/reset-config").json()
    assert (reset["duplicates"], reset["delay_seconds"], reset["max_attempts"]) == (1, 0.0, 5)


# ---------------------------------------------------------------------------------------------------
# The command line entry point


def _read_line(stream, timeout: float) -> str:
    """Read one line from a pipe, failing instead of hanging when nothing comes."""
    ready, _, _ = select.select([stream], [], [], timeout)
    if not ready:
        raise AssertionError(f"no output within {timeout}s")
    return stream.readline().decode()


def _process_gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1].startswith("Z")  # zombie: exited, not yet reaped
    except FileNotFoundError:
        return True


def test_module_entry_point_serves_and_stops_on_sigterm(http: httpx.Client) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "provider_sandbox", "--port", "0", "--quiet"], stdout=subprocess.PIPE
    )
    try:
        line = _read_line(process.stdout, 20)
        url = line.strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:")
        assert http.get(f"{url}/_sandbox/health").status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        process.stdout.close()


def test_module_entry_point_exits_when_its_parent_dies(http: httpx.Client) -> None:
    launcher_code = (
        "import subprocess, sys\n"
        "child = subprocess.Popen([sys.executable, '-m', 'provider_sandbox', '--port', '0', '--quiet'])\n"
        "print(child.pid, flush=True)\n"
        "sys.stdin.readline()\n"
    )
    launcher = subprocess.Popen(  # noqa: S603 - fixed code, our own interpreter
        [sys.executable, "-c", launcher_code], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    child_pid = None
    try:
        lines = [_read_line(launcher.stdout, 20), _read_line(launcher.stdout, 20)]
        child_pid = int(next(line for line in lines if line.strip().isdigit()))
        url = next(line for line in lines if "listening" in line).strip().rsplit(" ", 1)[-1]
        assert http.get(f"{url}/_sandbox/health").status_code == 200

        launcher.stdin.close()  # the launcher exits; the sandbox is orphaned
        assert launcher.wait(timeout=10) == 0
        deadline = time.monotonic() + 10
        while not _process_gone(child_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _process_gone(child_pid)
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait(timeout=10)
        if child_pid is not None and not _process_gone(child_pid):
            os.kill(child_pid, signal.SIGKILL)
        launcher.stdout.close()


def test_sessions_list_like_stripe_newest_first_by_pages_of_at_most_100(
    client: stripe.StripeClient, sandbox: SandboxServer, http: httpx.Client
) -> None:
    """docs.stripe.com/api/checkout/sessions/list and /api/pagination: `limit` 1 to 100, newest
    first, `starting_after` / `ending_before` cursors, `created` ranges, `status`, `has_more`."""
    since = int(time.time()) - 1
    made = [client.v1.checkout.sessions.create(params=session_params(client_reference_id=f"o{n}")) for n in range(5)]
    paid = pay(http, sandbox, made[1].id)

    first = client.v1.checkout.sessions.list(params={"limit": 2, "created": {"gte": since}})
    assert [s.id for s in first.data] == [made[4].id, made[3].id] and first.has_more is True
    everything = list(first.auto_paging_iter())  # the SDK follows starting_after
    assert [s.id for s in everything] == [s.id for s in reversed(made)]
    back = client.v1.checkout.sessions.list(params={"limit": 2, "ending_before": made[1].id})
    assert [s.id for s in back.data] == [made[3].id, made[2].id]

    complete = client.v1.checkout.sessions.list(params={"status": "complete", "created": {"gte": since}})
    assert [(s.id, s.payment_status, s.payment_intent) for s in complete.data] == [
        (made[1].id, "paid", paid["payment_intent"])
    ]
    assert client.v1.checkout.sessions.list(params={"created": {"gt": int(time.time()) + 60}}).data == []
    with pytest.raises(stripe.InvalidRequestError) as too_many:
        client.v1.checkout.sessions.list(params={"limit": 101})
    assert too_many.value.param == "limit"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.list(params={"starting_after": "cs_test_unknown"})
    other = client.v1.checkout.sessions.list(options={"stripe_account": "acct_someone_else"})
    assert other.data == []  # an account sees its own sessions only
