"""Sending one notification, at most once.

1. One transaction claims the notification in the ledger (only if nobody claimed it, or a previous
   attempt failed in a way that passes) and checks the address is not suppressed.
2. Render and send through SES.
3. Record the SES message id (or why it failed).

A redelivered message finds its claim and stops. SES errors that pass release the claim and raise,
so the queue delivers the message again later (and, after enough tries, to the DLQ). If a sender
dies between SES accepting the message and step 3, the claim stays "sending": the next delivery
records the outcome as unknown and does not send again, because sending twice is the one thing
this must never do.

DynamoDB requests per email: 2 (the claim transaction, the record). SES: 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import PutError

from caisse.clock import moment, utcnow
from caisse.db import Transaction, TransactionCancelled
from caisse.notifications import ledger, sender
from caisse.notifications.changes import Notification
from caisse.notifications.kinds import Kind, Recipient
from caisse.notifications.ledger import EmailRecord, NotificationRecord, Suppression
from caisse.notifications.render import render
from caisse.orders import links, personal
from caisse.orders.service import flag_undeliverable

# Longer than the email function's timeout: a claim this old was left by a sender that died.
CLAIM_LEASE = timedelta(minutes=5)
RECORD_DAYS = 400


@dataclass(frozen=True)
class Outcome:
    status: str  # sent | duplicate | skipped | failed | unknown
    message_id: str | None = None
    detail: str | None = None


def deliver(notification: Notification, token_key: str) -> Outcome:
    now = utcnow()
    record = EmailRecord(EmailRecord.key(notification.id))
    tx = Transaction()
    # An update, not a put: a message claimed again after a failure that passes keeps its count.
    tx.update(
        record,
        actions=[
            EmailRecord.record_type.set(EmailRecord),
            EmailRecord.notification_id.set(notification.id),
            EmailRecord.kind.set(notification.kind.value),
            EmailRecord.to.set(notification.to),
            EmailRecord.status.set(ledger.SENDING),
            EmailRecord.claimed_at.set(now),
            EmailRecord.expires_at.set(now + timedelta(days=RECORD_DAYS)),
            *_whose(notification),
            *([EmailRecord.customer_ref.set(ref)] if (ref := _customer_ref(notification)) else []),
        ],
        condition=EmailRecord.pk.does_not_exist() | (EmailRecord.status == ledger.RETRY),
        label="claim",
        return_old=True,
    )
    for key in (Suppression.key(notification.to), Suppression.erased_key(notification.to)):
        tx.check(NotificationRecord, key, None, NotificationRecord.pk.does_not_exist(), "suppressed")
    try:
        tx.commit()
    except TransactionCancelled as cancelled:
        return _not_claimed(notification, record, cancelled, now)

    context = _with_job(notification, _with_links(notification, token_key))
    images, attachments = _ticket_documents(notification, context)
    rendered = render(notification.kind, notification.locale, context)
    merchant = notification.context.get("merchant") or {}
    raw = sender.build(
        rendered,
        to=notification.to,
        sender_name=merchant.get("name") or "Caisse",
        reply_to=merchant.get("reply_to"),
        notification_id=notification.id,
        images=images,
        attachments=attachments,
    )
    try:
        message_id = sender.send(raw, to=notification.to, kind=notification.kind.value)
    except sender.PermanentSendError as error:
        record.update(
            actions=[
                EmailRecord.status.set(ledger.FAILED),
                EmailRecord.reason.set(str(error)),
                *_problem(notification, now),
            ]
        )
        _tell_staff(notification, f"the email service refused it ({error})")
        return Outcome("failed", detail=str(error))
    except sender.TransientSendError as error:
        record.update(
            actions=[
                EmailRecord.status.set(ledger.RETRY),
                EmailRecord.attempts.add(1),
                EmailRecord.reason.set(str(error)),
                *_problem(notification, now),
            ]
        )
        raise
    record.update(
        actions=[
            EmailRecord.status.set(ledger.SENT),
            EmailRecord.ses_message_id.set(message_id),
            EmailRecord.sent_at.set(utcnow()),
            EmailRecord.attempts.add(1),
            EmailRecord.reason.remove(),
            EmailRecord.problem_list.remove(),
            EmailRecord.problem_at.remove(),
        ]
    )
    return Outcome("sent", message_id=message_id)


def _customer_ref(notification: Notification) -> str | None:
    """Emails to a merchant's customer carry a digest of who they went to (export, erasure)."""
    merchant = (notification.context.get("merchant") or {}).get("id")
    if notification.recipient is not Recipient.CUSTOMER or not merchant:
        return None
    return personal.customer_ref(merchant, notification.to)


class ClaimedElsewhere(Exception):
    """Another delivery of this message is sending it right now; try again after it finished."""


def _not_claimed(
    notification: Notification, record: EmailRecord, cancelled: TransactionCancelled, now: datetime
) -> Outcome:
    claim = cancelled.failed.get("claim")
    if claim is not None and claim.raw_item:
        existing = EmailRecord.from_raw_data(claim.raw_item)
        if existing.status != ledger.SENDING:
            return Outcome("duplicate", existing.ses_message_id, existing.status)
        if now - existing.claimed_at < CLAIM_LEASE:
            raise ClaimedElsewhere(notification.id)
        existing.update(
            actions=[
                EmailRecord.status.set(ledger.UNKNOWN),
                EmailRecord.reason.set("sender stopped mid-send"),
                *_problem(notification, now),
            ],
            condition=EmailRecord.status == ledger.SENDING,
        )
        return Outcome("unknown", detail="a previous attempt stopped after claiming; not sent again")
    # The address is suppressed: record the skip so support can see why nothing arrived.
    skipped = EmailRecord(
        record.pk,
        notification_id=notification.id,
        kind=notification.kind.value,
        to=notification.to,
        status=ledger.SKIPPED,
        reason="suppressed",
        claimed_at=now,
        expires_at=now + timedelta(days=RECORD_DAYS),
        merchant=_merchant(notification),
        order_id=notification.context.get("order_id"),
        order_number=notification.context.get("order_number"),
        problem_list=_merchant(notification),
        problem_at=f"{moment(now)}#{notification.id}",
        customer_ref=_customer_ref(notification),
    )
    try:
        skipped.save(condition=EmailRecord.pk.does_not_exist())
    except PutError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
    _tell_staff(notification, "the address bounced or complained before, so it is no longer mailed")
    return Outcome("skipped", detail="suppressed")


