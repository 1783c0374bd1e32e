"""Stripe Billing on the local sandbox, driven through the real ``stripe`` SDK: a running subscription
(made by a subscription-mode Checkout paid on the hosted page) changes price with Stripe's
prorations, invoiced at once, left pending for the renewal, or none, and is set to end at its
period's end (``cancel_at_period_end``) or kept; the refusals change nothing. The card its invoices
charge is the subscription's default payment method, else the customer's invoice default, which the
customer portal (``billing_portal.sessions``, its hosted page driven with httpx) sets; a failed
renewal's open invoice is paid now (``invoices.pay``) with that card, or marked paid out of band, or
by the customer on its hosted invoice page (driven with httpx), through 3D Secure when the card asks
for it. Webhooks are checked with ``construct_event``, in the order one endpoint receives them."""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction
from html.parser import HTMLParser

import httpx
import pytest
import stripe
from sandbox_support import StripeReceiver, flush
from sandbox_support import http as http
from sandbox_support import sandbox as sandbox

from provider_sandbox.app import SandboxServer

pytestmark = pytest.mark.timeout(60)

API_KEY = "sk_test_local_caisse_billing"
STARTER = 1900  # USD 19.00 a month
PRO = 4900
PLAN_METADATA = {"merchant": "m1", "plan": "starter", "purpose": "plan"}


# ---------------------------------------------------------------------------------------------------
# A webhook receiver on loopback


@dataclass
class Endpoint:
    receiver: StripeReceiver
    secret: str

    def events_since(self, count: int, http: httpx.Client, sandbox: SandboxServer) -> list[stripe.Event]:
        """Every event delivered after the first ``count``, verified with the endpoint's secret."""
        flush(http, sandbox)
        received = self.receiver.snapshot()[count:]
        return [stripe.Webhook.construct_event(r.body, r.headers["Stripe-Signature"], self.secret) for r in received]

    def count(self, http: httpx.Client, sandbox: SandboxServer) -> int:
        flush(http, sandbox)
        return len(self.receiver.snapshot())


@pytest.fixture
def client(sandbox: SandboxServer) -> stripe.StripeClient:
    return stripe.StripeClient(API_KEY, base_addresses={"api": sandbox.url}, max_network_retries=0)


@pytest.fixture
def hook(request: pytest.FixtureRequest, client: stripe.StripeClient) -> Endpoint:
    receiver = StripeReceiver()
    request.addfinalizer(receiver.close)
    created = client.v1.webhook_endpoints.create(params={"url": receiver.url, "enabled_events": ["*"]})
    return Endpoint(receiver, created.secret)


def subscribed(
    client: stripe.StripeClient, http: httpx.Client, sandbox: SandboxServer, customer: str | None = None
) -> stripe.Subscription:
    """A running monthly Starter subscription, paid on the hosted Checkout page (by ``customer`` if
    given, else a new customer of Checkout's)."""
    params: dict = {
        "mode": "subscription",
        "line_items": [
            {
                "price_data": {
                    "currency": "usd",
                    "unit_amount": STARTER,
                    "product_data": {"name": "Starter plan"},
                    "recurring": {"interval": "month"},
                },
                "quantity": 1,
            }
        ],
        "subscription_data": {"metadata": PLAN_METADATA},
        "success_url": "http://127.0.0.1:3000/billing/done",
        "cancel_url": "http://127.0.0.1:3000/billing",
    }
    if customer is None:
        params["customer_email"] = "owner@chez-ada.example"
    else:
        params["customer"] = customer
    session = client.v1.checkout.sessions.create(params=params)
    response = http.post(f"{sandbox.url}/pay/{session.id}/pay")
    assert response.status_code == 303, response.text
    subscription_id = client.v1.checkout.sessions.retrieve(session.id).subscription
    return client.v1.subscriptions.retrieve(subscription_id)


def pro_product(client: stripe.StripeClient) -> stripe.Product:
    return client.v1.products.create(
        params={"name": "Pro plan", "metadata": {"plan": "pro"}}, options={"idempotency_key": "product-pro"}
    )


def ready_to_change(
    client: stripe.StripeClient, hook: Endpoint, http: httpx.Client, sandbox: SandboxServer
) -> tuple[stripe.Subscription, stripe.Product, int]:
    """A running Starter subscription, the Pro plan's product, and how many webhooks came so far."""
    subscription = subscribed(client, http, sandbox)
    return subscription, pro_product(client), hook.count(http, sandbox)


def change_params(subscription: stripe.Subscription, product: str, amount: int, behaviour: str, **more) -> dict:
    """The update Caisse sends to move a merchant to another plan."""
    params: dict = {
        "items": [
            {
                "id": subscription["items"].data[0].id,
                "price_data": {
                    "currency": "usd",
                    "product": product,
                    "unit_amount": amount,
                    "recurring": {"interval": "month"},
                },
                "quantity": 1,
            }
        ],
        "metadata": {"merchant": "m1", "plan": "pro", "purpose": "plan"},
        "proration_behavior": behaviour,
    }
    params.update(more)
    return params


def exact_proration(amount: int, start: int, end: int, when: int) -> Fraction:
    return Fraction(amount * (end - when), end - start)


def cents(amount: Fraction) -> int:
    """A non-negative amount to the nearest minor unit, halves up."""
    return int(amount + Fraction(1, 2))


def assert_prorated(actual: int, amount: int, item: stripe.SubscriptionItem, before: int, after: int) -> None:
    """``actual`` is ``amount`` for the period's time left after a change made between ``before`` and
    ``after`` (a second's tolerance each side), rounded to the cent."""
    start, end = item.current_period_start, item.current_period_end
    low = exact_proration(amount, start, end, after) - Fraction(1, 2)
    high = exact_proration(amount, start, end, before) + Fraction(1, 2)
    assert low <= actual <= high, (actual, float(low), float(high))


def renew(http: httpx.Client, sandbox: SandboxServer, subscription: str) -> dict:
    response = http.post(f"{sandbox.url}/_sandbox/stripe/subscriptions/{subscription}/renew", json={})
    assert response.status_code == 200, response.text
    return response.json()


# ---------------------------------------------------------------------------------------------------
# Products


def test_a_product_is_created_replayed_by_its_idempotency_key_and_read_back(
    client: stripe.StripeClient, hook: Endpoint, http: httpx.Client, sandbox: SandboxServer
) -> None:
    product = pro_product(client)
    assert product.id.startswith("prod_") and product.name == "Pro plan" and product.active is True
    assert product.metadata.to_dict() == {"plan": "pro"}
    assert pro_product(client).id == product.id  # the same key answers the same product
    assert client.v1.products.retrieve(product.id).name == "Pro plan"
    events = hook.events_since(0, http, sandbox)
    assert [event.type for event in events] == ["product.created"]
    assert events[0].data.object.id == product.id

    with pytest.raises(stripe.InvalidRequestError) as missing_name:
        client.v1.products.create(params={"metadata": {"plan": "pro"}})
    assert missing_name.value.http_status == 400 and missing_name.value.param == "name"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.products.create(params={"name": "Pro plan", "colour": "blue"})
    assert "Received unknown parameter: colour" in str(unknown.value.user_message)
    with pytest.raises(stripe.InvalidRequestError) as absent:
        client.v1.products.retrieve("prod_missing")
    assert absent.value.http_status == 404


# ---------------------------------------------------------------------------------------------------
# Changing price


def test_upgrade_with_always_invoice_charges_the_prorated_difference_at_once(
    client: stripe.StripeClient, hook: Endpoint, http: httpx.Client, sandbox: SandboxServer
) -> None:
    subscription, product, seen = ready_to_change(client, hook, http, sandbox)
    item = subscription["items"].data[0]

    before = int(time.time())
    updated = client.v1.subscriptions.update(
        subscription.id,
        params=change_params(subscription, product.id, PRO, "always_invoice"),
        options={"idempotency_key": "plan-change-1"},
    )
    after = int(time.time()) + 1

    new_item = updated["items"].data[0]
    assert new_item.id == item.id and new_item.price.unit_amount == PRO and new_item.price.product == product.id
    assert new_item.price.id != item.price.id
    assert (new_item.current_period_start, new_item.current_period_end) == (
        item.current_period_start,
        item.current_period_end,
    )
    assert updated.billing_cycle_anchor == subscription.billing_cycle_anchor
    assert updated.metadata.to_dict() == {"merchant": "m1", "plan": "pro", "purpose": "plan"}

    invoice = client.v1.invoices.retrieve(updated.latest_invoice)
    assert invoice.billing_reason == "subscription_update" and invoice.status == "paid"
    credit, charge = invoice.lines.data
    assert credit.amount < 0 < charge.amount
    assert_prorated(-credit.amount, STARTER, item, before, after)
    assert_prorated(charge.amount, PRO, item, before, after)
    for line in (credit, charge):
        assert line.parent.subscription_item_details.proration is True
        assert line.period.end == item.current_period_end and before <= line.period.start <= after
    day = time.strftime("%d %b %Y", time.gmtime(credit.period.start))
    assert credit.description == f"Unused time on Starter plan after {day}"
    assert charge.description == f"Remaining time on Pro plan after {day}"
    assert invoice.total == credit.amount + charge.amount == invoice.amount_due == invoice.amount_paid
    assert invoice.parent.subscription_details.metadata.to_dict()["plan"] == "pro"

    events = hook.events_since(seen, http, sandbox)
    assert [event.type for event in events] == [
        "customer.subscription.updated",
        "invoiceitem.created",
        "invoiceitem.created",
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
    ]
    changed = events[0].data
    assert changed.object.metadata["plan"] == "pro"
    assert changed.previous_attributes["items"]["data"][0]["price"]["unit_amount"] == STARTER
    assert changed.previous_attributes["metadata"]["plan"] == "starter"
    assert all(event.data.object.id == invoice.id for event in events[3:])

    # The same key replays the answer: nothing is charged twice.
    again = client.v1.subscriptions.update(
        subscription.id,
        params=change_params(subscription, product.id, PRO, "always_invoice"),
        options={"idempotency_key": "plan-change-1"},
    )
    assert again.latest_invoice == invoice.id
    assert hook.events_since(seen + len(events), http, sandbox) == []


