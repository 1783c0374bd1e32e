"""The API functions on real API Gateway REST proxy events (events/*.json), against moto."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import boto3
import pytest
from conftest import TOKEN_KEY, sample, set_header

from caisse.orders import tokens


def body(result: dict) -> dict:
    return json.loads(result["body"])


def checkout_event(items=None, currency="USD", key=None, b64=False) -> dict:
    event = sample("create_checkout")
    payload = json.dumps(
        {
            "items": items or [{"sku": "FEST-DAY-PASS", "quantity": 2}],
            "currency": currency,
            "customer": {"name": "Ada Lovelace", "email": "ada@example.test", "locale": "fr"},
        }
    )
    event["body"] = base64.b64encode(payload.encode()).decode() if b64 else payload
    event["isBase64Encoded"] = b64
    set_header(event, "Idempotency-Key", key)
    return event


def test_health(invoke):
    result = invoke("HealthFunction", sample("health"))
    assert result["statusCode"] == 200
    assert body(result)["status"] == "ok"
    assert "Access-Control-Allow-Origin" not in result["headers"]  # no Origin, no CORS, as the resolver does


def test_health_answers_an_allowed_origin_and_refuses_other_routes(invoke):
    event = sample("health")
    set_header(event, "Origin", "https://shop.example")
    result = invoke("HealthFunction", event)
    assert result["headers"]["Access-Control-Allow-Origin"] == "*"
    assert result["headers"]["Content-Type"] == "application/json"
    wrong = invoke("HealthFunction", sample("health", httpMethod="POST"))
    assert wrong["statusCode"] == 404 and body(wrong)["error"] == "not_found"


def test_catalog(invoke):
    products = body(invoke("ListCatalogFunction", sample("list_catalog")))["products"]
    day = next(p for p in products if p["sku"] == "FEST-DAY-PASS")
    assert day == {
        "sku": "FEST-DAY-PASS",
        "name": "Festival day pass",
        "merchant": "festival",
        "kind": "ticket",
        "description": None,
        "prices": {"USD": 4500, "EUR": 4200},
        "limited": True,
        "remaining": 500,
        "event": {  # what one day pass admits to: local times in the festival's zone
            "id": "sunset-2027",
            "name": "Sunset Festival 2027",
            "start": "2027-07-09T16:00",
            "end": "2027-07-11T23:30",
            "timezone": "Europe/Paris",
            "venue": "Parc de la Villette",
            "address": "211 avenue Jean-Jaurès, 75019 Paris, France",
        },
        "admissions": 1,
    }


@pytest.mark.parametrize("b64", [False, True])
def test_checkout_writes_the_order_before_the_provider_in_four_dynamodb_requests(invoke, dynamodb_calls, b64):
    """The cart and the order number, the pending order with its holds (before any provider is
    asked), then the provider's checkout recorded on it."""
    result = invoke("CreateCheckoutFunction", checkout_event(b64=b64))
    assert result["statusCode"] == 201, result["body"]
    answer = body(result)
    assert answer["total"] == {"amount": 9000, "currency": "USD"}
    assert answer["money_state"] == "unpaid"
    assert dynamodb_calls == ["BatchGetItem", "UpdateItem", "TransactWriteItems", "TransactWriteItems"]
    table = boto3.resource("dynamodb").Table("caisse-test-OrdersTable")
    order = table.get_item(Key={"pk": f"ORDER#{answer['order_id']}", "sk": "ORDER"})["Item"]
    assert order["status"] == "pending_payment" and order["money_state"] == "unpaid"
    assert order["next_action"] == answer["next_action"] and order["provider_ref"].startswith("cs_")
    ref = table.get_item(Key={"pk": f"REF#stripe#{order['provider_ref']}", "sk": "REF"})["Item"]
    assert ref["order_id"] == answer["order_id"]
    assert order["customer"]["locale"] == "fr"
    assert order["total_amount"] == 9000
    hold = table.get_item(Key={"pk": f"ORDER#{answer['order_id']}", "sk": "HOLD#FEST-DAY-PASS"})["Item"]
    assert (hold["quantity"], hold["state"]) == (2, "held")


def test_an_idempotent_replay_also_stays_within_three_requests(invoke, dynamodb_calls):
    first = invoke("CreateCheckoutFunction", checkout_event(key="replay-1"))
    dynamodb_calls.clear()
    second = invoke("CreateCheckoutFunction", checkout_event(key="replay-1"))
    assert body(first) == body(second)
    assert second["multiValueHeaders"]["Idempotent-Replayed"] == ["true"]
    assert len(dynamodb_calls) <= 3


def test_a_checkout_answer_carries_a_token_for_that_order_only(invoke):
    answer = body(invoke("CreateCheckoutFunction", checkout_event()))
    assert tokens.matches(answer["order_id"], answer["order_token"], TOKEN_KEY)
    event = sample("get_order")
    event["path"] = f"/orders/{answer['order_id']}"
    event["pathParameters"] = {"order_id": answer["order_id"]}
    set_header(event, "Authorization", f"Bearer {answer['order_token']}")
    ok = invoke("GetOrderFunction", event)
    assert ok["statusCode"] == 200
    assert body(ok)["status"] == "pending_payment"
    assert body(ok)["next_action"] == answer["next_action"]
    set_header(event, "Authorization", "Bearer " + tokens.issue(answer["order_id"], "another-key"))
    assert invoke("GetOrderFunction", event)["statusCode"] == 404
    set_header(event, "Authorization", None)
    assert invoke("GetOrderFunction", event)["statusCode"] == 401


