"""Seeding a catalog with a mistake in it writes nothing, not the merchants before the mistake."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import boto3
import pytest

from caisse.catalog.document import CatalogError
from caisse.catalog.service import seed

CATALOG = json.loads((Path(__file__).resolve().parents[2] / "data" / "catalog.json").read_text())


def catalog_records() -> list[dict]:
    table = boto3.resource("dynamodb").Table(os.environ["CATALOG_TABLE"])
    return sorted(table.scan()["Items"], key=lambda item: json.dumps(item, sort_keys=True, default=str))


def test_a_catalog_with_a_typo_in_its_last_product_writes_nothing(aws):
    before = catalog_records()
    document = copy.deepcopy(CATALOG)
    for merchant in document["merchants"]:
        merchant["name"] += " (renamed)"  # what a successful seed would write first
    document["products"][-1]["prices"] = {"USD": "12.00"}
    with pytest.raises(CatalogError, match=r"products\[.+\]\.prices\.USD"):
        seed(document)
    assert catalog_records() == before


def test_a_seed_keeps_what_staff_set_and_products_carry_it(aws):
    """Settings staff changed (name, staff address, time zone, language, refund policy) reach the
    products' copies at once, and seeding the file again keeps the settings staff own with the
    copies matching them."""
    from caisse.catalog.merchant_settings import change_settings, list_changes, refund_policy
    from caisse.catalog.models import Product
    from caisse.catalog.schemas import MerchantSettingsUpdate
    from caisse.catalog.service import get_merchant
    from caisse.staff import Staff

    staff = Staff(subject="s-1", email=None, merchant="songstudio", platform=False)
    update = MerchantSettingsUpdate(
        name="Song Studio Douala",
        staff_email="studio@songs.example",
        timezone="Europe/Paris",
        refund_policy={"writing": 80},
    )
    change_settings("songstudio", staff, update)
    product = Product.get(Product.key("SONG-STANDARD"), consistent_read=True)
    assert product.merchant_contact.as_dict()["name"] == "Song Studio Douala"
    assert product.merchant_contact.as_dict()["timezone"] == "Europe/Paris"
    assert product.merchant_rules.as_dict()["refund_policy"]["writing"] == 80
    assert product.merchant_rules.as_dict()["capacity"]["timezone"] == "Europe/Paris"  # days counted there
    [change] = list_changes("songstudio", staff)["changes"]
    assert change["by"] == "staff:s-1" and change["fields"] == ["name", "refund_policy", "staff_email", "timezone"]

    seed(copy.deepcopy(CATALOG))
    product = Product.get(Product.key("SONG-STANDARD"), consistent_read=True)
    contact = product.merchant_contact.as_dict()
    assert (contact["name"], contact["staff_email"], contact["timezone"]) == (
        "Song Studio Douala",
        "studio@songs.example",
        "Europe/Paris",
    )
    assert product.merchant_rules.as_dict()["capacity"]["timezone"] == "Europe/Paris"
    fixit = Staff(subject="s-2", email=None, merchant="fixit-plumbing", platform=False)
    change_settings("fixit-plumbing", fixit, MerchantSettingsUpdate(refund_policy={"paid": 60}))
    seed(copy.deepcopy(CATALOG))
    assert refund_policy(get_merchant("fixit-plumbing")) == {"paid": 60, "scheduled": 100, "job_done": 0}


def test_a_seed_keeps_an_event_staff_changed_and_its_tickets_carry_the_change(aws):
    """A festival put back a day by staff (its holders told) is not put back again by the next
    seed of the file: the event, and the copy its ticket products give new buyers, keep the change."""
    from caisse.catalog.events import change_event
    from caisse.catalog.models import Event, Product
    from caisse.staff import Staff

    staff = Staff(subject="s-3", email=None, merchant="festival", platform=False)
    change_event(
        "festival", "sunset-2027", staff, {"start": "2027-07-10T16:00"}, issued=lambda *_: True, tell_holders=True
    )
    seed(copy.deepcopy(CATALOG))
    event = Event.get(Event.key("festival", "sunset-2027"), consistent_read=True)
    assert (event.start, int(event.revision), int(event.told)) == ("2027-07-10T16:00", 1, 0)
    copied = Product.get(Product.key("FEST-WEEKEND-PASS"), consistent_read=True).event.as_dict()
    assert (copied["start"], copied["venue"], copied["revision"]) == ("2027-07-10T16:00", "Parc de la Villette", 1)


def test_a_seed_keeps_the_questions_staff_set_on_a_product(aws):
    """The file gives a product its first questionnaire; once staff change it in the console, seeding
    the file again leaves their questions."""
    from caisse.catalog.admin import update_product
    from caisse.catalog.models import Product
    from caisse.staff import Staff

    staff = Staff(subject="s-1", email=None, merchant="songstudio", platform=False)
    short = [{"name": "for_whom", "type": "text", "max_length": 80, "label": {"en": "For whom?", "fr": "Pour qui ?"}}]
    update_product("SONG-EXPRESS", staff, {"questionnaire": short})
    seed(copy.deepcopy(CATALOG))
    assert json.loads(Product.get(Product.key("SONG-EXPRESS"), consistent_read=True).questionnaire) == short
    untouched = json.loads(Product.get(Product.key("SONG-STANDARD"), consistent_read=True).questionnaire)
    assert {"occasion", "story"} <= {question["name"] for question in untouched}  # the file's, as before


def test_a_seed_does_not_bring_back_questions_staff_took_away(aws):
    """Staff stop asking anything at SONG-STANDARD's checkout; seeding the file again keeps it that
    way, and its checkout, the catalog and the console see no questions."""
    from caisse.catalog.admin import product_admin_view, update_product
    from caisse.catalog.models import Product
    from caisse.catalog.service import price_cart
    from caisse.staff import Staff

    staff = Staff(subject="s-1", email=None, merchant="songstudio", platform=False)
    assert update_product("SONG-STANDARD", staff, {"questionnaire": []})["questionnaire"] is None
    seed(copy.deepcopy(CATALOG))
    product = Product.get(Product.key("SONG-STANDARD"), consistent_read=True)
    assert product.questionnaire is None and product_admin_view(product)["questionnaire"] is None
    cart = price_cart({"SONG-STANDARD": product}, [("SONG-STANDARD", 1)], "USD")
    assert cart.questionnaire is None  # a checkout asks nothing and needs no answers
