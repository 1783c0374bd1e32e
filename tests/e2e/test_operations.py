"""What an operator relies on, through the local stack: /health tells when DynamoDB fails, every
answer carries the security headers, an error nobody expected is a JSON 500 with the request id
(its trace in the log, never in the answer), and one correlation id follows an order through the
log lines of every function it passes through."""

from __future__ import annotations

import json

from e2e_support import aws_faults, emails_for, pay, start, wait_for

from caisse.orders.models import ORDER_SK, order_pk
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
            "parent": "MERCHANT#songstudio",  # listed by GET /catalog's Query of the by_parent index
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


def _log_records(stack, since: int) -> list[dict]:
    """The functions' JSON log lines (Powertools) written since that line of the stack's output."""
    records = []
    for line in stack.output[since:]:
        if line.startswith("{"):
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
    return records


def test_one_correlation_id_follows_an_order_from_checkout_to_email(api, stack):
    """What one Logs Insights query on `correlation_id` finds for an order: the checkout that created
    it, the Stripe webhook that settled it, the stream consumer that queued its emails and the email
    function that sent them; and nothing of another order paid at the same time."""
    since = len(stack.output)
    first, second = start(api), start(api)
    for order in (first, second):
        pay(stack, order)
    stack.flush_deliveries()
    for order in (first, second):
        wait_for(lambda o=order: emails_for(stack, o["order_id"], "order_confirmed"), what="the confirmation email")
    orders = stack.table("OrdersTable")
    ids = {
        order["order_id"]: orders.get_item(Key={"pk": order_pk(order["order_id"]), "sk": ORDER_SK})["Item"]["cid"]
        for order in (first, second)
    }
    assert len(set(ids.values())) == 2, ids

    def services(correlation_id: str) -> set[str]:
        return {r.get("service") for r in _log_records(stack, since) if r.get("correlation_id") == correlation_id}

    everywhere = {"checkout", "stripe-webhook", "notify-order-changes", "send-email"}
    for correlation_id in ids.values():
        wait_for(lambda c=correlation_id: everywhere <= services(c), what=f"every function's lines of {correlation_id}")
    for order_id, correlation_id in ids.items():
        [other] = [o for o in ids if o != order_id]
        lines = [r for r in _log_records(stack, since) if r.get("correlation_id") == correlation_id]
        assert other not in json.dumps(lines)
        assert order_id in json.dumps([r for r in lines if r["service"] == "checkout"])
        settled = [
            r for r in lines if r["service"] == "stripe-webhook" and r.get("message") == "provider event settled"
        ]
        assert settled and {r["order_id"] for r in settled} == {order_id}, settled
        emailed = [r for r in lines if r["service"] == "send-email" and r.get("message") == "email handled"]
        assert f"order:{order_id}:" in json.dumps(emailed), emailed
