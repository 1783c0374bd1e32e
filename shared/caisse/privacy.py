"""A customer's personal data, all of it: exported on request, erased on request or when the
merchant's retention rule says so, while the accounting stays (amounts, dates, order numbers).

Everything is found without a Scan: a customer's orders through their CustomerLink items (written
with each order, keyed by a digest of merchant and email), the emails sent to them through the
notifications table's `by_customer` index, the suppression entry by its key, the galleries made
for them among their merchant's galleries (the media table's `by_parent` index).

Erasing replaces the name and email with "erased", removes the encrypted answers and phone, the
delivered file, the links and the digests, on every order (each a version in its history), every
email record, the suppression entry (kept under a digest, so the address stays unmailed) and
every gallery made for them; an Erasure record says when, by whom and which orders, naming no one.
It is refused while an order is still open (not delivered, cancelled or expired), a refund is
being made or owed, or a payment is disputed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dateutil.relativedelta import relativedelta

from caisse.clock import iso, utcnow
from caisse.db import Transaction, TransactionCancelled
from caisse.errors import Conflict
from caisse.media.models import Gallery
from caisse.notifications.ledger import EmailRecord, NotificationRecord, Suppression
from caisse.orders import deliverables, index, personal, states, tickets
from caisse.orders.models import (
    Customer,
    CustomerLink,
    Erasure,
    Order,
    OrderRecord,
    Refund,
    RetentionDue,
)
from caisse.orders.service import OrderBundle, add_move, load, revealed_view
from caisse.orders.tickets import TICKET_SK, Ticket

ERASED = "erased"
MAX_ATTEMPTS = 5
RETENTION_MONTHS_LOOKED_BACK = 3  # due items of a sweep that did not run for this long are still found


@dataclass
class Found:
    """Everything held about one customer of one merchant."""

    merchant: str
    email: str
    orders: list[OrderBundle] = field(default_factory=list)
    emails: list[EmailRecord] = field(default_factory=list)
    suppression: Suppression | None = None
    galleries: list[Gallery] = field(default_factory=list)


def find(merchant: str, email: str) -> Found:
    ref = personal.customer_ref(merchant, email)
    found = Found(merchant, email.strip().lower())
    for link in CustomerLink.query(CustomerLink.partition(merchant, ref), consistent_read=True):
        bundle = load(link.order_id)
        if bundle is not None and bundle.order.merchant == merchant:
            found.orders.append(bundle)
    # created_at is to the second; listed_at, to the microsecond, orders two made in the same second
    found.orders.sort(key=lambda b: (b.order.created_at, b.order.listed_at or ""))
    found.emails = [r for r in NotificationRecord.by_customer.query(ref) if isinstance(r, EmailRecord)]
    for key in (Suppression.key(email), Suppression.erased_key(email)):
        try:
            record = NotificationRecord.get(key, consistent_read=True)
        except NotificationRecord.DoesNotExist:
            continue
        if isinstance(record, Suppression):
            found.suppression = record
            break
    found.galleries = [
        g
        for g in Gallery.by_parent.query(Gallery.listed_under(merchant))
        if isinstance(g, Gallery) and g.client_email.strip().lower() == found.email
    ]
    return found


# ------------------------------------------------------------------------------------ export


def export(merchant: str, email: str, actor_id: str) -> dict[str, Any]:
    """Every record about this customer, the encrypted answers and phone decrypted (each read
    recorded on its order)."""
    found = find(merchant, email)
    orders = []
    for bundle in found.orders:
        orders.append(revealed_view(bundle, actor_id, "export"))
    return {
        "merchant": merchant,
        "email": found.email,
        "exported_at": iso(utcnow()),
        "orders": orders,
        "emails": [
            {
                "notification_id": record.notification_id,
                "kind": record.kind,
                "to": record.to,
                "status": record.status,
                "claimed_at": iso(record.claimed_at),
                "sent_at": iso(record.sent_at) if record.sent_at else None,
            }
            for record in sorted(found.emails, key=lambda r: r.claimed_at)
        ],
        "suppression": (
            {"reason": found.suppression.reason, "at": iso(found.suppression.at)} if found.suppression else None
        ),
        "galleries": [
            {
                "gallery_id": g.gallery_id,
                "title": g.title,
                "client": {"name": g.client_name, "email": g.client_email, "locale": g.client_locale},
                "order_id": g.order_id,
                "status": g.status,
                "photos": int(g.ready_count or 0),
                "favourites": int(g.favourite_count or 0),
                "created_at": g.created_at,
                "expires_at": iso(g.expires_at),
            }
            for g in found.galleries
        ],
    }


# ------------------------------------------------------------------------------------- erase


def blocking(bundle: OrderBundle) -> str | None:
    """Why this order's personal data cannot be erased yet (None: it can)."""
    order = bundle.order
    if not bundle.workflow.closed(order.status):
        return f"the order is still {order.status}"
    if (order.money_state or states.UNPAID) == states.DISPUTED:
        return "a payment dispute is open"
    if int(order.refund_reserved or 0) > 0 or any(r.status in ("requested", "owed") for r in bundle.refunds):
        return "a refund is being made or is owed to the customer"
    return None


