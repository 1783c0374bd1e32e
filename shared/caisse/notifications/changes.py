"""From a committed change of an order (a stream record's old and new image) to the emails it
means. Pure: the stream consumer publishes what this returns, the email function renders it.

Each notification's id is derived from the change (order, version or occasion, kind, recipient),
so however often a stream record is delivered, it names the same email. Status moves send the
lifecycle emails; money changes send theirs: one refund email per refund (whatever the order's
status, and however many refunds), dispute emails to staff.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from caisse.clock import iso
from caisse.config import settings
from caisse.money import Money
from caisse.notifications.kinds import RECIPIENTS, Kind, Recipient
from caisse.orders import states, tickets
from caisse.orders.models import Incident, Order, order_from_image
from caisse.orders.refunds import as_told
from caisse.orders.service import workflow_of


@dataclass(frozen=True)
class Notification:
    kind: Kind
    to: str
    locale: str
    source: str  # what changed, e.g. "order:<id>"; also the FIFO message group
    version: int
    context: dict[str, Any] = field(default_factory=dict)
    occasion: str | None = None  # names the email instead of the version (e.g. "refund-<id>")

    @property
    def recipient(self) -> Recipient:
        return RECIPIENTS[self.kind]

    @property
    def id(self) -> str:
        return f"{self.source}:{self.occasion or f'v{self.version}'}:{self.kind}:{self.recipient}"

    @property
    def group(self) -> str:
        """The FIFO group: one order's emails to one recipient go out in order, while the
        customer's and the shop's never wait on each other (a message being retried holds its
        whole group in flight until its next attempt)."""
        return f"{self.source}:{self.recipient}"

    @property
    def deduplication_id(self) -> str:
        return hashlib.sha256(self.id.encode()).hexdigest()

    def to_message(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "to": self.to,
            "locale": self.locale,
            "source": self.source,
            "version": self.version,
            "occasion": self.occasion,
            "context": self.context,
        }

    @classmethod
    def from_message(cls, body: dict[str, Any]) -> Notification:
        return cls(
            kind=Kind(body["kind"]),
            to=body["to"],
            locale=body.get("locale") or "en",
            source=body["source"],
            version=int(body["version"]),
            context=body.get("context") or {},
            occasion=body.get("occasion"),
        )


def _money(amount: int, currency: str) -> dict[str, Any]:
    Money(amount, currency)  # refuse anything that is not money before it reaches a template
    return {"amount": amount, "currency": currency}


def order_context(order: Order) -> dict[str, Any]:
    """What the templates may show about an order. Built from the committed image only, where the
        customer's answers and phone are ciphertext: no customer email needs them; a booking's job details
    and phone go on the queue as ciphertext, for the tradie's new-booking email to decrypt."""
    contact = order.merchant_contact.as_dict() if order.merchant_contact else {}
    stages = list(order.stages or [])
    next_action = order.next_action.as_dict() if order.next_action else {}
    workflow = workflow_of(order)
    revising = workflow.revision_stage is not None and order.status == workflow.revision_stage
    return {
        "order_id": order.order_id,
        "order_number": order.order_number,
        "merchant": {
            "id": order.merchant,
            "name": contact.get("name") or order.merchant,
            "reply_to": contact.get("reply_to"),
        },
        "customer_name": order.customer.name,
        "items": [
            {
                "name": item.name,
                "quantity": int(item.quantity),
                "amount": _money(int(item.unit_amount) * int(item.quantity), order.currency),
            }
            for item in order.items
        ],
        "total": _money(int(order.total_amount), order.currency),
        "status": order.status,
        "provider": order.provider,
        "money_state": order.money_state or states.UNPAID,
        "refunded": _money(int(order.refunded_amount or 0), order.currency),
        "reason": order.status_reason,
        "stages": stages,
        "stage_number": stages.index(order.status) + 1 if order.status in stages else None,
        "revision": {"number": int(order.revisions_used or 0), "included": workflow.revisions} if revising else None,
        "download_until": iso(order.download_until) if order.download_until else None,
        "retry_url": next_action.get("url") if order.status in states.HOLDING else None,
        "has_deliverable": bool(order.deliverable_key),
        "refund": order.last_refund.as_dict() if order.last_refund else None,
        "dispute": order.dispute.as_dict() if order.dispute else None,
        "email_problem": order.email_problem.as_dict() if order.email_problem else None,
        "booking": _booking_context(order),
        "tickets": _tickets_context(order),
        "has_tickets": any(item.event for item in order.items),
    }


