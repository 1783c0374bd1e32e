"""Reading orders and moving them. Every move is checked by the workflow and written as one
conditional transaction: the order (only if nobody moved it meanwhile), its history entry, and
whatever else the move implies (released stock, the provider event that caused it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dateutil.relativedelta import relativedelta

from caisse.catalog.models import OpenCheckouts, Product
from caisse.clock import iso, utcnow
from caisse.db import Transaction, TransactionCancelled, batch_get
from caisse.errors import Conflict, NotFound
from caisse.orders import capacity, deliverables, index, links, personal, states, tickets
from caisse.orders.models import (
    DONE_REFUND,
    ORDER_SK,
    AccessEntry,
    CapacityHold,
    HistoryEntry,
    Hold,
    Order,
    OrderRecord,
    PaymentEvent,
    PersonalData,
    ProviderRef,
    Refund,
    RetentionDue,
    Slot,
    order_pk,
)
from caisse.staff import Staff

REF_SK = "REF"


@dataclass
class OrderBundle:
    """An order with everything recorded in its partition."""

    order: Order
    history: list[HistoryEntry] = field(default_factory=list)
    payments: list[PaymentEvent] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    capacity: list[CapacityHold] = field(default_factory=list)
    accesses: list[AccessEntry] = field(default_factory=list)
    personal: PersonalData | None = None  # the customer's encrypted fields (caisse.orders.personal)

    @property
    def workflow(self) -> states.Workflow:
        return workflow_of(self.order)

    @property
    def revisions_used(self) -> int:
        return int(self.order.revisions_used or 0)


def workflow_of(order: Order) -> states.Workflow:
    return states.Workflow.of(order.stages, order.workflow.as_dict() if order.workflow else None)


def load(order_id: str) -> OrderBundle | None:
    """One strongly consistent Query for the order and its history, payments and holds."""
    bundle: OrderBundle | None = None
    rest: list[OrderRecord] = []
    for record in OrderRecord.query(order_pk(order_id), consistent_read=True):
        if isinstance(record, Order) and record.sk == ORDER_SK:
            bundle = OrderBundle(record)
        else:
            rest.append(record)
    if bundle is None:
        return None
    for record in rest:
        if isinstance(record, HistoryEntry):
            bundle.history.append(record)
        elif isinstance(record, PaymentEvent):
            bundle.payments.append(record)
        elif isinstance(record, Hold):
            bundle.holds.append(record)
        elif isinstance(record, Refund):
            bundle.refunds.append(record)
        elif isinstance(record, CapacityHold):
            bundle.capacity.append(record)
        elif isinstance(record, AccessEntry):
            bundle.accesses.append(record)
        elif isinstance(record, PersonalData):
            bundle.personal = record
    return bundle


def add_move(
    tx: Transaction,
    bundle: OrderBundle,
    target: str | None = None,
    *,
    money: str | None = None,
    amount: int | None = None,
    actor: str,
    actor_id: str,
    note: str | None = None,
    message: str | None = None,
    action: str | None = None,
    changes: dict[str, Any] | None = None,
    at: datetime | None = None,
    extra: list[Any] | None = None,
) -> None:
    """Add one version of `bundle.order` to a transaction: a status move to `target`, a money move
    to `money`, both (a payment), or neither (a staff `action` such as an internal note), with its
    history entry. `message` is what the customer is told (their order page, the email of this
    move); `note` stays with staff.

    The caller has checked the moves against the state machines. The write only succeeds if the
    order is still at the version it was read at; stock holds are released when the order stops
    waiting for payment without being paid, and per-customer caps when it stops being open. An
    order of admissions that becomes paid gets its tickets in the same write, whoever pays it (the
    provider, or staff approving a payment that was checked).
    """
    order = bundle.order
    at = at or utcnow()
    version = int(order.version)
    status = target or order.status
    actions = [Order.version.set(version + 1), Order.updated_at.set(at), *(extra or [])]
    if status == states.PAID and order.status != states.PAID and not order.tickets and tickets.admissions(order.items):
        actions.append(Order.tickets.set(tickets.issue(tx, order, at)))
    if target is not None:
        actions.append(Order.status.set(target))
        actions.append(Order.status_reason.set(message) if message else Order.status_reason.remove())
    if money is not None:
        actions.append(Order.money_state.set(money))
    actions.extend(index.move_actions(order, target, money))
    tx.update(
        order, actions=actions, condition=(Order.version == version) & (Order.status == order.status), label="order"
    )
    tx.put(
        HistoryEntry(
            order.pk,
            HistoryEntry.key(version + 1),
            version=version + 1,
            from_status=order.status,
            to_status=status,
            from_money=order.money_state if money is not None else None,
            to_money=money,
            amount=amount,
            at=at,
            actor=actor,
            actor_id=actor_id,
            note=note,
            message=message,
            action=action,
            changes=changes,
        ),
        condition=OrderRecord.sk.does_not_exist(),
        label="history",
    )
    if order.status in states.HOLDING and status not in states.HOLDING and status != states.PAID:
        release_holds(tx, bundle)
    if order.status in states.OPEN and status not in states.OPEN:
        release_counters(tx, order)
    workflow = bundle.workflow
    if order.retention_months and workflow.closed(status) and not workflow.closed(order.status):
        schedule_retention(tx, order, at)


def schedule_retention(tx: Transaction, order: Order, closed_at: datetime) -> None:
    """The order closed: its customer's personal data falls due for erasure under the merchant's
    retention rule (caisse.privacy sweeps what is due)."""
    due = closed_at + relativedelta(months=int(order.retention_months))
    tx.put(
        RetentionDue(
            RetentionDue.partition(due.strftime("%Y-%m")),
            RetentionDue.key(iso(due), order.order_id),
            order_id=order.order_id,
            due_at=due,
        ),
        label="retention",
    )


def flag_undeliverable(order_id: str, notification_id: str, kind: str, reason: str) -> bool:
    """Record on the order that its customer's email could not be delivered (SES refused it for
    good, or the address is suppressed), so staff see it and are told (the stream sends them an
    email_undeliverable email); once per notification. False if the order is gone."""
    for _ in range(3):
        bundle = load(order_id)
        if bundle is None:
            return False
        current = bundle.order.email_problem.as_dict() if bundle.order.email_problem else {}
        if current.get("notification") == notification_id:
            return True
        at = utcnow()
        problem = {"notification": notification_id, "kind": kind, "reason": reason, "at": at.isoformat()}
        tx = Transaction()
        note = f"the {kind.replace('_', ' ')} email could not be delivered: {reason}"
        add_move(
            tx,
            bundle,
            actor=states.Actor.SYSTEM,
            actor_id="system:email",
            note=note,
            at=at,
            extra=[Order.email_problem.set(problem)],
        )
        try:
            tx.commit()
            return True
        except TransactionCancelled:
            continue  # the order moved meanwhile: read it again
    return False


def order_id_for_reference(provider: str, *references: str | None) -> str | None:
    """The order a provider's id was recorded for (checkout, payment, transaction), if any."""
    wanted = [(ProviderRef, ProviderRef.key(provider, ref), REF_SK) for ref in dict.fromkeys(references) if ref]
    if not wanted:
        return None
    found = {record.pk: record.order_id for record in batch_get(wanted) if isinstance(record, ProviderRef)}
    return next((found[key] for _, key, _ in wanted if key in found), None)


