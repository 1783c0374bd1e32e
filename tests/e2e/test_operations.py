"""What an operator relies on, through the local stack: /health tells when DynamoDB fails, every
answer carries the security headers, and an error nobody expected is a JSON 500 with the request id
(its trace in the log, never in the answer)."""

from __future__ import annotations

import json

from e2e_support import aws_faults, start

from caisse.pages import HEADERS


def test_health_answers_503_while_dynamodb_fails_and_200_once_it_is_back(api, stack):
    assert api.get("/health").json()["checks"] == {"configuration": "ok", "dynamodb": "ok"}
    aws_faults(stack, service="dynamodb", operation="GetItem", status=500, code="InternalServerError", count=None)
    try:
        failing = api.get("/health")
    finally:
        aws_faults(stack)
    assert failing.status_code == 503
    assert failing.json()["error"] == "service_unavailable"
    assert failing.json()["checks"] == {"configuration": "ok", "dynamodb": "failed"}
    assert "dynamodb" in failing.json()["message"]
    back = api.get("/health")
    assert back.status_code == 200 and back.json()["status"] == "ok"


def _hardened(answer) -> bool:
    return all(answer.headers.get(name) == value for name, value in HEADERS.items())


def test_every_kind_of_api_answer_carries_the_security_headers(api, stack):
    checkout = start(api)
    answers = {
        "health": api.get("/health"),
        "catalog": api.get("/catalog"),
        "created": api.post("/checkouts", json={"items": []}),
        "order": api.get(
            f"/orders/{checkout['order_id']}", headers={"Authorization": f"Bearer {checkout['order_token']}"}
        ),
        "wrong token": api.get(f"/orders/{checkout['order_id']}", headers={"Authorization": "Bearer nope"}),
        "not json": api.post("/checkouts", content=b"hello", headers={"Content-Type": "text/plain"}),
        "forged webhook": api.post(
            "/webhooks/stripe",
            content=b"{}",
            headers={"Stripe-Signature": "t=1,v1=00", "Content-Type": "application/json"},
        ),
        "campay callback": api.get("/webhooks/campay", params={"status": "SUCCESSFUL"}),
        "order page": api.get(f"/order/{checkout['order_id']}"),
    }
    statuses = {name: answer.status_code for name, answer in answers.items()}
    assert {200, 400, 404, 415, 422} <= set(statuses.values()), statuses
    assert [name for name, answer in answers.items() if not _hardened(answer)] == []


def test_an_unexpected_error_is_a_json_500_with_the_request_id_and_no_trace(api, stack):
    """A product whose price is not a number (written straight to the table, as a bad migration
    would) breaks GET /catalog in a way no handler expects."""
    catalog = stack.table("CatalogTable")
    catalog.put_item(
        Item={
            "pk": "PRODUCT#BROKEN-PRICE",
            "type": "product",
            "sku": "BROKEN-PRICE",
            "merchant": "songstudio",
            "name": "Broken",
            "kind": "digital",
            "prices": {"USD": "twelve dollars"},
            "order_prefix": "BRK",
        }
    )
    lines_before = len(stack.output)
    try:
        answer = api.get("/catalog")
    finally:
        catalog.delete_item(Key={"pk": "PRODUCT#BROKEN-PRICE"})
    assert answer.status_code == 500
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert body["error"] == "internal_error" and body["request_id"]
    assert set(body) == {"error", "message", "request_id"}
    assert "Traceback" not in answer.text and "ValueError" not in answer.text and "twelve" not in answer.text
    assert _hardened(answer)
    # The trace is in the function's log, under the same request id.
    logged = [
        json.loads(line) for line in stack.output[lines_before:] if line.startswith("{") and "unexpected error" in line
    ]
    assert any(
        record.get("correlation_id") == body["request_id"] and "ValueError" in str(record.get("exception"))
        for record in logged
    ), logged
    assert api.get("/catalog").status_code == 200
