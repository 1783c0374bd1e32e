from decimal import Decimal

import pytest

from caisse.money import Money, MoneyError, exponent


def test_exponents_per_currency():
    assert exponent("USD") == 2
    assert exponent("EUR") == 2
    assert exponent("XAF") == 0
    assert exponent("XOF") == 0


@pytest.mark.parametrize("bad", [9.99, "999", Decimal("9.99"), True, None])
def test_amount_must_be_an_integer(bad):
    with pytest.raises(MoneyError):
        Money(bad, "USD")


def test_unknown_currency_is_refused():
    with pytest.raises(MoneyError):
        Money(100, "ABC")


def test_arithmetic_stays_in_minor_units():
    assert Money(9900, "USD") * 3 == Money(29700, "USD")
    assert Money(9900, "USD") + Money(100, "USD") == Money(10000, "USD")
    assert Money(60000, "XAF") - Money(1, "XAF") == Money(59999, "XAF")


def test_currencies_never_mix():
    with pytest.raises(MoneyError):
        Money(100, "USD") + Money(100, "EUR")
    with pytest.raises(MoneyError):
        assert Money(100, "USD") < Money(100, "XAF")


@pytest.mark.parametrize(
    ("money", "text"),
    [
        (Money(9900, "USD"), "99.00"),
        (Money(5, "USD"), "0.05"),
        (Money(60000, "XAF"), "60000"),
        (Money(150000, "XOF"), "150000"),
        (Money(0, "EUR"), "0.00"),
    ],
)
def test_major_units_text(money, text):
    assert money.to_major() == text
    assert Money.from_major(text, money.currency) == money


def test_from_major_refuses_more_decimals_than_the_currency_has():
    with pytest.raises(MoneyError):
        Money.from_major("100.5", "XAF")
    with pytest.raises(MoneyError):
        Money.from_major("1.005", "USD")
    assert Money.from_major("2.0", "XAF") == Money(2, "XAF")  # CamPay reports amounts like this


def test_fraction_rounds_half_up_to_the_minor_unit():
    assert Money(1001, "USD").fraction(1, 2) == Money(501, "USD")
    assert Money(10001, "XOF").fraction(25, 1000) == Money(250, "XOF")
    assert Money(9999, "USD").fraction(1, 2) == Money(5000, "USD")