def put_reference(tx: Transaction, provider: str, reference: str, order_id: str) -> None:
    """Record which order a provider's id belongs to (never re-pointed to another order)."""
    key = ProviderRef.key(provider, reference)
    tx.put(
        ProviderRef(key, REF_SK, order_id=order_id, provider=provider),
        condition=OrderRecord.pk.does_not_exist() | (ProviderRef.order_id == order_id),
        label=f"ref:{reference}",
    )


def release_counters(tx: Transaction, order: Order) -> None:
    """The checkout no longer counts against its customer's caps on open checkouts."""
    for key in order.open_counters or []:
        tx.update(OpenCheckouts(key), actions=[OpenCheckouts.count.add(-1)], label=f"counter:{key}")


def release_holds(tx: Transaction, bundle: OrderBundle) -> None:
    """Give held stock back to the catalog, each hold exactly once, and free a booking's time."""
    order = bundle.order
    for partition, step in order.booking.as_dict().get("slots", []) if order.booking else []:
        slot = Slot(partition, step)
        mine = OrderRecord.pk.does_not_exist() | (Slot.order_id == order.order_id)
        tx.delete(slot, condition=mine, label=f"slot:{step}")
    for hold in bundle.holds:
        if hold.state != "held":
            continue
        tx.update(hold, actions=[Hold.state.set("released")], condition=Hold.state == "held", label=f"hold:{hold.sku}")
        tx.update(
            Product(Product.key(hold.sku)), actions=[Product.stock.add(int(hold.quantity))], label=f"stock:{hold.sku}"
        )
    for day in bundle.capacity:
        if day.state == "held":
            capacity.give_back(tx, day)