def _ticket_documents(notification: Notification, context: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """A confirmation with tickets, or an event's new details told to its holders, carries each
    ticket's QR inline (its `qr_cid` set for the template) and the PDF of them all, signed with
    the key from SSM. Built here, at sending time: the queue carries the codes, never an image or
    a signature."""
    tickets = context.get("tickets") or []
    if notification.kind not in (Kind.ORDER_CONFIRMED, Kind.EVENT_CHANGED) or not tickets:
        return [], []
    from caisse.orders import ticket_documents

    key = ticket_documents.signing_key()
    merchant = context.get("merchant") or {}
    order_number = context["order_number"]
    payloads = [ticket_documents.signed_payload(t, merchant["id"], order_number, key) for t in tickets]
    images, shown = [], []
    for ticket, payload in zip(tickets, payloads, strict=True):
        cid = f"ticket-{ticket['number']}.{context['order_id']}@caisse"
        shown.append({**ticket, "qr_cid": cid})
        images.append(sender.Part(f"ticket-{ticket['number']}.png", "image/png", ticket_documents.qr_png(payload), cid))
    context["tickets"] = shown
    document = ticket_documents.pdf(
        tickets, payloads, order_number=order_number, merchant=merchant.get("name") or "", locale=notification.locale
    )
    name = "billets" if notification.locale == "fr" else "tickets"
    return images, [sender.Part(f"{name}-{order_number}.pdf", "application/pdf", document)]


def _tell_staff(notification: Notification, reason: str) -> None:
    """A customer's email about an order that will never arrive: flagged on the order, whose
    change tells the merchant's staff (email_undeliverable), so a paid order is not left silent."""
    if notification.recipient is not Recipient.CUSTOMER or not notification.source.startswith("order:"):
        return
    order_id = notification.source.split(":", 1)[1]
    flag_undeliverable(order_id, notification.id, notification.kind.value, reason)


def _merchant(notification: Notification) -> str:
    """Whose email this is: the merchant the message names, or the platform (its operators' alerts)."""
    merchant = (notification.context.get("merchant") or {}).get("id")
    return merchant if merchant and merchant != "caisse" else "platform"


def _whose(notification: Notification) -> list[Any]:
    actions = [EmailRecord.merchant.set(_merchant(notification))]
    for attribute, name in ((EmailRecord.order_id, "order_id"), (EmailRecord.order_number, "order_number")):
        if notification.context.get(name):
            actions.append(attribute.set(str(notification.context[name])))
    return actions


def _problem(notification: Notification, now: datetime) -> list[Any]:
    """Onto the merchant's list of emails that did not go (GET /admin/emails/problems)."""
    return [
        EmailRecord.problem_list.set(_merchant(notification)),
        EmailRecord.problem_at.set(f"{moment(now)}#{notification.id}"),
    ]


def _with_job(notification: Notification, context: dict[str, Any]) -> dict[str, Any]:
    """The tradie's new-booking email shows where the job is, the notes and the customer's phone:
    decrypted here, at sending time, from the order's PersonalData item (or, for an order written
    before it, the ciphertext the message carries); every other email carries no personal field."""
    booking = dict(context.get("booking") or {})
    job_sealed, phone_sealed = booking.pop("job_sealed", None), booking.pop("phone_sealed", None)
    apart = booking.pop("sealed_apart", None) or []
    if context.get("booking") is not None:
        context["booking"] = booking
    if notification.kind is not Kind.NEW_BOOKING or not context.get("order_id"):
        return context
    order_id = context["order_id"]
    if personal.JOB in apart or personal.PHONE in apart:
        record = personal.personal_data_for(order_id)
        job_sealed, phone_sealed = (record.job_sealed, record.phone_sealed) if record else (None, None)
    booking.update(personal.opened(order_id, personal.JOB, job_sealed) or {})
    if phone_sealed:
        booking["phone"] = personal.opened(order_id, personal.PHONE, phone_sealed)
    return context


def _with_links(notification: Notification, token_key: str) -> dict[str, Any]:
    context = dict(notification.context)
    order_id = context.get("order_id")
    found: dict[str, str | None] = {}
    if order_id and notification.recipient is Recipient.CUSTOMER:
        found["order"] = links.order_link(order_id, token_key)
        found["retry"] = context.get("retry_url") or found["order"]
        if notification.kind is Kind.DELIVERY and context.get("has_deliverable"):
            until = context.get("download_until")
            found["download"], found["download_expires"] = links.download_link(
                order_id, token_key, until=datetime.fromisoformat(until) if until else None
            )
    gallery = dict(context.get("gallery") or {})
    if gallery.get("id") and notification.kind in (Kind.GALLERY_READY, Kind.GALLERY_PROCESSED):
        found["gallery"] = links.gallery_link(gallery["id"], token_key)
        salt = gallery.pop("code_salt", None)  # the code is derived here, never stored or queued
        gallery["access_code"] = links.gallery_access_code(gallery["id"], salt, token_key) if salt else None
        context["gallery"] = gallery
    context["links"] = {**found, **(context.get("links") or {})}
    return context