def test_downgrade_with_always_invoice_credits_the_balance_which_the_renewal_spends(
    client: stripe.StripeClient, hook: Endpoint, http: httpx.Client, sandbox: SandboxServer
) -> None:
    subscription = subscribed(client, http, sandbox)
    item = subscription["items"].data[0]
    basic = client.v1.products.create(params={"name": "Basic plan"})
    when = item.current_period_start + (item.current_period_end - item.current_period_start) // 2
    params = change_params(
        subscription, basic.id, 900, "always_invoice", proration_date=when, expand=["latest_invoice"]
    )
    updated = client.v1.subscriptions.update(subscription.id, params=params)

    invoice = updated.latest_invoice  # expanded
    assert invoice.object == "invoice" and invoice.billing_reason == "subscription_update"
    credit = -cents(exact_proration(STARTER, item.current_period_start, item.current_period_end, when))
    charge = cents(exact_proration(900, item.current_period_start, item.current_period_end, when))
    assert [line.amount for line in invoice.lines.data] == [credit, charge]
    assert invoice.total == credit + charge < 0
    assert (invoice.amount_due, invoice.amount_paid, invoice.status) == (0, 0, "paid")
    assert (invoice.starting_balance, invoice.ending_balance) == (0, invoice.total)
    assert client.v1.invoices.retrieve(invoice.id).to_dict() == invoice.to_dict()
    customer = client.v1.customers.retrieve(updated.customer)
    assert customer.balance == invoice.total

    renewal = renew(http, sandbox, subscription.id)["invoice"]
    assert renewal["billing_reason"] == "subscription_cycle" and renewal["total"] == 900
    assert renewal["starting_balance"] == invoice.total
    assert renewal["amount_due"] == max(0, 900 + invoice.total)
    assert renewal["ending_balance"] == min(0, 900 + invoice.total)
    assert client.v1.customers.retrieve(updated.customer).balance == renewal["ending_balance"]


def test_create_prorations_leaves_the_lines_for_the_next_renewal(
    client: stripe.StripeClient, hook: Endpoint, http: httpx.Client, sandbox: SandboxServer
) -> None:
    subscription, product, seen = ready_to_change(client, hook, http, sandbox)
    item = subscription["items"].data[0]
    when = item.current_period_end - (item.current_period_end - item.current_period_start) // 3
    updated = client.v1.subscriptions.update(
        subscription.id, params=change_params(subscription, product.id, PRO, "create_prorations", proration_date=when)
    )

    assert updated.latest_invoice == subscription.latest_invoice  # nothing invoiced now
    events = hook.events_since(seen, http, sandbox)
    assert [event.type for event in events] == [
        "customer.subscription.updated",
        "invoiceitem.created",
        "invoiceitem.created",
    ]
    pending = [event.data.object for event in events[1:]]
    assert all(invoice_item.invoice is None and invoice_item.proration for invoice_item in pending)

    renewed = renew(http, sandbox, subscription.id)
    renewal, new_item = renewed["invoice"], renewed["subscription"]["items"]["data"][0]
    start, end = item.current_period_start, item.current_period_end
    credit = -cents(exact_proration(STARTER, start, end, when))
    charge = cents(exact_proration(PRO, start, end, when))
    lines = renewal["lines"]["data"]
    assert [line["amount"] for line in lines] == [PRO, credit, charge]
    assert [line["parent"]["subscription_item_details"]["proration"] for line in lines] == [False, True, True]
    assert renewal["amount_due"] == renewal["total"] == PRO + credit + charge
    assert lines[0]["period"] == {"start": new_item["current_period_start"], "end": new_item["current_period_end"]}
    assert [line["period"]["end"] for line in lines[1:]] == [end, end]  # the old period's time left
    assert renewal["parent"]["subscription_details"]["metadata"]["plan"] == "pro"

    # Carried once: the following renewal bills the new price alone.
    assert renew(http, sandbox, subscription.id)["invoice"]["total"] == PRO


def test_none_changes_the_price_without_proration(
    client: stripe.StripeClient, hook: Endpoint, http: httpx.Client, sandbox: SandboxServer
) -> None:
    subscription, product, seen = ready_to_change(client, hook, http, sandbox)
    updated = client.v1.subscriptions.update(
        subscription.id, params=change_params(subscription, product.id, PRO, "none")
    )
    assert updated["items"].data[0].price.unit_amount == PRO
    assert updated.latest_invoice == subscription.latest_invoice
    assert [event.type for event in hook.events_since(seen, http, sandbox)] == ["customer.subscription.updated"]
    assert renew(http, sandbox, subscription.id)["invoice"]["total"] == PRO


def test_metadata_is_merged_and_an_empty_value_unsets_a_key(
    client: stripe.StripeClient, http: httpx.Client, sandbox: SandboxServer
) -> None:
    subscription = subscribed(client, http, sandbox)
    updated = client.v1.subscriptions.update(subscription.id, params={"metadata": {"plan": "pro", "purpose": ""}})
    assert updated.metadata.to_dict() == {"merchant": "m1", "plan": "pro"}
    assert updated["items"].data[0].price.unit_amount == STARTER


# ---------------------------------------------------------------------------------------------------
# Refusals: Stripe's status and message, and nothing changed


def refused(client: stripe.StripeClient, subscription: stripe.Subscription, params: dict) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.subscriptions.update(subscription.id, params=params)
    return error.value


@pytest.mark.parametrize(
    ("case", "status", "message", "param"),
    [
        (
            "currency",
            400,
            "You cannot combine currencies on a single customer. This customer has had a subscription, coupon, "
            "or invoice item with currency usd",
            "items[0][price_data]",
        ),
        ("unknown_item", 400, "No such subscription item: 'si_missing'", "items[0][id]"),
        ("unknown_product", 400, "No such product: 'prod_missing'", "items[0][price_data][product]"),
        ("missing_price", 400, "Missing required param: items[0][price].", "items[0][price]"),
        ("missing_amount", 400, "Missing required param: items[0][price_data][unit_amount].", None),
        ("behaviour", 400, "Invalid proration_behavior", "proration_behavior"),
        ("unknown_param", 400, "Received unknown parameter: billing_cycle_anchor", "billing_cycle_anchor"),
        ("payment_behavior", 400, "The local sandbox does not support payment_behavior", "payment_behavior"),
        ("cancel_flag", 400, "Invalid boolean: soon", "cancel_at_period_end"),
        ("feedback", 400, "Invalid cancellation_details[feedback]", "cancellation_details[feedback]"),
    ],
)
def test_a_refused_change_answers_stripes_error_and_changes_nothing(
    client: stripe.StripeClient,
    hook: Endpoint,
    http: httpx.Client,
    sandbox: SandboxServer,
    case: str,
    status: int,
    message: str,
    param: str | None,
) -> None:
    subscription, product, seen = ready_to_change(client, hook, http, sandbox)
    params = change_params(subscription, product.id, PRO, "always_invoice")
    item = params["items"][0]
    match case:
        case "currency":
            item["price_data"]["currency"] = "eur"
        case "unknown_item":
            item["id"] = "si_missing"
        case "unknown_product":
            item["price_data"]["product"] = "prod_missing"
        case "missing_price":
            del item["id"], item["price_data"]
        case "missing_amount":
            del item["price_data"]["unit_amount"]
        case "behaviour":
            params["proration_behavior"] = "sometimes"
        case "unknown_param":
            params["billing_cycle_anchor"] = "now"
        case "payment_behavior":
            params["payment_behavior"] = "pending_if_incomplete"
        case "cancel_flag":
            params["cancel_at_period_end"] = "soon"
        case "feedback":
            params.update(cancel_at_period_end=True, cancellation_details={"feedback": "bored"})

    error = refused(client, subscription, params)
    assert error.http_status == status
    assert message in str(error.user_message)
    if param:
        assert error.param == param
    assert client.v1.subscriptions.retrieve(subscription.id).to_dict() == subscription.to_dict()
    assert hook.events_since(seen, http, sandbox) == []


def test_a_canceled_subscription_keeps_its_price_and_end_but_may_change_metadata_and_details(
    client: stripe.StripeClient, hook: Endpoint, http: httpx.Client, sandbox: SandboxServer
) -> None:
    subscription = subscribed(client, http, sandbox)
    product = pro_product(client)
    client.v1.subscriptions.cancel(subscription.id)
    canceled = client.v1.subscriptions.retrieve(subscription.id)
    seen = hook.count(http, sandbox)

    for params in (
        change_params(subscription, product.id, PRO, "always_invoice"),
        {"cancel_at_period_end": True},
        {"cancel_at_period_end": False},
    ):
        error = refused(client, subscription, params)
        assert error.http_status == 400
        assert error.user_message == (
            "A canceled subscription can only update its cancellation_details and metadata. "
            f"This subscription ({subscription.id}) is canceled."
        )
    assert client.v1.subscriptions.retrieve(subscription.id).to_dict() == canceled.to_dict()
    assert hook.events_since(seen, http, sandbox) == []

    noted = client.v1.subscriptions.update(
        subscription.id, params={"metadata": {"note": "left"}, "cancellation_details": {"comment": "Moved away"}}
    )
    assert noted.status == "canceled" and noted.metadata["note"] == "left"
    assert noted.cancellation_details.to_dict() == {
        "comment": "Moved away",
        "feedback": None,
        "reason": "cancellation_requested",
    }


def decline_card(http: httpx.Client, sandbox: SandboxServer, subscription: stripe.Subscription) -> None:
    response = http.post(
        f"{sandbox.url}/_sandbox/stripe/payment_methods/{subscription.default_payment_method}/behaviour",
        json={"off_session": "card_declined"},
    )
    assert response.status_code == 200, response.text