def change_status_by_staff(
    order_id: str, target: str, staff: Staff, *, message: str | None = None, note: str | None = None
) -> OrderBundle:
    """A staff member moves an order (a fulfilment stage, a cancellation, or a decision on a
    flagged payment), with a message for the customer (their order page and the stage's email)
    and an internal note, both optional. Money is never moved here: refunds have their own route."""
    bundle = load(order_id)
    if bundle is None:
        raise NotFound("no such order")
    order = bundle.order
    staff.require(order.merchant)
    workflow = bundle.workflow
    workflow.check(order.status, target, states.Actor.STAFF, bundle.revisions_used)
    extra: list[Any] = []
    if target == workflow.revision_stage:
        extra.append(Order.revisions_used.add(1))  # counted in the move's own conditional write
    if target == workflow.deliverable_stage:
        if not deliverables.uploaded(order):
            raise Conflict(
                "attach the file to deliver first (POST /admin/orders/{order_id}/deliverable, then upload it)",
                code="deliverable_missing",
            )
        extra += [Order.delivery_round.set(1), Order.download_until.set(links.download_expiry())]
    tx = Transaction()
    add_move(
        tx,
        bundle,
        target,
        actor=states.Actor.STAFF,
        actor_id=staff.actor_id,
        note=note,
        message=message,
        extra=extra,
    )
    try:
        tx.commit()
    except TransactionCancelled as cancelled:
        if "order" in cancelled.failed:
            raise Conflict("the order changed while you were editing it; reload and try again") from cancelled
        raise
    reloaded = load(order_id)
    assert reloaded is not None
    return reloaded


ACTION_ATTEMPTS = 5


def record_action(
    order_id: str,
    staff: Staff | None,
    action: str,
    *,
    note: str | None = None,
    changes: dict[str, Any] | Callable[[OrderBundle], dict[str, Any]] | None = None,
    writes: Callable[[OrderBundle, Transaction], list[Any]] | None = None,
    balance: dict[str, Any] | None = None,
    system: str | None = None,
) -> OrderBundle:
    """An action on an order that moves neither its status nor its money (an internal note, a file
    attached, an email sent again, a payout confirmed; by the system, named by `system` with no
    `staff`: an event's new details carried to its tickets): one new version with its history
    entry (who, when, what changed: `changes`, or made from the order as read), in one transaction
    with the action's own writes. `writes` decides on the order as read (raising what the caller
    answers), adds its items to the transaction and returns its updates of the order. If anything
    moved meanwhile (a webhook), the order is read again and the action decided again. A booking's
    `balance` paid by the action is recorded as money received instead (add_balance_paid), in
    place of `writes`."""
    actor, actor_id = (states.Actor.STAFF, staff.actor_id) if staff is not None else (states.Actor.SYSTEM, system)
    if not actor_id:
        raise ValueError("an action is made by staff or named by the system")
    for _ in range(ACTION_ATTEMPTS):
        bundle = load(order_id)
        if bundle is None:
            raise NotFound("no such order")
        if staff is not None:
            staff.require(bundle.order.merchant)
        tx = Transaction()
        changed = changes(bundle) if callable(changes) else changes
        if balance is not None:
            add_balance_paid(tx, bundle, balance, actor=actor, actor_id=actor_id, action=action, changes=changed)
        else:
            add_move(
                tx,
                bundle,
                actor=actor,
                actor_id=actor_id,
                note=note,
                action=action,
                changes=changed,
                extra=writes(bundle, tx) if writes else None,
            )
        try:
            tx.commit()
        except TransactionCancelled:
            continue
        reloaded = load(order_id)
        assert reloaded is not None
        return reloaded
    raise Conflict("the order kept changing; reload and try again")


