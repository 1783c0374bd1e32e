"""Stripe Connect on the local sandbox, driven through the real ``stripe`` SDK: connected accounts and
their hosted onboarding, direct charges with an application fee, cards saved at Checkout and charged
off-session, and refunds that give the fee back. Webhooks are checked with ``construct_event``."""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx
import pytest
import stripe
from sandbox_support import StripeReceiver, flush
from sandbox_support import http as http
from sandbox_support import sandbox as sandbox

from provider_sandbox.app import SandboxServer

pytestmark = pytest.mark.timeout(60)

API_KEY = "sk_test_local_caisse_connect"
RETURN_URL = "http://127.0.0.1:3000/merchants/m1/connected"
REFRESH_URL = "http://127.0.0.1:3000/merchants/m1/connect"


# ---------------------------------------------------------------------------------------------------
# A webhook receiver on loopback


@dataclass
class Endpoint:
    receiver: StripeReceiver
    secret: str

    def events(self, *types: str) -> dict[str, stripe.Event]:
        """Wait for ``types``; every delivery must verify with the endpoint's own secret."""
        received = self.receiver.wait_for_types(*types)
        events = [stripe.Webhook.construct_event(r.body, r.headers["Stripe-Signature"], self.secret) for r in received]
        return {event.type: event for event in events}


# ---------------------------------------------------------------------------------------------------
# Fixtures and helpers


@pytest.fixture
def client(sandbox: SandboxServer) -> stripe.StripeClient:
    return stripe.StripeClient(API_KEY, base_addresses={"api": sandbox.url}, max_network_retries=0)


def _endpoint(request: pytest.FixtureRequest, client: stripe.StripeClient, connect: bool) -> Endpoint:
    receiver = StripeReceiver()
    request.addfinalizer(receiver.close)
    created = client.v1.webhook_endpoints.create(
        params={"url": receiver.url, "enabled_events": ["*"], "connect": connect}
    )
    return Endpoint(receiver, created.secret)


@pytest.fixture
def platform_hook(request: pytest.FixtureRequest, client: stripe.StripeClient) -> Endpoint:
    """A plain endpoint: the platform's own events."""
    return _endpoint(request, client, connect=False)


@pytest.fixture
def connect_hook(request: pytest.FixtureRequest, client: stripe.StripeClient) -> Endpoint:
    """A Connect endpoint: events of connected accounts."""
    return _endpoint(request, client, connect=True)


def create_account(client: stripe.StripeClient, name: str = "Chez Ada") -> stripe.Account:
    return client.v1.accounts.create(
        params={
            "type": "express",
            "country": "US",
            "email": "owner@chez-ada.example",
            "business_profile": {"name": name},
            "metadata": {"merchant": "m1"},
            "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}},
        }
    )


def set_state(http: httpx.Client, sandbox: SandboxServer, account: str, **state: bool) -> httpx.Response:
    return http.post(f"{sandbox.url}/_sandbox/stripe/accounts/{account}/state", json=state)


def onboarded_account(client: stripe.StripeClient, http: httpx.Client, sandbox: SandboxServer) -> str:
    account = create_account(client).id
    response = set_state(http, sandbox, account, charges_enabled=True, payouts_enabled=True)
    assert response.status_code == 200, response.text
    return account


def on(account: str, **options: str) -> dict:
    return {"stripe_account": account, **options}


def session_params(fee: int | None = 990, save_card: bool = True, **overrides: object) -> dict:
    params: dict = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {"currency": "usd", "unit_amount": 4950, "product_data": {"name": "Haircut"}},
                "quantity": 2,
            }
        ],
        "customer_email": "ada@example.com",
        "metadata": {"order_id": "order_42"},
        "payment_intent_data": {"metadata": {"order_id": "order_42"}},
        "success_url": "http://127.0.0.1:3000/thanks?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://127.0.0.1:3000/cart",
    }
    if fee is not None:
        params["payment_intent_data"]["application_fee_amount"] = fee
    if save_card:
        params["payment_intent_data"]["setup_future_usage"] = "off_session"
        params["customer_creation"] = "always"
    params.update(overrides)
    return params


