"""Which committed changes produce which emails, and the ids that keep them unique."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from order_history import entry

from caisse.notifications import changes, feedback
from caisse.notifications.kinds import Kind
from caisse.orders import links
from caisse.orders.models import ORDER_SK, Customer, LineItem, Order, order_pk

STAGES = ["discovery", "writing", "delivered"]


def order(
    status: str,
    version: int = 2,
    locale: str = "en",
    deliverable: str | None = None,
    money: str = "unpaid",
    last_refund: dict | None = None,
    dispute: dict | None = None,
) -> Order:
    now = datetime(2026, 11, 24, tzinfo=UTC)
    return Order(
        order_pk("o1"),
        ORDER_SK,
        order_id="o1",
        order_number="SC-2026-0001",
        merchant="songstudio",
        merchant_contact={"name": "Custom Song Studio", "reply_to": "hi@x.example", "staff_email": "team@x.example"},
        status=status,
        money_state=money,
        last_refund=last_refund,
        dispute=dispute,
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
        ("paid", "discovery", Kind.STAGE_CHANGED, "ada@example.test"),
        ("discovery", "writing", Kind.STAGE_CHANGED, "ada@example.test"),
        ("writing", "delivered", Kind.DELIVERY, "ada@example.test"),
    ],
)
def test_status_changes_that_mail_someone(before, after, kind, to):
    found = changes.for_order_change(order(before, 2), order(after, 3))
    [notification] = [n for n in found if n.kind is not Kind.NEW_ORDER]  # the shop's own email: below
    assert (notification.kind, notification.to) == (kind, to)
    assert notification.id == f"order:o1:v3:{kind}:{notification.recipient}"
    assert notification.source == "order:o1"


def test_the_customer_of_a_payment_under_review_is_told_so_and_told_the_outcome():
    flagged = changes.for_order_change(order("pending_payment", 2), order("needs_review", 3))
    assert [(n.kind, n.to) for n in flagged] == [
        (Kind.PAYMENT_FLAGGED, "team@x.example"),
        (Kind.PAYMENT_UNDER_REVIEW, "ada@example.test"),
    ]
    approved, told_shop = changes.for_order_change(order("needs_review", 3), order("paid", 4))
    assert approved.kind is Kind.ORDER_CONFIRMED and approved.context["reviewed"] is True
    assert told_shop.kind is Kind.NEW_ORDER
    [refused] = changes.for_order_change(order("needs_review", 3), order("cancelled", 4))
    assert (refused.kind, refused.to) == (Kind.PAYMENT_REFUSED, "ada@example.test")
    straight, _ = changes.for_order_change(order("pending_payment", 2), order("paid", 3))
    assert straight.kind is Kind.ORDER_CONFIRMED and straight.context["reviewed"] is False


def test_the_sweep_owes_the_review_emails_as_the_stream_named_them():
    history = [entry(2, "pending_payment", "needs_review"), entry(3, "needs_review", "paid")]
    owed = {n.id: n for n in changes.for_history(order("paid", 3), history, [])}
    streamed = changes.for_order_change(order("pending_payment", 1), order("needs_review", 2))
    streamed += changes.for_order_change(order("needs_review", 2), order("paid", 3))
    assert set(owed) == {n.id for n in streamed}
    [confirmed] = [n for n in owed.values() if n.kind is Kind.ORDER_CONFIRMED]
    assert confirmed.context["reviewed"] is True  # sent late, it still says the payment was checked


@pytest.mark.parametrize(
    ("before", "after"), [("paid", "paid"), ("pending_payment", "expired"), (None, "pending_payment")]
)
def test_changes_that_mail_nobody(before, after):
    old = order(before, 1) if before else None
    assert changes.for_order_change(old, order(after, 2)) == []


def refund(refund_id: str, amount: int = 1000) -> dict:
    return {"refund_id": refund_id, "amount": {"amount": amount, "currency": "USD"}, "reason": "goodwill"}


def test_every_refund_is_mailed_once_whatever_the_status():
    """Refunds are money moves: a second partial refund, in the same status and money state,
    still mails the customer, and each email is named by its refund."""
    first = order("discovery", 5, money="partially_refunded", last_refund=refund("r1"))
    second = order("discovery", 6, money="partially_refunded", last_refund=refund("r2"))
    [mail] = changes.for_order_change(first, second)
    assert (mail.kind, mail.to) == (Kind.REFUND_PROCESSED, "ada@example.test")
    assert mail.id == "order:o1:refund-r2:refund_processed:customer"
    assert mail.context["refund"]["refund_id"] == "r2"
    assert (
        changes.for_order_change(second, order("writing", 7, money="partially_refunded", last_refund=refund("r2")))[
            0
        ].kind
        is Kind.STAGE_CHANGED
    )  # the stage moves on; the refund is not mailed again
    paid = order("writing", 4, money="paid")
    [only] = changes.for_order_change(paid, order("writing", 5, money="refunded", last_refund=refund("r1", 9900)))
    assert only.id == "order:o1:refund-r1:refund_processed:customer"


def test_disputes_are_told_to_staff_when_opened_and_closed():
    dispute = {"id": "dp_1", "reason": "fraudulent", "outcome": None}
    [opened] = changes.for_order_change(
        order("paid", 3, money="paid"), order("paid", 4, money="disputed", dispute=dispute)
    )
    assert (opened.kind, opened.to, opened.id) == (
        Kind.DISPUTE_OPENED,
        "team@x.example",
        "order:o1:dispute-dp_1-opened:dispute_opened:staff",
    )
    lost = {**dispute, "outcome": "lost"}
    [closed] = changes.for_order_change(
        order("paid", 4, money="disputed", dispute=dispute), order("paid", 5, money="charged_back", dispute=lost)
    )
    assert (closed.kind, closed.context["dispute"]["outcome"]) == (Kind.DISPUTE_CLOSED, "lost")
    [reversed_] = changes.for_order_change(
        order("writing", 4, money="paid"), order("writing", 5, money="charged_back", dispute=lost)
    )
    assert reversed_.kind is Kind.DISPUTE_CLOSED  # a reversal with no dispute before it is told too


def test_money_for_no_order_is_told_to_the_operators(monkeypatch):
    from caisse import config

    image = {
        "pk": {"S": "INCIDENT#campay#r1"},
        "sk": {"S": "INCIDENT"},
        "type": {"S": "incident"},
        "provider": {"S": "campay"},
        "event_id": {"S": "r1:SUCCESSFUL"},
        "event_type": {"S": "collect.successful"},
        "provider_ref": {"S": "r1"},
        "amount": {"N": "60000"},
        "currency": {"S": "XAF"},
        "at": {"S": "2026-11-24T00:00:00.000000+0000"},
        "status": {"S": "open"},
    }
    monkeypatch.setenv("ALERT_EMAIL", "ops@shop.example")
    config.settings.cache_clear()
    try:
        [mail] = changes.for_stream_images(None, image)
        assert (mail.kind, mail.to) == (Kind.PAYMENT_WITHOUT_ORDER, "ops@shop.example")
        assert mail.context["amount"] == {"amount": 60000, "currency": "XAF"}
        assert changes.for_stream_images(image, image) == []  # only the incident's first write
    finally:
        monkeypatch.delenv("ALERT_EMAIL")
        config.settings.cache_clear()
    assert changes.for_stream_images(None, image) == []  # nobody to tell


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


def recorded(refund_id: str, amount: int, status: str, requested_by: str = "staff:s1", reason: str | None = None):
    """A refund record as the sweep reads it (built in memory, never saved)."""
    from caisse.orders.models import Refund

    return Refund(
        refund_id=refund_id,
        amount=amount,
        currency="USD",
        reason=reason,
        status=status,
        requested_by=requested_by,
        origin=None,
    )


def test_the_sweep_names_each_email_of_a_history_as_the_stream_consumer_did():
    history = [
        entry(1, None, "pending_payment"),
        entry(2, "pending_payment", "paid"),
        entry(3, "paid", "paid"),
        entry(4, "paid", "discovery"),
    ]
    refunds = [
        recorded("r1", 1000, "succeeded"),
        recorded("r2", 500, "requested"),
        recorded("r3", 300, "owed", requested_by="customer", reason="Late set"),  # the shop is told too
    ]
    now = order("discovery", version=4, money="partially_refunded")
    owed = {n.id for n in changes.for_history(now, history, refunds)}

    streamed = {n.id for n in changes.for_order_change(order("pending_payment", 1), order("paid", 2))}
    streamed |= {n.id for n in changes.for_order_change(order("paid", 3), order("discovery", 4))}
    refunded = order("paid", 3, last_refund={"refund_id": "r1", "amount": {"amount": 1000, "currency": "USD"}})
    streamed |= {n.id for n in changes.for_order_change(order("paid", 2), refunded)}
    given_back = {"refund_id": "r3", "amount": {"amount": 300, "currency": "USD"}, "manual": True, "given_back": True}
    streamed |= {n.id for n in changes.for_order_change(refunded, order("paid", 4, last_refund=given_back))}
    assert owed == streamed  # a refund still waiting for the provider was not mailed yet, and is not owed


def test_a_swept_refund_email_says_what_the_streamed_one_said_the_phone_by_its_last_digits():
    """An owed refund (mobile money) the customer asked for: the emails the sweep rebuilds from the
    refund record carry the context the stream's carried (the number ending in 04, never the number),
    so a customer reads the same email whichever path sent it."""
    from caisse.orders.models import Refund
    from caisse.orders.refunds import as_told

    paid = order("paid", 3)
    paid.customer.phone_ending = "04"
    record = Refund(
        paid.pk,
        Refund.key("r9"),
        refund_id="r9",
        amount=15000,
        currency="XOF",
        status="owed",
        reason="Concert",
        requested_by="customer",
    )
    given = order("paid", 4, last_refund=as_told(paid, record, manual=True))
    given.customer.phone_ending = "04"
    streamed = {n.id: n.context["refund"] for n in changes.for_order_change(paid, given)}
    swept = {n.id: n.context["refund"] for n in changes.for_history(given, [], [record])}
    assert set(streamed) == set(swept) and len(swept) == 2  # the customer's email and the shop's
    assert all(swept[id_] == streamed[id_] for id_ in swept)
    assert {context["phone_ending"] for context in swept.values()} == {"04"}


def test_tickets_the_customer_gave_back_are_told_to_the_shop_and_a_staff_refund_is_not():
    staff_refund = order("paid", 3, last_refund=refund("r1"))
    assert [m.kind for m in changes.for_order_change(order("paid", 2), staff_refund)] == [Kind.REFUND_PROCESSED]
    own = order("paid", 4, last_refund={**refund("r2"), "manual": True, "phone_ending": "04", "given_back": True})
    mails = changes.for_order_change(staff_refund, own)
    assert [(m.kind, m.to) for m in mails] == [
        (Kind.REFUND_PROCESSED, own.customer.email),
        (Kind.TICKETS_GIVEN_BACK, own.merchant_contact.as_dict()["staff_email"]),
    ]
    assert mails[1].occasion == "given-back-r2" and mails[1].context["refund"]["phone_ending"] == "04"


# --------------------------------------------------------------------------- the song studio (issue 15)

REVIEWED = {"revision_stage": "revision", "revision_from": "discovery", "revisions": 2}


def test_a_revision_sends_the_stage_email_saying_which_revision():
    before, after = order("discovery", version=5), order("revision", version=6)
    before.workflow = after.workflow = REVIEWED
    after.revisions_used = 1
    [mail] = changes.for_order_change(before, after)
    assert mail.kind is Kind.STAGE_CHANGED
    assert mail.context["revision"] == {"number": 1, "included": 2} and mail.context["stage_number"] is None


def test_the_delivery_email_sent_again_is_a_new_email_and_a_repeat_of_the_stream_is_not():
    delivered, again = order("delivered", version=7, deliverable="k"), order("delivered", version=8, deliverable="k")
    delivered.delivery_round, again.delivery_round = 1, 2
    [mail] = changes.for_order_change(delivered, again)
    assert mail.kind is Kind.DELIVERY and mail.occasion == "delivery-2"
    assert changes.for_order_change(again, again) == []


def test_no_email_names_the_brief_and_an_erased_customer_gets_none():
    paid = order("paid", version=3)
    paid.answers_sealed = "AYADeNcRyPtEd"
    mails = changes.for_order_change(order("pending_payment"), paid)
    assert [m.kind for m in mails] == [Kind.ORDER_CONFIRMED, Kind.NEW_ORDER]  # the customer's, the shop's
    for mail in mails:
        assert "AYADeNcRyPtEd" not in str(mail.to_message()) and "answers" not in mail.context
    erased = order("discovery", version=4)
    erased.erased_at = datetime(2026, 12, 1, tzinfo=UTC)
    assert changes.for_order_change(paid, erased) == []


def test_the_sweep_owes_a_delivery_email_sent_again_as_the_stream_named_it():
    delivered, again = order("delivered", version=7, deliverable="k"), order("delivered", version=8, deliverable="k")
    delivered.delivery_round, again.delivery_round = 1, 2
    streamed = {n.id for n in changes.for_order_change(delivered, again)}
    owed = {n.id for n in changes.for_history(again, [], [])}
    assert streamed and streamed <= owed  # the sweep queues it again under the same id: sent once


# --------------------------------------------------------------------------- an event changed (tickets out)

NIGHT = {
    "id": "late-set",
    "name": "Late set",
    "start": "2027-07-14T21:00",
    "end": "2027-07-15T01:00",
    "venue": "Le Trabendo",
    "timezone": "Europe/Paris",
}
MOVED = {**NIGHT, "start": "2027-07-21T22:00", "end": "2027-07-22T02:00", "venue": "Le Zénith", "revision": 1}


def ticket_order(event: dict, version: int, states: tuple[str, ...] = ("valid", "valid"), status: str = "paid"):
    held = order(status, version)
    held.items = [LineItem(sku="PASS", name="Late set pass", quantity=2, unit_amount=3000, event=event)]
    held.tickets = (
        [{"code": f"{n}" * 16, "sku": "PASS", "unit": n - 1, "number": n, "state": s} for n, s in enumerate(states, 1)]
        if status == "paid"
        else None
    )
    return held


def test_a_holder_is_told_an_event_changed_once_per_revision_with_the_tickets_that_still_admit():
    [told] = changes.for_order_change(ticket_order(NIGHT, 3), ticket_order(MOVED, 4))
    assert (told.kind, told.to, told.occasion) == (Kind.EVENT_CHANGED, "ada@example.test", "event-late-set-1")
    assert told.context["event_change"]["before"]["when"] == "2027-07-14 21:00 to 2027-07-15 01:00"
    assert told.context["event_change"]["after"] == {
        "name": "Late set",
        "when": "2027-07-21 22:00 to 2027-07-22 02:00",
        "venue": "Le Zénith",
        "address": None,
        "timezone": "Europe/Paris",
        "cancelled": None,
    }
    assert [t["event"]["venue"] for t in told.context["tickets"]] == ["Le Zénith", "Le Zénith"]

    assert changes.for_order_change(ticket_order(MOVED, 4), ticket_order(MOVED, 5)) == []  # the same revision
    given_back = changes.for_order_change(
        ticket_order(NIGHT, 3, ("voided", "voided")), ticket_order(MOVED, 4, ("voided", "voided"))
    )
    assert given_back == []  # no ticket of it admits any more: nothing to tell
    waiting = changes.for_order_change(
        ticket_order(NIGHT, 1, status="pending_payment"), ticket_order(MOVED, 2, status="pending_payment")
    )
    assert waiting == []  # its tickets, issued when paid, will carry the new details


def test_the_sweep_owes_an_event_change_as_the_stream_named_it():
    details = {key: NIGHT.get(key) for key in ("id", "name", "start", "end", "venue", "address", "timezone")}
    moved = {**details, "start": MOVED["start"], "end": MOVED["end"], "venue": MOVED["venue"]}
    changed = {"event": "late-set", "revision": 1, "before": details, "after": moved}
    carried = entry(4, "paid", "paid", action="event_changed", changes=changed)
    [owed] = changes.for_history(ticket_order(MOVED, 4), [carried], [])
    [streamed] = changes.for_order_change(ticket_order(NIGHT, 3), ticket_order(MOVED, 4))
    assert owed.id == streamed.id and owed.context["event_change"] == streamed.context["event_change"]


def test_a_cancelled_event_is_told_as_cancelled_with_its_reason_not_as_a_change():
    cancelled = {**NIGHT, "revision": 1, "cancelled": "A storm warning closed the park"}
    [told] = changes.for_order_change(ticket_order(NIGHT, 3), ticket_order(cancelled, 4))
    assert (told.kind, told.occasion) == (Kind.EVENT_CANCELLED, "event-late-set-1")
    assert told.context["event_change"]["after"]["cancelled"] == "A storm warning closed the park"


def test_paid_for_a_night_cancelled_meanwhile_is_told_it_is_cancelled_not_sent_tickets():
    """A mobile-money payment that lands after the cancellation: the buyer hears that the night is
    cancelled (the sweep refunds them), not a confirmation with tickets; the shop still hears of
    the payment. The sweep of lost emails owes the same email."""
    cancelled = {**NIGHT, "revision": 1, "cancelled": "A storm warning closed the park"}
    found = changes.for_order_change(ticket_order(cancelled, 3, status="pending_payment"), ticket_order(cancelled, 4))
    assert [(n.kind, n.to) for n in found] == [
        (Kind.NEW_ORDER, "team@x.example"),
        (Kind.EVENT_CANCELLED, "ada@example.test"),
    ]
    owed = changes.for_history(ticket_order(cancelled, 4), [entry(4, "pending_payment", "paid", "provider")], [])
    assert {n.id for n in owed} == {n.id for n in found}
