"""What a booking costs now and later, in integer minor units. Pure.

- Deposit: a percentage of the full price (rounded half up to the currency's minor unit) or a
  fixed amount, never more than the full price.
- Platform fee: caisse.catalog.platform.platform_fee (the same for carts and bookings).
- Balance: the final price minus the deposit, never below zero.
"""

from __future__ import annotations

from caisse.errors import InvalidRequest
from caisse.money import Money


def deposit(full_price: Money, percent: float | None, fixed: float | None) -> Money:
    """The deposit: a fixed amount (at most the price) or a percentage of it; whole numbers either
    way, as a service's record holds them (pynamodb reads every number as a float)."""
    if fixed is not None:
        return Money(min(int(fixed), full_price.amount), full_price.currency)
    if percent is None:
        return full_price
    return full_price.fraction(int(percent), 100)


def balance(final_price: Money, deposit_paid: Money) -> Money:
    if final_price < deposit_paid:
        raise InvalidRequest(
            f"the final price ({final_price}) is less than the deposit already paid ({deposit_paid}); refund instead",
            code="final_below_deposit",
        )
    return final_price - deposit_paid
