"""What an order holds about its customer, and the one way each part is kept: the answers to the
product's questionnaire (the song brief), the phone and a booking's address and notes are encrypted at field level
(caisse.encryption), bound to the order; name and email stay readable for emails and staff;
a digest of the email links the customer's orders for export and erasure.

The encrypted fields are kept apart from the order, in its PersonalData item (written with the
order, in the same transaction: `set_apart`), so the order item that every move rewrites stays
small. Readers pass that item when they have it (a bundle's `personal`) or it is read for them;
orders written before it hold the same ciphertexts on the order item, which are read as they are.

Reading the answers or the phone is recorded on the order (an AccessEntry: who, what, why).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist

from caisse.clock import iso, utcnow
from caisse.orders.models import PERSONAL_SK, AccessEntry, Customer, Order, PersonalData, order_pk

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


def set_apart(order: Order, questions: str | None = None) -> PersonalData | None:
    """Move the new order's encrypted fields into its PersonalData item (None when it has none), for
    the transaction that writes both: the order keeps only which fields are there. `questions`: the
    questionnaire the answers were given to (JSON), kept beside them."""
    customer = order.customer
    record = PersonalData(
        order.pk,
        PERSONAL_SK,
        answers_sealed=order.answers_sealed,
        job_sealed=order.job_sealed,
        phone_sealed=customer.phone_sealed if customer else None,
        questions=questions if order.answers_sealed else None,
    )
    held = [
        name
        for name, value in ((ANSWERS, order.answers_sealed), (JOB, order.job_sealed), (PHONE, record.phone_sealed))
        if value
    ]
    if not held:
        return None
    order.answers_sealed = order.job_sealed = None
    if customer:
        customer.phone_sealed = None
    order.sealed_apart = held
    return record


def asked(record: PersonalData | None) -> list[dict[str, Any]] | None:
    """The questions an order's answers were given to, as asked then (None for orders made before
    they were kept, or without answers)."""
    return json.loads(record.questions) if record is not None and record.questions else None


def has_answers(order: Order) -> bool:
    return ANSWERS in (order.sealed_apart or []) or bool(order.answers_sealed)


def personal_data(order: Order) -> PersonalData | None:
    """The order's PersonalData item, read when the order says it has one."""
    return personal_data_for(order.order_id) if order.sealed_apart else None


def personal_data_for(order_id: str) -> PersonalData | None:
    """One strongly consistent GetItem (the item is written with the order); None once erased."""
    try:
        return PersonalData.get(order_pk(order_id), PERSONAL_SK, consistent_read=True)
    except DoesNotExist:
        return None


def _sealed(order: Order, field: str, record: PersonalData | None) -> str | None:
    """The ciphertext of one field: from the PersonalData item (read if not given), or from the
    order item of an order written before it."""
    if field in (order.sealed_apart or []):
        record = record if record is not None else personal_data(order)
        value = getattr(record, f"{field}_sealed", None) if record is not None else None
        return str(value) if value else None
    legacy = order.customer.phone_sealed if field == PHONE else getattr(order, f"{field}_sealed")
    return str(legacy) if legacy else None


def opened(order_id: str, field: str, sealed: str | None) -> Any:
    """One field in clear: the phone as text, the answers and a job's details as their document."""
    if not sealed:
        return None
    from caisse.encryption import unseal

    clear = unseal(sealed, order_id=order_id, field=field)
    return clear if field == PHONE else json.loads(clear)


def job(order: Order, record: PersonalData | None = None) -> dict[str, str] | None:
    """A booking's address and notes in clear (staff reads record it: `reveal`)."""
    details: dict[str, str] | None = opened(order.order_id, JOB, _sealed(order, JOB, record))
    return details


def answers(order: Order, record: PersonalData | None = None) -> dict[str, Any] | None:
    """The customer's answers in clear (the caller records the read: `record_access`)."""
    answered: dict[str, Any] | None = opened(order.order_id, ANSWERS, _sealed(order, ANSWERS, record))
    return answered


def phone(order: Order, record: PersonalData | None = None) -> str | None:
    """The customer's phone in clear, for the provider's call or a person paying a refund back."""
    sealed = _sealed(order, PHONE, record)
    if sealed:
        return str(opened(order.order_id, PHONE, sealed))
    return order.customer.phone  # an order written before field-level encryption


def has_phone(order: Order) -> bool:
    return PHONE in (order.sealed_apart or []) or bool(order.customer.phone_sealed or order.customer.phone)


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
    order: Order,
    actor_id: str,
    purpose: str,
    *,
    want_answers: bool = True,
    log: list[AccessEntry] | None = None,
    record: PersonalData | None = None,
) -> dict[str, Any]:
    """The encrypted fields in clear for a member of staff (the caller checked they belong to the
    order's merchant), with the read recorded in the order's access log (and added to `log`).
    `record` is the order's PersonalData item when the caller has it (read here otherwise)."""
    if record is None and order.sealed_apart:
        # One read for every field: an item erased meanwhile reads as empty, not once per field.
        record = personal_data(order) or PersonalData(order.pk, PERSONAL_SK)
    found: dict[str, Any] = {}
    if want_answers and has_answers(order):
        found[ANSWERS] = answers(order, record)
    if has_phone(order):
        found[PHONE] = phone(order, record)
    details = job(order, record)
    if details:
        found[JOB] = details
    found = {name: value for name, value in found.items() if value is not None}
    if found:
        entry = record_access(order, actor_id, sorted(found), purpose)
        if log is not None:
            log.append(entry)
    return found


def reveal_payout(view: dict[str, Any], order: Order, actor_id: str, record: PersonalData | None = None) -> None:
    """An owed refund's payout with the number to pay it to (stored without it)."""
    payout = view.get("payout")
    if payout is not None and not payout.get("to") and has_phone(order):
        payout["to"] = reveal(order, actor_id, "refund_payout", want_answers=False, record=record).get(PHONE)