def add_balance_paid(
    tx: Transaction,
    bundle: OrderBundle,
    balance: dict[str, Any],
    *,
    actor: str,
    actor_id: str,
    action: str = "balance_paid",
    changes: dict[str, Any] | None = None,
) -> None:
    """A booking's balance paid after the job (on the saved card, or on the page the customer was
    sent): one version of the order with the money received in its history and the balance kept on
    the order, whose change emails the customer their receipt (balance_paid). Its payment is named
    as the order's, so a refund or dispute of it made in the provider's dashboard finds the order."""
    order = bundle.order
    if balance.get("payment_ref"):
        put_reference(tx, order.provider, balance["payment_ref"], order.order_id)
    add_move(
        tx,
        bundle,
        money=states.money_after_balance(order.money_state or states.UNPAID),
        amount=int(balance["amount"]["amount"]),
        actor=actor,
        actor_id=actor_id,
        action=action,
        changes=changes or {"status": "paid", "amount": balance["amount"]},
        extra=[Order.balance.set(balance)],
    )


def add_note(order_id: str, staff: Staff, note: str) -> OrderBundle:
    """An internal note on an order: staff only, never shown to the customer nor emailed."""
    return record_action(order_id, staff, "note", note=note)


def resend_delivery(order_id: str, staff: Staff) -> OrderBundle:
    """The delivery email again, with a fresh download link: the download window starts again
    (links.DOWNLOAD_DAYS), recorded as a version of the order (the stream sends the email)."""

    def writes(bundle: OrderBundle, tx: Transaction) -> list[Any]:
        order = bundle.order
        if order.status != bundle.workflow.deliverable_stage or not order.deliverable_key:
            raise Conflict(
                f"only a delivered order's email can be sent again; this one is {order.status}",
                code="nothing_to_resend",
                kind="delivery",
            )
        if order.erased_at:
            raise Conflict("this customer's personal data was erased: there is no one to send it to")
        round_ = int(order.delivery_round or 1) + 1
        return [Order.delivery_round.set(round_), Order.download_until.set(links.download_expiry())]

    return record_action(order_id, staff, "email_resent", changes={"kind": "delivery"}, writes=writes)


def access_view(entry: AccessEntry) -> dict[str, Any]:
    return {"at": iso(entry.at), "by": entry.actor_id, "read": list(entry.fields), "purpose": entry.purpose}


def history_view(entry: HistoryEntry, *, staff: bool) -> dict[str, Any]:
    """One version as the API shows it. Customers see what moved and what they were told; staff
    also see who exactly, internal notes and what their actions changed."""
    view: dict[str, Any] = {
        "version": int(entry.version),
        "from": entry.from_status,
        "to": entry.to_status,
        "at": iso(entry.at),
        "by": entry.actor if not staff else entry.actor_id,
        "message": entry.message,
    }
    if entry.to_money is not None:
        view["money"] = {"from": entry.from_money, "to": entry.to_money}
        if entry.amount is not None:
            view["money"]["amount"] = int(entry.amount)
    if staff:
        view["note"] = entry.note
        view["action"] = entry.action
        view["changes"] = entry.changes.as_dict() if entry.changes else None
    elif entry.action == tickets.EVENT_CHANGED and entry.changes:
        view["event"] = tickets.event_view(entry.changes.as_dict()["after"])  # what the holder was told
    return view


