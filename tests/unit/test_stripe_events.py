import hashlib
import hmac
import json
import re
import time
from pathlib import Path

import pytest

from caisse.payments.base import Outcome, PlanNotice
from caisse.payments.stripe import events

SECRET = "whsec_unit_test_not_a_secret"


def signed(payload: bytes, secret: str = SECRET, at: int | None = None) -> str:
    at = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{at}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def event(kind: str, obj: dict) -> dict:
    return {"id": "evt_1", "object": "event", "type": kind, "data": {"object": obj}}


def test_verify_accepts_an_authentic_event():
    body = json.dumps(event("checkout.session.completed", {"id": "cs_1"})).encode()
    assert events.verify(body, signed(body), SECRET)["id"] == "evt_1"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda body, header: (body.replace(b"cs_1", b"cs_2"), header),  # tampered body
        lambda body, header: (body, signed(body, secret="whsec_other")),  # wrong secret
        lambda body, header: (body, signed(body, at=int(time.time()) - 301)),  # too old
        lambda body, header: (body, None),  # no header
        lambda body, header: (body, "t=1,v1=nothex"),  # garbage
        lambda body, header: (b"\xff\xfe" + body, header),  # not UTF-8
    ],
)
def test_verify_refuses_anything_not_signed_now_by_our_secret(mutate):
    body = json.dumps(event("checkout.session.completed", {"id": "cs_1"})).encode()
    bad_body, bad_header = mutate(body, signed(body))
    with pytest.raises(events.InvalidWebhook):
        events.verify(bad_body, bad_header, SECRET)


def test_completed_and_paid_settles():
    notice = events.notice(
        event(
            "checkout.session.completed",
            {
                "id": "cs_1",
                "client_reference_id": "order-1",
                "payment_status": "paid",
                "amount_total": 9900,
                "currency": "usd",
                "payment_intent": "pi_1",
            },
        )
    )
    assert notice.outcome is Outcome.PAID
    assert (notice.order_id, notice.amount, notice.currency, notice.payment_ref) == ("order-1", 9900, "USD", "pi_1")


def test_completed_but_unpaid_does_not_settle():
    notice = events.notice(
        event("checkout.session.completed", {"id": "cs_1", "client_reference_id": "o", "payment_status": "unpaid"})
    )
    assert notice.outcome is Outcome.PENDING


@pytest.mark.parametrize(
    ("kind", "outcome"),
    [
        ("checkout.session.async_payment_succeeded", Outcome.PAID),
        ("checkout.session.async_payment_failed", Outcome.FAILED),
        ("checkout.session.expired", Outcome.EXPIRED),
    ],
)
def test_session_events(kind, outcome):
    notice = events.notice(event(kind, {"id": "cs_1", "metadata": {"order_id": "order-1"}}))
    assert notice.outcome is outcome
    assert notice.order_id == "order-1"


def test_payment_intent_events_use_the_metadata_order_id():
    ok = events.notice(
        event(
            "payment_intent.succeeded",
            {"id": "pi_1", "amount_received": 4500, "currency": "eur", "metadata": {"order_id": "order-1"}},
        )
    )
    assert (ok.outcome, ok.order_id, ok.amount, ok.currency) == (Outcome.PAID, "order-1", 4500, "EUR")
    failed = events.notice(
        event(
            "payment_intent.payment_failed",
            {
                "id": "pi_1",
                "amount": 4500,
                "metadata": {"order_id": "o"},
                "last_payment_error": {"message": "declined"},
            },
        )
    )
    assert (failed.outcome, failed.reason) == (Outcome.FAILED, "declined")


def test_other_events_move_nothing():
    assert events.notice(event("customer.created", {"id": "cus_1"})).outcome is Outcome.IGNORED


@pytest.mark.parametrize("kind", ["payment_intent.succeeded", "charge.succeeded", "customer.created"])
def test_the_platform_endpoint_ignores_what_it_is_not_subscribed_to(kind):
    """A Checkout payment also sends payment_intent.succeeded and charge.succeeded: the platform's
    adapter settles it on the session's event alone (one delivery per payment)."""
    body = {"id": "pi_1", "object": "payment_intent", "metadata": {"order_id": "o1"}, "amount_received": 100}
    (notice,) = events.StripeWebhook("stripe/webhook_secret").notices(event(kind, body))
    assert notice.outcome is Outcome.IGNORED