def _tickets_context(order: Order) -> list[dict[str, Any]]:
    """The tickets that admit (voided ones are not shown again), with their dates as printed."""
    locale = order.customer.locale or "en"
    found = [ticket for ticket in tickets.views(order) if ticket["state"] == tickets.VALID] if order.tickets else []
    return [{**ticket, "when": tickets.when(ticket["event"], locale)} for ticket in found]


def _booking_context(order: Order) -> dict[str, Any] | None:
    if not order.booking:
        return None
    booking = order.booking.as_dict()
    balance = order.balance.as_dict() if order.balance else {}
    start = booking.get("local_start", "")
    full, deposit = booking.get("full_price") or {}, booking.get("deposit") or {}
    expected = _money(int(full["amount"]) - int(deposit["amount"]), full["currency"]) if full and deposit else None
    return {
        "service": booking.get("service"),
        "final_amount": _money(int(balance["final_amount"]), full["currency"]) if balance.get("final_amount") else None,
        "start": start[:16].replace("T", " "),  # the appointment in the merchant's own time zone
        "timezone": booking.get("timezone"),
        "balance": balance.get("amount"),
        "balance_expected": expected,  # the price less the deposit, before the job sets the final price
        "link": balance.get("link"),
        "address": None,  # encrypted: the email function decrypts them for the tradie's email only
        "notes": None,
        "sealed_apart": list(order.sealed_apart or []),  # in the order's PersonalData item
        # an order written before PersonalData carries its ciphertexts on the order item
        "job_sealed": order.job_sealed,
        "phone_sealed": order.customer.phone_sealed,
    }


def for_order_change(old: Order | None, new: Order, merchant_of: Any = None) -> list[Notification]:
    """The emails a change of `old` into `new` calls for: a status move; a refund (one email per
    refund, named by the refund); a dispute opened or closed; a balance the card could not pay; an
    email staff asked to send again; an event of its tickets changed or cancelled (or, paid for
    tickets to an event cancelled meanwhile, that, instead of a confirmation); and, once per
    order, the "new order" email (the new-booking email for bookings) to the merchant's staff,
    unless the merchant (`merchant_of(id)`, read live) switched it off."""
    wanted: list[tuple[Kind, int, str | None]] = []
    version = int(new.version)
    if old is None or old.status != new.status:
        kind = _kind_for(new)
        if kind is not None:
            wanted.append((kind, version, None))
        if new.status == states.PAID and _tells_new_orders(new.merchant, merchant_of):
            # Named by the occasion, not the version: an order paid again (after a review) is told once.
            wanted.append((Kind.NEW_BOOKING if new.booking else Kind.NEW_ORDER, version, "new-order"))
        wanted += _review_told(old.status if old is not None else None, new.status, version)
    resend = new.resend.as_dict() if new.resend else {}
    old_resend = old.resend.as_dict() if old is not None and old.resend else {}
    if resend.get("id") and resend.get("id") != old_resend.get("id"):
        wanted.append((Kind(resend["kind"]), version, f"resend-{resend['id']}"))
    refund = new.last_refund.as_dict() if new.last_refund else None
    old_refund = old.last_refund.as_dict() if old is not None and old.last_refund else {}
    if refund and refund.get("refund_id") != old_refund.get("refund_id"):
        wanted.append((Kind.REFUND_PROCESSED, version, f"refund-{refund['refund_id']}"))
        if refund.get("given_back"):
            wanted.append((Kind.TICKETS_GIVEN_BACK, version, f"given-back-{refund['refund_id']}"))
    resent = int(new.delivery_round or 0)
    if old is not None and old.status == new.status and resent > int(old.delivery_round or 0) > 0:
        wanted.append((Kind.DELIVERY, version, f"delivery-{resent}"))  # sent again by staff, a fresh link
    old_money = (old.money_state if old is not None else None) or states.UNPAID
    new_money = new.money_state or states.UNPAID
    dispute = new.dispute.as_dict() if new.dispute else {}
    if new_money != old_money and new_money == states.DISPUTED:
        wanted.append((Kind.DISPUTE_OPENED, version, f"dispute-{dispute.get('id')}-opened"))
    elif new_money != old_money and (old_money == states.DISPUTED or new_money == states.CHARGED_BACK):
        wanted.append((Kind.DISPUTE_CLOSED, version, f"dispute-{dispute.get('id')}-closed"))
    problem = new.email_problem.as_dict() if new.email_problem else None
    old_problem = old.email_problem.as_dict() if old is not None and old.email_problem else None
    if problem and problem != old_problem:
        wanted.append((Kind.EMAIL_UNDELIVERABLE, version, None))
    old_balance = (old.balance.as_dict() if old is not None and old.balance else {}) or {}
    new_balance = new.balance.as_dict() if new.balance else {}
    if new_balance.get("status") == "due" and new_balance.get("attempt") != old_balance.get("attempt"):
        wanted.append((Kind.BALANCE_DUE, int(new_balance.get("attempt") or 1), None))
    if _balance_paid(new) and not (old is not None and _balance_paid(old)):
        wanted.append((Kind.BALANCE_PAID, version, BALANCE_RECEIPT))
    reviewed = old is not None and old.status == states.NEEDS_REVIEW and new.status == states.PAID
    paid = new.status == states.PAID and (old is None or old.status != states.PAID)
    cancelled = _cancelled_when_paid(new, version) if paid else []
    return _addressed(new, wanted, reviewed=reviewed) + _events_changed(old, new) + cancelled