def erase(merchant: str, email: str, actor_id: str, reason: str | None = None) -> dict[str, Any]:
    found = find(merchant, email)
    blocked = [
        {"order_id": b.order.order_id, "order_number": b.order.order_number, "reason": why}
        for b in found.orders
        if not b.order.erased_at and (why := blocking(b))
    ]
    if blocked:
        raise Conflict(
            "this customer's personal data cannot be erased yet: "
            + "; ".join(f"{b['order_number']}: {b['reason']}" for b in blocked),
            code="erasure_blocked",
            orders=blocked,
        )
    note = f"personal data erased on request{f' ({reason})' if reason else ''}"
    erased = [anonymise_order(b.order.order_id, actor_id, note) for b in found.orders]
    for record in found.emails:
        anonymise_email(record)
    if found.suppression is not None and found.suppression.pk == Suppression.key(email):
        keep_suppressed(found.suppression, email)
    for gallery in found.galleries:
        gallery.update(actions=[Gallery.client_name.set(ERASED), Gallery.client_email.set(ERASED)])
    counts = {
        "orders": len(erased),
        "emails": len(found.emails),
        "suppressions": int(found.suppression is not None),
        "galleries": len(found.galleries),
    }
    erasure = record_erasure(merchant, actor_id, "request", erased, counts)
    return {"erasure_id": erasure.erasure_id, "merchant": merchant, "orders": erased, "erased": counts}


def anonymise_order(order_id: str, actor_id: str, note: str, actor: str = states.Actor.STAFF) -> str:
    """One order without its customer: a version of the order (history entry) that replaces name
    and email, drops the encrypted answers, phone and job details, the delivered file and the customer's link.
    Amounts, dates, items and the order number stay. Returns the order number."""
    for _ in range(MAX_ATTEMPTS):
        bundle = load(order_id)
        assert bundle is not None
        order = bundle.order
        if order.erased_at:
            return order.order_number
        link = CustomerLink(
            CustomerLink.partition(order.merchant, personal.customer_ref(order.merchant, order.customer.email)),
            CustomerLink.key(order_id),
        )
        tx = Transaction()
        actions = [
            Order.customer.set(Customer(name=ERASED, email=ERASED, locale=order.customer.locale or "en")),  # type: ignore[no-untyped-call]  # pynamodb's constructor
            Order.sealed_apart.remove(),
            Order.answers_sealed.remove(),
            Order.job_sealed.remove(),
            Order.erased_at.set(utcnow()),
            Order.deliverable_key.remove(),
            Order.download_until.remove(),
            *index.forget_customer(),
        ]
        if order.last_refund:
            last = {k: v for k, v in order.last_refund.as_dict().items() if k not in ("destination", "phone_ending")}
            actions.append(Order.last_refund.set(last))
        add_move(tx, bundle, actor=actor, actor_id=actor_id, note=note, extra=actions)
        tx.delete(link, label="customer")
        if bundle.personal is not None:
            tx.delete(bundle.personal, label="personal")  # the encrypted answers, phone and job details
        for entry in tickets.entries(order):  # the door's records name the holder too
            code = entry["code"]
            tx.update(Ticket(Ticket.key(code), TICKET_SK), actions=[Ticket.holder.set(ERASED)], label=f"ticket:{code}")
        for refund in bundle.refunds:
            payout = refund.payout.as_dict() if refund.payout else None
            if payout and payout.get("to"):
                tx.update(refund, actions=[Refund.payout.set({**payout, "to": ERASED})], label=f"refund:{refund.sk}")
        try:
            tx.commit()
        except TransactionCancelled:
            continue  # the order moved meanwhile: read it again
        if order.deliverable_key:
            deliverables.delete(order.deliverable_key)
        return order.order_number
    raise Conflict(f"order {order_id} kept changing while its personal data was erased; try again")


