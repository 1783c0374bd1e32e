"""The catalog file is checked before the seed writes anything: a typo is refused with the
merchant or product and the field it is in, never discovered as a 502 at checkout."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from caisse.catalog.document import CatalogError, check

CATALOG = json.loads((Path(__file__).resolve().parents[2] / "data" / "catalog.json").read_text())


def refused(change) -> str:
    document = copy.deepcopy(CATALOG)
    change(document)
    with pytest.raises(CatalogError) as error:
        check(document)
    return str(error.value)


def merchant(document: dict, merchant_id: str) -> dict:
    return next(m for m in document["merchants"] if m["id"] == merchant_id)


def product(document: dict, sku: str) -> dict:
    return next(p for p in document["products"] if p["sku"] == sku)


def test_the_shops_catalog_is_valid():
    check(CATALOG)


def test_a_misspelt_rule_is_named_with_its_merchant():
    message = refused(lambda d: merchant(d, "festival")["rules"].update(hold_minuts=5))
    assert message == "merchants[festival].rules.hold_minuts: Extra inputs are not permitted"


def test_a_price_with_decimals_is_named_with_its_sku():
    message = refused(lambda d: product(d, "FEST-DAY-PASS")["prices"].update(EUR=49.5))
    assert message.startswith("products[FEST-DAY-PASS].prices.EUR: ")


def test_a_price_in_an_unknown_currency_is_refused():
    message = refused(lambda d: product(d, "FEST-DAY-PASS").update(prices={"ZZZ": 100}))
    assert "products[FEST-DAY-PASS]" in message and "ZZZ" in message


def test_a_route_to_an_unknown_provider_is_refused():
    message = refused(lambda d: merchant(d, "festival")["rules"]["routes"].update(USD=["strip"]))
    assert message.startswith("merchants[festival].rules.routes.USD[0]: ")


def test_a_wrong_time_zone_is_refused():
    message = refused(lambda d: merchant(d, "songstudio").update(timezone="Europe/Pariss"))
    assert message.startswith("merchants[songstudio].timezone: ") and "Europe/Pariss" in message


def test_a_product_of_a_merchant_that_does_not_exist_is_refused():
    message = refused(lambda d: product(d, "FEST-DAY-PASS").update(merchant="nobody"))
    assert "FEST-DAY-PASS: merchant 'nobody' is not in merchants" in message


def test_a_bookable_service_listed_as_a_product_is_refused():
    message = refused(lambda d: product(d, "FEST-DAY-PASS").update(kind="service"))
    assert message.startswith("products[FEST-DAY-PASS]: ") and "booking.services" in message


def test_a_ticket_for_an_event_its_merchant_does_not_have_is_refused():
    message = refused(lambda d: product(d, "FEST-DAY-PASS").update(event="no-such-event"))
    assert "FEST-DAY-PASS: no event 'no-such-event'" in message


def test_an_opening_is_two_clock_times():
    def change(document):
        weekly = next(m for m in document["merchants"] if m.get("booking"))["booking"]["weekly"]
        weekly["mon"] = [["08:00", "25:00"]]

    assert ".booking.weekly.mon[0][1]: " in refused(change)


def test_every_mistake_is_listed_at_once():
    def change(document):
        merchant(document, "festival")["rules"].update(hold_minuts=5)
        product(document, "FEST-DAY-PASS")["prices"].update(EUR=49.5)

    assert len(refused(change).splitlines()) == 2
