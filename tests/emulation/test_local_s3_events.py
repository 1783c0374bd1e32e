"""The local S3 trigger: an object put in a bucket of the template invokes the function with the
S3 event, as Lambda's asynchronous invocation would, retries included, then the on-failure queue.

A moto server on a free loopback port is provisioned from a tiny template (fixtures/s3_events);
its function writes what it saw to `s3_journal`, a module the test puts in sys.modules.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest

from caisse_local import aws
from caisse_local import template as tpl
from caisse_local.runtime import FunctionPool
from caisse_local.s3_events import S3Notifications

FIXTURES = Path(__file__).parent / "fixtures" / "s3_events"


class Journal(types.ModuleType):
    def __init__(self) -> None:
        super().__init__("s3_journal")
        self.lock = threading.Lock()
        self.events: list[dict[str, Any]] = []

    def add(self, event: dict[str, Any]) -> None:
        with self.lock:
            self.events.append(json.loads(json.dumps(event)))

    def keys(self) -> list[str]:
        with self.lock:
            return [unquote_plus(r["s3"]["object"]["key"]) for e in self.events for r in e["Records"]]


def wait_for(predicate, timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def stack() -> Iterator[types.SimpleNamespace]:
    journal = Journal()
    server = aws.serve("127.0.0.1", 0)
    pools: dict[str, FunctionPool] = {}
    notifications: S3Notifications | None = None
    sys.modules["s3_journal"] = journal
    try:
        template = tpl.load(FIXTURES / "template.yaml")
        ctx = tpl.Context(stack_name="s3-test")
        aws.provision(template, ctx, server.url)
        pools = {spec.logical_id: FunctionPool(spec, 2) for spec in template.functions(ctx)}
        notifications = S3Notifications(template, ctx, server.url, pools, retry_delays=(0.05, 0.05)).start()
        sqs = aws.client("sqs", server.url)
        yield types.SimpleNamespace(
            journal=journal,
            s3=aws.client("s3", server.url),
            sqs=sqs,
            bucket=str(template.ref("Inbox", ctx)),
            failures=sqs.get_queue_url(QueueName=template.get_att("Failures", "QueueName", ctx))["QueueUrl"],
            inbox=notifications.triggers[0].queue_url,
        )
    finally:
        if notifications is not None:
            notifications.stop()
        for pool in pools.values():
            pool.close()
        server.stop()
        sys.modules.pop("s3_journal", None)


def queue_empty(sqs, url: str) -> bool:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return all(attributes[name] == "0" for name in names)


def test_an_object_under_the_prefix_invokes_the_function_with_motos_s3_event(stack):
    stack.s3.put_object(Bucket=stack.bucket, Key="incoming/Photo 1 (final)+copy.jpg", Body=b"x" * 10)
    wait_for(lambda: stack.journal.events, what="the invocation")
    [event] = stack.journal.events
    [record] = event["Records"]
    assert record["eventSource"] == "aws:s3" and record["eventName"] == "ObjectCreated:Put"
    assert record["s3"]["bucket"]["name"] == stack.bucket
    key = record["s3"]["object"]["key"]  # URL-encoded, as AWS sends it (moto also encodes the slash)
    assert " " not in key and "Photo+1+%28final%29%2Bcopy.jpg" in key
    assert record["s3"]["object"]["size"] == 10
    wait_for(lambda: queue_empty(stack.sqs, stack.inbox), what="the message to be deleted")
    assert stack.journal.keys() == ["incoming/Photo 1 (final)+copy.jpg"]


def test_objects_outside_the_filter_invoke_nothing(stack):
    stack.s3.put_object(Bucket=stack.bucket, Key="elsewhere/a.jpg", Body=b"x")
    stack.s3.put_object(Bucket=stack.bucket, Key="incoming/b.jpg", Body=b"x")
    wait_for(lambda: stack.journal.events, what="the invocation")
    # moto queues a notification while it stores the object, so a wrong one for the first object
    # would be in the queue before the second's; an empty queue means every one was invoked.
    wait_for(lambda: queue_empty(stack.sqs, stack.inbox), what="the queue to drain")
    assert stack.journal.keys() == ["incoming/b.jpg"]


def test_a_failing_invocation_is_retried_twice_then_sent_to_the_on_failure_queue(stack):
    stack.s3.put_object(Bucket=stack.bucket, Key="incoming/will-fail.jpg", Body=b"x")
    messages = wait_for(
        lambda: stack.sqs.receive_message(QueueUrl=stack.failures, WaitTimeSeconds=1).get("Messages"),
        what="the on-failure record",
    )
    record = json.loads(messages[0]["Body"])
    assert stack.journal.keys() == ["incoming/will-fail.jpg"] * 3
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestPayload"] == stack.journal.events[0]
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorMessage"] == "this upload always fails"
    wait_for(lambda: queue_empty(stack.sqs, stack.inbox), what="the message to be deleted")
