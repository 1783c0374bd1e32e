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