def test_each_endpoint_acts_on_every_event_it_is_subscribed_to():
    for endpoint, kinds in (
        (events.PLATFORM_EVENTS, events.PLATFORM_EVENTS),
        (events.CONNECT_EVENTS, events.CONNECT_EVENTS),
    ):
        adapter = events.StripeWebhook("stripe/webhook_secret", events=endpoint)
        for kind in kinds:
            obj = {"id": "x_1", "object": "refund" if kind.startswith("refund.") else "thing", "payment_status": "paid"}
            # The platform's own events (its billing) carry no account; a connected account's do.
            account = {} if endpoint is events.PLATFORM_EVENTS else {"account": "acct_1"}
            (notice,) = adapter.notices({**event(kind, obj), **account})
            assert getattr(notice, "outcome", None) is not Outcome.IGNORED, kind


def test_a_subscription_checkout_is_a_plan_notice_never_an_order_payment():
    session = {"id": "cs_1", "object": "checkout.session", "mode": "subscription", "payment_status": "paid"}
    session |= {"subscription": "sub_1", "customer": "cus_1", "metadata": {"merchant": "m1", "plan": "pro"}}
    notice = events.notice(event("checkout.session.completed", session))
    assert isinstance(notice, PlanNotice)
    assert (notice.merchant, notice.plan, notice.subscription, notice.customer, notice.status) == (
        "m1",
        "pro",
        "sub_1",
        "cus_1",
        "active",
    )


def test_an_invoice_names_its_merchant_through_its_subscriptions_metadata():
    invoice = {
        "id": "in_1",
        "object": "invoice",
        "customer": "cus_1",
        "amount_due": 2900,
        "amount_paid": 0,
        "currency": "aud",
        "billing_reason": "subscription_cycle",
        "next_payment_attempt": 1_800_000_000,
        "parent": {
            "type": "subscription_details",
            "subscription_details": {"subscription": "sub_1", "metadata": {"merchant": "m1", "plan": "starter"}},
        },
    }
    failed = events.notice(event("invoice.payment_failed", invoice))
    assert (failed.merchant, failed.plan, failed.subscription, failed.status) == ("m1", "starter", "sub_1", "past_due")
    assert failed.invoice["amount"] == 2900 and failed.invoice["currency"] == "AUD" and not failed.invoice["paid"]
    first = events.notice(event("invoice.payment_failed", {**invoice, "billing_reason": "subscription_create"}))
    assert first.status == "incomplete"
    paid = events.notice(event("invoice.paid", {**invoice, "amount_paid": 2900}))
    assert (paid.status, paid.invoice["amount"], paid.invoice["paid"]) == ("active", 2900, True)


SUBSCRIPTION = {
    "id": "sub_1",
    "object": "subscription",
    "status": "active",
    "customer": "cus_1",
    "metadata": {"merchant": "m1", "plan": "pro"},
    "items": {"data": [{"current_period_end": 1_800_000_000}]},
}


def test_a_deleted_subscription_reads_its_status_and_period():
    notice = events.notice(event("customer.subscription.deleted", {**SUBSCRIPTION, "status": "canceled"}))
    assert (notice.status, notice.period_end, notice.invoice) == ("canceled", 1_800_000_000, None)