def anonymise_email(record: EmailRecord) -> None:
    record.update(actions=[EmailRecord.to.set(ERASED), EmailRecord.customer_ref.remove()])


def keep_suppressed(entry: Suppression, email: str) -> None:
    """The address stays unmailed, under a digest instead of in clear."""
    tx = Transaction()
    tx.put(
        Suppression(Suppression.erased_key(email), email=ERASED, reason=entry.reason, detail=None, at=entry.at),
        label="digest",
    )
    tx.delete(entry, label="plain")
    tx.commit()


def record_erasure(merchant: str, actor_id: str, reason: str, orders: list[str], counts: dict[str, int]) -> Erasure:
    erasure_id = str(uuid.uuid4())
    record = Erasure(
        Erasure.key(erasure_id),
        "ERASURE",
        erasure_id=erasure_id,
        merchant=merchant,
        at=utcnow(),
        actor_id=actor_id,
        reason=reason,
        orders=orders,
        counts=counts,
    )
    record.save()
    return record


# --------------------------------------------------------------------------------- retention


def apply_retention(now: datetime | None = None) -> dict[str, Any]:
    """Erase the customers of orders closed longer ago than their merchant keeps them (the
    orders' RetentionDue items, written when they closed). An order reopened since (late money)
    or with a refund still owed is left for a later day."""
    now = now or utcnow()
    months = [(now - relativedelta(months=n)).strftime("%Y-%m") for n in range(RETENTION_MONTHS_LOOKED_BACK)]
    erased: dict[str, list[str]] = {}
    waiting: list[str] = []
    for month in reversed(months):
        for due in RetentionDue.query(RetentionDue.partition(month), OrderRecord.sk <= f"{iso(now)}#~"):
            bundle = load(due.order_id)
            if bundle is None or bundle.order.erased_at or not bundle.workflow.closed(bundle.order.status):
                due.delete()
                continue
            if blocking(bundle) is not None:
                waiting.append(bundle.order.order_number)
                continue
            order = bundle.order
            note = f"personal data erased: kept {order.retention_months} months after the order closed"
            anonymise_order(order.order_id, "system:retention", note, actor=states.Actor.SYSTEM)
            for record in _emails_of(order):
                anonymise_email(record)
            erased.setdefault(order.merchant, []).append(order.order_number)
            due.delete()
    for merchant, numbers in erased.items():
        record_erasure(merchant, "system:retention", "retention", numbers, {"orders": len(numbers)})
    return {"erased": sum(len(n) for n in erased.values()), "orders": erased, "waiting": waiting}


def _emails_of(order: Order) -> list[EmailRecord]:
    ref = personal.customer_ref(order.merchant, order.customer.email)
    prefix = f"order:{order.order_id}:"
    return [
        r
        for r in NotificationRecord.by_customer.query(ref)
        if isinstance(r, EmailRecord) and r.notification_id.startswith(prefix)
    ]