def test_a_declined_card_leaves_the_update_invoice_open_and_the_subscription_past_due(
    client: stripe.StripeClient, hook: Endpoint, http: httpx.Client, sandbox: SandboxServer
) -> None:
    subscription, product, seen = ready_to_change(client, hook, http, sandbox)
    decline_card(http, sandbox, subscription)

    updated = client.v1.subscriptions.update(
        subscription.id, params=change_params(subscription, product.id, PRO, "always_invoice")
    )
    assert updated.status == "past_due"  # allow_incomplete: the change stands, the invoice waits
    assert updated["items"].data[0].price.unit_amount == PRO
    invoice = client.v1.invoices.retrieve(updated.latest_invoice)
    assert invoice.status == "open" and invoice.amount_paid == 0
    assert invoice.amount_remaining == invoice.amount_due == invoice.total > 0
    events = hook.events_since(seen, http, sandbox)
    assert [event.type for event in events][-3:] == ["invoice.created", "invoice.finalized", "invoice.payment_failed"]
    assert events[0].data.previous_attributes["status"] == "active"


def test_error_if_incomplete_refuses_an_upgrade_the_card_declines_and_changes_nothing(
    client: stripe.StripeClient, hook: Endpoint, http: httpx.Client, sandbox: SandboxServer
) -> None:
    subscription, product, seen = ready_to_change(client, hook, http, sandbox)
    decline_card(http, sandbox, subscription)
    params = change_params(subscription, product.id, PRO, "always_invoice", payment_behavior="error_if_incomplete")

    with pytest.raises(stripe.CardError) as declined:
        client.v1.subscriptions.update(subscription.id, params=params)
    assert declined.value.http_status == 402 and declined.value.code == "card_declined"
    assert declined.value.user_message == "Your card was declined."
    assert client.v1.subscriptions.retrieve(subscription.id).to_dict() == subscription.to_dict()
    assert hook.events_since(seen, http, sandbox) == []

    # A downgrade charges nothing, so the same card does not stand in its way.
    basic = client.v1.products.create(params={"name": "Basic plan"})
    params = change_params(subscription, basic.id, 900, "always_invoice", payment_behavior="error_if_incomplete")
    downgraded = client.v1.subscriptions.update(subscription.id, params=params)
    assert downgraded.status == "active" and downgraded["items"].data[0].price.unit_amount == 900
    assert client.v1.invoices.retrieve(downgraded.latest_invoice).status == "paid"


def test_a_charge_below_the_minimum_is_not_taken_but_carried_to_the_renewal(
    client: stripe.StripeClient, hook: Endpoint, http: httpx.Client, sandbox: SandboxServer
) -> None:
    subscription, product, seen = ready_to_change(client, hook, http, sandbox)
    item = subscription["items"].data[0]
    start, end = item.current_period_start, item.current_period_end
    when = end - (end - start) // 100  # 1% of the period left: (4900 - 1900) / 100 = USD 0.30
    updated = client.v1.subscriptions.update(
        subscription.id, params=change_params(subscription, product.id, PRO, "always_invoice", proration_date=when)
    )

    invoice = client.v1.invoices.retrieve(updated.latest_invoice)
    due = cents(exact_proration(PRO, start, end, when)) - cents(exact_proration(STARTER, start, end, when))
    assert 0 < invoice.total == due < 50  # USD's minimum charge is 50 cents
    assert (invoice.status, invoice.amount_paid, invoice.ending_balance) == ("paid", 0, due)
    assert client.v1.customers.retrieve(updated.customer).balance == due  # a debit

    renewal = renew(http, sandbox, subscription.id)["invoice"]
    assert renewal["starting_balance"] == due and renewal["amount_due"] == PRO + due
    assert renewal["ending_balance"] == 0


# ---------------------------------------------------------------------------------------------------
# Canceling at the period's end ("Cancel plan", "Keep my plan")


def cancel_at_period_end(
    client: stripe.StripeClient, subscription: stripe.Subscription, value: bool, **more
) -> stripe.Subscription:
    """The update Caisse sends for "Cancel plan" (True) and "Keep my plan" (False)."""
    return client.v1.subscriptions.update(subscription.id, params={"cancel_at_period_end": value, **more})


def set_to_end(
    client: stripe.StripeClient, hook: Endpoint, http: httpx.Client, sandbox: SandboxServer
) -> tuple[stripe.Subscription, stripe.Subscription, int]:
    """A running subscription, the same set to end at its period's end, and how many webhooks came."""
    subscription = subscribed(client, http, sandbox)
    return subscription, cancel_at_period_end(client, subscription, True), hook.count(http, sandbox)


def test_cancel_at_period_end_schedules_the_end_and_a_repeat_changes_nothing(
    client: stripe.StripeClient, hook: Endpoint, http: httpx.Client, sandbox: SandboxServer
) -> None:
    subscription = subscribed(client, http, sandbox)
    seen = hook.count(http, sandbox)
    before = int(time.time())
    scheduled = cancel_at_period_end(
        client, subscription, True, cancellation_details={"feedback": "too_expensive", "comment": "Too dear"}
    )
    after = int(time.time()) + 1

    assert scheduled.status == "active" and scheduled.ended_at is None  # it runs to the period's end
    assert scheduled.cancel_at_period_end is True
    assert scheduled.cancel_at == subscription["items"].data[0].current_period_end
    assert before <= scheduled.canceled_at <= after
    assert scheduled.cancellation_details.to_dict() == {
        "comment": "Too dear",
        "feedback": "too_expensive",
        "reason": "cancellation_requested",
    }
    assert scheduled.latest_invoice == subscription.latest_invoice  # nothing invoiced or refunded
    events = hook.events_since(seen, http, sandbox)
    assert [event.type for event in events] == ["customer.subscription.updated"]
    assert events[0].data.object.cancel_at == scheduled.cancel_at
    assert events[0].data.previous_attributes.to_dict() == {
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
    }

    # A second click (a new idempotency key): the same subscription, no event.
    again = cancel_at_period_end(
        client, subscription, True, cancellation_details={"feedback": "too_expensive", "comment": "Too dear"}
    )
    assert again.to_dict() == scheduled.to_dict()
    assert hook.events_since(seen + 1, http, sandbox) == []


def test_keep_my_plan_undoes_the_scheduled_end_and_the_plan_renews(
    client: stripe.StripeClient, hook: Endpoint, http: httpx.Client, sandbox: SandboxServer
) -> None:
    subscription, scheduled, seen = set_to_end(client, hook, http, sandbox)

    kept = cancel_at_period_end(client, subscription, False)
    assert (kept.cancel_at_period_end, kept.cancel_at, kept.canceled_at) == (False, None, None)
    assert kept.cancellation_details.to_dict() == {"comment": None, "feedback": None, "reason": None}
    assert kept.status == "active"
    events = hook.events_since(seen, http, sandbox)
    assert [event.type for event in events] == ["customer.subscription.updated"]
    assert events[0].data.previous_attributes.to_dict() == {
        "cancel_at": scheduled.cancel_at,
        "cancel_at_period_end": True,
        "canceled_at": scheduled.canceled_at,
        "cancellation_details": {"reason": "cancellation_requested"},
    }
    assert cancel_at_period_end(client, subscription, False).to_dict() == kept.to_dict()
    assert hook.events_since(seen + 1, http, sandbox) == []

    renewed = renew(http, sandbox, subscription.id)
    assert renewed["subscription"]["status"] == "active" and renewed["invoice"]["total"] == STARTER


def test_the_period_end_ends_a_subscription_set_to_cancel_without_an_invoice(
    client: stripe.StripeClient, hook: Endpoint, http: httpx.Client, sandbox: SandboxServer
) -> None:
    subscription, scheduled, seen = set_to_end(client, hook, http, sandbox)
    balance = client.v1.customers.retrieve(subscription.customer).balance

    before = int(time.time())
    ended = renew(http, sandbox, subscription.id)
    after = int(time.time()) + 1

    assert ended["invoice"] is None
    sub = client.v1.subscriptions.retrieve(subscription.id)
    assert sub.status == "canceled" and before <= sub.ended_at <= after
    assert (sub.cancel_at, sub.canceled_at) == (scheduled.cancel_at, scheduled.canceled_at)
    assert sub.latest_invoice == subscription.latest_invoice
    assert client.v1.customers.retrieve(subscription.customer).balance == balance
    events = hook.events_since(seen, http, sandbox)
    assert [event.type for event in events] == ["customer.subscription.deleted"]
    assert events[0].data.object.status == "canceled" and events[0].data.object.cancel_at_period_end is True

    again = http.post(f"{sandbox.url}/_sandbox/stripe/subscriptions/{subscription.id}/renew", json={})
    assert again.status_code == 400 and "canceled" in again.text
    assert hook.events_since(seen + 1, http, sandbox) == []


def test_the_period_end_collects_the_prorations_still_pending_and_renews_nothing(
    client: stripe.StripeClient, hook: Endpoint, http: httpx.Client, sandbox: SandboxServer
) -> None:
    subscription, product, _ = ready_to_change(client, hook, http, sandbox)
    item = subscription["items"].data[0]
    start, end = item.current_period_start, item.current_period_end
    when = start + (end - start) // 2
    params = change_params(subscription, product.id, PRO, "create_prorations", proration_date=when)
    changed = client.v1.subscriptions.update(subscription.id, params={**params, "cancel_at_period_end": True})
    assert changed["items"].data[0].price.unit_amount == PRO and changed.cancel_at_period_end is True
    seen = hook.count(http, sandbox)

    final = renew(http, sandbox, subscription.id)["invoice"]
    credit = -cents(exact_proration(STARTER, start, end, when))
    charge = cents(exact_proration(PRO, start, end, when))
    assert [line["amount"] for line in final["lines"]["data"]] == [credit, charge]  # no new period
    assert final["status"] == "paid" and final["amount_paid"] == credit + charge
    sub = client.v1.subscriptions.retrieve(subscription.id)
    assert sub.status == "canceled" and sub.latest_invoice == final["id"]
    assert [event.type for event in hook.events_since(seen, http, sandbox)] == [
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "customer.subscription.deleted",
    ]


