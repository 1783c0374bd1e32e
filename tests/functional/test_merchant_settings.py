"""A merchant's settings change on the emulated catalog table: a change that raced another is
refused and records nothing; the default language must be one the merchant works in; the same
values again write nothing."""

from __future__ import annotations

import pytest

from caisse.catalog.merchant_settings import change_settings, list_changes, record_change
from caisse.catalog.models import Merchant
from caisse.catalog.schemas import MerchantSettingsUpdate
from caisse.catalog.service import get_merchant
from caisse.errors import Conflict, InvalidRequest
from caisse.staff import Staff

STAFF = Staff(subject="s-1", email=None, merchant="lumen", platform=False)


def test_a_change_that_raced_another_is_refused_and_records_nothing(aws):
    stale = get_merchant("lumen")
    change_settings("lumen", STAFF, MerchantSettingsUpdate(name="Lumen Studio"))
    stale.name = "Lumen Again"
    with pytest.raises(Conflict, match="changed in the meantime"):
        record_change(stale, STAFF, {"name": ("Lumen Photography", "Lumen Again")}, [Merchant.name.set("Lumen Again")])
    assert get_merchant("lumen").name == "Lumen Studio"
    assert [c["changes"]["name"]["new"] for c in list_changes("lumen", STAFF)["changes"]] == ["Lumen Studio"]


def test_the_default_language_is_one_the_merchant_works_in_and_the_same_again_is_no_change(aws):
    with pytest.raises(InvalidRequest, match="default_locale"):
        change_settings("lumen", STAFF, MerchantSettingsUpdate(default_locale="fr"))
    answer = change_settings("lumen", STAFF, MerchantSettingsUpdate(languages=["en", "fr"], default_locale="fr"))
    assert (answer["languages"], answer["default_locale"]) == (["en", "fr"], "fr")
    change_settings("lumen", STAFF, MerchantSettingsUpdate(languages=["en", "fr"], new_order_email=True))
    [change] = list_changes("lumen", STAFF)["changes"]
    assert change["fields"] == ["default_locale", "languages"]
