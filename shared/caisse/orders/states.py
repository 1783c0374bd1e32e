"""The order's two state machines: which moves exist, and who may make them.

An order has a lifecycle `status` (what customers and staff read: waiting for payment, paid, the
merchant's fulfilment stages, or closed) and a `money_state` (what happened to the money: unpaid,
paid, refunded in part or in full, disputed, charged back). They move independently, as Saleor
and Medusa keep them: a refund never blocks production, a stage never hides a refund.

Payment moves belong to the provider (its verified events); fulfilment moves belong to the
merchant's staff; expiry belongs to the system. Money moves belong to the provider (payments,
refunds made elsewhere, disputes) and to staff (refunds). A move that is not listed here never
happens, which is what keeps late, duplicate and out-of-order events harmless.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from caisse.errors import IllegalTransition


class Actor(StrEnum):
    PROVIDER = "provider"
    STAFF = "staff"
    SYSTEM = "system"
    # The order's own customer, behind its order token: only to give back tickets for an event
    # that changed after they bought them (caisse.payments.refunds.give_back_tickets).
    CUSTOMER = "customer"


PENDING_PAYMENT = "pending_payment"
PAYMENT_FAILED = "payment_failed"
NEEDS_REVIEW = "needs_review"
PAID = "paid"
EXPIRED = "expired"
CANCELLED = "cancelled"

BASE_STATUSES = (PENDING_PAYMENT, PAYMENT_FAILED, NEEDS_REVIEW, PAID, EXPIRED, CANCELLED)

# Statuses in which the order still holds stock or capacity for the customer.
HOLDING = frozenset({PENDING_PAYMENT, PAYMENT_FAILED, NEEDS_REVIEW})
# Checkouts the customer may still pay: what per-customer caps on open checkouts count.
OPEN = frozenset({PENDING_PAYMENT, PAYMENT_FAILED})
# Statuses no fulfilment follows: a refund of one of them gives everything back.
CLOSED = frozenset({EXPIRED, CANCELLED})

P, S, Y, C = Actor.PROVIDER, Actor.STAFF, Actor.SYSTEM, Actor.CUSTOMER

_BASE_MOVES: dict[str, dict[str, frozenset[Actor]]] = {
    PENDING_PAYMENT: {
        PAID: frozenset({P}),
        PAYMENT_FAILED: frozenset({P}),
        NEEDS_REVIEW: frozenset({P, Y}),
        EXPIRED: frozenset({P, Y}),
        # Staff cancel an order; the system cancels a checkout whose provider refused to open.
        CANCELLED: frozenset({S, Y}),
    },
    # The customer may retry on the same checkout after a decline, so a failed payment can still
    # become paid; only expiry or staff close it.
    PAYMENT_FAILED: {
        PAID: frozenset({P}),
        NEEDS_REVIEW: frozenset({P, Y}),
        EXPIRED: frozenset({P, Y}),
        CANCELLED: frozenset({S}),
    },
    # Flagged payments (amount mismatch, manual review, money after closing) wait for a person.
    NEEDS_REVIEW: {
        PAID: frozenset({S}),
        CANCELLED: frozenset({S}),
    },
    # Staff may cancel a paid order (a booking called off, an event cancelled); what is given back
    # is a refund, a separate money move.
    PAID: {CANCELLED: frozenset({S})},
    # Money that arrives after we gave up on the order (late mobile-money approvals) goes to a person.
    EXPIRED: {NEEDS_REVIEW: frozenset({P})},
    CANCELLED: {NEEDS_REVIEW: frozenset({P})},
}


@dataclass(frozen=True)
class Workflow:
    """The lifecycle moves for one order: the base payment moves plus its product's stages in order,
    and, where the product includes revisions, a loop from one stage (the song studio's review)
    into a revision stage and back, allowed `revisions` times."""

    stages: tuple[str, ...] = ()
    revision_stage: str | None = None
    revision_from: str | None = None
    revisions: int = 0
    deliverable_stage: str | None = None  # the stage that needs the delivered file (caisse.orders.service)

    def __post_init__(self) -> None:
        named = self.stages + ((self.revision_stage,) if self.revision_stage else ())
        clash = set(named) & set(BASE_STATUSES)
        if clash or len(set(named)) != len(named):
            raise ValueError(f"fulfilment stages must be distinct from each other and from {BASE_STATUSES}")
        if self.revision_stage and self.revision_from not in self.stages:
            raise ValueError("a revision loops from one of the stages")

    @classmethod
    def of(cls, stages: Sequence[str] | None, settings: Mapping[str, Any] | None = None) -> Workflow:
        settings = settings or {}
        revision = settings.get("revision_stage") if settings.get("revision_from") in (stages or ()) else None
        return cls(
            tuple(stages or ()),
            revision_stage=revision,
            revision_from=settings.get("revision_from") if revision else None,
            revisions=int(settings.get("revisions") or 0) if revision else 0,
            deliverable_stage=settings.get("deliverable_stage"),
        )

    def statuses(self) -> tuple[str, ...]:
        return BASE_STATUSES + self.stages + ((self.revision_stage,) if self.revision_stage else ())

    def moves_from(self, status: str, revisions_used: int = 0) -> dict[str, frozenset[Actor]]:
        if status in _BASE_MOVES:
            if status == PAID and self.stages:
                return {self.stages[0]: frozenset({S}), **_BASE_MOVES[status]}  # the next stage first
            return dict(_BASE_MOVES[status])
        if status == self.revision_stage:
            return {str(self.revision_from): frozenset({S}), CANCELLED: frozenset({S})}  # back to review
        if status in self.stages:
            index = self.stages.index(status)
            if index + 1 == len(self.stages):
                return {}  # delivered: nothing follows, not even a cancellation
            moves = {self.stages[index + 1]: frozenset({S})}
            if status == self.revision_from and self.revision_stage and revisions_used < self.revisions:
                moves[self.revision_stage] = frozenset({S})
            return {**moves, CANCELLED: frozenset({S})}
        raise IllegalTransition(f"unknown status {status!r}", allowed=[])

    def allowed(self, status: str, actor: Actor, revisions_used: int = 0) -> list[str]:
        return [target for target, actors in self.moves_from(status, revisions_used).items() if actor in actors]

    def can(self, status: str, target: str, actor: Actor, revisions_used: int = 0) -> bool:
        return actor in self.moves_from(status, revisions_used).get(target, frozenset())

    def check(self, status: str, target: str, actor: Actor, revisions_used: int = 0) -> None:
        """Raise IllegalTransition, naming the moves this actor may make, unless the move is legal."""
        if self.can(status, target, actor, revisions_used):
            return
        allowed = self.allowed(status, actor, revisions_used)
        if target == self.revision_stage and status == self.revision_from:
            raise IllegalTransition(
                f"this order included {self.revisions} revision{'s' if self.revisions != 1 else ''} "
                f"and has had {revisions_used}; none is left",
                code="no_revisions_left",
                current=status,
                requested=target,
                allowed=allowed,
                revisions={"included": self.revisions, "used": revisions_used},
            )
        raise IllegalTransition(
            f"an order that is {status} cannot become {target}"
            + (f"; it can become: {', '.join(allowed)}" if allowed else "; it has no further moves"),
            current=status,
            requested=target,
            allowed=allowed,
        )

    def fulfilled(self, status: str) -> bool:
        """Whether the merchant has started working on the order (a stage was reached)."""
        return status in self.stages or (self.revision_stage is not None and status == self.revision_stage)

    def closed(self, status: str) -> bool:
        """Nothing more happens to the order: delivered (the last stage), cancelled or expired; paid,
        for an order with no stages (tickets and donations: the payment delivers them)."""
        return status in CLOSED or (status == self.stages[-1] if self.stages else status == PAID)


# ---------------------------------------------------------------------------------------- money

UNPAID = "unpaid"
MONEY_PAID = "paid"
PARTIALLY_REFUNDED = "partially_refunded"
REFUNDED = "refunded"
DISPUTED = "disputed"
CHARGED_BACK = "charged_back"  # a dispute lost, or a provider's reversal: the money went back

MONEY_STATES = (UNPAID, MONEY_PAID, PARTIALLY_REFUNDED, REFUNDED, DISPUTED, CHARGED_BACK)
# Money states in which something was received and part of it may still be given back.
REFUNDABLE = frozenset({MONEY_PAID, PARTIALLY_REFUNDED})

_MONEY_MOVES: dict[str, dict[str, frozenset[Actor]]] = {
    UNPAID: {MONEY_PAID: frozenset({P})},
    # Staff refund through Caisse, and a customer gives back tickets for an event that changed;
    # the provider reports refunds made elsewhere (a dashboard) and refunds that failed after
    # they were accepted. A partial refund can be followed by another.
    MONEY_PAID: {
        PARTIALLY_REFUNDED: frozenset({S, P, C}),
        REFUNDED: frozenset({S, P, C}),
        DISPUTED: frozenset({P}),
        CHARGED_BACK: frozenset({P}),
    },
    PARTIALLY_REFUNDED: {
        PARTIALLY_REFUNDED: frozenset({S, P, C}),
        REFUNDED: frozenset({S, P, C}),
        MONEY_PAID: frozenset({P}),
        DISPUTED: frozenset({P}),
        CHARGED_BACK: frozenset({P}),
    },
    REFUNDED: {
        PARTIALLY_REFUNDED: frozenset({P}),
        MONEY_PAID: frozenset({P}),
        DISPUTED: frozenset({P}),
    },
    # A dispute ends won (the money stays: back to what the refunds say) or lost.
    DISPUTED: {
        MONEY_PAID: frozenset({P}),
        PARTIALLY_REFUNDED: frozenset({P}),
        REFUNDED: frozenset({P}),
        CHARGED_BACK: frozenset({P}),
    },
    CHARGED_BACK: {},
}


def money_moves_from(state: str) -> dict[str, frozenset[Actor]]:
    if state not in _MONEY_MOVES:
        raise IllegalTransition(f"unknown money state {state!r}", allowed=[])
    return _MONEY_MOVES[state]


def can_move_money(state: str, target: str, actor: Actor) -> bool:
    return actor in money_moves_from(state).get(target, frozenset())


def check_money(state: str, target: str, actor: Actor) -> None:
    if not can_move_money(state, target, actor):
        allowed = [t for t, actors in money_moves_from(state).items() if actor in actors]
        raise IllegalTransition(
            f"money that is {state} cannot become {target}",
            current=state,
            requested=target,
            allowed=allowed,
        )


def money_after_balance(state: str) -> str:
    """A booking's balance, paid after the job: more money received on money already received, so
    the state stays what it was; only a paid (or partly refunded) deposit takes a balance. Not a
    move of _MONEY_MOVES, where paid → paid would let a duplicate payment event move money twice."""
    if state not in REFUNDABLE:
        raise IllegalTransition(
            f"a balance is charged only after a paid deposit; the money is {state}",
            current=state,
            requested="balance",
            allowed=[],
        )
    return state


def money_after_refunds(refunded: int, paid: int) -> str:
    """The money state refunds leave: nothing back, part of it, or all of it."""
    if refunded <= 0:
        return MONEY_PAID
    return REFUNDED if refunded >= paid else PARTIALLY_REFUNDED