def test_validation_errors_name_the_field(invoke):
    event = checkout_event(items=[{"sku": "FEST-DAY-PASS", "quantity": 0}])
    result = invoke("CreateCheckoutFunction", event)
    assert result["statusCode"] == 422
    assert body(result)["details"][0]["field"] == "items.0.quantity"


def admin_event(name: str, order_id: str, merchant: str | None, **changes) -> dict:
    event = sample(name)
    event["path"] = event["path"].replace(event["pathParameters"]["order_id"], order_id)
    event["pathParameters"] = {"order_id": order_id}
    claims = event["requestContext"]["authorizer"]["claims"]
    if merchant is None:
        claims.pop("custom:merchant_id")
        claims["cognito:groups"] = "platform-admin"
    else:
        claims["custom:merchant_id"] = merchant
    event.update(changes)
    return event


def test_admin_routes_read_the_authorizer_claims(invoke):
    order_id = body(invoke("CreateCheckoutFunction", checkout_event()))["order_id"]
    festival = invoke("AdminGetOrderFunction", admin_event("admin_get_order", order_id, "festival"))
    assert festival["statusCode"] == 200
    assert body(festival)["customer"]["email"] == "ada@example.test"
    songstudio = invoke("AdminGetOrderFunction", admin_event("admin_get_order", order_id, "songstudio"))
    assert songstudio["statusCode"] == 403
    platform = invoke(
        "AdminUpdateOrderStatusFunction",
        admin_event("admin_update_order_status", order_id, None, body=json.dumps({"status": "cancelled"})),
    )
    assert platform["statusCode"] == 200, platform["body"]
    history = body(platform)["history"]
    assert history[-1]["to"] == "cancelled"
    assert history[-1]["by"] == "staff:8d1c2f3e-0000-4000-8000-000000000001"


# (function, its sample event, the dated query parameter, a date it reads within the sample's range)
DATED_QUERIES = [
    ("AdminListOrdersFunction", "admin_list_orders", "created_from", "2026-11-07T09:30:00+01:00"),
    ("AdminListOrdersFunction", "admin_list_orders", "created_to", "2026-11-07"),
    ("AdminExportOrdersFunction", "admin_export_orders", "created_to", "2026-11-07"),
    ("AdminGetFiguresFunction", "admin_get_figures", "from", "2026-11-07"),
    ("AdminListBookingsFunction", "admin_list_bookings", "to", "2026-12-07"),
    ("GetAvailabilityFunction", "get_availability", "date", "2027-03-02"),
]


def with_query(name: str, **query: str) -> dict:
    event = sample(name)
    parameters = {**(event.get("queryStringParameters") or {}), **query}
    event["queryStringParameters"] = parameters
    event["multiValueQueryStringParameters"] = {key: [value] for key, value in parameters.items()}
    return event


@pytest.mark.parametrize(("function", "name", "parameter", "written"), DATED_QUERIES)
def test_a_date_written_as_a_number_is_refused_not_taken_for_unix_time(invoke, function, name, parameter, written):
    # pydantic alone reads "0" as 1970-01-01 and answers 200 with nothing in it (found by fuzzing);
    # tests/unit/test_date_input.py tries more numbers on the types themselves.
    for number in ("0", "0.5", "1764633600"):
        result = invoke(function, with_query(name, **{parameter: number}))
        assert result["statusCode"] == 422, result["body"]
        detail = body(result)["details"][0]
        assert detail["field"] == f"query.{parameter}" and detail["message"].startswith("write a date as YYYY-MM-DD")
    result = invoke(function, with_query(name, **{parameter: written}))
    assert result["statusCode"] == 200, result["body"]


def test_a_bookings_start_given_as_a_number_is_refused(invoke):
    event = checkout_event()
    payload = json.loads(event["body"])
    payload["booking"] = {"merchant": "fixit-plumbing", "service": "callout", "start": 1796169600}
    payload.pop("items")
    event["body"] = json.dumps(payload)
    result = invoke("CreateCheckoutFunction", event)
    assert result["statusCode"] == 422, result["body"]
    assert body(result)["details"][0]["field"] == "booking.start"


def test_a_range_ending_on_a_day_lists_that_days_orders(invoke):
    # What the console's date fields send: created_from and created_to as YYYY-MM-DD. The upper
    # bound is the whole day; read as its midnight it left out every order of that day.
    order_id = body(invoke("CreateCheckoutFunction", checkout_event()))["order_id"]
    today = datetime.now(UTC).date().isoformat()
    event = with_query("admin_list_orders", created_from=today, created_to=today)
    del event["queryStringParameters"]["q"], event["multiValueQueryStringParameters"]["q"]
    result = invoke("AdminListOrdersFunction", event)
    assert result["statusCode"] == 200, result["body"]
    assert [row["order_id"] for row in body(result)["orders"]] == [order_id]
