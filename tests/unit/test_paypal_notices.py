"""PayPal: deliveries outside the transmission window are refused before PayPal is asked, and
what PayPal's API says about refunds and disputes is read into notices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from caisse.payments.base import InvalidWebhook
from caisse.payments.paypal import provider
from caisse.payments.paypal.provider import PayPal, _dispute_notice, verify_webhook

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def headers(sent: datetime) -> dict[str, str]:
    return {
        "paypal-auth-algo": "SHA256withRSA",
        "paypal-cert-url": "https://api.paypal.com/v1/notifications/certs/CERT",
        "paypal-transmission-id": "t1",
        "paypal-transmission-sig": "c2ln",
        "paypal-transmission-time": sent.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


@pytest.mark.parametrize("age", [timedelta(minutes=16), timedelta(hours=3), -timedelta(minutes=6)])
def test_a_delivery_outside_the_window_is_refused_before_paypal_is_asked(age, monkeypatch):
    asked = []
    monkeypatch.setattr(provider, "_verify_call", lambda body: asked.append(body) or (200, {}))
    with pytest.raises(InvalidWebhook):
        verify_webhook(b'{"id": "WH-1"}', headers(NOW - age), now=NOW)
    assert asked == []


@pytest.mark.parametrize(
    ("status", "unavailable"), [(200, False), (401, True), (403, True), (429, True), (500, True), (503, True)]
)
def test_paypals_verify_api_failing_is_an_outage_not_a_forgery(status, unavailable, monkeypatch):
    from caisse.errors import ProviderUnavailable

    monkeypatch.setattr(provider, "secret", lambda name: "WEBHOOK-ID")
    monkeypatch.setattr(provider, "_verify_call", lambda body: (status, {"verification_status": "FAILURE"}))
    expected = ProviderUnavailable if unavailable else InvalidWebhook
    with pytest.raises(expected):
        verify_webhook(b'{"id": "WH-1"}', headers(NOW - timedelta(seconds=20)), now=NOW)


def test_the_raw_event_is_spliced_into_the_verify_request_unchanged(monkeypatch):
    sent = []
    monkeypatch.setattr(provider, "secret", lambda name: "WEBHOOK-ID")
    monkeypatch.setattr(
        provider, "_verify_call", lambda body: sent.append(body) or (200, {"verification_status": "SUCCESS"})
    )
    raw = b'{"id":"WH-1",  "event_type":"X"}'
    assert verify_webhook(raw, headers(NOW), now=NOW)["id"] == "WH-1"
    assert sent[0].endswith(', "webhook_event": {"id":"WH-1",  "event_type":"X"}}')


def test_a_refund_names_its_capture_through_its_up_link():
    refund = {
        "id": "R1",
        "status": "COMPLETED",
        "amount": {"currency_code": "USD", "value": "20.00"},
        "links": [
            {"href": "https://api/v2/payments/refunds/R1", "rel": "self"},
            {"href": "https://api/v2/payments/captures/CAP9", "rel": "up"},
        ],
    }
    notice = PayPal().refund_notice(refund, "WH-1", "PAYMENT.CAPTURE.REFUNDED")
    assert (notice.payment_ref, notice.amount, notice.status, notice.refund_id) == ("CAP9", 2000, "succeeded", None)
    ours = PayPal().refund_notice({**refund, "custom_id": "refund-42"}, "WH-2", "PAYMENT.CAPTURE.REFUNDED")
    assert ours.refund_id == "refund-42"


@pytest.mark.parametrize(
    ("status", "outcome", "stage", "read"),
    [
        ("WAITING_FOR_SELLER_RESPONSE", None, "opened", None),
        ("RESOLVED", "RESOLVED_SELLER_FAVOUR", "closed", "won"),
        ("RESOLVED", "CANCELED_BY_BUYER", "closed", "won"),
        ("RESOLVED", "RESOLVED_BUYER_FAVOUR", "closed", "lost"),
    ],
)
def test_disputes_as_paypals_disputes_api_shows_them(status, outcome, stage, read):
    dispute = {
        "dispute_id": "PP-D-1",
        "status": status,
        "reason": "MERCHANDISE_OR_SERVICE_NOT_RECEIVED",
        "dispute_amount": {"currency_code": "USD", "value": "45.00"},
        "disputed_transactions": [{"seller_transaction_id": "CAP9"}],
        "seller_response_due_date": "2026-12-11T10:00:00Z",
    }
    if outcome:
        dispute["dispute_outcome"] = {"outcome_code": outcome}
    notice = _dispute_notice(dispute, "WH-1", "CUSTOMER.DISPUTE.UPDATED")
    assert (notice.stage, notice.outcome, notice.payment_ref, notice.amount) == (stage, read, "CAP9", 4500)
    assert notice.due_by == "2026-12-11"


@pytest.mark.parametrize(("status", "paid"), [("COMPLETED", True), ("REFUNDED", True), ("PARTIALLY_REFUNDED", True)])
def test_a_capture_refunded_later_was_still_paid(status, paid):
    capture = {"id": "C", "status": status, "amount": {"currency_code": "USD", "value": "45.00"}, "custom_id": "o1"}
    assert (PayPal().capture_notice(capture, "e", "x").outcome.value == "paid") is paid
