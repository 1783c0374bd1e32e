import hashlib
import hmac
import json
import time

import pytest

from caisse.payments.base import Outcome
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


def test_other_events_are_recorded_but_move_nothing():
    assert events.notice(event("customer.created", {"id": "cus_1"})).outcome is Outcome.IGNORED
