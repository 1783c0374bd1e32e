"""Refund rules and the records refunds write. No provider is called here (caisse.payments.refunds
asks the provider); this module decides how much may go back and records what did.

- The cap: the merchant's refund policy gives a share per status (the song studio: all of it before
  production, half during production and review, nothing once delivered). The share caps the
  TOTAL refunded, whatever the number of refunds: a second refund in production cannot pay the
  other half.
- A refund is reserved first (`refund_reserved`, in one conditional transaction with its record:
  two refunds racing can never both pass the cap), then finished with what the provider answered:
  its amount moves from reserved to refunded, the money state follows, and the order remembers it
  as its last refund (one email per refund). A refund the provider refused gives its reservation
  back. Refunds made outside Caisse (a provider's dashboard) are recorded by their provider id, so
  a refund and its webhooks count once.
- A refund may give items back to stock (festival passes); a full refund gives back everything
  not given back yet. Each hold counts what was returned, so stock comes back once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from pynamodb.expressions.update import Action

from caisse.catalog.models import Product
from caisse.clock import moment, utcnow
from caisse.db import Transaction, TransactionCancelled
from caisse.errors import Conflict, InvalidRequest, NotFound
from caisse.money import Money, display
from caisse.orders import index, personal, states, tickets
from caisse.orders.models import DONE_REFUND, Hold, Order, Refund
from caisse.orders.service import OrderBundle, add_move, load, record_action, refund_view
from caisse.staff import Staff

MAX_ATTEMPTS = 5
_PROVIDER_REFUNDS = uuid.UUID("3c1e9f57-58a4-4f0b-8f7a-2a6a1f0d4b11")


@dataclass(frozen=True)
class RefundOutcome:
    """What the provider answered for a refund (or what a person did for an owed one)."""

    status: str  # succeeded | pending | owed | failed
    provider_refund_id: str | None = None
    provider_status: str | None = None
    payout: dict[str, Any] | None = None


def policy_status(bundle: OrderBundle) -> str:
    """The status whose policy share applies: the order's, or for a cancelled order the one it was
    cancelled from (cancelling in production does not make the whole price refundable)."""
    order = bundle.order
    if order.status != states.CANCELLED:
        return order.status
    for entry in sorted(bundle.history, key=lambda e: -int(e.version)):
        if entry.to_status == states.CANCELLED and entry.from_status not in (None, states.CANCELLED):
            return str(entry.from_status)
    return order.status


def policy_percent(bundle: OrderBundle) -> int:
    """The share of the payment the merchant's policy lets go back at the order's stage."""
    order = bundle.order
    status = policy_status(bundle)
    policy = order.refund_policy.as_dict() if order.refund_policy else {}
    # Money on an order nobody worked on (flagged, closed) goes back whole.
    return 100 if status in states.HOLDING or status in states.CLOSED else int(policy.get(status, 100))


def refund_cap(bundle: OrderBundle) -> Money:
    """The most that may be refunded in total at the order's current stage: the policy's share of
    everything received (a booking's deposit and, once paid, its balance)."""
    order = bundle.order
    if (order.money_state or states.UNPAID) not in states.REFUNDABLE:
        return Money.zero(order.currency)
    return order.received.fraction(policy_percent(bundle), 100)


def refundable(bundle: OrderBundle, whole: bool = False) -> Money:
    """What may still be refunded now: the cap minus what was refunded or is being refunded.
    `whole`: the merchant's policy set aside, everything received is the cap (an event cancelled:
    there is nothing left to come to)."""
    order = bundle.order
    spent = int(order.refunded_amount or 0) + int(order.refund_reserved or 0)
    cap = order.received if whole and (order.money_state or states.UNPAID) in states.REFUNDABLE else refund_cap(bundle)
    left = cap.amount - spent
    return Money(max(left, 0), order.currency)


@dataclass(frozen=True)
class PaymentLeft:
    """One payment of the order and what it can still give back: a provider refunds a payment,
    never more than it brought. `ref` None: the order's own payment."""

    ref: str | None
    amount: int


def payments_left(bundle: OrderBundle) -> list[PaymentLeft]:
    """The order's payments, a booking's balance first (the last money in goes back first), each
    with what its refunds (made, waiting for the provider, or owed) have not taken yet."""
    order = bundle.order
    taken: dict[str | None, int] = {}
    for refund in bundle.refunds:
        if refund.status == "requested" or refund.status in DONE_REFUND:
            taken[refund.payment_ref] = taken.get(refund.payment_ref, 0) + int(refund.amount)
    found = [PaymentLeft(None, order.paid.amount - taken.get(None, 0))]
    balance_ref = (order.balance.as_dict() if order.balance else {}).get("payment_ref")
    if order.balance_paid.amount and balance_ref:
        found.insert(0, PaymentLeft(balance_ref, order.balance_paid.amount - taken.get(balance_ref, 0)))
    return found


def most_in_one_refund(bundle: OrderBundle) -> Money:
    """What one refund can give back now: what may be refunded, within the payment with most left."""
    left = refundable(bundle)
    return Money(min(left.amount, max(payment.amount for payment in payments_left(bundle))), left.currency)


def payment_for(bundle: OrderBundle, wanted: Money) -> str | None:
    """Which payment a refund of `wanted` goes back on (None: the order's own): the first that can
    give it all back. A refund larger than each is refused; staff refund it in two."""
    payments = payments_left(bundle)
    if len(payments) == 1:
        return None
    chosen = next((payment for payment in payments if payment.amount >= wanted.amount), None)
    if chosen is None:
        most = Money(max(payment.amount for payment in payments), wanted.currency)
        raise InvalidRequest(
            f"at most {display(most)} in one refund: the deposit and the balance were paid separately, "
            "and each is refunded on its own payment",
            code="refund_too_large",
            per_refund=most.as_dict(),
        )
    return chosen.ref


def terms(bundle: OrderBundle) -> dict[str, Any]:
    """What staff see before refunding: the stage whose share applies, the share, and what is
    left to refund now (the refund route decides the same way when they confirm), for an order
    paid in two payments (a booking's deposit and balance) the most one refund can be, and the
    tickets for an event that changed after they were bought, which go back in full."""
    left = refundable(bundle)
    found: dict[str, Any] = {
        "stage": policy_status(bundle),
        "percent": policy_percent(bundle),
        "cap": refund_cap(bundle).as_dict(),
        "refundable": left.as_dict(),
    }
    if len(payments_left(bundle)) > 1:
        found["per_refund"] = most_in_one_refund(bundle).as_dict()
    moved = changed_since_bought(bundle)
    if moved and (bundle.order.money_state or states.UNPAID) in states.REFUNDABLE:
        found["changed_event_tickets"] = {
            "tickets": [tickets.display(code) for code in moved],
            "amount": Money(tickets.cost(bundle.order, moved), bundle.order.currency).as_dict(),
        }
    return found


def changed_since_bought(bundle: OrderBundle) -> list[str]:
    """The order's valid tickets for an event that changed (a new date, a new place) after they
    were bought: its holder may give them back in full, whatever the refund policy (the event they
    paid for is not the one that will happen). A cancelled event's tickets are refunded already."""
    return [code for codes in changed_events_held(bundle).values() for code in codes]


def changed_events_held(bundle: OrderBundle) -> dict[str, list[str]]:
    """changed_since_bought, by event id (only events some of whose tickets are still valid)."""
    changed = {
        entry.changes.as_dict()["event"]
        for entry in bundle.history
        if entry.action == tickets.EVENT_CHANGED and entry.changes
    }
    events = tickets.events_of(bundle.order)
    found = {}
    for event_id in sorted(changed):
        if not (events.get(event_id) or {}).get("cancelled"):
            codes = tickets.held(bundle.order, {event_id})
            if codes:
                found[event_id] = codes
    return found


def customer_may_give_back(bundle: OrderBundle) -> dict[str, list[str]]:
    """What the order lets its customer give back themselves, by event id: their valid tickets for
    an event that changed after they bought them, until it starts, on a payment that can still be
    refunded. Staff can refund them after. (returns_offered leaves out the ones used at the door.)"""
    if (bundle.order.money_state or states.UNPAID) not in states.REFUNDABLE:
        return {}
    events = tickets.events_of(bundle.order)
    now = utcnow()
    return {
        event_id: codes
        for event_id, codes in changed_events_held(bundle).items()
        if tickets.starts_after(events[event_id], now)
    }


def returns_offered(bundle: OrderBundle) -> dict[str, list[str]]:
    """customer_may_give_back less the tickets scanned at the door already (a friend went in
    early): what the order page offers, and caisse.payments.refunds.give_back_tickets refunds in
    full. Reads the tickets' records only when there is something to offer."""
    offered = customer_may_give_back(bundle)
    used = tickets.admitted([code for codes in offered.values() for code in codes]) if offered else set()
    kept = {event_id: [code for code in codes if code not in used] for event_id, codes in offered.items()}
    return {event_id: codes for event_id, codes in kept.items() if codes}


def ticket_returns(bundle: OrderBundle) -> list[dict[str, Any]]:
    """returns_offered as the order page shows it: the event as it now is, the tickets and what
    they come to."""
    order = bundle.order
    events = tickets.events_of(order)
    return [
        {
            "event": tickets.event_view(events[event_id]),
            "tickets": [tickets.display(code) for code in codes],
            "amount": Money(tickets.cost(order, codes), order.currency).as_dict(),
        }
        for event_id, codes in returns_offered(bundle).items()
    ]


def returnable(bundle: OrderBundle) -> dict[str, int]:
    """Items sold with limited stock that a refund can still give back, by SKU."""
    return {
        hold.sku: int(hold.quantity) - int(hold.returned or 0)
        for hold in bundle.holds
        if hold.state == "held" and int(hold.quantity) > int(hold.returned or 0)
    }


def items_amount(order: Order, items: dict[str, int]) -> Money:
    prices = {line.sku: int(line.unit_amount) for line in order.items}
    return Money(sum(prices[sku] * quantity for sku, quantity in items.items()), order.currency)


def check_items(bundle: OrderBundle, items: dict[str, int]) -> None:
    """Refuse items the order does not have, or more than it can still give back."""
    bought = {line.sku: int(line.quantity) for line in bundle.order.items}
    left = returnable(bundle)
    for sku, quantity in items.items():
        if sku not in bought:
            raise InvalidRequest(f"{sku} is not in this order", code="unknown_item", sku=sku)
        limited = any(hold.sku == sku for hold in bundle.holds)
        if limited and quantity > left.get(sku, 0):
            raise InvalidRequest(
                f"at most {left.get(sku, 0)} of {sku} can still be given back", code="too_many_items", sku=sku
            )
        if not limited and quantity > bought[sku]:
            raise InvalidRequest(f"this order has {bought[sku]} of {sku}", code="too_many_items", sku=sku)


def reserve(
    bundle: OrderBundle,
    refund_id: str,
    wanted: Money,
    items: dict[str, int],
    reason: str | None,
    requested_by: str,
    codes: list[str] | None = None,
    payment_ref: str | None = None,
) -> Refund:
    """Record a refund as requested and reserve its amount, only if the order's refunds and stage
    are still what `bundle` says (the caller re-reads and decides again when they are not).
    `payment_ref`: the payment it goes back on, when not the order's own (payment_for). A
    customer's own refund keeps its tickets from the door in the same transaction: it fails on
    one scanned meanwhile (a label starting tickets.RETURNING)."""
    order = bundle.order
    refund = Refund(
        order.pk,
        Refund.key(refund_id),
        refund_id=refund_id,
        amount=wanted.amount,
        currency=wanted.currency,
        status="requested",
        reason=reason,
        items=[{"sku": sku, "quantity": quantity} for sku, quantity in items.items()] or None,
        tickets=codes or None,
        requested_by=requested_by,
        requested_at=utcnow(),
        provider=order.provider,
        payment_ref=payment_ref,
    )
    tx = Transaction()
    tx.put(refund, condition=Refund.sk.does_not_exist(), label="refund")
    condition = (
        _unchanged(Order.refund_reserved, order.refund_reserved)
        & _unchanged(Order.refunded_amount, order.refunded_amount)
        & (Order.status == order.status)
        & (Order.money_state == order.money_state)
    )
    tx.update(order, actions=[Order.refund_reserved.add(wanted.amount)], condition=condition, label="order")
    if refund.given_back:
        tickets.keep_from_door(tx, codes or [], refund_id)
    tx.commit()
    return refund


def _unchanged(attribute: Any, value: Any) -> Any:
    amount = int(value or 0)
    condition = attribute == amount
    return condition | attribute.does_not_exist() if amount == 0 else condition


def finish(order_id: str, refund_id: str, outcome: RefundOutcome, *, actor: str, actor_id: str) -> Refund:
    """Record the provider's answer for a reserved refund, once, whoever gets here first (the staff
    request that asked for it, its webhook, reconciliation). Concurrent moves of the order are
    re-read and applied again, so a refund the provider made is never left `requested`."""
    for _ in range(MAX_ATTEMPTS):
        bundle, refund = _refund(load(order_id), refund_id)
        if refund.status != "requested":
            return refund
        tx = Transaction()
        if outcome.status == "failed":
            tx.update(
                refund,
                actions=_outcome_actions(outcome),
                condition=Refund.status == "requested",
                label="refund",
            )
            tx.update(bundle.order, actions=[Order.refund_reserved.add(-int(refund.amount))], label="order")
        else:
            actions = _outcome_actions(outcome)
            if outcome.status == "owed":  # on the merchant's work list until staff confirm the payout
                actions += [
                    Refund.work_list.set(index.work_list(index.WORK_REFUNDS_OWED, bundle.order.merchant)),
                    Refund.work_at.set(f"{moment(utcnow())}#{refund_id}"),
                ]
            tx.update(refund, actions=actions, condition=Refund.status == "requested", label="refund")
            _apply(tx, bundle, refund, outcome, actor=actor, actor_id=actor_id, reserved=True)
        try:
            tx.commit()
        except TransactionCancelled:
            continue  # finished elsewhere, or the order moved: read again and decide again
        return _refund(load(order_id), refund_id)[1]
    raise Conflict("the order kept changing while its refund was recorded; it will be completed by reconciliation")


def _outcome_actions(outcome: RefundOutcome) -> list[Any]:
    actions = [Refund.status.set(outcome.status)]
    if outcome.provider_refund_id:
        actions.append(Refund.provider_refund_id.set(outcome.provider_refund_id))
    if outcome.provider_status:
        actions.append(Refund.provider_status.set(outcome.provider_status))
    if outcome.payout:
        actions.append(Refund.payout.set(outcome.payout))
    return actions


def _refund(bundle: OrderBundle | None, refund_id: str) -> tuple[OrderBundle, Refund]:
    """The order and its refund of that id; Conflict when either is gone."""
    refund = next((r for r in bundle.refunds if r.refund_id == refund_id), None) if bundle else None
    if bundle is None or refund is None:
        raise Conflict("no such refund on this order")
    return bundle, refund


def _apply(
    tx: Transaction,
    bundle: OrderBundle,
    refund: Refund,
    outcome: RefundOutcome,
    *,
    actor: str,
    actor_id: str,
    reserved: bool,
) -> None:
    """The order's side of a refund that happened: amounts, money state, stock, last refund."""
    order = bundle.order
    amount = int(refund.amount)
    refunded = int(order.refunded_amount or 0) + amount
    actions: list[Action] = [Order.refunded_amount.add(amount)]
    if reserved:
        actions.append(Order.refund_reserved.add(-amount))
    manual = outcome.status == "owed"
    if manual:
        actions.append(Order.owed_refunds.add(1))
    actions.append(Order.last_refund.set(as_told(order, refund, manual=manual)))
    # The tickets it gives back are voided in this transaction (each once: only a valid one is),
    # all of them when the whole payment goes back.
    valid = [entry["code"] for entry in tickets.entries(order) if entry["state"] == tickets.VALID]
    codes = valid if refunded >= order.received.amount else [code for code in refund.tickets or [] if code in valid]
    if codes:
        tickets.void(tx, codes, f"refunded ({refund.reason})" if refund.reason else "refunded", utcnow())
        actions.append(Order.tickets.set(tickets.after_voiding(order, set(codes))))
    current = order.money_state or states.UNPAID
    target = states.money_after_refunds(refunded, order.received.amount)
    money = target if states.can_move_money(current, target, states.Actor(actor)) else None
    add_move(
        tx,
        bundle,
        money=money,
        amount=amount,
        actor=actor,
        actor_id=actor_id,
        note=refund.reason or "refund",
        extra=actions,
    )
    give_back = {i["sku"]: int(i["quantity"]) for i in refund.items or []}
    if refunded >= order.received.amount:
        give_back = returnable(bundle)  # a full refund gives everything back
    for hold in bundle.holds:
        quantity = give_back.get(hold.sku, 0)
        if quantity <= 0 or hold.state != "held":
            continue
        returned = int(hold.returned or 0)
        quantity = min(quantity, int(hold.quantity) - returned)
        if quantity <= 0:
            continue
        tx.update(
            hold,
            actions=[Hold.returned.set(returned + quantity)],
            condition=_unchanged(Hold.returned, returned),
            label=f"hold:{hold.sku}",
        )
        tx.update(Product(Product.key(hold.sku)), actions=[Product.stock.add(quantity)], label=f"stock:{hold.sku}")


def as_told(order: Order, refund: Refund, *, manual: bool) -> dict[str, Any]:
    """A refund as its emails tell it: the order's `last_refund`, which the stream's emails read,
    and what the sweep rebuilds from the refund record for an email the stream never queued.
    `manual`: it is owed, a person pays it back to the phone ending in `phone_ending`; `given_back`:
    the customer's own (tickets for a changed event), which the shop is told of."""
    return {
        "refund_id": refund.refund_id,
        "amount": {"amount": int(refund.amount), "currency": refund.currency},
        "reason": refund.reason,
        "manual": manual,
        "phone_ending": personal.phone_hint(order) if manual else None,
        "origin": refund.origin or "caisse",
        **({"given_back": True} if refund.given_back else {}),
    }


def release(order: Order, refund: Refund) -> None:
    """Give back the reservation of a refund the provider refused for good: nothing was refunded."""
    tx = Transaction()
    tx.update(refund, actions=[Refund.status.set("failed")], condition=Refund.status == "requested", label="refund")
    tx.update(order, actions=[Order.refund_reserved.add(-int(refund.amount))], label="order")
    if refund.given_back:
        tickets.back_to_door(tx, refund.tickets or [], refund.refund_id)
    tx.commit()


def provider_refund_id(provider: str, provider_refund: str) -> str:
    """Our id for a refund made outside Caisse: derived from the provider's, so it is recorded once."""
    return str(uuid.uuid5(_PROVIDER_REFUNDS, f"{provider}:{provider_refund}"))


def record_provider_refund(
    order_id: str,
    *,
    provider: str,
    provider_refund: str,
    claimed_refund_id: str | None,
    amount: Money,
    status: str,
    actor_id: str,
    payment_ref: str | None = None,
) -> str:
    """Apply what a provider says about one refund (a webhook or reconciliation): finish a refund we
    asked for, record one made in its dashboard (of the order's payment, or of a booking's balance:
    `payment_ref` says which), or give back one that failed. Returns what it did."""
    for _ in range(MAX_ATTEMPTS):
        bundle = load(order_id)
        if bundle is None:
            return "unknown_order"
        ours = next(
            (
                r
                for r in bundle.refunds
                if (claimed_refund_id and r.refund_id == claimed_refund_id) or r.provider_refund_id == provider_refund
            ),
            None,
        )
        done = status in ("succeeded", "pending")
        if ours is not None and ours.status == "requested":
            outcome = RefundOutcome(status if done else "failed", provider_refund, status)
            finish(order_id, ours.refund_id, outcome, actor=states.Actor.PROVIDER, actor_id=actor_id)
            return "refund_recorded" if done else "refund_failed"
        if ours is not None:
            if ours.status in DONE_REFUND and status == "failed":
                if _undo(bundle, ours, actor_id):
                    return "refund_failed"
                continue
            if ours.status != status and ours.status in ("pending", "succeeded") and done:
                ours.update(actions=[Refund.status.set(status), Refund.provider_status.set(status)])
                return "refund_updated"
            return "unchanged"
        if not done:
            return "unchanged"  # a refund made elsewhere that did not happen: nothing to record
        refund = Refund(
            bundle.order.pk,
            Refund.key(provider_refund_id(provider, provider_refund)),
            refund_id=provider_refund_id(provider, provider_refund),
            amount=amount.amount,
            currency=amount.currency,
            status=status,
            reason="refunded in the payment provider's dashboard",
            requested_by=actor_id,
            requested_at=utcnow(),
            provider=provider,
            provider_refund_id=provider_refund,
            provider_status=status,
            origin="provider",
            payment_ref=payment_ref if payment_ref and payment_ref != bundle.order.payment_ref else None,
        )
        tx = Transaction()
        tx.put(refund, condition=Refund.sk.does_not_exist(), label="refund")
        _apply(
            tx,
            bundle,
            refund,
            RefundOutcome(status, provider_refund, status),
            actor=states.Actor.PROVIDER,
            actor_id=actor_id,
            reserved=False,
        )
        try:
            tx.commit()
        except TransactionCancelled:
            continue
        return "refund_recorded"
    raise Conflict(f"order {order_id} kept changing while a provider refund was recorded")


def _undo(bundle: OrderBundle, refund: Refund, actor_id: str) -> bool:
    """A refund that was accepted and then failed at the provider: the money stayed with the
    merchant, so the refunded amount and the money state go back down."""
    order = bundle.order
    amount = int(refund.amount)
    refunded = max(int(order.refunded_amount or 0) - amount, 0)
    current = order.money_state or states.UNPAID
    target = states.money_after_refunds(refunded, order.received.amount)
    money = target if states.can_move_money(current, target, states.Actor.PROVIDER) else None
    tx = Transaction()
    tx.update(
        refund,
        actions=[Refund.status.set("failed"), Refund.provider_status.set("failed")],
        condition=Refund.status == refund.status,
        label="refund",
    )
    add_move(
        tx,
        bundle,
        money=money,
        amount=-amount,
        actor=states.Actor.PROVIDER,
        actor_id=actor_id,
        note=f"refund of {display(Money(amount, order.currency))} failed at the provider",
        extra=[Order.refunded_amount.add(-amount)],
    )
    try:
        tx.commit()
    except TransactionCancelled:
        return False
    return True


def confirm_payout(order_id: str, refund_id: str, staff: Staff, reference: str | None) -> dict[str, Any]:
    """Staff paid an owed refund back by hand (mobile money withdrawal, disbursement): the refund
    leaves the work list; the order's history says who confirmed it, when, with what reference."""

    def writes(bundle: OrderBundle, tx: Transaction) -> list[Any]:
        refund = next((r for r in bundle.refunds if r.refund_id == refund_id), None)
        if refund is None:
            raise NotFound("no such refund")
        if refund.status == "paid_out":
            raise _AlreadyPaidOut(refund)
        if refund.status != "owed":
            raise Conflict(f"this refund is {refund.status}, not owed", current=refund.status)
        actions = [
            Refund.status.set("paid_out"),
            Refund.confirmed_by.set(staff.actor_id),
            Refund.confirmed_at.set(utcnow()),
            Refund.work_list.remove(),
            Refund.work_at.remove(),
        ]
        if reference:
            actions.append(Refund.provider_refund_id.set(reference))
        tx.update(refund, actions=actions, condition=Refund.status == "owed", label="refund")
        return [Order.owed_refunds.add(-1)]

    changes = {"refund_id": refund_id, "status": "paid_out", "reference": reference}
    try:
        bundle = record_action(order_id, staff, "payout_confirmed", changes=changes, writes=writes)
    except _AlreadyPaidOut as done:
        return refund_view(done.refund)  # confirmed before: the same answer
    return refund_view(next(r for r in bundle.refunds if r.refund_id == refund_id))


class _AlreadyPaidOut(Exception):
    def __init__(self, refund: Refund) -> None:
        super().__init__(refund.refund_id)
        self.refund = refund