# ---------------------------------------------------------------------------------------------------
# The card a plan is paid with: the customer portal, and which card an invoice charges

RETURN_URL = "http://127.0.0.1:3000/billing"
DONE_URL = "http://127.0.0.1:3000/billing?card=updated"
CARD_PAYS, CARD_DECLINES, CARD_NEEDS_AUTHENTICATION = "4242424242424242", "4000000000000341", "4000002760003184"
TEST_CARDS = (CARD_PAYS, CARD_DECLINES, CARD_NEEDS_AUTHENTICATION)
NO_PAYMENT_METHOD = "This customer has no attached payment source or default payment method."


def portal_session(client: stripe.StripeClient, customer: str, **more) -> stripe.billing_portal.Session:
    """A portal session for updating the card, back to the billing page once saved (what Caisse asks for)."""
    params: dict = {
        "customer": customer,
        "return_url": RETURN_URL,
        "flow_data": {
            "type": "payment_method_update",
            "after_completion": {"type": "redirect", "redirect": {"return_url": DONE_URL}},
        },
    }
    params.update(more)
    return client.v1.billing_portal.sessions.create(params=params)


def save_card(http: httpx.Client, session: stripe.billing_portal.Session, card: str) -> httpx.Response:
    """The customer picks a test card on the portal's page and presses Save (no redirect followed)."""
    return http.post(f"{session.url}/payment_method", data={"card": card})


def sandbox_events(http: httpx.Client, sandbox: SandboxServer, event_type: str) -> list[dict]:
    return http.get(f"{sandbox.url}/_sandbox/events", params={"type": event_type}).json()


def invoice_default(client: stripe.StripeClient, customer: str) -> str | None:
    return client.v1.customers.retrieve(customer).invoice_settings.default_payment_method


