"""Checkout rules a shop relies on: prices from the server, stock never oversold, retries safe,
and bad input answered clearly with nothing written."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from e2e_support import add_product, count_orders, customer, order_status


def checkout_body(sku: str, quantity=1, currency="USD", **extra) -> dict:
    return {"items": [{"sku": sku, "quantity": quantity}], "currency": currency, "customer": customer(), **extra}


def expiry_sent(stack, order_id: str) -> bool:
    events = httpx.get(
        f"{stack.sandbox}/_sandbox/events", params={"type": "checkout.session.expired"}, timeout=5
    ).json()
    return any(e["data"]["object"]["client_reference_id"] == order_id for e in events)


def remaining(api, sku: str) -> int:
    return next(p for p in api.get("/catalog").json()["products"] if p["sku"] == sku)["remaining"]


def test_thirty_concurrent_checkouts_for_ten_left_sell_exactly_ten(api, stack):
    sku = f"E2E-LIMITED-{time.time_ns()}"
    add_product(stack, sku, stock=10)

    def buy(_):
        return api.post("/checkouts", json=checkout_body(sku))

    with ThreadPoolExecutor(30) as pool:
        answers = list(pool.map(buy, range(30)))
    codes = sorted(a.status_code for a in answers)
    assert codes.count(201) == 10, codes
    assert codes.count(409) == 20, codes
    for answer in answers:
        if answer.status_code == 409:
            assert answer.json()["error"] == "sold_out"
            assert "sold out" in answer.json()["message"]
    assert remaining(api, sku) == 0
    stock = stack.table("CatalogTable").get_item(Key={"pk": f"PRODUCT#{sku}"}, ConsistentRead=True)["Item"]["stock"]
    assert stock == 0


def test_the_price_comes_from_the_catalog_not_the_browser(api):
    answer = api.post("/checkouts", json={**checkout_body("SONG-STANDARD"), "total": 1})
    assert answer.status_code == 422  # unknown fields are refused, never trusted


def test_the_same_idempotency_key_twice_gives_one_order_and_the_same_answer(api, stack):
    key = str(uuid.uuid4())
    first = api.post("/checkouts", json=checkout_body("FEST-DONATION-10", 3), headers={"Idempotency-Key": key})
    second = api.post("/checkouts", json=checkout_body("FEST-DONATION-10", 3), headers={"Idempotency-Key": key})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    orders = stack.table("OrdersTable").scan(
        FilterExpression="#t = :order AND order_id = :id",
        ExpressionAttributeNames={"#t": "type"},
        ExpressionAttributeValues={":order": "order", ":id": first.json()["order_id"]},
        ConsistentRead=True,
    )["Items"]
    assert len(orders) == 1
    # the order, its first history entry, its product line: nothing more for the replay
    # The retry was answered from the first read: no second provider checkout was opened (and
    # none closed), the order is still waiting for payment, with nothing added to it.
    order_id = first.json()["order_id"]
    assert not expiry_sent(stack, order_id)
    assert order_status(api, first.json()) == "pending_payment"
    items = stack.table("OrdersTable").query(
        KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": f"ORDER#{order_id}"}, ConsistentRead=True
    )["Items"]
    assert sorted(item["sk"] for item in items) == ["HISTORY#000001", "LINE#FEST-DONATION-10", "ORDER"]
    reused = api.post("/checkouts", json=checkout_body("FEST-DONATION-10", 4), headers={"Idempotency-Key": key})
    assert reused.status_code == 422
    assert reused.json()["error"] == "idempotency_key_reused"


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (b'{"items": [', 400, "malformed_json"),
        (checkout_body("NO-SUCH-SKU"), 422, "unknown_sku"),
        (checkout_body("SONG-STANDARD", quantity=0), 422, "invalid_request"),
        (checkout_body("SONG-STANDARD", quantity=-2), 422, "invalid_request"),
        (checkout_body("SONG-STANDARD", quantity=1.5), 422, "invalid_request"),
        (checkout_body("SONG-STANDARD", currency="EUR"), 422, "currency_not_offered"),
        (checkout_body("SONG-STANDARD", currency="usd"), 422, "invalid_request"),
        ({"items": [], "currency": "USD", "customer": customer()}, 422, "invalid_request"),
        (
            {**checkout_body("SONG-STANDARD"), "customer": {"name": "A", "email": "not-an-email"}},
            422,
            "invalid_request",
        ),
        ({**checkout_body("SONG-STANDARD"), "provider": "bank-transfer"}, 422, "invalid_request"),
        (b"x" * (70 * 1024), 413, "payload_too_large"),
    ],
)
def test_bad_input_gets_a_readable_4xx_and_nothing_is_written(api, stack, body, status, error):
    before = count_orders(stack)
    if isinstance(body, bytes):
        answer = api.post("/checkouts", content=body, headers={"Content-Type": "application/json"})
    else:
        answer = api.post("/checkouts", json=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == error
    assert answer.json()["message"]
    assert count_orders(stack) == before


def test_a_body_that_is_not_json_is_refused_with_415(api):
    answer = api.post("/checkouts", content=b"sku=SONG-STANDARD", headers={"Content-Type": "text/plain"})
    assert answer.status_code == 415
