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

BASE_STATUSES = (PENDING_PAYMENT, PAYMENT_FAILED, NEEDS_REVIEW, PAID, EXPIRED, CANCELLED)

# Statuses in which the order still holds stock or capacity for the customer.
HOLDING = frozenset({PENDING_PAYMENT, PAYMENT_FAILED, NEEDS_REVIEW})

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
            return moves
        if status in self.stages:
            index = self.stages.index(status)
            if index + 1 < len(self.stages):
                return {self.stages[index + 1]: frozenset({S})}
            return {}
        raise IllegalTransition(f"unknown status {status!r}", allowed=[])

    def allowed(self, status: str, actor: Actor) -> list[str]:
        return [target for target, actors in self.moves_from(status).items() if actor in actors]

    def can(self, status: str, target: str, actor: Actor) -> bool:
        return actor in self.moves_from(status).get(target, frozenset())

    def check(self, status: str, target: str, actor: Actor) -> None:
        """Raise IllegalTransition, naming the moves this actor may make, unless the move is legal."""
        if not self.can(status, target, actor):
            allowed = self.allowed(status, actor)
            raise IllegalTransition(
                f"an order that is {status} cannot become {target}"
                + (f"; it can become: {', '.join(allowed)}" if allowed else "; it has no further moves"),
                current=status,
                requested=target,
                allowed=allowed,
            )
