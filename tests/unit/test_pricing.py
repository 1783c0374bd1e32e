import pytest

from caisse.catalog.models import Product
from caisse.catalog.service import price_cart
from caisse.errors import InvalidRequest, SoldOut
from caisse.money import Money


def product(sku, merchant="festival", prices=None, stock=None, max_per_order=10, active=True):
    return Product(
        Product.key(sku),
        sku=sku,
        merchant=merchant,
        name=sku.title(),
        kind="ticket",
        prices=prices or {"USD": 4500, "EUR": 4200},
        stock=stock,
        max_per_order=max_per_order,
        active=active,
        order_prefix="SF",
        stages=["tickets_issued"],
    )


CATALOG = {
    "DAY": product("DAY", stock=5),
    "DONATION": product("DONATION", prices={"USD": 1000}),
    "SONG": product("SONG", merchant="songstudio", prices={"USD": 9900, "XAF": 60000}),
    "OLD": product("OLD", active=False),
}


def test_total_is_computed_from_catalog_prices():
    cart = price_cart(CATALOG, [("DAY", 2), ("DONATION", 3)], "USD")
    assert cart.total == Money(2 * 4500 + 3 * 1000, "USD")
    assert cart.merchant == "festival"
    assert cart.order_prefix == "SF"
    assert [line.limited for line in cart.lines] == [True, False]


def test_zero_decimal_currency():
    cart = price_cart(CATALOG, [("SONG", 1)], "XAF")
    assert cart.total == Money(60000, "XAF")


def test_repeated_skus_are_merged():
    cart = price_cart(CATALOG, [("DAY", 1), ("DAY", 2)], "USD")
    assert [(line.sku, line.quantity) for line in cart.lines] == [("DAY", 3)]


def test_unknown_and_inactive_products_are_refused():
    with pytest.raises(InvalidRequest) as raised:
        price_cart(CATALOG, [("NOPE", 1), ("OLD", 1)], "USD")
    assert raised.value.code == "unknown_sku"
    assert raised.value.details["skus"] == ["NOPE", "OLD"]


def test_a_currency_the_product_is_not_sold_in():
    with pytest.raises(InvalidRequest) as raised:
        price_cart(CATALOG, [("DONATION", 1)], "EUR")
    assert raised.value.code == "currency_not_offered"
    assert raised.value.details["currencies"] == ["USD"]


def test_one_merchant_per_checkout():
    with pytest.raises(InvalidRequest):
        price_cart(CATALOG, [("DAY", 1), ("SONG", 1)], "USD")


def test_not_enough_stock_is_a_conflict_naming_what_is_left():
    with pytest.raises(SoldOut) as raised:
        price_cart(CATALOG, [("DAY", 6)], "USD")
    assert raised.value.status == 409
    assert raised.value.details["remaining"] == 5


def test_per_order_limit():
    with pytest.raises(InvalidRequest):
        price_cart(CATALOG, [("DAY", 11)], "USD")


def test_empty_cart():
    with pytest.raises(InvalidRequest):
        price_cart(CATALOG, [], "USD")