def paid_session(
    client: stripe.StripeClient, http: httpx.Client, sandbox: SandboxServer, account: str, **params: object
) -> stripe.checkout.Session:
    """A Checkout Session on ``account``, paid on the hosted page (the HTML form, as a browser posts it)."""
    session = client.v1.checkout.sessions.create(params=session_params(**params), options=on(account))
    response = http.post(f"{sandbox.url}/pay/{session.id}/pay")
    assert response.status_code == 303, response.text
    return client.v1.checkout.sessions.retrieve(session.id, options=on(account))


def saved_card(
    client: stripe.StripeClient, http: httpx.Client, sandbox: SandboxServer, account: str
) -> tuple[str, str]:
    """(customer, payment_method) saved by a paid Checkout Session."""
    session = paid_session(client, http, sandbox, account)
    intent = client.v1.payment_intents.retrieve(session.payment_intent, options=on(account))
    return intent.customer, intent.payment_method


def set_behaviour(http: httpx.Client, sandbox: SandboxServer, payment_method: str, behaviour: str) -> None:
    response = http.post(
        f"{sandbox.url}/_sandbox/stripe/payment_methods/{payment_method}/behaviour", json={"off_session": behaviour}
    )
    assert response.status_code == 200, response.text


def off_session_params(customer: str, payment_method: str, **overrides: object) -> dict:
    params: dict = {
        "amount": 4000,
        "currency": "usd",
        "customer": customer,
        "payment_method": payment_method,
        "off_session": True,
        "confirm": True,
        "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        "application_fee_amount": 400,
        "metadata": {"order_id": "order_42", "balance": "1"},
        "description": "Balance for order_42",
    }
    params.update(overrides)
    return params


# ---------------------------------------------------------------------------------------------------
# Accounts and onboarding


def test_onboarding_link_completes_the_account_and_notifies_connect_endpoints_only(
    client: stripe.StripeClient,
    sandbox: SandboxServer,
    http: httpx.Client,
    platform_hook: Endpoint,
    connect_hook: Endpoint,
) -> None:
    account = create_account(client)
    assert isinstance(account, stripe.Account)
    assert account.id.startswith("acct_1") and account.object == "account"
    assert (account.type, account.country, account.email) == ("express", "US", "owner@chez-ada.example")
    assert account.business_profile.name == "Chez Ada"
    assert account.metadata.to_dict() == {"merchant": "m1"}
    assert (account.charges_enabled, account.payouts_enabled, account.details_submitted) == (False, False, False)
    assert account.requirements.currently_due and account.requirements.disabled_reason == "requirements.past_due"
    assert account.capabilities.to_dict() == {"card_payments": "inactive", "transfers": "inactive"}
    assert client.v1.accounts.retrieve(account.id).created == account.created
    standard = client.v1.accounts.create(params={"type": "standard", "country": "FR", "email": "o@example.com"})
    assert (standard.type, standard.default_currency, standard.capabilities.to_dict()) == ("standard", "eur", {})
    with pytest.raises(stripe.InvalidRequestError, match="Standard connected accounts with capabilities"):
        client.v1.accounts.create(params={"type": "standard", "capabilities": {"transfers": {"requested": True}}})

    link = client.v1.account_links.create(
        params={
            "account": account.id,
            "refresh_url": REFRESH_URL,
            "return_url": RETURN_URL,
            "type": "account_onboarding",
        }
    )
    assert link.object == "account_link"
    assert link.url.startswith(f"{sandbox.url}/connect/onboarding/")
    assert link.expires_at - link.created == 300

    page = http.get(link.url)
    assert page.status_code == 200
    assert "Chez Ada" in page.text and ">Complete onboarding</button>" in page.text
    action = link.url.removeprefix(sandbox.url) + "/complete"
    assert f'action="{action}"' in page.text

    done = http.post(f"{sandbox.url}{action}")  # the form, as a browser posts it
    assert done.status_code == 303 and done.headers["Location"] == RETURN_URL

    event = connect_hook.events("account.updated")["account.updated"]
    assert event.account == account.id
    assert event.data.object.id == account.id
    assert (event.data.object.charges_enabled, event.data.object.payouts_enabled) == (True, True)
    previous = event.data.previous_attributes
    assert (previous.charges_enabled, previous.payouts_enabled, previous.details_submitted) == (False, False, False)
    assert previous.requirements.currently_due == account.requirements.currently_due
    received = connect_hook.receiver.received[0]
    with pytest.raises(stripe.SignatureVerificationError):  # the platform endpoint's secret does not fit
        stripe.Webhook.construct_event(received.body, received.headers["Stripe-Signature"], platform_hook.secret)

    now = client.v1.accounts.retrieve(account.id)
    assert (now.charges_enabled, now.payouts_enabled, now.details_submitted) == (True, True, True)
    assert (now.requirements.currently_due, now.requirements.disabled_reason) == ([], None)
    assert now.capabilities.card_payments == "active"
    # Seen from the connected account itself, too; never from another one.
    assert client.v1.accounts.retrieve_current(options=on(account.id)).id == account.id
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.accounts.retrieve(account.id, options=on("acct_1Someoneelse"))

    used = http.get(link.url)
    assert used.status_code == 410 and "already used" in used.text and f'href="{REFRESH_URL}"' in used.text
    again = http.post(f"{sandbox.url}{action}", headers={"Accept": "application/json"})
    assert again.status_code == 410 and again.json()["error"]["refresh_url"] == REFRESH_URL

    flush(http, sandbox)
    assert "account.updated" not in platform_hook.receiver.types()
    assert connect_hook.receiver.types().count("account.updated") == 1


