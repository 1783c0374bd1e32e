"""The order state machine: which moves exist, and who may make them.

Payment moves belong to the provider (its verified events); fulfilment moves belong to the
merchant's staff; expiry belongs to the system. Each merchant adds its own fulfilment stages after
`paid` (the song studio: discovery, writing, production, review, delivered). A move that is not
listed here never happens, which is what keeps late, duplicate and out-of-order events harmless.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from caisse.errors import IllegalTransition


class Actor(StrEnum):
    PROVIDER = "provider"
    STAFF = "staff"
    SYSTEM = "system"


PENDING_PAYMENT = "pending_payment"
PAYMENT_FAILED = "payment_failed"
NEEDS_REVIEW = "needs_review"
PAID = "paid"
EXPIRED = "expired"
CANCELLED = "cancelled"
PARTIALLY_REFUNDED = "partially_refunded"
REFUNDED = "refunded"

BASE_STATUSES = (PENDING_PAYMENT, PAYMENT_FAILED, NEEDS_REVIEW, PAID, EXPIRED, CANCELLED, PARTIALLY_REFUNDED, REFUNDED)

# Statuses in which the order still holds stock or capacity for the customer.
HOLDING = frozenset({PENDING_PAYMENT, PAYMENT_FAILED, NEEDS_REVIEW})
# Statuses in which money was taken and can be given back (besides the merchant's stages).
REFUNDABLE = frozenset({PAID, NEEDS_REVIEW, PARTIALLY_REFUNDED})

P, S, Y = Actor.PROVIDER, Actor.STAFF, Actor.SYSTEM

_BASE_MOVES: dict[str, dict[str, frozenset[Actor]]] = {
    PENDING_PAYMENT: {
        PAID: frozenset({P}),
        PAYMENT_FAILED: frozenset({P}),
        NEEDS_REVIEW: frozenset({P, Y}),
        EXPIRED: frozenset({P, Y}),
        CANCELLED: frozenset({S}),
    },
    # The customer may retry on the same checkout after a decline, so a failed payment can still
    # become paid; only expiry or staff close it.
    PAYMENT_FAILED: {
        PAID: frozenset({P}),
        NEEDS_REVIEW: frozenset({P, Y}),
        EXPIRED: frozenset({P, Y}),
        CANCELLED: frozenset({S}),
    },
    # Flagged payments (amount mismatch, manual review) wait for a person.
    NEEDS_REVIEW: {
        PAID: frozenset({S}),
        CANCELLED: frozenset({S}),
    },
    PAID: {},
    PARTIALLY_REFUNDED: {},
    REFUNDED: {},
    # Money that arrives after we gave up on the order (late mobile-money approvals) goes to a person.
    EXPIRED: {NEEDS_REVIEW: frozenset({P})},
    CANCELLED: {NEEDS_REVIEW: frozenset({P})},
}


@dataclass(frozen=True)
class Workflow:
    """The moves for one merchant: the base payment moves plus its fulfilment stages in order."""

    stages: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        clash = set(self.stages) & set(BASE_STATUSES)
        if clash or len(set(self.stages)) != len(self.stages):
            raise ValueError(f"fulfilment stages must be distinct from each other and from {BASE_STATUSES}")

    @classmethod
    def of(cls, stages: Sequence[str] | None) -> Workflow:
        return cls(tuple(stages or ()))

    def statuses(self) -> tuple[str, ...]:
        return BASE_STATUSES + self.stages

    def moves_from(self, status: str) -> dict[str, frozenset[Actor]]:
        if status in _BASE_MOVES:
            moves = dict(_BASE_MOVES[status])
            if status == PAID and self.stages:
                moves[self.stages[0]] = frozenset({S})
        elif status in self.stages:
            index = self.stages.index(status)
            moves = {self.stages[index + 1]: frozenset({S})} if index + 1 < len(self.stages) else {}
        else:
            raise IllegalTransition(f"unknown status {status!r}", allowed=[])
        if status in REFUNDABLE or status in self.stages:
            # Staff refund (within the merchant's refund policy); the provider reports refunds
            # made elsewhere (a dashboard). A partial refund can be followed by another.
            moves[PARTIALLY_REFUNDED] = frozenset({S, P})
            moves[REFUNDED] = frozenset({S, P})
        return moves

    def allowed(self, status: str, actor: Actor, *, refunds: bool = True) -> list[str]:
        """The moves `actor` may make; `refunds=False` leaves out the refund statuses (they are
        reached through the refund route, which moves the money too)."""
        return [
            target
            for target, actors in self.moves_from(status).items()
            if actor in actors and (refunds or target not in (PARTIALLY_REFUNDED, REFUNDED))
        ]

    def can(self, status: str, target: str, actor: Actor) -> bool:
        return actor in self.moves_from(status).get(target, frozenset())

    def check(self, status: str, target: str, actor: Actor, *, refunds: bool = True) -> None:
        """Raise IllegalTransition, naming the moves this actor may make, unless the move is legal."""
        refund = target in (PARTIALLY_REFUNDED, REFUNDED)
        if not self.can(status, target, actor) or (refund and not refunds):
            allowed = self.allowed(status, actor, refunds=refunds)
            raise IllegalTransition(
                f"an order that is {status} cannot become {target}"
                + (f"; it can become: {', '.join(allowed)}" if allowed else "; it has no further moves"),
                current=status,
                requested=target,
                allowed=allowed,
            )
