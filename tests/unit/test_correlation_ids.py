"""Correlation ids (caisse.observability): which id each kind of event is logged under, and that
functions running side by side on threads (as the local stack runs them) never log each other's."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from aws_lambda_powertools.utilities.typing import LambdaContext

from caisse.observability import correlation_id, correlation_of, observability

EVENTS = Path(__file__).resolve().parents[2] / "events"
CHECKOUT_REQUEST = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"


def _sample(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text())


def test_each_kind_of_event_names_the_id_it_is_logged_under():
    assert correlation_of(_sample("create_checkout")) == CHECKOUT_REQUEST  # API Gateway's request id
    assert correlation_of(_sample("stripe_webhook")) == CHECKOUT_REQUEST
    assert correlation_of(_sample("expire_checkouts")) == "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"  # EventBridge
    assert correlation_of(_sample("email_feedback")) == "95df01b4-ee98-5cb9-9903-4c221d41eb5e"  # the SNS message
    assert (
        correlation_of(_sample("process_image"))
        == _sample("process_image")["Records"][0]["responseElements"]["x-amz-request-id"]
    )
    # Batches: each record carries the order's id (its stream image, its message's attribute).
    [change] = _sample("notify_order_changes")["Records"]
    assert correlation_of(change) == CHECKOUT_REQUEST
    [message] = _sample("send_email")["Records"]
    assert correlation_of(message) == CHECKOUT_REQUEST
    assert correlation_of({**message, "messageAttributes": {}}) == message["messageId"]
    assert correlation_of({"Records": [change, message]}) is None  # set per record by the function


class _Context(LambdaContext):
    def __init__(self, request_id: str) -> None:
        self._function_name = "test"
        self._memory_limit_in_mb = 128
        self._invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
        self._aws_request_id = request_id


def test_functions_on_threads_side_by_side_log_their_own_ids(capsys):
    logger, _, _ = observability("correlation-test")  # logs to stdout, captured
    started = threading.Barrier(2)

    @logger.inject_lambda_context
    def function(event, context):
        started.wait(timeout=5)  # both invocations are under way before either logs
        logger.warning("working", extra={"expected": event["requestContext"]["requestId"]})
        return correlation_id()

    answers = {}
    threads = [
        threading.Thread(
            target=lambda n=n: answers.setdefault(n, function({"requestContext": {"requestId": n}}, _Context(n)))
        )
        for n in ("request-1", "request-2")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert answers == {"request-1": "request-1", "request-2": "request-2"}
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert len(records) == 2
    assert all(r["correlation_id"] == r["expected"] for r in records), records
