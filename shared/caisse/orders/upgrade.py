"""Orders written before the money state existed: their money read from what they recorded.

Refund states used to be statuses (`partially_refunded`, `refunded`), and there was no
`money_state`. `legacy_split` gives such an order its lifecycle status back (the one it had
before its refunds) and its money state; scripts/migrate_money_state.py applies it to a table.
"""

from __future__ import annotations

from collections.abc import Iterable

from caisse.orders import states

LEGACY_REFUND_STATUSES = (states.PARTIALLY_REFUNDED, states.REFUNDED)
_MONEY_TAKEN = frozenset({states.PAID, states.NEEDS_REVIEW})


def legacy_split(
    status: str, refunded: int, paid: int, moves: Iterable[tuple[int, str | None, str]]
) -> tuple[str, str]:
    """(status, money_state) for a legacy order; `moves` are its history's (version, from, to)."""
    ordered = sorted(moves, key=lambda move: -move[0])
    if status in LEGACY_REFUND_STATUSES:
        before = next(
            (old for _, old, new in ordered if new in LEGACY_REFUND_STATUSES and old not in LEGACY_REFUND_STATUSES),
            None,
        )
        return before or states.PAID, states.money_after_refunds(refunded, paid) if refunded else status
    received = status in _MONEY_TAKEN or status not in states.BASE_STATUSES  # paid, flagged, or a stage
    if status == states.CANCELLED:
        # Cancelled after a payment was flagged (the money came) or after fulfilment began.
        received = any(new == states.CANCELLED and old in _MONEY_TAKEN for _, old, new in ordered) or any(
            new == states.PAID for _, _, new in ordered
        )
    if not received:
        return status, states.UNPAID
    return status, states.money_after_refunds(refunded, paid)