class PageParts(HTMLParser):
    """What a test checks of a page's structure: its lang, headings, radios, labels, links, forms
    (their actions) and buttons (their text)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.lang: str | None = None
        self.h1: list[str] = []
        self.radios: list[dict[str, str | None]] = []
        self.labels: list[str | None] = []
        self.links: dict[str, str] = {}  # href: text
        self.forms: list[str | None] = []
        self.buttons: list[str] = []
        self._in: str | None = None
        self._href = ""
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "html":
            self.lang = attributes.get("lang")
        elif tag == "input" and attributes.get("type") == "radio":
            self.radios.append(attributes)
        elif tag == "label":
            self.labels.append(attributes.get("for"))
        elif tag == "form":
            self.forms.append(attributes.get("action"))
        elif tag in ("h1", "a", "button"):
            self._in, self._href = tag, attributes.get("href") or ""
            if tag == "h1":
                self.h1.append("")
            elif tag == "button":
                self.buttons.append("")
            else:
                self.links[self._href] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "h1":
            self.h1[-1] += data
        elif self._in == "button":
            self.buttons[-1] += data
        elif self._in == "a":
            self.links[self._href] += data


def test_a_portal_session_is_stripes_object_with_its_flow_and_a_page_at_the_sandbox(
    client: stripe.StripeClient, hook: Endpoint, http: httpx.Client, sandbox: SandboxServer
) -> None:
    subscription = subscribed(client, http, sandbox)
    seen = hook.count(http, sandbox)
    before = int(time.time())
    session = portal_session(client, subscription.customer, locale="fr")
    after = int(time.time()) + 1

    assert session.id.startswith("bps_") and session.configuration.startswith("bpc_")
    assert before <= session.created <= after
    assert session.to_dict() == {
        "id": session.id,
        "object": "billing_portal.session",
        "after_expiration": None,
        "configuration": session.configuration,
        "created": session.created,
        "customer": subscription.customer,
        "customer_account": None,
        "flow": {
            "after_completion": {"hosted_confirmation": None, "redirect": {"return_url": DONE_URL}, "type": "redirect"},
            "customer_update": None,
            "subscription_cancel": None,
            "subscription_pause": None,
            "subscription_update": None,
            "subscription_update_confirm": None,
            "type": "payment_method_update",
        },
        "livemode": False,
        "locale": "fr",
        "on_behalf_of": None,
        "return_url": RETURN_URL,
        "url": f"{sandbox.url}/billing_portal/{session.id}",
    }
    events = hook.events_since(seen, http, sandbox)
    assert [event.type for event in events] == ["billing_portal.session.created"]
    assert events[0].data.object.id == session.id
    # The page answers the session itself to a JSON client.
    shown = http.get(session.url, headers={"Accept": "application/json"})
    assert shown.status_code == 200 and shown.json() == session.to_dict()

    # The bare portal: the default configuration named, no flow, no locale nor return_url.
    bare = client.v1.billing_portal.sessions.create(
        params={"customer": subscription.customer, "configuration": session.configuration}
    )
    assert (bare.configuration, bare.flow, bare.locale, bare.return_url) == (session.configuration, None, None, None)
    confirmed = portal_session(
        client,
        subscription.customer,
        flow_data={
            "type": "payment_method_update",
            "after_completion": {"type": "hosted_confirmation", "hosted_confirmation": {"custom_message": "Thanks!"}},
        },
    )
    assert confirmed.flow.after_completion.to_dict() == {
        "hosted_confirmation": {"custom_message": "Thanks!"},
        "redirect": None,
        "type": "hosted_confirmation",
    }
    homepage = portal_session(client, subscription.customer, flow_data={"type": "payment_method_update"})
    assert homepage.flow.after_completion.type == "portal_homepage"


@pytest.mark.parametrize(
    ("case", "message", "param"),
    [
        ("unknown_customer", "No such customer: 'cus_missing'", "customer"),
        ("no_customer", "Missing required param: customer.", "customer"),
        ("unsupported_flow", "does not support the customer portal flow subscription_cancel yet", "flow_data[type]"),
        ("unknown_flow", "Invalid flow_data[type]", "flow_data[type]"),
        (
            "redirect_without_url",
            "Missing required param: flow_data[after_completion][redirect][return_url].",
            "flow_data[after_completion][redirect][return_url]",
        ),
        ("unknown_param", "Received unknown parameter: colour", "colour"),
        ("unknown_configuration", "No such configuration: 'bpc_missing'", "configuration"),
        ("locale", "Invalid locale", "locale"),
        ("return_url", "Not a valid URL: return_url", "return_url"),
    ],
)
def test_a_refused_portal_session_answers_stripes_error(
    client: stripe.StripeClient,
    hook: Endpoint,
    http: httpx.Client,
    sandbox: SandboxServer,
    case: str,
    message: str,
    param: str,
) -> None:
    customer = client.v1.customers.create(params={"email": "owner@chez-ada.example"})
    seen = hook.count(http, sandbox)
    params: dict = {"customer": customer.id, "return_url": RETURN_URL}
    match case:
        case "unknown_customer":
            params["customer"] = "cus_missing"
        case "no_customer":
            del params["customer"]
        case "unsupported_flow":
            params["flow_data"] = {"type": "subscription_cancel", "subscription_cancel": {"subscription": "sub_1"}}
        case "unknown_flow":
            params["flow_data"] = {"type": "card_swap"}
        case "redirect_without_url":
            params["flow_data"] = {"type": "payment_method_update", "after_completion": {"type": "redirect"}}
        case "unknown_param":
            params["colour"] = "blue"
        case "unknown_configuration":
            params["configuration"] = "bpc_missing"
        case "locale":
            params["locale"] = "xx"
        case "return_url":
            params["return_url"] = "billing"

    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.billing_portal.sessions.create(params=params)
    assert error.value.http_status == 400 and error.value.param == param
    assert message in str(error.value.user_message)
    if case in ("unknown_customer", "unknown_configuration"):
        assert error.value.code == "resource_missing"
    assert hook.events_since(seen, http, sandbox) == []


def test_the_portal_page_speaks_the_sessions_language_names_the_card_and_offers_the_test_cards(
    client: stripe.StripeClient, http: httpx.Client, sandbox: SandboxServer
) -> None:
    subscription = subscribed(client, http, sandbox)

    english = http.get(portal_session(client, subscription.customer).url)
    assert english.status_code == 200 and english.headers["content-type"].startswith("text/html")
    page = PageParts(english.text)
    assert page.lang == "en" and page.h1 == ["Update your payment method"]
    assert "<title>Update your payment method</title>" in english.text
    assert 'name="viewport"' in english.text  # readable on a phone
    assert "Customer: owner@chez-ada.example" in english.text
    assert "Current card: Visa ending in 4242" in english.text  # the card Checkout saved
    assert [radio["value"] for radio in page.radios] == list(TEST_CARDS)
    assert all(radio["name"] == "card" for radio in page.radios)
    assert ["checked" in radio for radio in page.radios] == [True, False, False]
    assert sorted(page.labels) == sorted(radio["id"] for radio in page.radios)  # each radio has its label
    assert "4000 0000 0000 0341" in english.text and "4000 0027 6000 3184" in english.text
    assert 'action="/billing_portal/' in english.text and ">Save</button>" in english.text
    assert page.links == {RETURN_URL: "Return to Caisse (local platform)"}

    french = http.get(portal_session(client, subscription.customer, locale="fr").url)
    page = PageParts(french.text)
    assert page.lang == "fr" and page.h1 == ["Mettre à jour votre moyen de paiement"]
    assert "Carte actuelle\u00a0: Visa se terminant par 4242" in french.text
    assert ">Enregistrer</button>" in french.text and len(page.radios) == 3
    assert page.links == {RETURN_URL: "Retour à Caisse (local platform)"}

    german = PageParts(http.get(portal_session(client, subscription.customer, locale="de").url).text)
    assert german.lang == "en" and german.h1 == ["Update your payment method"]  # shown in English

    # "auto" (or none): the customer's preferred_locales, else the browser's language.
    auto = portal_session(client, subscription.customer, locale="auto").url
    assert PageParts(http.get(auto).text).lang == "en"
    french_browser = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.8"}
    assert PageParts(http.get(auto, headers=french_browser).text).h1 == ["Mettre à jour votre moyen de paiement"]
    bare = client.v1.billing_portal.sessions.create(params={"customer": subscription.customer}).url
    assert PageParts(http.get(bare, headers=french_browser).text).lang == "fr"
    francophone = client.v1.customers.create(params={"name": "Awa", "preferred_locales": ["fr-CA", "en"]})
    assert francophone.preferred_locales == ["fr-CA", "en"]
    page = PageParts(http.get(portal_session(client, francophone.id, locale="auto").url).text)
    assert page.lang == "fr-CA" and page.h1 == ["Mettre à jour votre moyen de paiement"]

    missing = http.get(f"{sandbox.url}/billing_portal/bps_missing")
    assert missing.status_code == 404 and "There is no customer portal session bps_missing" in missing.text
    missing_json = http.get(f"{sandbox.url}/billing_portal/bps_missing", headers={"Accept": "application/json"})
    assert missing_json.status_code == 404 and missing_json.json()["error"]["code"] == "resource_missing"


def test_saving_a_card_in_the_portal_makes_it_the_customers_invoice_default_and_redirects(
    client: stripe.StripeClient, hook: Endpoint, http: httpx.Client, sandbox: SandboxServer
) -> None:
    subscription = subscribed(client, http, sandbox)
    old = invoice_default(client, subscription.customer)
    assert old == subscription.default_payment_method  # Checkout set both
    session = portal_session(client, subscription.customer)
    seen = hook.count(http, sandbox)

    saved = save_card(http, session, CARD_PAYS)
    assert saved.status_code == 303 and saved.headers["location"] == DONE_URL

    new = invoice_default(client, subscription.customer)
    assert new is not None and new != old
    card = client.v1.payment_methods.retrieve(new)
    assert (card.customer, card.type, card.card.last4, card.card.brand) == (
        subscription.customer,
        "card",
        "4242",
        "visa",
    )
    # Only the customer's invoice default moves: the subscription keeps its own card, which still wins.
    assert client.v1.subscriptions.retrieve(subscription.id).default_payment_method == old
    events = hook.events_since(seen, http, sandbox)
    assert [event.type for event in events] == ["payment_method.attached", "customer.updated"]
    [attached] = [
        e for e in sandbox_events(http, sandbox, "payment_method.attached") if e["data"]["object"]["id"] == new
    ]
    assert attached["data"]["object"]["customer"] == subscription.customer
    [updated] = [
        e
        for e in sandbox_events(http, sandbox, "customer.updated")
        if e["data"]["object"]["id"] == subscription.customer
    ]
    assert updated["data"]["object"]["invoice_settings"]["default_payment_method"] == new
    assert updated["data"]["previous_attributes"] == {"invoice_settings": {"default_payment_method": old}}

    # The page now names the new card; a JSON client gets the customer back; a number not offered is refused.
    assert "Visa ending in 4242" in http.get(session.url).text
    as_json = http.post(
        f"{session.url}/payment_method", data={"card": CARD_DECLINES}, headers={"Accept": "application/json"}
    )
    assert as_json.status_code == 200 and as_json.json()["id"] == subscription.customer
    declining = client.v1.payment_methods.retrieve(as_json.json()["invoice_settings"]["default_payment_method"])
    assert declining.card.last4 == "0341"
    for card_number in ("4111111111111111", ""):
        wrong = save_card(http, session, card_number)
        assert wrong.status_code == 400 and "Choose one of the test cards below." in wrong.text
    assert invoice_default(client, subscription.customer) == declining.id


def test_without_a_redirect_the_portal_confirms_on_its_own_page_in_the_sessions_language(
    client: stripe.StripeClient, http: httpx.Client, sandbox: SandboxServer
) -> None:
    customer = client.v1.customers.create(params={"name": "Ada Lovelace"})
    flow = {
        "type": "payment_method_update",
        "after_completion": {"type": "hosted_confirmation", "hosted_confirmation": {"custom_message": "Merci !"}},
    }
    session = portal_session(client, customer.id, locale="fr", flow_data=flow)
    page = http.get(session.url)
    assert "Client\u00a0: Ada Lovelace" in page.text and "Aucun moyen de paiement par défaut" in page.text

    done = save_card(http, session, CARD_NEEDS_AUTHENTICATION)
    assert done.status_code == 200
    parts = PageParts(done.text)
    assert parts.lang == "fr" and parts.h1 == ["Votre moyen de paiement a été mis à jour"]
    assert "Visa se terminant par 3184" in done.text and "Merci !" in done.text
    assert parts.links == {RETURN_URL: "Retour à Caisse (local platform)"}


def test_a_portal_session_expires_an_hour_after_its_creation(
    client: stripe.StripeClient, http: httpx.Client, sandbox: SandboxServer
) -> None:
    customer = client.v1.customers.create(params={"email": "owner@chez-ada.example"})
    session = portal_session(client, customer.id)
    config = http.post(f"{sandbox.url}/_sandbox/config", json={"clock_offset_seconds": 3600})
    assert config.status_code == 200, config.text

    gone = http.get(session.url)
    assert gone.status_code == 410
    assert PageParts(gone.text).h1 == ["This link has expired"]
    assert save_card(http, session, CARD_PAYS).status_code == 410
    as_json = http.get(session.url, headers={"Accept": "application/json"})
    assert as_json.status_code == 410 and "expired" in as_json.json()["error"]["message"]
    assert invoice_default(client, customer.id) is None  # nothing saved


def move_to(
    client: stripe.StripeClient, subscription: stripe.Subscription, product: str, amount: int
) -> stripe.Subscription:
    """An upgrade charged at once, refused unless its invoice is paid (the update Caisse sends)."""
    current = client.v1.subscriptions.retrieve(subscription.id)
    params = change_params(current, product, amount, "always_invoice", payment_behavior="error_if_incomplete")
    return client.v1.subscriptions.update(subscription.id, params=params)


def test_an_upgrade_charges_the_customers_default_card_once_the_subscription_has_none_of_its_own(
    client: stripe.StripeClient, hook: Endpoint, http: httpx.Client, sandbox: SandboxServer
) -> None:
    subscription, product, seen = ready_to_change(client, hook, http, sandbox)
    decline_card(http, sandbox, subscription)  # the card Checkout saved, the subscription's and the customer's
    with pytest.raises(stripe.CardError) as declined:
        move_to(client, subscription, product.id, PRO)
    assert declined.value.http_status == 402 and declined.value.code == "card_declined"

    unset = client.v1.subscriptions.update(subscription.id, params={"default_payment_method": ""})
    assert unset.default_payment_method is None
    events = hook.events_since(seen, http, sandbox)
    assert [event.type for event in events] == ["customer.subscription.updated"]
    assert events[0].data.previous_attributes.to_dict() == {
        "default_payment_method": subscription.default_payment_method
    }
    with pytest.raises(stripe.CardError):  # the customer's default is the same declining card
        move_to(client, subscription, product.id, PRO)

    assert save_card(http, portal_session(client, subscription.customer), CARD_PAYS).status_code == 303
    moved = move_to(client, subscription, product.id, PRO)
    assert moved.status == "active" and moved["items"].data[0].price.unit_amount == PRO
    assert client.v1.invoices.retrieve(moved.latest_invoice).status == "paid"

    # A card that declines once attached, saved instead: the next upgrade is refused again.
    business = client.v1.products.create(params={"name": "Business plan"})
    assert save_card(http, portal_session(client, subscription.customer), CARD_DECLINES).status_code == 303
    with pytest.raises(stripe.CardError) as again:
        move_to(client, subscription, business.id, 9900)
    assert again.value.http_status == 402 and again.value.code == "card_declined"
    assert client.v1.subscriptions.retrieve(subscription.id).to_dict() == moved.to_dict()
    # And one that needs authentication cannot be charged while the customer is away.
    assert save_card(http, portal_session(client, subscription.customer), CARD_NEEDS_AUTHENTICATION).status_code == 303
    with pytest.raises(stripe.CardError) as authentication:
        move_to(client, subscription, business.id, 9900)
    assert authentication.value.code == "authentication_required"
    # The renewal charges that card too (unless the renew control forces the outcome).
    renewal = renew(http, sandbox, subscription.id)
    assert renewal["invoice"]["status"] == "open" and renewal["subscription"]["status"] == "past_due"


def test_with_no_card_at_all_an_upgrade_is_refused_and_a_renewal_stays_open(
    client: stripe.StripeClient, hook: Endpoint, http: httpx.Client, sandbox: SandboxServer
) -> None:
    subscription, product, _ = ready_to_change(client, hook, http, sandbox)
    client.v1.subscriptions.update(subscription.id, params={"default_payment_method": ""})
    client.v1.customers.update(subscription.customer, params={"invoice_settings": {"default_payment_method": ""}})
    before = client.v1.subscriptions.retrieve(subscription.id)

    with pytest.raises(stripe.InvalidRequestError) as refused_move:
        move_to(client, subscription, product.id, PRO)
    assert refused_move.value.http_status == 400 and NO_PAYMENT_METHOD in str(refused_move.value.user_message)
    assert client.v1.subscriptions.retrieve(subscription.id).to_dict() == before.to_dict()

    renewal = renew(http, sandbox, subscription.id)
    assert renewal["invoice"]["status"] == "open" and renewal["subscription"]["status"] == "past_due"


def test_a_subscriptions_default_payment_method_must_be_its_customers_and_an_empty_value_unsets_it(
    client: stripe.StripeClient, hook: Endpoint, http: httpx.Client, sandbox: SandboxServer
) -> None:
    subscription = subscribed(client, http, sandbox)
    other = subscribed(client, http, sandbox)  # another customer, with a card of its own
    seen = hook.count(http, sandbox)

    error = refused(client, subscription, {"default_payment_method": other.default_payment_method})
    assert error.http_status == 400 and error.param == "default_payment_method"
    assert error.user_message == (
        f"The customer does not have a payment method with the ID {other.default_payment_method}. "
        "The payment method must be attached to the customer."
    )
    missing = refused(client, subscription, {"default_payment_method": "pm_missing"})
    assert (missing.http_status, missing.code, missing.param) == (400, "resource_missing", "default_payment_method")
    assert client.v1.subscriptions.retrieve(subscription.id).to_dict() == subscription.to_dict()
    assert hook.events_since(seen, http, sandbox) == []

    unset = client.v1.subscriptions.update(subscription.id, params={"default_payment_method": ""})
    assert unset.default_payment_method is None
    again = client.v1.subscriptions.update(subscription.id, params={"default_payment_method": ""})
    assert again.to_dict() == unset.to_dict()
    restored = client.v1.subscriptions.update(
        subscription.id, params={"default_payment_method": subscription.default_payment_method}
    )
    assert restored.default_payment_method == subscription.default_payment_method
    events = hook.events_since(seen, http, sandbox)
    assert [event.type for event in events] == ["customer.subscription.updated"] * 2  # the repeat changed nothing
    assert [event.data.previous_attributes.to_dict() for event in events] == [
        {"default_payment_method": subscription.default_payment_method},
        {"default_payment_method": None},
    ]
    assert events[0].data.object.default_payment_method is None


def test_customers_update_sets_the_invoice_default_card_and_refuses_another_customers(
    client: stripe.StripeClient, hook: Endpoint, http: httpx.Client, sandbox: SandboxServer
) -> None:
    subscription = subscribed(client, http, sandbox)
    other = subscribed(client, http, sandbox)
    card = subscription.default_payment_method
    seen = hook.count(http, sandbox)

    cleared = client.v1.customers.update(
        subscription.customer,
        params={"invoice_settings": {"default_payment_method": ""}, "name": "Ada", "metadata": {"merchant": "m1"}},
    )
    assert cleared.invoice_settings.default_payment_method is None
    assert (cleared.name, cleared.email, cleared.metadata.to_dict()) == (
        "Ada",
        "owner@chez-ada.example",
        {"merchant": "m1"},
    )
    restored = client.v1.customers.update(
        subscription.customer, params={"invoice_settings": {"default_payment_method": card}}
    )
    assert restored.invoice_settings.default_payment_method == card
    assert client.v1.customers.update(subscription.customer, params={"name": "Ada"}).to_dict() == restored.to_dict()
    events = hook.events_since(seen, http, sandbox)
    assert [event.type for event in events] == ["customer.updated"] * 2  # the same name again: no event
    assert events[0].data.previous_attributes.to_dict() == {
        "invoice_settings": {"default_payment_method": card},
        "metadata": {"merchant": None},
        "name": None,
    }
    assert events[1].data.previous_attributes.to_dict() == {"invoice_settings": {"default_payment_method": None}}

    for params, param, message in (
        (
            {"invoice_settings": {"default_payment_method": other.default_payment_method}},
            "invoice_settings[default_payment_method]",
            f"The customer does not have a payment method with the ID {other.default_payment_method}.",
        ),
        (
            {"invoice_settings": {"default_payment_method": "pm_missing"}},
            "invoice_settings[default_payment_method]",
            "No such PaymentMethod: 'pm_missing'",
        ),
        ({"invoice_settings": {"footer": "Thanks"}}, "invoice_settings[footer]", "Received unknown parameter"),
        ({"phone": "+61 400 000 000"}, "phone", "Received unknown parameter: phone"),
    ):
        with pytest.raises(stripe.InvalidRequestError) as error:
            client.v1.customers.update(subscription.customer, params=params)
        assert error.value.http_status == 400 and error.value.param == param
        assert message in str(error.value.user_message)
    assert client.v1.customers.retrieve(subscription.customer).to_dict() == restored.to_dict()
    assert hook.events_since(seen + 2, http, sandbox) == []


# ---------------------------------------------------------------------------------------------------
# Paying an open invoice now (POST /v1/invoices/{id}/pay)


def failed_renewal(
    client: stripe.StripeClient, http: httpx.Client, sandbox: SandboxServer
) -> tuple[stripe.Subscription, stripe.Invoice]:
    """A subscription whose card (the subscription's and the customer's default) now declines, renewed:
    past_due, with its renewal invoice open."""
    subscription = subscribed(client, http, sandbox)
    decline_card(http, sandbox, subscription)
    renewal = renew(http, sandbox, subscription.id)
    assert renewal["subscription"]["status"] == "past_due" and renewal["invoice"]["status"] == "open"
    return client.v1.subscriptions.retrieve(subscription.id), client.v1.invoices.retrieve(renewal["invoice"]["id"])


def paid_and_active_again(
    client: stripe.StripeClient,
    hook: Endpoint,
    http: httpx.Client,
    sandbox: SandboxServer,
    seen: int,
    invoice: str,
    subscription: str,
) -> tuple[stripe.Invoice, list]:
    """The failed renewal's invoice paid in full and its past_due subscription active again, told by
    Stripe's three events in that order; the invoice and the events, for what each test checks more."""
    paid = client.v1.invoices.retrieve(invoice)
    assert (paid.status, paid.amount_paid, paid.amount_remaining) == ("paid", STARTER, 0)
    assert paid.next_payment_attempt is None and paid.status_transitions.paid_at is not None
    active = client.v1.subscriptions.retrieve(subscription)
    assert active.status == "active" and active.latest_invoice == invoice
    events = hook.events_since(seen, http, sandbox)
    assert [event.type for event in events] == [
        "invoice.paid",
        "invoice.payment_succeeded",
        "customer.subscription.updated",
    ]
    assert [event.data.object.status for event in events] == ["paid", "paid", "active"]
    assert events[2].data.object.id == subscription
    assert events[2].data.previous_attributes.to_dict() == {"status": "past_due"}
    return paid, events


