"""What an order holds about its customer, and the one way each part is kept: the answers to the
product's questionnaire (the song brief), the phone and a booking's address and notes are encrypted at field level
(caisse.encryption), bound to the order; name and email stay readable for emails and staff;
a digest of the email links the customer's orders for export and erasure.

Reading the answers or the phone is recorded on the order (an AccessEntry: who, what, why).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import datetime
from typing import Any

from caisse.clock import iso, utcnow
from caisse.orders.models import AccessEntry, Customer, Order

ANSWERS = "answers"
PHONE = "phone"
JOB = "job"  # a booking's address and notes


def customer_ref(merchant: str, email: str) -> str:
    """The same customer of the same merchant, whatever the case or spaces of their email."""
    return hashlib.sha256(f"{merchant}:{email.strip().lower()}".encode()).hexdigest()[:32]


def phone_ending(phone: str) -> str:
    return re.sub(r"\D", "", phone)[-2:]


def customer(order_id: str, name: str, email: str, locale: str, phone: str | None) -> Customer:
    """The customer as an order stores them: the phone encrypted, its last two digits in clear."""
    if not phone:
        return Customer(name=name, email=email, locale=locale)  # type: ignore[no-untyped-call]  # pynamodb's constructor
    from caisse.encryption import seal

    return Customer(  # type: ignore[no-untyped-call]  # pynamodb's constructor
        name=name,
        email=email,
        locale=locale,
        phone_sealed=seal(phone, order_id=order_id, field=PHONE),
        phone_ending=phone_ending(phone),
    )


def seal_answers(order_id: str, answers: dict[str, Any] | None) -> str | None:
    if not answers:
        return None
    from caisse.encryption import seal

    return seal(json.dumps(answers, ensure_ascii=False, sort_keys=True), order_id=order_id, field=ANSWERS)


def seal_job(order_id: str, job: dict[str, str] | None) -> str | None:
    """A booking's address and notes, sealed like the answers (one JSON document)."""
    if not job:
        return None
    from caisse.encryption import seal

    return seal(json.dumps(job, ensure_ascii=False, sort_keys=True), order_id=order_id, field=JOB)


def job(order_id: str, sealed: str | None) -> dict[str, str] | None:
    """A booking's address and notes in clear (staff reads record it: `reveal`)."""
    if not sealed:
        return None
    from caisse.encryption import unseal

    job: dict[str, str] = json.loads(unseal(sealed, order_id=order_id, field=JOB))
    return job


def answers(order: Order) -> dict[str, Any] | None:
    """The customer's answers in clear (the caller records the read: `record_access`)."""
    if not order.answers_sealed:
        return None
    from caisse.encryption import unseal

    answered: dict[str, Any] = json.loads(unseal(order.answers_sealed, order_id=order.order_id, field=ANSWERS))
    return answered


def phone(order: Order) -> str | None:
    """The customer's phone in clear, for the provider's call or a person paying a refund back."""
    if order.customer.phone_sealed:
        from caisse.encryption import unseal

        return unseal(order.customer.phone_sealed, order_id=order.order_id, field=PHONE)
    return order.customer.phone  # an order written before field-level encryption


def has_phone(order: Order) -> bool:
    return bool(order.customer.phone_sealed or order.customer.phone)


def phone_hint(order: Order) -> str | None:
    """How emails name the phone without holding it: its last two digits."""
    if order.customer.phone_ending:
        return str(order.customer.phone_ending)
    return phone_ending(order.customer.phone) if order.customer.phone else None


def record_access(
    order: Order, actor_id: str, fields: list[str], purpose: str, at: datetime | None = None
) -> AccessEntry:
    """Write down that `actor_id` read these encrypted fields of the order, and why."""
    at = at or utcnow()
    entry = AccessEntry(
        order.pk,
        AccessEntry.key(iso(at), uuid.uuid4().hex[:8]),
        at=at,
        actor_id=actor_id,
        fields=fields,
        purpose=purpose,
    )
    entry.save()
    return entry


def reveal(
    order: Order, actor_id: str, purpose: str, *, want_answers: bool = True, log: list[AccessEntry] | None = None
) -> dict[str, Any]:
    """The encrypted fields in clear for a member of staff (the caller checked they belong to the
    order's merchant), with the read recorded in the order's access log (and added to `log`)."""
    found: dict[str, Any] = {}
    if want_answers and order.answers_sealed:
        found[ANSWERS] = answers(order)
    if has_phone(order):
        found[PHONE] = phone(order)
    if order.job_sealed:
        found[JOB] = job(order.order_id, order.job_sealed)
    if found:
        entry = record_access(order, actor_id, sorted(found), purpose)
        if log is not None:
            log.append(entry)
    return found


def reveal_payout(view: dict[str, Any], order: Order, actor_id: str) -> None:
    """An owed refund's payout with the number to pay it to (stored without it)."""
    payout = view.get("payout")
    if payout is not None and not payout.get("to") and has_phone(order):
        payout["to"] = reveal(order, actor_id, "refund_payout", want_answers=False)[PHONE]
