"""Money: an integer in the currency's minor unit plus an ISO 4217 code. No floats, ever.

Every amount that enters the system (catalog prices, provider payloads, admin refunds) becomes a
`Money` at the edge, and every amount that leaves is rendered from one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# Minor-unit exponent per currency. XAF and XOF (CFA francs) have no minor unit.
EXPONENTS: dict[str, int] = {
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "CAD": 2,
    "AUD": 2,
    "NZD": 2,
    "XAF": 0,
    "XOF": 0,
}


# The most one payment may be, in minor units, per provider and currency: the providers' own
# maximums, checked before an amount is stored or sent, so a price or a charge a provider would
# refuse is a clear 422 here, never a failed call.
# - Stripe: "The amount value supports up to eight digits (e.g., a value of 99999999 for a USD
#   charge of $999,999.99)" (the `amount` parameter of the API reference, as stripe-python and
#   stripe-go document it; docs.stripe.com/currencies#minimum-and-maximum-charge-amounts); the
#   same eight digits for zero-decimal currencies (XAF 99 999 999).
# - PayPal: an amount "cannot exceed $10,000 USD in any currency" (PayPal API reference, AMT of
#   the payment APIs; TRANSACTION_LIMIT_EXCEEDED otherwise). Other currencies are capped below
#   USD 10 000's value, so a move of the rate never lets one through.
# - CamPay: MTN and Orange Mobile Money Cameroon take at most XAF 500 000 per collection (the
#   operators' cap, as payment aggregators publish it; CamPay answers "maximum amount is ...").
# - PayDunya: XOF 100 to XOF 10 000 000 (the Ouaga Live brief; PayDunya's own limit).
PROVIDER_MAXIMUMS: dict[str, dict[str, int]] = {
    "stripe": dict.fromkeys(("USD", "EUR", "GBP", "CAD", "AUD", "NZD", "XAF", "XOF"), 99_999_999),
    "paypal": {
        "USD": 1_000_000,
        "EUR": 800_000,
        "GBP": 700_000,
        "CAD": 1_300_000,
        "AUD": 1_500_000,
        "NZD": 1_600_000,
    },
    "campay": {"XAF": 500_000},
    "paydunya": {"XOF": 10_000_000},
}
PROVIDER_NAMES = {"stripe": "Stripe", "paypal": "PayPal", "campay": "CamPay", "paydunya": "PayDunya"}
LARGEST_AMOUNT = max(limit for limits in PROVIDER_MAXIMUMS.values() for limit in limits.values())
"""No price, payment, balance or refund is larger than this (minor units), in any currency."""
AMOUNT_LIMITS = (
    "Integer minor units (XAF and XOF have none), at most what the payment provider takes at once: "
    "Stripe 99 999 999 in any currency, PayPal USD 10 000.00, CamPay XAF 500 000, PayDunya XOF 10 000 000"
)


class MoneyError(ValueError):
    """An amount or currency that cannot be money."""


class AmountTooLarge(MoneyError):
    """More than a provider (or every provider) takes in one payment."""

    def __init__(self, money: Money, maximum: int, provider: str | None) -> None:
        who = PROVIDER_NAMES.get(provider or "", provider) if provider else "a payment"
        limit = Money(maximum, money.currency)
        super().__init__(f"{money} is more than {who} can take at once (at most {limit})")
        self.maximum = limit


def maximum(currency: str, provider: str | None = None) -> int:
    """The most one payment may be in `currency` (minor units) through `provider`, or through any."""
    if provider is not None:
        return PROVIDER_MAXIMUMS.get(provider, {}).get(currency, 0)
    return max((limits.get(currency, 0) for limits in PROVIDER_MAXIMUMS.values()), default=0)


def check_maximum(money: Money, provider: str | None = None) -> Money:
    """`money` if a provider (this one, or any) can take it in one payment; AmountTooLarge if not."""
    limit = maximum(money.currency, provider)
    if money.amount > limit:
        raise AmountTooLarge(money, limit, provider)
    return money


def exponent(currency: str) -> int:
    try:
        return EXPONENTS[currency]
    except KeyError:
        raise MoneyError(f"unsupported currency {currency!r}") from None


@dataclass(frozen=True, slots=True, order=False)
class Money:
    amount: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise MoneyError(f"amount must be an integer number of minor units, got {self.amount!r}")
        exponent(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def from_major(cls, value: str | int | Decimal, currency: str) -> Money:
        """Parse a provider's major-unit amount ("99.00", "60000", 2.0 as text) without floats.

        More decimals than the currency has is an error, not a rounding.
        """
        try:
            major = Decimal(str(value).strip())
        except InvalidOperation:
            raise MoneyError(f"not an amount: {value!r}") from None
        minor = major.scaleb(exponent(currency))
        if minor != minor.to_integral_value():
            raise MoneyError(f"{value!r} has more decimals than {currency} allows")
        return cls(int(minor), currency)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money) or other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} with {getattr(other, 'currency', other)!r}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: int) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int):
            raise MoneyError("money can only be multiplied by a whole number")
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def fraction(self, numerator: int, denominator: int) -> Money:
        """A share of this amount, rounded half up to the minor unit (fees, partial refunds)."""
        share = (Decimal(self.amount) * numerator / denominator).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return Money(int(share), self.currency)

    def to_major(self) -> str:
        """The amount in major units as text, e.g. "99.00" or "60000" (PayPal, PayDunya, CamPay)."""
        exp = exponent(self.currency)
        if exp == 0:
            return str(self.amount)
        whole, minor = divmod(abs(self.amount), 10**exp)  # integers: exact at any size
        return f"{'-' if self.amount < 0 else ''}{whole}.{minor:0{exp}d}"

    def as_dict(self) -> dict[str, int | str]:
        return {"amount": self.amount, "currency": self.currency}

    def __str__(self) -> str:
        return f"{self.currency} {self.to_major()}"


def display(money: Money, locale: str = "en") -> str:
    """An amount as a person reads it in an email: thousands grouped by a narrow no-break space
    (unambiguous in both languages), decimal point in English and comma in French, the ISO code
    first in English and last in French: "USD 1 234.50", "XAF 60 000", "1 234,50 EUR"."""
    whole, _, cents = money.to_major().partition(".")
    negative = whole.startswith("-")
    digits = whole.lstrip("-")
    groups: list[str] = []
    while digits:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    number = ("-" if negative else "") + "\u202f".join(groups or ["0"])
    if cents:
        number += ("," if locale == "fr" else ".") + cents
    return f"{number}\u00a0{money.currency}" if locale == "fr" else f"{money.currency}\u00a0{number}"