def test_a_subscription_set_to_end_tells_when_and_an_invoice_tells_nothing_of_it():
    subscription = SUBSCRIPTION
    ending = events.notice(
        event(
            "customer.subscription.updated", {**subscription, "cancel_at_period_end": True, "cancel_at": 1_800_000_000}
        )
    )
    assert (ending.tells_end, ending.ends_at, ending.status) == (True, 1_800_000_000, "active")
    kept = events.notice(event("customer.subscription.updated", {**subscription, "cancel_at_period_end": False}))
    assert (kept.tells_end, kept.ends_at) == (True, None)
    ended = events.notice(
        event("customer.subscription.deleted", {**subscription, "status": "canceled", "cancel_at": 1_800_000_000})
    )
    assert (ended.tells_end, ended.ends_at) == (True, None)  # it has ended: nothing left to come
    invoice = {
        "id": "in_1",
        "object": "invoice",
        "customer": "cus_1",
        "amount_paid": 4900,
        "currency": "usd",
        "parent": {"subscription_details": {"subscription": "sub_1", "metadata": {"merchant": "m1", "plan": "pro"}}},
    }
    assert events.notice(event("invoice.paid", invoice)).tells_end is False
    lines = {"data": [{"period": {"start": 1_797_000_000, "end": 1_799_600_000}}]}
    assert events.notice(event("invoice.paid", {**invoice, "lines": lines})).period_end == 1_799_600_000


def test_the_readme_lists_the_events_the_code_subscribes_to():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("### Provider events to subscribe to", 1)[1].split("\n### ", 1)[0]
    platform = next(line for line in section.splitlines() if line.startswith("| Stripe (platform)"))
    connect = next(line for line in section.splitlines() if line.startswith("| Stripe (Connect"))
    listed = lambda line: set(re.findall(r"`([a-z_]+(?:\.[a-z_]+)+)`", line.split("|")[3]))  # noqa: E731
    assert listed(platform) == set(events.PLATFORM_EVENTS)
    assert listed(connect) == set(events.CONNECT_EVENTS) - set(events.PLATFORM_EVENTS)


def test_a_dashboard_refund_is_read_with_no_refund_of_ours():
    notice = events.notice(
        event(
            "refund.created",
            {
                "id": "re_1",
                "object": "refund",
                "amount": 2000,
                "currency": "usd",
                "status": "succeeded",
                "payment_intent": "pi_1",
                "metadata": {},
            },
        )
    )
    assert (notice.provider_refund_id, notice.amount, notice.currency, notice.status) == (
        "re_1",
        2000,
        "USD",
        "succeeded",
    )
    assert (notice.refund_id, notice.order_id, notice.payment_ref) == (None, None, "pi_1")


@pytest.mark.parametrize(
    ("status", "read"),
    [("pending", "pending"), ("requires_action", "pending"), ("failed", "failed"), ("canceled", "failed")],
)
def test_refund_statuses(status, read):
    obj = {"id": "re_1", "object": "refund", "amount": 1, "currency": "usd", "status": status, "metadata": {}}
    assert events.notice(event("refund.updated", obj)).status == read


@pytest.mark.parametrize(("status", "outcome"), [("won", "won"), ("warning_closed", "won"), ("lost", "lost")])
def test_disputes_open_and_close(status, outcome):
    dispute = {
        "id": "dp_1",
        "object": "dispute",
        "amount": 4500,
        "currency": "usd",
        "payment_intent": "pi_1",
        "reason": "fraudulent",
        "status": "needs_response",
        "evidence_details": {"due_by": 1796000000},
    }
    opened = events.notice(event("charge.dispute.created", dispute))
    assert (opened.stage, opened.outcome, opened.payment_ref, opened.due_by) == ("opened", None, "pi_1", "2026-11-30")
    closed = events.notice(event("charge.dispute.closed", {**dispute, "status": status}))
    assert (closed.stage, closed.outcome, closed.amount, closed.currency) == ("closed", outcome, 4500, "USD")


def test_a_connected_accounts_event_carries_its_account():
    connected = {
        **event("payment_intent.succeeded", {"id": "pi_1", "metadata": {"order_id": "o1"}}),
        "account": "acct_1T",
    }
    assert events.notice(connected).account == "acct_1T"
    assert events.notice(event("payment_intent.succeeded", {"id": "pi_1", "metadata": {}})).account is None
    update = {
        **event("account.updated", {"id": "acct_1T", "charges_enabled": True}),
        "account": "acct_1T",
        "created": 5,
    }
    read = events.notice(update)
    assert (read.account, read.charges_enabled, read.payouts_enabled, read.created) == ("acct_1T", True, False, 5)