def _cancelled_when_paid(order: Order, version: int) -> list[Notification]:
    """Paid for tickets to an event cancelled meanwhile (a mobile-money collection cannot be
    stopped): the buyer is told it is cancelled, not sent tickets; the cancellation's sweep
    refunds them (caisse.payments.cancelled_events)."""
    found = []
    for event_id, event in tickets.events_of(order).items():
        if event.get("cancelled"):
            found += _event_changed(order, event_id, int(event.get("revision") or 0), {}, event, version)
    return found


def _only_cancelled_tickets(order: Order) -> bool:
    """Everything the order bought is a ticket to a cancelled event: there is nothing to confirm."""
    return bool(order.items) and all(item.event and item.event.as_dict().get("cancelled") for item in order.items)


def _events_changed(old: Order | None, new: Order) -> list[Notification]:
    """An event the order's tickets admit to changed once they were issued
    (caisse.orders.ticket_holders carried its new revision to the order): the holder is told."""
    if old is None or not new.tickets:
        return []
    before = tickets.events_of(old)
    found = []
    for event_id, event in tickets.events_of(new).items():
        revision = int(event.get("revision") or 0)
        if revision > int((before.get(event_id) or {}).get("revision") or 0):
            found += _event_changed(new, event_id, revision, before.get(event_id) or {}, event, int(new.version))
    return found


def _event_changed(
    order: Order, event_id: str, revision: int, before: dict[str, Any], after: dict[str, Any], version: int
) -> list[Notification]:
    """The email telling a holder an event's new details (what it was, what it is), with their
    tickets for it again, or that it is cancelled (and why: the refund has its own email); none if
    every ticket for it was given back."""
    held = [ticket for ticket in _tickets_context(order) if ticket["event"]["id"] == event_id]
    if not held:
        return []
    locale = order.customer.locale or "en"
    change = {"before": _event_told(before, locale), "after": _event_told(after, locale)}
    kind = Kind.EVENT_CANCELLED if after.get("cancelled") else Kind.EVENT_CHANGED
    occasion = f"event-{event_id}-{revision}"
    return _addressed(order, [(kind, version, occasion)], event_change=change, tickets=held)


def _event_told(event: dict[str, Any], locale: str) -> dict[str, Any]:
    return {
        "name": event.get("name"),
        "when": tickets.when(event, locale) if event.get("start") else None,
        "venue": event.get("venue"),
        "address": event.get("address"),
        "timezone": event.get("timezone"),
        "cancelled": event.get("cancelled"),
    }


BALANCE_RECEIPT = "balance-paid"  # the occasion naming a booking's balance receipt: one per order


def _balance_paid(order: Order) -> bool:
    """A booking's balance was taken (on the saved card or the page sent): a receipt is owed.
    A balance of nothing (the job cost the deposit) took no payment and has no receipt."""
    balance = order.balance.as_dict() if order.balance else {}
    return balance.get("status") == "paid" and bool(balance.get("payment_ref"))


def _review_told(old_status: str | None, new_status: str, version: int) -> list[tuple[Kind, int, str | None]]:
    """A payment a person checks: the customer is told it is being checked, then the outcome
    (the confirmation says it was checked; a refusal has its own email)."""
    if new_status == states.NEEDS_REVIEW:
        return [(Kind.PAYMENT_UNDER_REVIEW, version, None)]
    if old_status == states.NEEDS_REVIEW and new_status == states.CANCELLED:
        return [(Kind.PAYMENT_REFUSED, version, None)]
    return []


