"""Issue 11: what a hostile client sends gets a 4xx with the usual error body, and nothing is
written: bodies that are not UTF-8 or nested past any parser on every JSON route, amounts no
provider takes, Stripe refusing an amount, and addresses SES cannot send to."""

from __future__ import annotations

import json
import uuid

import pytest
from e2e_support import ROOT, count_orders, customer, platform_token

NOT_UTF8 = b'{"name": "\xff\xfe caf\xe9"}'
DEEP = b"[" * 20_000 + b"]" * 20_000
STAFF = {"Authorization": f"Bearer {platform_token()}"}
FIXIT = "fixit-plumbing"


def json_routes() -> list[tuple[str, str, bool]]:
    """(method, path with ids filled in, staff) for every operation of the document taking a body."""
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    import openapi

    routes = []
    for path, operations in openapi.build()["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                filled = path.replace("{merchant_id}", FIXIT)
                while "{" in filled:
                    start, end = filled.index("{"), filled.index("}")
                    filled = filled[:start] + str(uuid.uuid4()) + filled[end + 1 :]
                routes.append((method.upper(), filled, "security" in operation))
    return routes


ROUTES = json_routes()


@pytest.mark.parametrize(("method", "path", "staff"), ROUTES, ids=[f"{m} {p.split('/')[1]}" for m, p, _ in ROUTES])
@pytest.mark.parametrize("body", [NOT_UTF8, DEEP], ids=["not-utf8", "nested-20000"])
def test_every_json_route_answers_a_body_it_cannot_read_with_400(api, stack, method, path, staff, body):
    before = count_orders(stack)
    headers = {"Content-Type": "application/json", **(STAFF if staff else {})}
    answer = api.request(method, path, content=body, headers=headers)
    assert answer.status_code == 400, (path, answer.status_code, answer.text)
    assert answer.json()["error"] == "malformed_json" and answer.json()["message"]
    assert count_orders(stack) == before


def test_a_service_price_no_provider_takes_is_refused_and_not_stored(api, stack):
    service = f"huge-{uuid.uuid4().hex[:6]}"
    path = f"/admin/merchants/{FIXIT}/services/{service}"
    body = {"name": "Huge", "duration_minutes": 60, "currency": "AUD", "full_price": 10**30, "deposit": {"percent": 10}}
    answer = api.put(path, json=body, headers=STAFF)
    assert answer.status_code == 422, answer.text
    raw = json.dumps(body).replace(str(10**30), "1e30").encode()
    answer = api.put(path, content=raw, headers={"Content-Type": "application/json", **STAFF})
    assert answer.status_code == 422, answer.text
    assert stack.table("CatalogTable").get_item(Key={"pk": f"SERVICE#{FIXIT}#{service}"}).get("Item") is None
    # Nothing stored: the catalog has no such service, and booking it is a 4xx, never a 502.
    booked = api.post(
        "/checkouts",
        json={
            "booking": {"merchant": FIXIT, "service": service, "start": "2027-03-30T09:00:00+11:00"},
            "currency": "AUD",
            "customer": customer(),
        },
    )
    assert 400 <= booked.status_code < 500, booked.text


def test_a_balance_of_1e30_is_a_422_before_anything_is_charged(api, stack):
    order_id = str(uuid.uuid4())
    path = f"/admin/bookings/{order_id}/charge-balance"
    for raw in (b'{"final_amount": 1e30}', b'{"final_amount": 1000000000000000000000000000000}'):
        answer = api.post(path, content=raw, headers={"Content-Type": "application/json", **STAFF})
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"] in ("invalid_request", "amount_too_large")


def pending_orders(stack) -> int:
    answer = stack.table("OrdersTable").scan(
        Select="COUNT",
        FilterExpression="sk = :order AND #s = :pending",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":order": "ORDER", ":pending": "pending_payment"},
        ConsistentRead=True,
    )
    return answer["Count"]


def test_stripe_refusing_an_amount_is_a_422_with_its_reason_not_did_not_answer(api, stack):
    before = pending_orders(stack)
    stack.sandbox_config(
        provider_faults=[{"path": "/v1/checkout/sessions", "status": 400, "count": 1, "code": "amount_too_large"}]
    )
    answer = api.post(
        "/checkouts",
        json={"items": [{"sku": "FEST-DAY-PASS", "quantity": 1}], "currency": "USD", "customer": customer()},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "amount_too_large"
    assert "did not answer" not in answer.json()["message"] and "nothing was charged" in answer.json()["message"]
    # The order saved before the provider call (order before money) is cancelled, its stock back.
    assert pending_orders(stack) == before


@pytest.mark.parametrize(
    "email",
    [
        "first,second@example.test",
        "nul\x00byte@example.test",
        '"quoted"@example.test',
        "ünicode@example.test",
        "ada@[127.0.0.1]",
    ],
)
def test_an_address_ses_cannot_send_to_is_a_422_at_checkout_and_nothing_is_written(api, stack, email):
    before = count_orders(stack)
    answer = api.post(
        "/checkouts",
        json={
            "items": [{"sku": "FEST-DAY-PASS", "quantity": 1}],
            "currency": "USD",
            "customer": {"name": "Ada", "email": email},
        },
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "invalid_request"
    assert "customer.email" in answer.json()["message"]
    assert count_orders(stack) == before