def test_an_expired_link_sends_the_user_to_refresh_url(
    client: stripe.StripeClient, sandbox: SandboxServer, http: httpx.Client
) -> None:
    account = create_account(client)
    link = client.v1.account_links.create(
        params={
            "account": account.id,
            "refresh_url": REFRESH_URL,
            "return_url": RETURN_URL,
            "type": "account_onboarding",
        }
    )
    assert http.post(f"{sandbox.url}/_sandbox/config", json={"clock_offset_seconds": 301}).status_code == 200

    page = http.get(link.url)
    assert page.status_code == 410 and "expired" in page.text and f'href="{REFRESH_URL}"' in page.text
    assert http.post(f"{link.url}/complete").status_code == 410
    assert client.v1.accounts.retrieve(account.id).charges_enabled is False

    with pytest.raises(stripe.InvalidRequestError) as no_account:
        client.v1.account_links.create(
            params={
                "account": "acct_1Nope",
                "refresh_url": REFRESH_URL,
                "return_url": RETURN_URL,
                "type": "account_onboarding",
            }
        )
    assert (no_account.value.param, no_account.value.code) == ("account", "resource_missing")


def test_state_hook_seeds_and_restricts_accounts_and_restricted_accounts_cannot_charge(
    client: stripe.StripeClient, sandbox: SandboxServer, http: httpx.Client, connect_hook: Endpoint
) -> None:
    account = create_account(client).id
    with pytest.raises(stripe.InvalidRequestError, match="cannot currently make charges"):
        client.v1.checkout.sessions.create(params=session_params(), options=on(account))

    seeded = set_state(http, sandbox, account, charges_enabled=True, payouts_enabled=True)
    assert seeded.status_code == 200
    assert (seeded.json()["charges_enabled"], seeded.json()["details_submitted"]) == (True, True)
    assert connect_hook.events("account.updated")["account.updated"].data.previous_attributes.charges_enabled is False
    client.v1.checkout.sessions.create(params=session_params(), options=on(account))

    restricted = set_state(http, sandbox, account, charges_enabled=False).json()
    assert (restricted["charges_enabled"], restricted["payouts_enabled"]) == (False, True)
    assert restricted["requirements"]["disabled_reason"] == "requirements.past_due"
    connect_hook.receiver.wait_for(lambda received: [r.type for r in received].count("account.updated") == 2)
    with pytest.raises(stripe.InvalidRequestError, match="cannot currently make charges"):
        client.v1.checkout.sessions.create(params=session_params(), options=on(account))

    assert set_state(http, sandbox, "acct_1Unknown", charges_enabled=True).status_code == 404
    assert set_state(http, sandbox, account, charges_enabled="yes").status_code == 400  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------
# Direct charges through Checkout, with the card saved for later