def test_a_failed_renewal_is_paid_now_once_the_customer_saves_a_card_that_works(
    client: stripe.StripeClient, hook: Endpoint, http: httpx.Client, sandbox: SandboxServer
) -> None:
    subscription, invoice = failed_renewal(client, http, sandbox)
    assert (invoice.attempt_count, invoice.amount_due, invoice.amount_paid) == (1, STARTER, 0)
    seen = hook.count(http, sandbox)

    with pytest.raises(stripe.CardError) as declined:  # the same card: declined again
        client.v1.invoices.pay(invoice.id)
    error = declined.value
    assert (error.http_status, error.code, error.user_message) == (402, "card_declined", "Your card was declined.")
    assert error.error.type == "card_error" and error.error.decline_code == "generic_decline"
    still = client.v1.invoices.retrieve(invoice.id)
    assert still.to_dict() == invoice.to_dict()  # open; a manual attempt leaves attempt_count as it is
    assert client.v1.subscriptions.retrieve(subscription.id).status == "past_due"
    events = hook.events_since(seen, http, sandbox)
    assert [event.type for event in events] == ["invoice.payment_failed"]
    assert events[0].data.object.id == invoice.id and events[0].data.object.status == "open"

    # The customer saves other cards in the portal; the subscription gives up its own so theirs is used.
    client.v1.subscriptions.update(subscription.id, params={"default_payment_method": ""})
    assert save_card(http, portal_session(client, subscription.customer), CARD_NEEDS_AUTHENTICATION).status_code == 303
    with pytest.raises(stripe.CardError) as authentication:  # no customer there to authenticate
        client.v1.invoices.pay(invoice.id)
    assert authentication.value.code == "authentication_required"
    assert authentication.value.error.decline_code == "authentication_required"
    assert save_card(http, portal_session(client, subscription.customer), CARD_PAYS).status_code == 303
    with pytest.raises(stripe.CardError):  # payment_method names the card to charge: the declining one
        client.v1.invoices.pay(invoice.id, params={"payment_method": subscription.default_payment_method})
    assert client.v1.invoices.retrieve(invoice.id).status == "open"
    seen = hook.count(http, sandbox)

    before = int(time.time())
    answer = client.v1.invoices.pay(invoice.id, options={"idempotency_key": "pay-renewal-1"})
    after = int(time.time()) + 1
    paid, events = paid_and_active_again(client, hook, http, sandbox, seen, invoice.id, subscription.id)
    assert answer.to_dict() == paid.to_dict() and before <= paid.status_transitions.paid_at <= after
    assert paid.attempt_count == 1 and paid.auto_advance is False
    assert all(event.request.idempotency_key == "pay-renewal-1" for event in events)

    replayed = client.v1.invoices.pay(invoice.id, options={"idempotency_key": "pay-renewal-1"})
    assert replayed.to_dict() == paid.to_dict()  # the same key answers the same payment
    with pytest.raises(stripe.InvalidRequestError) as again:  # clicked twice: Stripe refuses to pay it again
        client.v1.invoices.pay(invoice.id)
    assert (again.value.http_status, again.value.user_message) == (400, "Invoice is already paid")
    assert again.value.error.type == "invalid_request_error"
    assert hook.events_since(seen + 3, http, sandbox) == []