def _addressed(
    order: Order, wanted: list[tuple[Kind, int, str | None]], reviewed: bool = False, **context: Any
) -> list[Notification]:
    """The notifications of `wanted` (kind, version, occasion) for an order, each to its recipient;
    `reviewed`: its confirmation follows a payment a person checked."""
    contact = order.merchant_contact.as_dict() if order.merchant_contact else {}
    found = []
    for kind, number, occasion in wanted:
        if RECIPIENTS[kind] is Recipient.CUSTOMER:
            if order.erased_at:
                continue  # the customer's personal data was erased: nobody to write to
            to, locale = order.customer.email, order.customer.locale or "en"
        else:
            to, locale = contact.get("staff_email") or contact.get("reply_to") or "", contact.get("locale") or "en"
        if to:
            details = {**order_context(order), **context}
            if kind is Kind.ORDER_CONFIRMED:
                details["reviewed"] = bool(reviewed)
            found.append(Notification(kind, to, locale, f"order:{order.order_id}", number, details, occasion))
    return found


# A refund's email went out when the refund was applied to the order: made, pending at the
# provider, owed (mobile money), or paid back since.
_REFUNDS_TOLD = ("succeeded", "pending", "owed", "paid_out")


def for_history(order: Order, history: list[Any], refunds: list[Any], merchant_of: Any = None) -> list[Notification]:
    """Every email an order's committed history called for, named as the stream consumer named it
    (the same ids, so the ledger and the queue's deduplication recognise what was already sent):
    each status move of the history, the shop's new-order email, the last email staff asked to
    send again, each event change told to the holder, and each refund applied. Used by the sweep
    that finds emails a lost stream batch never queued."""
    wanted: list[tuple[Kind, int, str | None]] = []
    for entry in sorted(history, key=lambda e: int(e.version)):
        if entry.from_status == entry.to_status:
            continue
        kind = _kind_for_status(entry.to_status, order)
        if kind is not None:
            wanted.append((kind, int(entry.version), None))
        if entry.to_status == states.PAID and _tells_new_orders(order.merchant, merchant_of):
            wanted.append((Kind.NEW_BOOKING if order.booking else Kind.NEW_ORDER, int(entry.version), "new-order"))
        wanted += _review_told(entry.from_status, entry.to_status, int(entry.version))
    resend = order.resend.as_dict() if order.resend else {}
    if resend.get("id"):
        wanted.append((Kind(resend["kind"]), int(order.version), f"resend-{resend['id']}"))
    if _balance_paid(order):
        wanted.append((Kind.BALANCE_PAID, int(order.version), BALANCE_RECEIPT))
    for resent in range(2, int(order.delivery_round or 0) + 1):  # the delivery email sent again by staff
        wanted.append((Kind.DELIVERY, int(order.version), f"delivery-{resent}"))
    reviewed = any(e.from_status == states.NEEDS_REVIEW and e.to_status == states.PAID for e in history)
    found = _addressed(order, wanted, reviewed=reviewed)
    paid = [int(e.version) for e in history if e.to_status == states.PAID and e.from_status != states.PAID]
    if paid:
        found += _cancelled_when_paid(order, min(paid))
    for entry in history:
        if entry.action == tickets.EVENT_CHANGED and entry.changes:
            change = entry.changes.as_dict()
            event_id, revision = change["event"], int(change["revision"])
            found += _event_changed(order, event_id, revision, change["before"], change["after"], int(entry.version))
    for refund in refunds:
        if refund.status not in _REFUNDS_TOLD:
            continue
        told = as_told(order, refund, manual=refund.status in ("owed", "paid_out"))
        occasion = f"refund-{refund.refund_id}"
        found += _addressed(order, [(Kind.REFUND_PROCESSED, int(order.version), occasion)], refund=told)
        if told.get("given_back"):
            given_back = (Kind.TICKETS_GIVEN_BACK, int(order.version), f"given-back-{refund.refund_id}")
            found += _addressed(order, [given_back], refund=told)
    return list({notification.id: notification for notification in found}.values())  # each email once


def _tells_new_orders(merchant_id: str, merchant_of: Any) -> bool:
    merchant = merchant_of(merchant_id) if merchant_of is not None else None
    return merchant is None or getattr(merchant, "new_order_email", True) is not False


def _kind_for(order: Order) -> Kind | None:
    return _kind_for_status(order.status, order)


