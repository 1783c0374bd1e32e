"""Which committed changes produce which emails, and the ids that keep them unique."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from caisse.notifications import changes, feedback, links
from caisse.notifications.kinds import Kind
from caisse.orders.models import ORDER_SK, Customer, LineItem, Order, order_pk

STAGES = ["discovery", "writing", "delivered"]


def order(status: str, version: int = 2, locale: str = "en", deliverable: str | None = None) -> Order:
    now = datetime(2026, 11, 24, tzinfo=UTC)
    return Order(
        order_pk("o1"),
        ORDER_SK,
        order_id="o1",
        order_number="SC-2026-0001",
        merchant="songstudio",
        merchant_contact={"name": "Custom Song Studio", "reply_to": "hi@x.example", "staff_email": "team@x.example"},
        status=status,
        version=version,
        currency="USD",
        total_amount=9900,
        items=[LineItem(sku="S", name="Song", quantity=1, unit_amount=9900)],
        customer=Customer(name="Ada", email="ada@example.test", locale=locale),
        stages=STAGES,
        provider="stripe",
        next_action={"type": "redirect", "url": "https://pay.example/cs_1"},
        request_fingerprint="f",
        created_at="2026-11-24T00:00:00Z",
        updated_at=now,
        expires_at=now,
        deliverable_key=deliverable,
    )


@pytest.mark.parametrize(
    ("before", "after", "kind", "to"),
    [
        ("pending_payment", "paid", Kind.ORDER_CONFIRMED, "ada@example.test"),
        ("pending_payment", "payment_failed", Kind.PAYMENT_FAILED, "ada@example.test"),
        ("pending_payment", "needs_review", Kind.PAYMENT_FLAGGED, "team@x.example"),
        ("paid", "discovery", Kind.STAGE_CHANGED, "ada@example.test"),
        ("discovery", "writing", Kind.STAGE_CHANGED, "ada@example.test"),
        ("writing", "delivered", Kind.DELIVERY, "ada@example.test"),
        ("paid", "refunded", Kind.REFUND_PROCESSED, "ada@example.test"),
    ],
)
def test_status_changes_that_mail_someone(before, after, kind, to):
    [notification] = changes.for_order_change(order(before, 2), order(after, 3))
    assert (notification.kind, notification.to) == (kind, to)
    assert notification.id == f"order:o1:v3:{kind}:{notification.recipient}"
    assert notification.source == "order:o1"


@pytest.mark.parametrize(
    ("before", "after"), [("paid", "paid"), ("pending_payment", "expired"), (None, "pending_payment")]
)
def test_changes_that_mail_nobody(before, after):
    old = order(before, 1) if before else None
    assert changes.for_order_change(old, order(after, 2)) == []


def test_the_same_change_always_names_the_same_email():
    first = changes.for_order_change(order("pending_payment", 1), order("paid", 2))[0]
    again = changes.for_order_change(order("pending_payment", 1), order("paid", 2))[0]
    later = changes.for_order_change(order("paid", 2), order("discovery", 3))[0]
    assert first.deduplication_id == again.deduplication_id != later.deduplication_id
    assert len(first.deduplication_id) <= 128


def test_the_message_carries_what_the_email_needs_and_survives_the_queue():
    [notification] = changes.for_order_change(order("writing", 4), order("delivered", 5, "fr", "orders/o1/song.mp3"))
    message = notification.to_message()
    assert message["locale"] == "fr"
    assert message["context"]["has_deliverable"] is True
    assert message["context"]["total"] == {"amount": 9900, "currency": "USD"}
    assert message["context"]["retry_url"] is None  # paid long ago: nothing to retry
    assert changes.Notification.from_message(message) == notification


def test_stream_images_of_other_records_are_ignored():
    history = {"pk": {"S": "ORDER#o1"}, "sk": {"S": "HISTORY#000002"}, "type": {"S": "history"}}
    assert changes.for_stream_images(None, history) == []


def test_permanent_bounces_and_complaints_suppress_transient_bounces_do_not():
    bounce = {
        "eventType": "Bounce",
        "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": "Gone@Example.test"}]},
    }
    assert feedback.read(bounce) == [feedback.Feedback("gone@example.test", "bounce", None)]
    soft = {"notificationType": "Bounce", "bounce": {"bounceType": "Transient", "bouncedRecipients": [{}]}}
    assert feedback.read(soft) == []
    complaint = {
        "notificationType": "Complaint",
        "complaint": {"complaintFeedbackType": "abuse", "complainedRecipients": [{"emailAddress": "a@b.test"}]},
    }
    assert feedback.read(complaint)[0].reason == "complaint"
    assert feedback.read({"eventType": "Delivery"}) == []


def test_download_links_expire_and_cannot_be_forged():
    now = datetime(2026, 11, 24, tzinfo=UTC)
    url, expires_iso = links.download_link("o1", "key", now)
    query = dict(part.split("=") for part in url.split("?")[1].split("&"))
    expires, signature = int(query["expires"]), query["signature"]
    assert expires_iso == "2026-12-01T00:00:00Z"
    assert links.download_allowed("o1", expires, signature, "key", now)
    assert not links.download_allowed("o2", expires, signature, "key", now)
    assert not links.download_allowed("o1", expires + 1, signature, "key", now)
    assert not links.download_allowed("o1", expires, signature, "other-key", now)
    after = datetime(2026, 12, 1, 0, 0, 1, tzinfo=UTC)
    assert not links.download_allowed("o1", expires, signature, "key", after)