def test_paying_an_invoice_refuses_what_stripe_refuses_and_changes_nothing(
    client: stripe.StripeClient, hook: Endpoint, http: httpx.Client, sandbox: SandboxServer
) -> None:
    subscription, invoice = failed_renewal(client, http, sandbox)
    other = subscribed(client, http, sandbox)  # another customer, with a card of its own
    seen = hook.count(http, sandbox)

    with pytest.raises(stripe.InvalidRequestError) as absent:
        client.v1.invoices.pay("in_missing")
    assert (absent.value.http_status, absent.value.code) == (404, "resource_missing")
    assert absent.value.user_message == "No such invoice: 'in_missing'"
    with pytest.raises(stripe.InvalidRequestError) as elsewhere:  # another account's invoice is not found
        client.v1.invoices.pay(invoice.id, options={"stripe_account": "acct_1Shop"})
    assert elsewhere.value.http_status == 404
    for params, param, message in (
        ({"colour": "blue"}, "colour", "Received unknown parameter: colour"),
        (
            {"payment_method": other.default_payment_method},
            "payment_method",
            f"The customer does not have a payment method with the ID {other.default_payment_method}.",
        ),
        ({"payment_method": "pm_missing"}, "payment_method", "No such PaymentMethod: 'pm_missing'"),
        ({"mandate": "mandate_1"}, "mandate", "The local sandbox does not support mandate"),
        ({"source": "src_1"}, "source", "The local sandbox does not support source"),
        ({"paid_out_of_band": "yes"}, "paid_out_of_band", "Invalid boolean: yes"),
        ({"expand": ["lines"]}, "expand", "This property cannot be expanded (lines)."),
    ):
        with pytest.raises(stripe.InvalidRequestError) as error:
            client.v1.invoices.pay(invoice.id, params=params)
        assert error.value.http_status == 400 and error.value.param == param, params
        assert message in str(error.value.user_message)

    # With no card at all, Stripe refuses before any attempt.
    client.v1.subscriptions.update(subscription.id, params={"default_payment_method": ""})
    client.v1.customers.update(subscription.customer, params={"invoice_settings": {"default_payment_method": ""}})
    seen = hook.count(http, sandbox)
    with pytest.raises(stripe.InvalidRequestError) as no_card:
        client.v1.invoices.pay(invoice.id)
    assert no_card.value.http_status == 400 and NO_PAYMENT_METHOD in str(no_card.value.user_message)
    assert client.v1.invoices.retrieve(invoice.id).to_dict() == invoice.to_dict()
    assert client.v1.subscriptions.retrieve(subscription.id).status == "past_due"
    assert hook.events_since(seen, http, sandbox) == []

    # A card named by payment_method pays; forgive and off_session are accepted; the customer expanded.
    card = invoice_card(client, http, sandbox, subscription)
    params = {"payment_method": card, "forgive": True, "off_session": True, "expand": ["customer"]}
    paid = client.v1.invoices.pay(invoice.id, params=params)
    assert paid.status == "paid" and paid.customer.id == subscription.customer


def invoice_card(
    client: stripe.StripeClient, http: httpx.Client, sandbox: SandboxServer, subscription: stripe.Subscription
) -> str:
    """A working card saved in the portal for the subscription's customer, its id."""
    assert save_card(http, portal_session(client, subscription.customer), CARD_PAYS).status_code == 303
    card = invoice_default(client, subscription.customer)
    assert card is not None
    return card


def test_paid_out_of_band_marks_the_invoice_paid_without_charging_the_declining_card(
    client: stripe.StripeClient, hook: Endpoint, http: httpx.Client, sandbox: SandboxServer
) -> None:
    subscription, invoice = failed_renewal(client, http, sandbox)
    seen = hook.count(http, sandbox)

    client.v1.invoices.pay(invoice.id, params={"paid_out_of_band": True})
    paid_and_active_again(client, hook, http, sandbox, seen, invoice.id, subscription.id)
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.invoices.pay(invoice.id, params={"paid_out_of_band": True})
    assert again.value.user_message == "Invoice is already paid"


def test_paying_an_older_open_invoice_leaves_the_subscription_on_its_latest(
    client: stripe.StripeClient, hook: Endpoint, http: httpx.Client, sandbox: SandboxServer
) -> None:
    subscription, first = failed_renewal(client, http, sandbox)
    second = renew(http, sandbox, subscription.id)["invoice"]  # declined too: two open invoices
    assert second["status"] == "open"

    paid = client.v1.invoices.pay(first.id, params={"paid_out_of_band": True})
    assert paid.status == "paid"
    current = client.v1.subscriptions.retrieve(subscription.id)
    assert current.status == "past_due" and current.latest_invoice == second["id"]
    assert client.v1.invoices.pay(second["id"], params={"paid_out_of_band": True}).status == "paid"
    assert client.v1.subscriptions.retrieve(subscription.id).status == "active"


# ---------------------------------------------------------------------------------------------------
# The hosted invoice page (an invoice's hosted_invoice_url): the customer pays, with 3D Secure if asked

FRENCH_BROWSER = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.8"}
AS_JSON = {"Accept": "application/json"}
PAID_FIELDS = {
    "status",
    "amount_paid",
    "amount_remaining",
    "auto_advance",
    "next_payment_attempt",
    "status_transitions",
}


def renewal_needing_authentication(
    client: stripe.StripeClient, http: httpx.Client, sandbox: SandboxServer, customer: str | None = None
) -> tuple[stripe.Subscription, stripe.Invoice]:
    """A renewal that failed because the card paying it needs authentication: the customer saved
    4000002760003184 in the portal and the subscription gave up its own card, so the customer's is
    charged, off-session. Past_due, with its renewal invoice open."""
    subscription = subscribed(client, http, sandbox, customer)
    client.v1.subscriptions.update(subscription.id, params={"default_payment_method": ""})
    assert save_card(http, portal_session(client, subscription.customer), CARD_NEEDS_AUTHENTICATION).status_code == 303
    renewal = renew(http, sandbox, subscription.id)
    assert renewal["subscription"]["status"] == "past_due" and renewal["invoice"]["status"] == "open"
    return client.v1.subscriptions.retrieve(subscription.id), client.v1.invoices.retrieve(renewal["invoice"]["id"])


def invoice_json(http: httpx.Client, sandbox: SandboxServer, invoice: str) -> dict:
    """The invoice as the API answers it (the SDK's objects read some fields, unit_amount_decimal, as Decimal)."""
    response = http.get(f"{sandbox.url}/v1/invoices/{invoice}", headers={"Authorization": f"Bearer {API_KEY}"})
    assert response.status_code == 200, response.text
    return response.json()


def changed_fields(after: stripe.Invoice, before: stripe.Invoice) -> set[str]:
    new, old = after.to_dict(), before.to_dict()
    return {name for name in new if new[name] != old[name]}


def test_a_renewal_needing_authentication_is_paid_on_the_hosted_invoice_page_after_3d_secure(
    client: stripe.StripeClient, hook: Endpoint, http: httpx.Client, sandbox: SandboxServer
) -> None:
    subscription, invoice = renewal_needing_authentication(client, http, sandbox)
    seen = hook.count(http, sandbox)

    # Off-session (the API, as Caisse calls it) the bank's answer is authentication_required.
    with pytest.raises(stripe.CardError) as off_session:
        client.v1.invoices.pay(invoice.id)
    error = off_session.value
    assert (error.http_status, error.code, error.error.decline_code) == (
        402,
        "authentication_required",
        "authentication_required",
    )
    assert error.user_message == "Your card was declined. This transaction requires authentication."
    assert "payment_intent" not in error.json_body["error"]  # the sandbox does not model the invoice's
    assert [event.type for event in hook.events_since(seen, http, sandbox)] == ["invoice.payment_failed"]
    open_invoice = client.v1.invoices.retrieve(invoice.id)
    assert open_invoice.to_dict() == invoice.to_dict()

    # The customer opens the invoice's page: the amount, the card and one Pay button.
    assert invoice.hosted_invoice_url == f"{sandbox.url}/invoices/{invoice.id}"
    page = http.get(invoice.hosted_invoice_url)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    parts = PageParts(page.text)
    assert parts.lang == "en" and parts.h1 == [f"Invoice {invoice.number}"]
    assert f"<title>Invoice {invoice.number}</title>" in page.text and 'name="viewport"' in page.text
    assert "From Caisse (local platform)" in page.text
    assert "Amount due: USD 19.00" in page.text and "Status: open" in page.text
    assert "Card: Visa ending in 3184" in page.text
    assert parts.forms == [f"/invoices/{invoice.id}/pay"] and parts.buttons == ["Pay USD 19.00"]
    french = http.get(invoice.hosted_invoice_url, headers=FRENCH_BROWSER)
    parts = PageParts(french.text)
    assert parts.lang == "fr" and parts.h1 == [f"Facture {invoice.number}"]
    assert "Montant dû\u00a0: USD 19.00" in french.text and "Statut\u00a0: ouverte" in french.text
    assert (
        "Carte\u00a0: Visa se terminant par 3184" in french.text and "Émise par Caisse (local platform)" in french.text
    )
    assert parts.buttons == ["Payer USD 19.00"]
    seen = hook.count(http, sandbox)

    # On-session, Pay asks for 3D Secure: nothing is charged nor sent yet.
    challenge = http.post(f"{invoice.hosted_invoice_url}/pay")
    assert challenge.status_code == 200
    parts = PageParts(challenge.text)
    assert parts.lang == "en" and parts.h1 == ["Confirm this payment with your bank"]
    assert "the payment of USD 19.00 with Visa ending in 3184" in challenge.text
    assert parts.forms == [f"/invoices/{invoice.id}/authenticate"] * 2
    assert parts.buttons == ["Complete authentication", "Fail authentication"]
    assert 'name="outcome" value="complete"' in challenge.text and 'name="outcome" value="fail"' in challenge.text
    assert client.v1.invoices.retrieve(invoice.id).to_dict() == open_invoice.to_dict()
    assert hook.events_since(seen, http, sandbox) == []

    # The customer fails it: still open, invoice.payment_failed, and Pay again.
    failed = http.post(f"{invoice.hosted_invoice_url}/authenticate", data={"outcome": "fail"})
    assert failed.status_code == 400
    parts = PageParts(failed.text)
    assert parts.h1 == [f"Invoice {invoice.number}"]
    assert '<p class="notice" role="alert">Authentication failed: the payment was not made.</p>' in failed.text
    assert parts.buttons == ["Pay USD 19.00"]
    assert client.v1.invoices.retrieve(invoice.id).to_dict() == open_invoice.to_dict()
    assert client.v1.subscriptions.retrieve(subscription.id).status == "past_due"
    events = hook.events_since(seen, http, sandbox)
    assert [event.type for event in events] == ["invoice.payment_failed"]
    assert events[0].data.object.id == invoice.id and events[0].data.object.status == "open"
    seen += 1

    # Pay again, and complete it: paid as invoices.pay pays it, the subscription active again.
    assert PageParts(http.post(f"{invoice.hosted_invoice_url}/pay").text).buttons == [
        "Complete authentication",
        "Fail authentication",
    ]
    before = int(time.time())
    completed = http.post(f"{invoice.hosted_invoice_url}/authenticate", data={"outcome": "complete"})
    after = int(time.time()) + 1
    assert completed.status_code == 200
    parts = PageParts(completed.text)
    assert parts.h1 == [f"Invoice {invoice.number}"] and parts.forms == [] and parts.buttons == []
    assert '<p id="state" role="status">This invoice is paid</p>' in completed.text
    assert "Amount paid: USD 19.00" in completed.text and "Status: paid" in completed.text
    paid, _ = paid_and_active_again(client, hook, http, sandbox, seen, invoice.id, subscription.id)
    assert before <= paid.status_transitions.paid_at <= after
    assert paid.attempt_count == open_invoice.attempt_count and paid.auto_advance is False
    assert changed_fields(paid, open_invoice) == PAID_FIELDS
    seen += 3

    # Paid: the page says so, in French too; Pay and the challenge pay nothing again and send nothing.
    shown = http.get(invoice.hosted_invoice_url)
    assert 'role="status">This invoice is paid</p>' in shown.text and PageParts(shown.text).forms == []
    shown_fr = http.get(invoice.hosted_invoice_url, headers=FRENCH_BROWSER)
    assert (
        'role="status">Cette facture est payée</p>' in shown_fr.text
        and "Montant payé\u00a0: USD 19.00" in shown_fr.text
    )
    again = http.post(f"{invoice.hosted_invoice_url}/pay")
    assert again.status_code == 200 and 'role="status">This invoice is paid</p>' in again.text
    late = http.post(f"{invoice.hosted_invoice_url}/authenticate", data={"outcome": "complete"})
    assert late.status_code == 200 and 'role="status">This invoice is paid</p>' in late.text
    assert client.v1.invoices.retrieve(invoice.id).to_dict() == paid.to_dict()
    assert hook.events_since(seen, http, sandbox) == []
    with pytest.raises(stripe.InvalidRequestError) as already:
        client.v1.invoices.pay(invoice.id)
    assert already.value.user_message == "Invoice is already paid"


