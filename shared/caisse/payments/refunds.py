"""Refunds staff ask for, and the one a customer may ask for themselves (their tickets for an
event that changed after they bought them): within the merchant's policy, through the provider,
safe to retry.

1. The refund is reserved on the order (caisse.orders.refunds.reserve): two refunds racing can
   never pass the policy's cap together; a reservation that lost a race is decided again.
2. The provider refunds it, with an idempotency key derived from the refund id (Stripe, PayPal),
   or it is owed: CamPay and PayDunya have no refund API, so a person pays it back and confirms.
3. The provider's answer is recorded (caisse.orders.refunds.finish): the refund record ends in the
   provider's state and the order's money moves, once, whether this request, the refund's own
   webhook or reconciliation gets there first. Refunds never move the order's status.

A request retried with the same Idempotency-Key names the same refund: if it finished, its record
is the answer; if it stopped after step 1, it resumes at step 2 with the same provider key.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from caisse.db import TransactionCancelled
from caisse.errors import Conflict, InvalidRequest, NotFound
from caisse.money import Money, display
from caisse.orders import personal, states, tickets
from caisse.orders.models import Refund
from caisse.orders.refunds import (
    RefundOutcome,
    changed_since_bought,
    check_items,
    finish,
    items_amount,
    payment_for,
    refundable,
    release,
    reserve,
    returns_offered,
)
from caisse.orders.service import OrderBundle, load, refund_view
from caisse.payments.base import RefundRequest
from caisse.payments.registry import load as load_provider
from caisse.staff import Staff

_REFUNDS = uuid.UUID("0d3f2a4e-7b1c-4c55-9a2e-3b8f6c1d9e07")
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class _By:
    """Who asks for a refund, as the order's history records them; `reader`: the member of staff
    the answer is shown to (None: nobody sees a mobile-money payout's phone)."""

    actor: states.Actor
    actor_id: str
    reader: Staff | None


def request_refund(
    order_id: str,
    staff: Staff,
    amount: int | None,
    reason: str | None,
    idempotency_key: str | None,
    items: dict[str, int] | None = None,
    ticket_codes: list[str] | None = None,
    whole: bool = False,
    shown: bool = True,
) -> dict[str, Any]:
    """`whole`: the merchant's refund policy set aside (caisse.orders.refunds.refundable). `shown`:
    the answer is shown to `staff` (the phone an owed refund is paid back to is decrypted for
    them); False when nobody reads it (a cancelled event's refunds)."""
    bundle = _bundle(order_id)
    staff.require(bundle.order.merchant)
    refund_id = str(uuid.uuid5(_REFUNDS, f"{order_id}:{idempotency_key}")) if idempotency_key else str(uuid.uuid4())
    by = _By(states.Actor.STAFF, staff.actor_id, staff if shown else None)
    return _refund(bundle, refund_id, by, amount, reason, items or {}, ticket_codes or [], whole)


def give_back_tickets(order_id: str, event_id: str) -> dict[str, Any]:
    """The customer gives back their tickets for an event that changed after they bought them,
    before it starts (the order page offers them, caisse.orders.refunds.returns_offered):
    all of them, refunded in full whatever the merchant's policy, once (a second click names the
    same refund)."""
    bundle = _bundle(order_id)
    refund_id = str(uuid.uuid5(_REFUNDS, f"{order_id}:customer-gives-back:{event_id}"))
    codes = returns_offered(bundle).get(event_id)
    if not codes and _find(bundle, refund_id) is None:
        raise _nothing_to_give_back()
    # The event's name is the reason: the refund email shows it as is, in either language.
    reason = str(tickets.events_of(bundle.order).get(event_id, {}).get("name") or event_id)[:300]
    by = _By(states.Actor.CUSTOMER, states.Actor.CUSTOMER.value, None)
    return _refund(bundle, refund_id, by, None, reason, {}, codes or [], False)


def _nothing_to_give_back() -> Conflict:
    return Conflict(
        "there are no tickets for this event that you can give back yourself (the event started, "
        "or they were used or given back already): contact the shop",
        code="nothing_to_give_back",
    )


def _refund(
    bundle: OrderBundle,
    refund_id: str,
    by: _By,
    amount: int | None,
    reason: str | None,
    items: dict[str, int],
    codes: list[str],
    whole: bool,
) -> dict[str, Any]:
    order_id = bundle.order.order_id
    existing = _find(bundle, refund_id)
    if existing is not None and existing.status != "requested":
        return _answer(existing, by, replayed=True)
    refund = existing or _reserve_within_cap(order_id, refund_id, amount, items, reason, by.actor_id, codes, whole)
    if refund.status != "requested":
        return _answer(refund, by, replayed=True)
    return _pay_back(order_id, refund, by)


def _bundle(order_id: str) -> OrderBundle:
    bundle = load(order_id)
    if bundle is None:
        raise NotFound("no such order")
    return bundle


def _find(bundle: OrderBundle, refund_id: str) -> Refund | None:
    return next((r for r in bundle.refunds if r.refund_id == refund_id), None)


def _reserve_within_cap(
    order_id: str,
    refund_id: str,
    amount: int | None,
    wanted_items: dict[str, int],
    reason: str | None,
    actor_id: str,
    named_tickets: list[str],
    whole: bool = False,
) -> Refund:
    """Decide the refund against the order as it is now, and reserve it; a concurrent change of
    the order's refunds or stage makes us read again and decide again (bounded)."""
    for _ in range(MAX_ATTEMPTS):
        bundle = _bundle(order_id)
        order = bundle.order
        money = order.money_state or states.UNPAID
        if money == states.DISPUTED:
            raise Conflict(
                "a dispute is open on this payment: answer it in the provider's dashboard; "
                "refunds wait until it closes",
                code="payment_disputed",
                money_state=money,
            )
        if money not in states.REFUNDABLE and money != states.REFUNDED:
            raise Conflict(f"this order's money is {money}: there is no payment to refund", money_state=money)
        # Items of a ticket product are given back as tickets (the codes named, or whole items).
        codes, items, tickets_cost = tickets.for_refund(order, named_tickets, wanted_items)
        check_items(bundle, items)
        # Tickets alone, for an event that changed after they were bought, go back in full.
        moved = bool(codes) and set(codes) <= set(changed_since_bought(bundle)) and set(items) <= tickets.skus(order)
        limit = refundable(bundle, whole or moved)
        if amount is not None:
            wanted = Money(amount, order.currency)
        elif codes:  # what the tickets cost, and any other items named with them
            untracked = {sku: n for sku, n in wanted_items.items() if sku not in tickets.skus(order)}
            wanted = Money(tickets_cost, order.currency) + items_amount(order, untracked)
        elif items:
            wanted = items_amount(order, items)
        else:
            wanted = limit
        if wanted.amount <= 0 or limit.amount <= 0:
            raise Conflict(
                f"nothing can be refunded now ({order.status}); refunded so far "
                f"{display(Money(int(order.refunded_amount or 0), order.currency))}",
                code="nothing_to_refund",
                refundable=limit.as_dict(),
            )
        if wanted > limit:
            raise InvalidRequest(
                f"at most {display(limit)} can be refunded now ({order.status})",
                code="refund_too_large",
                refundable=limit.as_dict(),
            )
        payment = payment_for(bundle, wanted)
        try:
            return reserve(bundle, refund_id, wanted, items, reason, actor_id, codes, payment)
        except TransactionCancelled as cancelled:
            if any(label.startswith(tickets.RETURNING) for label in cancelled.failed):
                raise _nothing_to_give_back() from None  # a ticket was scanned at the door meanwhile
            if "refund" in cancelled.failed:  # the same request, retried concurrently, reserved it
                found = _find(_bundle(order_id), refund_id)
                if found is not None:
                    return found
    raise Conflict("other refunds of this order kept changing it; reload and try again")


def _pay_back(order_id: str, refund: Refund, by: _By) -> dict[str, Any]:
    order = _bundle(order_id).order
    provider = load_provider(order.provider, order.connect_account)
    try:
        result = provider.refund(
            RefundRequest(
                refund_id=refund.refund_id,
                order_id=order.order_id,
                amount=Money(int(refund.amount), refund.currency),
                reason=refund.reason,
                provider_ref=order.provider_ref,
                payment_ref=refund.payment_ref or order.payment_ref,  # a booking's balance has its own
                idempotency_key=f"refund-{refund.refund_id}",
                customer_phone=None,  # encrypted on the order: shown to staff with the owed refund (_answer)
            )
        )
    except InvalidRequest:
        release(order, refund)  # the provider said no for good: nothing was refunded
        raise
    # ProviderUnavailable propagates with the refund still "requested": the same request, retried
    # with the same Idempotency-Key, resumes here with the same provider idempotency key, and
    # reconciliation finishes it from the provider's own record if nobody retries.
    outcome = RefundOutcome(result.status, result.provider_refund_id, result.status, result.payout)
    recorded = finish(order_id, refund.refund_id, outcome, actor=by.actor, actor_id=by.actor_id)
    return _answer(recorded, by, replayed=False)


def _answer(refund: Refund, by: _By, *, replayed: bool) -> dict[str, Any]:
    bundle = _bundle(refund.pk.split("#", 1)[1])
    order = bundle.order
    view = refund_view(refund, staff=by.actor != states.Actor.CUSTOMER)
    if by.reader is not None and refund.status == "owed":
        # The person paying it back needs the number: decrypted for them, and the read recorded.
        personal.reveal_payout(view, order, by.reader.actor_id, bundle.personal)
    return {
        **view,
        "order_status": order.status,
        "money_state": order.money_state,
        "refunded": {"amount": int(order.refunded_amount or 0), "currency": order.currency},
        "replayed": replayed,
    }