def test_connected_checkout_saves_the_card_and_takes_the_application_fee(
    client: stripe.StripeClient,
    sandbox: SandboxServer,
    http: httpx.Client,
    platform_hook: Endpoint,
    connect_hook: Endpoint,
) -> None:
    account = onboarded_account(client, http, sandbox)
    session = paid_session(client, http, sandbox, account)
    assert session.customer_creation == "always"

    intent = client.v1.payment_intents.retrieve(session.payment_intent, options=on(account))
    assert intent.status == "succeeded"
    assert intent.customer.startswith("cus_") and intent.customer == session.customer
    assert intent.payment_method.startswith("pm_")
    assert (intent.application_fee_amount, intent.setup_future_usage) == (990, "off_session")

    charge = client.v1.charges.retrieve(intent.latest_charge, options=on(account))
    assert charge.application_fee.startswith("fee_") and charge.application_fee_amount == 990
    assert (charge.customer, charge.payment_method) == (intent.customer, intent.payment_method)

    customer = client.v1.customers.retrieve(intent.customer, options=on(account))
    assert (customer.object, customer.email) == ("customer", "ada@example.com")
    card = client.v1.payment_methods.retrieve(intent.payment_method, options=on(account))
    assert (card.object, card.type, card.customer) == ("payment_method", "card", intent.customer)
    assert (card.card.brand, card.card.last4) == ("visa", "4242")

    fee = client.v1.application_fees.retrieve(charge.application_fee)  # a platform object: no header
    assert (fee.object, fee.amount, fee.amount_refunded, fee.currency) == ("application_fee", 990, 0, "usd")
    assert (fee.account, fee.charge, fee.refunded) == (account, charge.id, False)

    types = ("checkout.session.completed", "payment_intent.succeeded", "charge.succeeded", "customer.created")
    events = connect_hook.events(*types, "payment_method.attached")
    assert {events[t].account for t in events} == {account}
    assert events["checkout.session.completed"].data.object.customer == intent.customer
    assert events["payment_intent.succeeded"].data.object.application_fee_amount == 990
    created = platform_hook.events("application_fee.created")["application_fee.created"]
    assert created.data.object.id == fee.id and "account" not in created

    # Objects on the connected account are invisible without its header (and the fee with it).
    for retrieve, object_id in (
        (client.v1.payment_intents.retrieve, intent.id),
        (client.v1.customers.retrieve, intent.customer),
        (client.v1.payment_methods.retrieve, intent.payment_method),
        (client.v1.charges.retrieve, charge.id),
        (client.v1.checkout.sessions.retrieve, session.id),
    ):
        with pytest.raises(stripe.InvalidRequestError) as hidden:
            retrieve(object_id)
        assert hidden.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.application_fees.retrieve(fee.id, options=on(account))
    flush(http, sandbox)
    assert not set(platform_hook.receiver.types()) & set(types)


def test_without_customer_creation_the_card_is_not_saved(
    client: stripe.StripeClient, sandbox: SandboxServer, http: httpx.Client
) -> None:
    account = onboarded_account(client, http, sandbox)
    session = paid_session(client, http, sandbox, account, fee=None, save_card=False)
    intent = client.v1.payment_intents.retrieve(session.payment_intent, options=on(account))
    assert (session.customer, intent.customer, intent.application_fee_amount) == (None, None, None)
    charge = client.v1.charges.retrieve(intent.latest_charge, options=on(account))
    assert charge.application_fee is None

    with pytest.raises(stripe.InvalidRequestError, match="may not be used again") as reused:
        client.v1.payment_intents.create(params=off_session_params(None, intent.payment_method), options=on(account))
    assert reused.value.param == "payment_method"


def test_application_fee_amount_is_checked_like_stripe(
    client: stripe.StripeClient, http: httpx.Client, sandbox: SandboxServer
) -> None:
    account = onboarded_account(client, http, sandbox)
    with pytest.raises(stripe.InvalidRequestError) as too_big:
        client.v1.checkout.sessions.create(params=session_params(fee=9901), options=on(account))
    assert too_big.value.param == "payment_intent_data[application_fee_amount]"
    with pytest.raises(stripe.InvalidRequestError) as not_integer:
        client.v1.checkout.sessions.create(params=session_params(fee=9.5), options=on(account))  # type: ignore[arg-type]
    assert not_integer.value.code == "parameter_invalid_integer"
    with pytest.raises(stripe.InvalidRequestError, match="direct payment"):  # no Stripe-Account: no fee
        client.v1.checkout.sessions.create(params=session_params())
    client.v1.checkout.sessions.create(params=session_params(fee=9900), options=on(account))

    customer, payment_method = saved_card(client, http, sandbox, account)
    with pytest.raises(stripe.InvalidRequestError) as intent_too_big:
        client.v1.payment_intents.create(
            params=off_session_params(customer, payment_method, application_fee_amount=4001), options=on(account)
        )
    assert intent_too_big.value.param == "application_fee_amount"


# ---------------------------------------------------------------------------------------------------
# Off-session charges of a saved card