def test_a_card_declined_on_the_hosted_invoice_page_leaves_the_invoice_open_with_the_decline(
    client: stripe.StripeClient, hook: Endpoint, http: httpx.Client, sandbox: SandboxServer
) -> None:
    subscription, invoice = failed_renewal(client, http, sandbox)  # its own card, Checkout's 4242, now declines
    seen = hook.count(http, sandbox)
    page = http.get(invoice.hosted_invoice_url)
    assert "Card: Visa ending in 4242" in page.text and PageParts(page.text).buttons == ["Pay USD 19.00"]

    declined = http.post(f"{invoice.hosted_invoice_url}/pay")
    assert declined.status_code == 402
    parts = PageParts(declined.text)
    assert parts.h1 == [f"Invoice {invoice.number}"]
    assert '<p class="notice" role="alert">Your card was declined.</p>' in declined.text
    assert parts.forms == [f"/invoices/{invoice.id}/pay"] and parts.buttons == ["Pay USD 19.00"]
    assert client.v1.invoices.retrieve(invoice.id).to_dict() == invoice.to_dict()
    assert client.v1.subscriptions.retrieve(subscription.id).status == "past_due"
    events = hook.events_since(seen, http, sandbox)
    assert [event.type for event in events] == ["invoice.payment_failed"]
    assert events[0].data.object.id == invoice.id

    french = http.post(f"{invoice.hosted_invoice_url}/pay", headers=FRENCH_BROWSER)
    assert french.status_code == 402 and PageParts(french.text).lang == "fr"
    assert '<p class="notice" role="alert">Votre carte a été refusée.</p>' in french.text
    assert PageParts(french.text).buttons == ["Payer USD 19.00"]

    # An authentication with no payment waiting for one is refused, and changes nothing.
    stray = http.post(f"{invoice.hosted_invoice_url}/authenticate", data={"outcome": "complete"})
    assert stray.status_code == 400 and "No payment of this invoice is waiting for authentication" in stray.text
    assert client.v1.invoices.retrieve(invoice.id).status == "open"

    # A card that works, saved in the portal and named by nothing else, pays it from the page.
    client.v1.subscriptions.update(subscription.id, params={"default_payment_method": ""})
    invoice_card(client, http, sandbox, subscription)
    paid = http.post(f"{invoice.hosted_invoice_url}/pay")
    assert paid.status_code == 200 and 'role="status">This invoice is paid</p>' in paid.text
    assert client.v1.invoices.retrieve(invoice.id).status == "paid"
    assert client.v1.subscriptions.retrieve(subscription.id).status == "active"


def test_the_hosted_invoice_page_answers_json_speaks_the_customers_language_and_knows_no_other_invoice(
    client: stripe.StripeClient, hook: Endpoint, http: httpx.Client, sandbox: SandboxServer
) -> None:
    francophone = client.v1.customers.create(
        params={"email": "awa@chez-awa.example", "preferred_locales": ["fr-CA", "en"]}
    )
    subscription, invoice = renewal_needing_authentication(client, http, sandbox, francophone.id)
    url = invoice.hosted_invoice_url

    shown = http.get(url, headers=AS_JSON)
    open_invoice = invoice_json(http, sandbox, invoice.id)
    assert shown.status_code == 200 and shown.json() == open_invoice
    # The customer's preferred_locales win over the browser's language.
    page = PageParts(http.get(url, headers={"Accept-Language": "en-US,en"}).text)
    assert page.lang == "fr-CA" and page.h1 == [f"Facture {invoice.number}"]
    seen = hook.count(http, sandbox)

    challenge = http.post(f"{url}/pay", headers=AS_JSON)
    assert challenge.status_code == 200
    assert challenge.json() == {"next_action": "authenticate", "invoice": open_invoice}
    french_challenge = PageParts(http.post(f"{url}/pay").text)
    assert french_challenge.h1 == ["Confirmez ce paiement auprès de votre banque"]
    assert french_challenge.buttons == ["Valider l\u2019authentification", "Refuser l\u2019authentification"]
    assert hook.events_since(seen, http, sandbox) == []

    failed = http.post(f"{url}/authenticate", data={"outcome": "fail"}, headers=AS_JSON)
    assert failed.status_code == 400
    assert failed.json() == {
        "error": {
            "type": "invalid_request_error",
            "code": "payment_intent_authentication_failure",
            "doc_url": "https://stripe.com/docs/error-codes/payment-intent-authentication-failure",
            "message": "We are unable to authenticate your payment method. "
            "Please choose a different payment method and try again.",
        }
    }
    http.post(f"{url}/pay")
    failed_fr = http.post(f"{url}/authenticate", data={"outcome": "fail"})
    assert (
        '<p class="notice" role="alert">L\u2019authentification a échoué\u00a0: '
        "le paiement n\u2019a pas été effectué.</p>"
    ) in failed_fr.text
    assert PageParts(failed_fr.text).buttons == ["Payer USD 19.00"]
    assert [event.type for event in hook.events_since(seen, http, sandbox)] == ["invoice.payment_failed"] * 2

    assert http.post(f"{url}/pay", headers=AS_JSON).json()["next_action"] == "authenticate"
    wrong = http.post(f"{url}/authenticate", data={"outcome": "maybe"}, headers=AS_JSON)
    assert wrong.status_code == 400 and wrong.json()["error"]["param"] == "outcome"
    completed = http.post(f"{url}/authenticate", data={"outcome": "complete"}, headers=AS_JSON)
    assert completed.status_code == 200
    paid = invoice_json(http, sandbox, invoice.id)
    assert completed.json() == paid and paid["status"] == "paid"
    again = http.post(f"{url}/pay", headers=AS_JSON)
    assert again.status_code == 200 and again.json() == paid
    assert client.v1.subscriptions.retrieve(subscription.id).status == "active"

    # A declining card: Stripe's 402 card error.
    _, other = failed_renewal(client, http, sandbox)
    declined = http.post(f"{other.hosted_invoice_url}/pay", headers=AS_JSON)
    assert declined.status_code == 402
    assert declined.json()["error"] == {
        "type": "card_error",
        "code": "card_declined",
        "decline_code": "generic_decline",
        "doc_url": "https://stripe.com/docs/error-codes/card-declined",
        "message": "Your card was declined.",
    }

    # No such invoice: a 404 page, or Stripe's error.
    missing = http.get(f"{sandbox.url}/invoices/in_missing")
    assert missing.status_code == 404 and "There is no invoice in_missing" in missing.text
    for response in (
        http.get(f"{sandbox.url}/invoices/in_missing", headers=AS_JSON),
        http.post(f"{sandbox.url}/invoices/in_missing/pay", headers=AS_JSON),
        http.post(f"{sandbox.url}/invoices/in_missing/authenticate", data={"outcome": "complete"}, headers=AS_JSON),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "resource_missing"
        assert response.json()["error"]["message"] == "No such invoice: 'in_missing'"