def order_view(bundle: OrderBundle, *, staff: bool = False) -> dict[str, Any]:
    """The order as the API shows it: its lifecycle status and its money side by side. Customers
    see their own order; staff also see provider references, payment events and refund details."""
    order = bundle.order
    currency = order.currency
    view: dict[str, Any] = {
        "order_id": order.order_id,
        "order_number": order.order_number,
        "merchant": order.merchant,
        # What the hosted order page shows: the shop's name, its time zone for every date, the
        # customer's language, and the stages the order goes through.
        "shop": _shop(order),
        "locale": order.customer.locale or "en",
        "stages": list(order.stages or []),
        "status": order.status,
        "status_reason": order.status_reason,
        "money_state": order.money_state or states.UNPAID,
        "total": order.total.as_dict(),
        "paid": order.paid.as_dict() if order.money_state not in (None, states.UNPAID) else None,
        "refunded": {"amount": int(order.refunded_amount or 0), "currency": currency},
        "refund_in_progress": {"amount": int(order.refund_reserved or 0), "currency": currency},
        "items": [
            {
                "sku": item.sku,
                "name": item.name,
                "quantity": int(item.quantity),
                "unit_amount": int(item.unit_amount),
                "amount": int(item.unit_amount) * int(item.quantity),
            }
            for item in order.items
        ],
        "provider": order.provider,
        "created_at": order.created_at,
        "updated_at": iso(order.updated_at),
        "expires_at": iso(order.expires_at),
        "paid_at": iso(order.paid_at) if order.paid_at else None,
        "history": [
            history_view(entry, staff=staff)
            for entry in sorted(bundle.history, key=lambda e: int(e.version))
            if staff or entry.moved or entry.action == tickets.EVENT_CHANGED
        ],
        "refunds": [
            refund_view(r, staff=staff)
            for r in sorted(bundle.refunds, key=lambda r: r.requested_at)
            if staff or r.status in DONE_REFUND
        ],
    }
    if order.status in states.HOLDING and order.next_action:
        view["next_action"] = order.next_action.as_dict()
    if order.tickets:
        giving_back = frozenset(
            code
            for refund in bundle.refunds
            if refund.status == "requested" and refund.given_back
            for code in refund.tickets or []
        )
        view["tickets"] = tickets.views(order, giving_back)
    if order.balance:
        # A booking's balance after the job, as its customer sees it: what, paid or due, where to pay.
        balance = order.balance.as_dict()
        view["balance"] = {
            "status": balance.get("status"),
            "amount": balance.get("amount"),
            "link": balance.get("link") if balance.get("status") == "due" else None,
        }
    workflow = bundle.workflow
    if order.day:
        view["day"] = order.day
    if workflow.revision_stage:
        view["revisions"] = {"included": workflow.revisions, "used": bundle.revisions_used}
    if staff:
        view["next_statuses"] = workflow.allowed(order.status, states.Actor.STAFF, bundle.revisions_used)
        view["customer"] = customer_view(order)
        view["has_answers"] = personal.has_answers(order)
        view["source"] = order.source.as_dict() if order.source else None
        view["deliverable"] = {"key": order.deliverable_key} if order.deliverable_key else None
        view["erased_at"] = iso(order.erased_at) if order.erased_at else None
        view["access_log"] = [access_view(a) for a in sorted(bundle.accesses, key=lambda a: a.at)]
        view["provider_ref"] = order.provider_ref
        view["payment_ref"] = order.payment_ref
        view["dispute"] = order.dispute.as_dict() if order.dispute else None
        fee = order.application_fee  # the platform's, on a signed-up merchant's payment
        view["platform_fee"] = fee.as_dict() if fee else None
        view["email_problem"] = order.email_problem.as_dict() if order.email_problem else None
        view["notes"] = [
            {"note": entry.note, "by": entry.actor_id, "at": iso(entry.at), "version": int(entry.version)}
            for entry in sorted(bundle.history, key=lambda e: int(e.version))
            if _staff_note(entry)
        ]
        view["deliverable"] = order.deliverable_key
        view["booking"] = booking_view(order)
        view["balance"] = order.balance.as_dict() if order.balance else None
        view["payments"] = [
            {
                "event_id": p.event_id,
                "type": p.event_type,
                "outcome": p.outcome,
                "amount": int(p.amount) if p.amount is not None else None,
                "currency": p.currency,
                "at": iso(p.received_at),
            }
            for p in sorted(bundle.payments, key=lambda p: p.received_at)
        ]
    return view