def _kind_for_status(status: str, order: Order) -> Kind | None:
    """The email a move of `order` into `status` calls for (the order's stages and workflow)."""
    stages = list(order.stages or [])
    if status == states.PAID:
        return None if _only_cancelled_tickets(order) else Kind.ORDER_CONFIRMED
    if status == states.PAYMENT_FAILED:
        return Kind.PAYMENT_FAILED
    if status == states.NEEDS_REVIEW:
        return Kind.PAYMENT_FLAGGED
    if status in stages:
        return Kind.DELIVERY if status == stages[-1] else Kind.STAGE_CHANGED
    if status == workflow_of(order).revision_stage:
        return Kind.STAGE_CHANGED
    return None


def for_incident(incident: Incident) -> list[Notification]:
    """Money taken for no order we know: the shop's operators are told (ALERT_EMAIL), once."""
    to = settings().alert_email
    if not to:
        return []
    context = {
        "merchant": {"id": "caisse", "name": "Caisse", "reply_to": None},
        "provider": incident.provider,
        "event_type": incident.event_type,
        "provider_ref": incident.provider_ref,
        "payment_ref": incident.payment_ref,
        "claimed_order_id": incident.claimed_order_id,
        "amount": _money(int(incident.amount), incident.currency)
        if incident.amount is not None and incident.currency
        else None,
    }
    return [Notification(Kind.PAYMENT_WITHOUT_ORDER, to, "en", incident.pk, 1, context)]


def for_gallery_change(old_status: str | None, gallery: Any, merchant: Any) -> list[Notification]:
    """A gallery whose photos are all done: its client gets the link (and access code, derived by
    the email function from `code_salt`), the photographer a summary; once per ready round."""
    if gallery.status != "ready" or old_status == "ready":
        return []
    context = {
        "merchant": {
            "id": gallery.merchant,
            "name": gallery.merchant_name or gallery.merchant,
            "reply_to": merchant.reply_to if merchant is not None else None,
        },
        "customer_name": gallery.client_name,
        "gallery": {
            "id": gallery.gallery_id,
            "name": gallery.title,
            "count": int(gallery.ready_count or 0),
            "failed": int(gallery.failed_count or 0),
            "expires_on": gallery.expires_at.strftime("%Y-%m-%d") if gallery.expires_at else None,
            "downloads": bool(gallery.downloads),
            "code_salt": gallery.access_code_salt,
        },
    }
    source, round_ = f"gallery:{gallery.gallery_id}", int(gallery.ready_round)
    found = []
    if gallery.client_email:  # galleries made before issue 16 have no client
        locale = gallery.client_locale or "en"
        found.append(Notification(Kind.GALLERY_READY, gallery.client_email, locale, source, round_, context))
    staff_to = (merchant.staff_email or merchant.reply_to) if merchant is not None else None
    if staff_to:
        locale = merchant.default_locale or "en"
        found.append(Notification(Kind.GALLERY_PROCESSED, staff_to, locale, source, round_, context))
    return found


def for_merchant_notice(image: dict[str, Any], merchant_of: Any) -> list[Notification]:
    """Something about a merchant's account its staff must hear (caisse.orders.models.MerchantNotice)."""
    from caisse.orders.models import MerchantNotice

    change = MerchantNotice.from_raw_data(image)
    merchant = merchant_of(change.merchant)
    to = (merchant.staff_email or merchant.reply_to) if merchant is not None else None
    if not to:
        return []
    context = change.context.as_dict() if hasattr(change.context, "as_dict") else dict(change.context)
    locale = merchant.default_locale or "en"
    return [Notification(Kind(change.kind), to, locale, change.source, int(change.created), context, change.event_id)]


def for_stream_images(
    old_image: dict[str, Any] | None, new_image: dict[str, Any] | None, merchant_of: Any = None
) -> list[Notification]:
    """The emails one stream record calls for: order changes, and galleries becoming ready
    (`merchant_of(merchant_id)` finds the merchant to tell). Other records call for none."""
    if new_image is None:
        return []  # a record removed (a TTL or a sweep): nothing to tell anyone
    kind = new_image.get("type", {}).get("S")
    if kind == "gallery" and merchant_of is not None:
        from caisse.media.models import Gallery

        gallery = Gallery.from_raw_data(new_image)
        old_status = ((old_image or {}).get("status") or {}).get("S")
        if gallery.status != "ready" or old_status == "ready":
            return []  # only the change into ready is news; no catalog read for the rest
        return for_gallery_change(old_status, gallery, merchant_of(gallery.merchant))
    if kind == "incident" and not old_image:
        return for_incident(Incident.from_raw_data(new_image))
    if kind == "plan_change" and not old_image and merchant_of is not None:
        return for_merchant_notice(new_image, merchant_of)
    new = order_from_image(new_image)
    if new is None:
        return []
    return for_order_change(order_from_image(old_image), new, merchant_of)