def test_confirming_without_a_return_url_needs_redirects_ruled_out(
    client: stripe.StripeClient, sandbox: SandboxServer, http: httpx.Client
) -> None:
    """With the pinned API version a PaymentIntent takes the Dashboard's payment methods, some of
    which redirect: Stripe refuses confirm=true without a return_url unless redirects are ruled out."""
    account = onboarded_account(client, http, sandbox)
    customer, payment_method = saved_card(client, http, sandbox, account)
    params = off_session_params(customer, payment_method)
    del params["automatic_payment_methods"]
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.payment_intents.create(params=params, options=on(account))
    assert refused.value.param == "return_url"
    assert "allow_redirects" in str(refused.value)
    with_return = client.v1.payment_intents.create(
        params={**params, "return_url": "https://shop.example/back"}, options=on(account)
    )
    assert with_return.status == "succeeded"


def test_off_session_charge_succeeds_and_replays_with_the_same_idempotency_key(
    client: stripe.StripeClient, sandbox: SandboxServer, http: httpx.Client, connect_hook: Endpoint
) -> None:
    account = onboarded_account(client, http, sandbox)
    customer, payment_method = saved_card(client, http, sandbox, account)
    options = on(account, idempotency_key="balance:order_42:1")

    intent = client.v1.payment_intents.create(params=off_session_params(customer, payment_method), options=options)
    assert isinstance(intent, stripe.PaymentIntent)
    assert (intent.status, intent.amount, intent.amount_received) == ("succeeded", 4000, 4000)
    assert (intent.customer, intent.payment_method, intent.application_fee_amount) == (customer, payment_method, 400)
    assert intent.metadata.to_dict() == {"order_id": "order_42", "balance": "1"}
    assert intent.description == "Balance for order_42"
    charge = client.v1.charges.retrieve(intent.latest_charge, options=on(account))
    assert (charge.status, charge.amount, charge.application_fee_amount) == ("succeeded", 4000, 400)
    assert client.v1.application_fees.retrieve(charge.application_fee).amount == 400

    replay = client.v1.payment_intents.create(params=off_session_params(customer, payment_method), options=options)
    assert replay.id == intent.id
    assert replay.last_response.headers["Idempotent-Replayed"] == "true"
    with pytest.raises(stripe.IdempotencyError):
        client.v1.payment_intents.create(
            params=off_session_params(customer, payment_method, amount=5000), options=options
        )

    def intent_events(received: list) -> list[str]:
        return [json.loads(r.body)["data"]["object"]["id"] for r in received if r.type == "payment_intent.succeeded"]

    connect_hook.receiver.wait_for(lambda received: intent.id in intent_events(received))
    flush(http, sandbox)
    assert intent_events(connect_hook.receiver.received).count(intent.id) == 1  # the replay charged nothing

    # The card is the connected account's: without the header it does not exist.
    with pytest.raises(stripe.InvalidRequestError, match="No such PaymentMethod"):
        client.v1.payment_intents.create(
            params=off_session_params(customer, payment_method, application_fee_amount=None)
        )


@pytest.mark.parametrize(
    ("behaviour", "code", "decline_code"),
    [
        ("authentication_required", "authentication_required", "authentication_required"),
        ("card_declined", "card_declined", "generic_decline"),
    ],
)
def test_off_session_card_errors_carry_the_payment_intent(
    client: stripe.StripeClient,
    sandbox: SandboxServer,
    http: httpx.Client,
    connect_hook: Endpoint,
    behaviour: str,
    code: str,
    decline_code: str,
) -> None:
    account = onboarded_account(client, http, sandbox)
    customer, payment_method = saved_card(client, http, sandbox, account)
    set_behaviour(http, sandbox, payment_method, behaviour)
    options = on(account, idempotency_key=f"balance:order_42:{behaviour}")

    with pytest.raises(stripe.CardError) as failed:
        client.v1.payment_intents.create(params=off_session_params(customer, payment_method), options=options)
    error = failed.value
    assert (error.http_status, error.code) == (402, code)
    assert error.error.type == "card_error" and error.error.decline_code == decline_code
    assert error.user_message.startswith("Your card was declined.")
    failed_intent = error.error.payment_intent
    assert isinstance(failed_intent, stripe.PaymentIntent)
    assert failed_intent.status == "requires_payment_method"
    assert failed_intent.last_payment_error.code == code
    assert error.error.payment_method.id == payment_method

    retrieved = client.v1.payment_intents.retrieve(failed_intent.id, options=on(account))
    assert (retrieved.status, retrieved.amount_received) == ("requires_payment_method", 0)
    failed_charge = client.v1.charges.retrieve(retrieved.latest_charge, options=on(account))
    assert (failed_charge.status, failed_charge.failure_code) == ("failed", code)
    assert failed_charge.application_fee is None

    with pytest.raises(stripe.CardError) as replayed:  # the outcome is saved with the key, like Stripe
        client.v1.payment_intents.create(params=off_session_params(customer, payment_method), options=options)
    assert replayed.value.error.payment_intent.id == failed_intent.id
    assert replayed.value.headers["Idempotent-Replayed"] == "true"

    event = connect_hook.events("payment_intent.payment_failed")["payment_intent.payment_failed"]
    assert (event.account, event.data.object.id) == (account, failed_intent.id)

    set_behaviour(http, sandbox, payment_method, "succeeds")
    retry = client.v1.payment_intents.create(
        params=off_session_params(customer, payment_method), options=on(account, idempotency_key="balance:retry")
    )
    assert retry.status == "succeeded"