def revealed_view(bundle: OrderBundle, actor_id: str, purpose: str) -> dict[str, Any]:
    """The order as staff see it with the customer's encrypted fields in clear, each read recorded
    on the order (personal.reveal): the brief with the questions it answered, the phone (also where
    an owed refund is paid back), a booking's address and notes. The staff view and the export."""
    revealed = personal.reveal(bundle.order, actor_id, purpose, log=bundle.accesses, record=bundle.personal)
    view = order_view(bundle, staff=True)
    view["answers"] = revealed.get(personal.ANSWERS)
    view["questions"] = personal.asked(bundle.personal)  # the words they answered, if kept
    if view.get("booking") and personal.JOB in revealed:
        view["booking"].update(revealed[personal.JOB])
    view["customer"]["phone"] = revealed.get(personal.PHONE)
    for refund in view["refunds"] if personal.PHONE in revealed else []:
        if refund["status"] == "owed" and refund.get("payout") and not refund["payout"].get("to"):
            refund["payout"]["to"] = revealed[personal.PHONE]
    return view


def _staff_note(entry: HistoryEntry) -> bool:
    """A note staff wrote: on its own, or with a stage they moved the order to."""
    if entry.action == "note":
        return True
    return entry.actor == states.Actor.STAFF and bool(entry.note) and entry.action is None and entry.to_money is None


def customer_view(order: Order) -> dict[str, Any]:
    """Who ordered, as staff see it: the phone is encrypted, only its last two digits show
    (caisse.orders.personal.reveal gives it in clear, and records the read)."""
    customer = order.customer
    view: dict[str, Any] = {"name": customer.name, "email": customer.email, "locale": customer.locale}
    if personal.has_phone(order):
        view["phone_ending"] = personal.phone_hint(order)
    return view


def booking_view(order: Order) -> dict[str, Any] | None:
    """A booking's appointment as staff see it: when (in the merchant's zone and UTC), what, where."""
    if not order.booking:
        return None
    booking = order.booking.as_dict()
    return {
        "service_id": booking.get("service_id"),
        "service": booking.get("service"),
        "start": booking.get("local_start"),
        "start_utc": booking.get("start"),
        "end_utc": booking.get("end"),
        "timezone": booking.get("timezone"),
        "address": None,  # encrypted: filled in by who decrypts it for staff (personal.reveal)
        "notes": None,
        "full_price": booking.get("full_price"),
        "deposit": booking.get("deposit"),
        "platform_fee": booking.get("platform_fee"),
        "cancelled_at": booking.get("cancelled_at"),
    }


def _shop(order: Order) -> dict[str, str]:
    contact = order.merchant_contact.as_dict() if order.merchant_contact else {}
    return {"name": contact.get("name") or order.merchant, "timezone": contact.get("timezone") or "UTC"}


def refund_view(refund: Refund, *, staff: bool = True) -> dict[str, Any]:
    view: dict[str, Any] = {
        "refund_id": refund.refund_id,
        "amount": {"amount": int(refund.amount), "currency": refund.currency},
        "status": refund.status,
        "reason": refund.reason,
        "items": [{"sku": i["sku"], "quantity": int(i["quantity"])} for i in refund.items or []],
        "tickets": [tickets.display(code) for code in refund.tickets or []],
        "requested_at": iso(refund.requested_at),
    }
    if staff:
        view.update(
            {
                "origin": refund.origin or "caisse",
                "of_balance": bool(refund.payment_ref),  # a booking's balance, not the order's own payment
                "provider": refund.provider,
                "provider_refund_id": refund.provider_refund_id,
                "provider_status": refund.provider_status,
                "payout": refund.payout.as_dict() if refund.payout else None,
                "confirmed_at": iso(refund.confirmed_at) if refund.confirmed_at else None,
            }
        )
    return view
