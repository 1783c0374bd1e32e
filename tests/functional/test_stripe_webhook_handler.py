"""The Stripe webhook function on API Gateway events with base64 and plain bodies, any header case."""

from __future__ import annotations

import base64
import json
import time

import boto3
import pytest
from conftest import WEBHOOK_SECRET, sample, set_header

from provider_sandbox.signing import sign


def checkout(invoke) -> dict:
    event = sample("create_checkout")
    set_header(event, "Idempotency-Key", None)
    result = invoke("CreateCheckoutFunction", event)
    assert result["statusCode"] == 201, result["body"]
    return json.loads(result["body"])


def webhook_event(payload: bytes, signature: str | None, *, b64: bool, header: str = "Stripe-Signature") -> dict:
    event = sample("stripe_webhook")
    event["body"] = base64.b64encode(payload).decode() if b64 else payload.decode()
    event["isBase64Encoded"] = b64
    set_header(event, "Stripe-Signature", None)
    if signature is not None:
        set_header(event, header, signature)
    return event


def completed(order: dict, event_id: str, amount: int | None = None) -> bytes:
    session = {
        "id": order["next_action"]["url"].rsplit("/", 1)[1],
        "object": "checkout.session",
        "client_reference_id": order["order_id"],
        "payment_status": "paid",
        "amount_total": order["total"]["amount"] if amount is None else amount,
        "currency": order["total"]["currency"].lower(),
        "payment_intent": "pi_functional",
    }
    event = {"id": event_id, "object": "event", "type": "checkout.session.completed", "data": {"object": session}}
    return json.dumps(event, separators=(",", ":")).encode()


def status(order_id: str) -> str:
    table = boto3.resource("dynamodb").Table("caisse-test-OrdersTable")
    return table.get_item(Key={"pk": f"ORDER#{order_id}", "sk": "ORDER"})["Item"]["status"]


@pytest.mark.parametrize(("b64", "header"), [(True, "Stripe-Signature"), (False, "stripe-signature")])
def test_a_signed_event_settles_with_three_dynamodb_requests(invoke, dynamodb_calls, b64, header):
    order = checkout(invoke)
    payload = completed(order, f"evt_{b64}_{header}")
    dynamodb_calls.clear()
    result = invoke(
        "StripeWebhookFunction", webhook_event(payload, sign(payload, WEBHOOK_SECRET), b64=b64, header=header)
    )
    assert result["statusCode"] == 200, result["body"]
    assert json.loads(result["body"]) == {"received": True, "result": "moved"}
    assert dynamodb_calls == ["PutItem", "Query", "TransactWriteItems"]
    assert status(order["order_id"]) == "paid"

    dynamodb_calls.clear()
    again = invoke("StripeWebhookFunction", webhook_event(payload, sign(payload, WEBHOOK_SECRET), b64=b64))
    assert json.loads(again["body"])["result"] == "duplicate"
    assert dynamodb_calls == ["PutItem"]


def test_a_forgery_is_400_a_security_event_and_no_request_at_all(invoke, dynamodb_calls, capsys, caplog):
    order = checkout(invoke)
    payload = completed(order, "evt_forged")
    forged = payload.replace(b'"paid"', b'"PAID"')
    dynamodb_calls.clear()
    result = invoke("StripeWebhookFunction", webhook_event(forged, sign(payload, WEBHOOK_SECRET), b64=True))
    assert result["statusCode"] == 400
    assert dynamodb_calls == []
    security = [r for r in caplog.records if getattr(r, "security_event", None) == "webhook_verification_failed"]
    assert security and security[0].provider == "stripe"
    assert "WebhookVerificationFailed" in capsys.readouterr().out  # the EMF metric line
    assert status(order["order_id"]) == "pending_payment"


def test_a_stale_signature_is_refused(invoke):
    order = checkout(invoke)
    payload = completed(order, "evt_stale")
    old = sign(payload, WEBHOOK_SECRET, int(time.time()) - 301)
    assert invoke("StripeWebhookFunction", webhook_event(payload, old, b64=False))["statusCode"] == 400


def test_an_amount_mismatch_flags_the_order(invoke):
    order = checkout(invoke)
    payload = completed(order, "evt_short", amount=1)
    result = invoke("StripeWebhookFunction", webhook_event(payload, sign(payload, WEBHOOK_SECRET), b64=False))
    assert json.loads(result["body"])["result"] == "flagged"
    assert status(order["order_id"]) == "needs_review"