def test_behaviour_hook_validates(client: stripe.StripeClient, sandbox: SandboxServer, http: httpx.Client) -> None:
    url = f"{sandbox.url}/_sandbox/stripe/payment_methods/pm_unknown/behaviour"
    assert http.post(url, json={"off_session": "succeeds"}).status_code == 404
    account = onboarded_account(client, http, sandbox)
    _, payment_method = saved_card(client, http, sandbox, account)
    url = f"{sandbox.url}/_sandbox/stripe/payment_methods/{payment_method}/behaviour"
    assert http.post(url, json={"off_session": "sometimes"}).status_code == 400
    answer = http.post(url, json={"off_session": "card_declined"}).json()
    assert answer == {"id": payment_method, "account": account, "off_session": "card_declined"}


# ---------------------------------------------------------------------------------------------------
# Refunds that give the application fee back


def test_refund_application_fee_refunds_the_fee_in_proportion(
    client: stripe.StripeClient, sandbox: SandboxServer, http: httpx.Client, platform_hook: Endpoint
) -> None:
    account = onboarded_account(client, http, sandbox)
    session = paid_session(client, http, sandbox, account, fee=99)  # 9900 charged, 99 fee
    intent = client.v1.payment_intents.retrieve(session.payment_intent, options=on(account))
    fee_id = client.v1.charges.retrieve(intent.latest_charge, options=on(account)).application_fee

    half = client.v1.refunds.create(
        params={"payment_intent": intent.id, "amount": 4950, "refund_application_fee": True}, options=on(account)
    )
    assert (half.amount, half.status) == (4950, "succeeded")
    fee = client.v1.application_fees.retrieve(fee_id)
    assert (fee.amount_refunded, fee.refunded) == (50, False)  # 99 × 4950 / 9900 = 49.5, rounded half up
    assert [(r.object, r.amount, r.fee) for r in fee.refunds.data] == [("fee_refund", 50, fee_id)]

    client.v1.refunds.create(params={"payment_intent": intent.id, "refund_application_fee": True}, options=on(account))
    fee = client.v1.application_fees.retrieve(fee_id)
    assert (fee.amount_refunded, fee.refunded, fee.refunds.total_count) == (99, True, 2)  # never more than the fee
    refunded = platform_hook.events("application_fee.refunded")["application_fee.refunded"]
    assert refunded.data.object.id == fee_id and "account" not in refunded

    # A third of a 333 fee on another payment, and a refund that keeps the fee.
    other = paid_session(client, http, sandbox, account, fee=333)
    other_intent = client.v1.payment_intents.retrieve(other.payment_intent, options=on(account))
    other_fee = client.v1.charges.retrieve(other_intent.latest_charge, options=on(account)).application_fee
    client.v1.refunds.create(params={"payment_intent": other_intent.id, "amount": 1000}, options=on(account))
    assert client.v1.application_fees.retrieve(other_fee).amount_refunded == 0
    client.v1.refunds.create(
        params={"payment_intent": other_intent.id, "amount": 3300, "refund_application_fee": True},
        options=on(account),
    )
    assert client.v1.application_fees.retrieve(other_fee).amount_refunded == 111  # 333 × 3300 / 9900
