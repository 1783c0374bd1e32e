"""Orders from before the money state: their status back, their money read from their history."""

import pytest

from caisse.orders.upgrade import legacy_split


@pytest.mark.parametrize(
    ("status", "refunded", "moves", "expected"),
    [
        ("pending_payment", 0, [(1, None, "pending_payment")], ("pending_payment", "unpaid")),
        ("expired", 0, [(1, None, "pending_payment"), (2, "pending_payment", "expired")], ("expired", "unpaid")),
        ("paid", 0, [(2, "pending_payment", "paid")], ("paid", "paid")),
        ("writing", 0, [(4, "discovery", "writing")], ("writing", "paid")),
        ("needs_review", 0, [(2, "pending_payment", "needs_review")], ("needs_review", "paid")),
        # A goodwill refund in writing: the order was stuck there; it goes back to writing.
        (
            "partially_refunded",
            1000,
            [(3, "discovery", "writing"), (4, "writing", "partially_refunded")],
            ("writing", "partially_refunded"),
        ),
        (
            "refunded",
            9900,
            [(2, "pending_payment", "paid"), (3, "paid", "partially_refunded"), (4, "partially_refunded", "refunded")],
            ("paid", "refunded"),
        ),
        (
            "cancelled",
            0,
            [(2, "pending_payment", "needs_review"), (3, "needs_review", "cancelled")],
            ("cancelled", "paid"),
        ),
        ("cancelled", 0, [(2, "pending_payment", "cancelled")], ("cancelled", "unpaid")),
    ],
)
def test_legacy_orders_get_their_status_and_money_back(status, refunded, moves, expected):
    assert legacy_split(status, refunded, 9900, moves) == expected
