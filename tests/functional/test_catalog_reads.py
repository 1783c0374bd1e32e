"""GET /catalog reads the catalog's own items only (Queries of its by_parent index, never a Scan of
a table that also holds one attempt-limit record per client per 15 minutes), and a warm function
keeps what it read for 30 s (CatalogCacheSeconds in template.yaml)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from conftest import sample

from caisse.catalog.models import CatalogRecord, CheckoutAttempts
from caisse.clock import utcnow


@pytest.fixture
def reads(aws) -> Iterator[list[tuple[str, int]]]:
    """Each DynamoDB request the catalog's model sends, with how many items DynamoDB looked at."""
    client = CatalogRecord._get_connection().connection.client
    seen: list[tuple[str, int]] = []

    def after(http_response, parsed, model, **_) -> None:
        seen.append((model.name, int(parsed.get("ScannedCount", parsed.get("Count", 0)))))

    client.meta.events.register("after-call.dynamodb", after, unique_id="catalog-reads")
    yield seen
    client.meta.events.unregister("after-call.dynamodb", unique_id="catalog-reads")


def catalog(invoke) -> dict:
    result = invoke("ListCatalogFunction", sample("list_catalog"))
    assert result["statusCode"] == 200
    return json.loads(result["body"])


def add_attempt_records(count: int) -> None:
    """What `count` clients starting checkouts at Ouaga Live leave in the catalog table."""
    window = int(time.time()) // 900
    with CheckoutAttempts.batch_write() as batch:
        for client in range(count):
            key = CheckoutAttempts.key("ouagalive", f"{client:032x}", window)
            batch.save(CheckoutAttempts(key, attempts=1, expires_at=utcnow()))


def test_300_attempt_records_change_neither_what_nor_how_much_the_catalog_reads(aws, invoke, reads):
    from caisse.catalog.service import forget_offers

    before = catalog(invoke)
    read_before = list(reads)
    add_attempt_records(300)
    forget_offers()  # a cold function: it reads again
    reads.clear()
    after = catalog(invoke)
    assert after == before
    assert reads == read_before
    assert {operation for operation, _ in reads} == {"Query"}
    assert sum(items for _, items in reads) < 300
    assert any(p["sku"] == "FEST-DAY-PASS" for p in after["products"])


def test_a_warm_function_answers_from_what_it_read_for_30_seconds(aws, invoke, reads, monkeypatch):
    from caisse.catalog import service

    first = catalog(invoke)
    assert reads  # it read the catalog
    reads.clear()
    assert catalog(invoke) == first
    assert reads == []  # no request at all
    later = time.monotonic() + 31
    monkeypatch.setattr(service.time, "monotonic", lambda: later)
    assert catalog(invoke) == first
    assert reads and {operation for operation, _ in reads} == {"Query"}
