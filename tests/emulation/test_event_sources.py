"""Lambda event source mappings (DynamoDB streams, SQS, SNS) and fault injection in the local stack.

A moto server on a free loopback port is provisioned from a tiny template of our own
(fixtures/event_sources); the event sources poll it and invoke in-process function pools whose
handlers write what they saw to `es_journal`, a module the test puts in sys.modules.
"""

from __future__ import annotations

import copy
import email
import json
import sys
import threading
import time
import types
from collections import defaultdict
from collections.abc import Callable, Iterator
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from werkzeug.test import Client

from caisse_local import aws
from caisse_local import template as tpl
from caisse_local.event_sources import EventSources, matches_filters
from caisse_local.runtime import FunctionPool
from caisse_local.stack import DRAIN_PATH, LocalStack, Ports
from provider_sandbox import serve_in_thread

FIXTURES = Path(__file__).parent / "fixtures" / "event_sources"
SLOW = "SlowFunction"


class Journal(types.ModuleType):
    """What the handlers saw, shared by every container (they `import es_journal`)."""

    def __init__(self) -> None:
        super().__init__("es_journal")
        self.lock = threading.Lock()
        self.entries: dict[str, list[Any]] = defaultdict(list)
        self.seen: set[str] = set()
        self.release = threading.Event()

    def add(self, kind: str, value: Any) -> None:
        with self.lock:
            self.entries[kind].append(copy.deepcopy(value))

    def first_time(self, key: str) -> bool:
        with self.lock:
            if key in self.seen:
                return False
            self.seen.add(key)
            return True

    def __getitem__(self, kind: str) -> list[Any]:
        with self.lock:
            return list(self.entries[kind])


@pytest.fixture(scope="module")
def journal() -> Iterator[Journal]:
    journal = Journal()
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(sys.modules, "es_journal", journal)
        yield journal
    journal.release.set()


@pytest.fixture(scope="module")
def stack(journal) -> Iterator[types.SimpleNamespace]:
    """moto on a free port, the fixture template provisioned, pools for its functions, sources started."""
    server = aws.serve("127.0.0.1", 0)
    pools: dict[str, FunctionPool] = {}
    sources: EventSources | None = None
    try:
        template = tpl.load(FIXTURES / "template.yaml")
        ctx = tpl.Context(stack_name="es-test")
        created = aws.provision(template, ctx, server.url)
        pools = {spec.logical_id: FunctionPool(spec, max_concurrency=2) for spec in template.functions(ctx)}
        main_pools = {name: pool for name, pool in pools.items() if name != SLOW}
        sources = EventSources(template, ctx, server.url, main_pools, retry_delay=0.05, max_retry_delay=0.2)
        sources.start()
        yield types.SimpleNamespace(
            url=server.url, template=template, ctx=ctx, created=created, pools=pools, sources=sources
        )
    finally:
        if sources is not None:
            sources.stop(timeout=5)
        for pool in pools.values():
            pool.close()
        server.stop()


def queue_url(stack, logical_id: str) -> str:
    name = stack.template.get_att(logical_id, "QueueName", stack.ctx)
    return aws.client("sqs", stack.url).get_queue_url(QueueName=name)["QueueUrl"]


def take_messages(stack, logical_id: str) -> list[dict[str, Any]]:
    """Every message waiting in a queue (received and deleted)."""
    sqs = aws.client("sqs", stack.url)
    url = queue_url(stack, logical_id)
    messages: list[dict[str, Any]] = []
    while True:
        page = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"])
        if not page.get("Messages"):
            return messages
        for message in page["Messages"]:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        messages.extend(page["Messages"])


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")


def put(stack, table: str, pk: str, **attributes: str) -> None:
    item = {"pk": {"S": pk}} | {name: {"S": value} for name, value in attributes.items()}
    aws.client("dynamodb", stack.url).put_item(TableName=stack.template.ref(table, stack.ctx), Item=item)


def handled(journal: Journal, prefix: str) -> list[dict[str, Any]]:
    return [r for r in journal["changes.handled"] if r["dynamodb"]["Keys"]["pk"]["S"].startswith(prefix)]


# --------------------------------------------------------------------------- template


def test_template_events_are_parsed_with_lambda_defaults(stack):
    changes, ledger = stack.template.event_sources(stack.ctx, "DynamoDB")
    assert changes.stream_arn == stack.created["ChangesTable"]["StreamArn"]
    assert (changes.starting_position, changes.batch_size, changes.maximum_retry_attempts) == ("TRIM_HORIZON", 10, 2)
    assert changes.report_batch_item_failures and not changes.bisect_on_error
    assert (ledger.starting_position, ledger.batching_window, ledger.bisect_on_error) == ("LATEST", 1.0, True)
    assert changes.on_failure == "arn:aws:sqs:us-east-1:123456789012:es-test-ChangesFailuresQueue"
    queues = {q.event: q for q in stack.template.event_sources(stack.ctx, "SQS")}
    assert queues["Jobs"].filters == ({"body": {"kind": ["job"]}},)
    assert queues["Paused"].enabled is False and queues["Steps"].batching_window == 0
    (alerts, _slow) = stack.template.event_sources(stack.ctx, "SNS")
    assert json.loads(alerts.filter_policy) == {"severity": ["high"]}
    polled = {p.name for p in stack.sources.pollers}
    assert "JobsFunction.Paused" not in polled and "JobsFunction.Jobs" in polled  # Enabled: false is not polled

    bad = tpl.loads(
        "Resources:\n  Q: {Type: AWS::SQS::Queue}\n  F:\n    Type: AWS::Serverless::Function\n"
        "    Properties:\n      CodeUri: f\n      Handler: m.h\n      Events:\n"
        "        E: {Type: SQS, Properties: {Queue: !GetAtt Q.Arn, BatchSize: 50}}\n"
    )
    with pytest.raises(tpl.TemplateError, match="MaximumBatchingWindowInSeconds"):
        bad.event_sources(tpl.Context(), "SQS")


# --------------------------------------------------------------------------- DynamoDB streams


def test_a_capped_batching_window_shortens_the_templates_never_lengthens_it(stack):
    """CAISSE_MAX_BATCHING_WINDOW_SECONDS (the e2e stacks' 0.1 s) caps MaximumBatchingWindowInSeconds."""
    _changes, ledger = stack.template.event_sources(stack.ctx, "DynamoDB")
    steps = {q.event: q for q in stack.template.event_sources(stack.ctx, "SQS")}["Steps"]
    capped = EventSources(stack.template, stack.ctx, stack.url, {}, max_batching_window=0.1)
    assert (capped.batching_window(ledger), capped.batching_window(steps)) == (0.1, 0.0)
    assert stack.sources.batching_window(ledger) == 1.0  # no cap: the template's window


def test_stream_delivers_changes_in_order_with_old_and_new_images(stack, journal):
    ddb = aws.client("dynamodb", stack.url)
    table = stack.template.ref("ChangesTable", stack.ctx)
    put(stack, "ChangesTable", "order-a", status="pending")
    put(stack, "ChangesTable", "order-a", status="paid")
    put(stack, "ChangesTable", "order-b", status="pending")
    ddb.delete_item(TableName=table, Key={"pk": {"S": "order-a"}})
    stack.sources.drain(timeout=10)

    records = handled(journal, "order-")
    summary = [
        (
            r["eventName"],
            r["dynamodb"]["Keys"]["pk"]["S"],
            r["dynamodb"].get("OldImage", {}).get("status", {}).get("S"),
            r["dynamodb"].get("NewImage", {}).get("status", {}).get("S"),
        )
        for r in records
    ]
    assert summary == [
        ("INSERT", "order-a", None, "pending"),
        ("MODIFY", "order-a", "pending", "paid"),
        ("INSERT", "order-b", None, "pending"),
        ("REMOVE", "order-a", "paid", None),
    ]
    sequence_numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert sequence_numbers == sorted(sequence_numbers) and len(set(sequence_numbers)) == 4
    first = records[0]
    assert (first["eventVersion"], first["eventSource"], first["awsRegion"]) == ("1.1", "aws:dynamodb", "us-east-1")
    assert first["eventSourceARN"] == stack.created["ChangesTable"]["StreamArn"]
    assert first["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert isinstance(first["dynamodb"]["ApproximateCreationDateTime"], int)
    assert first["dynamodb"]["SizeBytes"] > 0 and first["eventID"]


def test_stream_retries_from_a_reported_failure_without_losing_or_repeating_records(stack, journal):
    for index, mode in enumerate(["ok", "ok", "fail-once", "ok", "ok"]):
        put(stack, "ChangesTable", f"partial-{index}", mode=mode)
    stack.sources.drain(timeout=10)

    keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in handled(journal, "partial-")]
    assert keys == [f"partial-{i}" for i in range(5)]  # each handled once, in order, none lost
    failed_seq = next(
        r["dynamodb"]["SequenceNumber"]
        for r in journal["changes.handled"]
        if r["dynamodb"]["Keys"]["pk"]["S"] == "partial-2"
    )
    # The failing batch is retried starting at the failed record, not from the top.
    retried = [batch for batch in journal["changes.batches"] if failed_seq in batch]
    assert len(retried) == 2 and retried[1][0] == failed_seq
    assert take_messages(stack, "ChangesFailuresQueue") == []


def test_stream_batch_that_keeps_raising_goes_to_the_on_failure_queue(stack, journal, capfd):
    put(stack, "ChangesTable", "poison", mode="raise")
    stack.sources.drain(timeout=10)
    put(stack, "ChangesTable", "after-poison")
    stack.sources.drain(timeout=10)

    (message,) = take_messages(stack, "ChangesFailuresQueue")
    failure = json.loads(message["Body"])
    info = failure["DDBStreamBatchInfo"]
    poison_seq = info["startSequenceNumber"]
    assert info["endSequenceNumber"] == poison_seq and info["batchSize"] == 1
    assert info["streamArn"] == stack.created["ChangesTable"]["StreamArn"] and info["shardId"]
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3  # the first try and MaximumRetryAttempts: 2
    assert failure["requestContext"]["functionArn"] == stack.pools["ChangesFunction"].spec.arn
    assert failure["responseContext"]["functionError"] == "Unhandled"
    assert sum(poison_seq in batch for batch in journal["changes.batches"]) == 3
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in handled(journal, "after-poison")] == ["after-poison"]
    err = capfd.readouterr().err
    header = "[ChangesFunction] DynamoDB event Changes: es-test-ChangesFunction: RuntimeError: cannot handle poison"
    assert err.count(header + "\nTraceback (most recent call last):") == 3  # one report per failed invocation


def test_stream_bisects_a_failing_batch_to_isolate_the_poison_record(stack, journal):
    table = stack.template.ref("LedgerTable", stack.ctx)
    writes = [
        {"PutRequest": {"Item": {"pk": {"S": key}, "mode": {"S": mode}}}}
        for key, mode in (("l1", "ok"), ("l2", "ok"), ("l3", "raise"), ("l4", "ok"))
    ]
    aws.client("dynamodb", stack.url).batch_write_item(RequestItems={table: writes})  # one batch
    stack.sources.drain(timeout=10)

    assert sorted(journal["ledger.handled"]) == ["l1", "l2", "l4"]
    assert journal["ledger.batches"][0] == ["l1", "l2", "l3", "l4"]
    (message,) = take_messages(stack, "LedgerFailuresQueue")
    info = json.loads(message["Body"])["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1 and info["startSequenceNumber"] == info["endSequenceNumber"]


# --------------------------------------------------------------------------- SQS


def send_jobs(stack, *bodies: dict[str, Any]) -> None:
    entries = [{"Id": str(i), "MessageBody": json.dumps(body)} for i, body in enumerate(bodies)]
    aws.client("sqs", stack.url).send_message_batch(QueueUrl=queue_url(stack, "JobsQueue"), Entries=entries)


def test_sqs_partial_batch_failure_deletes_only_the_successes(stack, journal):
    send_jobs(
        stack,
        {"kind": "job", "id": "p1"},
        {"kind": "job", "id": "p2", "mode": "fail-once"},
        {"kind": "job", "id": "p3"},
        {"kind": "noise", "id": "p4"},
    )
    stack.sources.drain(timeout=15)

    assert sorted(journal["jobs.handled"]) == ["p1", "p2", "p3"]  # p2 once its retry succeeded
    deliveries = [
        (json.loads(r["body"])["id"], r["attributes"]["ApproximateReceiveCount"])
        for batch in journal["jobs.batches"]
        for r in batch
        if json.loads(r["body"])["id"].startswith("p")
    ]
    assert sorted(deliveries) == [("p1", "1"), ("p2", "1"), ("p2", "2"), ("p3", "1")]  # p4 filtered out
    first = journal["jobs.batches"][0][0]
    assert (first["eventSource"], first["awsRegion"]) == ("aws:sqs", "us-east-1")
    assert first["eventSourceARN"] == stack.template.get_att("JobsQueue", "Arn", stack.ctx)
    assert set(first["attributes"]) >= {"ApproximateReceiveCount", "SentTimestamp", "SenderId"}
    assert first["md5OfBody"] and first["receiptHandle"] and first["messageId"]
    assert take_messages(stack, "JobsDeadLetterQueue") == []


def test_sqs_message_that_always_fails_lands_in_the_dlq_after_max_receive_count(stack, journal):
    sqs = aws.client("sqs", stack.url)
    sqs.send_message(
        QueueUrl=queue_url(stack, "JobsQueue"),
        MessageBody=json.dumps({"kind": "job", "id": "doomed", "mode": "fail"}),
        MessageAttributes={"tenant": {"DataType": "String", "StringValue": "studio-1"}},
    )
    stack.sources.drain(timeout=15)

    doomed = [r for batch in journal["jobs.batches"] for r in batch if json.loads(r["body"])["id"] == "doomed"]
    assert [r["attributes"]["ApproximateReceiveCount"] for r in doomed] == ["1", "2"]  # maxReceiveCount: 2
    assert doomed[0]["messageAttributes"] == {
        "tenant": {"stringValue": "studio-1", "stringListValues": [], "binaryListValues": [], "dataType": "String"}
    }
    (dead,) = take_messages(stack, "JobsDeadLetterQueue")
    assert json.loads(dead["Body"])["id"] == "doomed"


def test_sqs_fifo_keeps_each_group_in_order_through_a_failure(stack, journal):
    sqs = aws.client("sqs", stack.url)
    url = queue_url(stack, "StepsQueue")
    for index in range(5):
        for group in "ab":
            sqs.send_message(QueueUrl=url, MessageBody=f"{group}{index}", MessageGroupId=group)
    stack.sources.drain(timeout=15)

    assert "a2" in journal.seen  # a2 did fail once, and with it the rest of group a in its batch
    steps = journal["steps.handled"]
    assert [s for s in steps if s[0] == "a"] == ["a0", "a1", "a2", "a3", "a4"]
    assert [s for s in steps if s[0] == "b"] == ["b0", "b1", "b2", "b3", "b4"]


def test_fifo_messages_that_come_back_together_come_back_in_order(stack):
    """moto alone returns a3 before a2 here; the endpoint fixes it (see aws._fix_moto_fifo_groups)."""
    sqs = aws.client("sqs", stack.url)
    url = sqs.create_queue(
        QueueName="order-check.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "1"},
    )["QueueUrl"]
    for body in ("a1", "a2", "a3"):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="a")
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in first] == ["a1", "a2", "a3"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])  # a2 and a3 failed

    def receive() -> list[str]:
        return [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])]

    assert wait_for(receive, "a2 and a3 to come back after their visibility timeout")[0] == "a2"


def test_disabled_mapping_leaves_its_queue_alone(stack):
    sqs = aws.client("sqs", stack.url)
    url = queue_url(stack, "PausedQueue")
    sqs.send_message(QueueUrl=url, MessageBody="wait for me")
    stack.sources.drain(timeout=10)
    assert [m["Body"] for m in take_messages(stack, "PausedQueue")] == ["wait for me"]


# --------------------------------------------------------------------------- SNS


def test_sns_message_reaches_the_function_as_an_sns_event(stack, journal):
    sns = aws.client("sns", stack.url)
    topic = stack.template.ref("AlertsTopic", stack.ctx)
    sns.publish(
        TopicArn=topic, Message="ignored", MessageAttributes={"severity": {"DataType": "String", "StringValue": "low"}}
    )
    sns.publish(
        TopicArn=topic,
        Message="disk full",
        Subject="Alert",
        MessageAttributes={"severity": {"DataType": "String", "StringValue": "high"}},
    )
    stack.sources.drain(timeout=10)

    events = [e for e in journal["alerts.events"] if e["Records"][0]["Sns"]["Message"] != "explode"]
    (event,) = events  # the low-severity message did not match the filter policy
    (record,) = event["Records"]
    assert (record["EventSource"], record["EventVersion"]) == ("aws:sns", "1.0")
    assert record["EventSubscriptionArn"].startswith(topic + ":")
    sns_part = record["Sns"]
    assert (sns_part["Type"], sns_part["TopicArn"], sns_part["Subject"]) == ("Notification", topic, "Alert")
    assert sns_part["MessageAttributes"] == {"severity": {"Type": "String", "Value": "high"}}
    assert set(sns_part) >= {"MessageId", "Timestamp", "SignatureVersion", "Signature", "SigningCertUrl"}
    assert record["EventSubscriptionArn"] in sns_part["UnsubscribeUrl"]


def test_sns_failure_is_retried_twice_then_sent_to_the_on_failure_destination(stack, journal):
    sns = aws.client("sns", stack.url)
    topic = stack.template.ref("AlertsTopic", stack.ctx)
    sns.publish(
        TopicArn=topic, Message="explode", MessageAttributes={"severity": {"DataType": "String", "StringValue": "high"}}
    )
    stack.sources.drain(timeout=10)

    attempts = [e for e in journal["alerts.events"] if e["Records"][0]["Sns"]["Message"] == "explode"]
    assert len(attempts) == 3
    (message,) = take_messages(stack, "AlertsFailuresQueue")
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestPayload"] == attempts[0]
    assert record["responsePayload"]["errorMessage"] == "alert handler exploded"


# --------------------------------------------------------------------------- lifecycle


def test_stop_returns_within_its_timeout_while_a_function_is_still_running(stack, journal):
    pools = {SLOW: stack.pools[SLOW]}
    sources = EventSources(stack.template, stack.ctx, stack.url, pools)
    try:
        sources.start()
        sns = aws.client("sns", stack.url)
        sns.publish(TopicArn=stack.template.ref("SlowTopic", stack.ctx), Message="hold")
        wait_for(lambda: journal["slow.started"], "the slow function to start")
        started = time.monotonic()
        sources.stop(timeout=1.0)
        assert time.monotonic() - started < 2.0
    finally:
        journal.release.set()
        sources.stop(timeout=5)
    assert all(not p.thread.is_alive() for p in sources.pollers)


def test_the_drain_endpoint_answers_504_naming_what_is_still_running_then_204_once_idle(stack, journal):
    # What the e2e request counts wait on (POST /_caisse/drain on the API port): a stack that cannot
    # settle in time must say so, not answer as if it had.
    pools = {SLOW: stack.pools[SLOW]}
    sources = EventSources(stack.template, stack.ctx, stack.url, pools)
    sandbox = serve_in_thread(quiet=True)  # the provider sandbox, with no delivery in flight
    local = LocalStack(ports=Ports(sandbox=sandbox.port), event_sources=sources)
    passed_on: list[str] = []

    def api(environ, start_response):
        passed_on.append(environ["PATH_INFO"])
        start_response("200 OK", [])
        return [b"api"]

    client = Client(local._with_drain(api))
    journal.release.clear()
    try:
        sources.start()
        aws.client("sns", stack.url).publish(TopicArn=stack.template.ref("SlowTopic", stack.ctx), Message="hold")
        wait_for(lambda: journal["slow.started"], "the slow function to start")

        busy = client.post(DRAIN_PATH, query_string={"timeout": "0.5"})
        assert busy.status_code == 504
        assert busy.text == "event sources still busy after 0.5s: SlowFunction.Slow"

        journal.release.set()
        assert client.post(DRAIN_PATH, query_string={"timeout": "10"}).status_code == 204
        assert client.get(DRAIN_PATH).text == "api" and client.post("/checkouts").text == "api"
        assert passed_on == [DRAIN_PATH, "/checkouts"]  # only POST /_caisse/drain is the stack's own
    finally:
        journal.release.set()
        sources.stop(timeout=5)
        sandbox.close()


def test_filter_patterns():
    record = {"eventName": "MODIFY", "dynamodb": {"NewImage": {"status": {"S": "paid"}, "total": {"N": "1500"}}}}
    assert matches_filters((), record)
    assert matches_filters(({"eventName": ["INSERT", "MODIFY"]},), record)
    assert not matches_filters(({"eventName": ["REMOVE"]},), record)
    assert matches_filters(({"dynamodb": {"NewImage": {"status": {"S": [{"prefix": "pa"}]}}}},), record)
    assert matches_filters(
        ({"dynamodb": {"NewImage": {"total": {"N": [{"numeric": [">", 1000, "<=", 1500]}]}}}},), record
    )
    assert not matches_filters(({"dynamodb": {"NewImage": {"status": {"S": [{"anything-but": ["paid"]}]}}}},), record)
    assert matches_filters(({"dynamodb": {"OldImage": [{"exists": False}]}},), record)
    assert matches_filters(({"eventName": ["REMOVE"]}, {"eventName": ["MODIFY"]}), record)  # any pattern
    assert matches_filters(({"body": {"kind": ["job"]}},), {"body": '{"kind": "job"}'}, sqs=True)
    assert matches_filters(({"body": [{"prefix": "plain"}]},), {"body": "plain text"}, sqs=True)


# --------------------------------------------------------------------------- SES provisioning


def test_ses_identity_configuration_set_and_event_destination_are_provisioned(stack):
    assert stack.created["SenderIdentity"]["Ref"] == "shop@example.test"
    assert stack.created["FeedbackDestination"]["TopicArn"] == stack.template.ref("FeedbackTopic", stack.ctx)
    assert stack.created["FeedbackDestination"]["MatchingEventTypes"] == "bounce,complaint"
    assert {"FeedbackTopicPolicy", "JobsDeadLettersAlarm"} <= set(stack.created)  # known, not emulated
    sesv2 = aws.client("sesv2", stack.url)
    config_set = stack.template.ref("MailConfigurationSet", stack.ctx)
    assert sesv2.get_configuration_set(ConfigurationSetName=config_set)["ConfigurationSetName"] == "es-test-mail"
    described = aws.client("ses", stack.url).describe_configuration_set(
        ConfigurationSetName=config_set, ConfigurationSetAttributeNames=["eventDestinations"]
    )
    assert described["EventDestinations"][0]["SNSDestination"]["TopicARN"] == stack.created["FeedbackTopic"]["Ref"]
    sent = sesv2.send_email(
        FromEmailAddress="shop@example.test",
        Destination={"ToAddresses": ["ana@example.test"]},
        ConfigurationSetName=config_set,
        Content={"Simple": {"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "Hello"}}}},
    )
    assert sent["MessageId"]
    with pytest.raises(ClientError, match="MessageRejected"):
        sesv2.send_email(
            FromEmailAddress="stranger@example.test",
            Destination={"ToAddresses": ["ana@example.test"]},
            Content={"Simple": {"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "Hello"}}}},
        )
    assert aws.provision(stack.template, stack.ctx, stack.url).keys() == stack.created.keys()  # idempotent


def test_sent_email_is_readable_locally_raw_mime_keeps_both_parts(stack):
    """What moto keeps of an SES v2 send: Simple content loses its text part, Raw keeps the message."""
    sesv2 = aws.client("sesv2", stack.url)
    to = {"ToAddresses": ["reader@example.test"]}
    body = {"Text": {"Data": "plain part"}, "Html": {"Data": "<p>html part</p>"}}
    sesv2.send_email(
        FromEmailAddress="shop@example.test",
        Destination=to,
        Content={"Simple": {"Subject": {"Data": "Simple"}, "Body": body}},
    )
    mime = MIMEMultipart("alternative")
    mime["Subject"], mime["From"], mime["To"] = "Raw", "shop@example.test", "reader@example.test"
    mime.attach(MIMEText("plain part", "plain", "utf-8"))
    mime.attach(MIMEText("<p>html part</p>", "html", "utf-8"))
    sesv2.send_email(FromEmailAddress="shop@example.test", Destination=to, Content={"Raw": {"Data": mime.as_bytes()}})

    ses = httpx.get(f"{stack.url}/moto-api/data.json", timeout=5).json()["ses"]
    (simple,) = [m for m in ses["Message"] if m["subject"] == "Simple"]
    assert simple["body"] == "<p>html part</p>"  # the text part is gone
    (raw,) = ses["RawMessage"]
    message = email.message_from_string(raw["raw_data"])
    parts = [part.get_payload(decode=True).decode() for part in message.walk() if not part.is_multipart()]
    assert parts == ["plain part", "<p>html part</p>"]

    # The same email as the local stack lists it for people and tests: parsed, filtered on the server.
    listed = httpx.get(f"{stack.url}/_caisse/emails", params={"to": "READER@example.test"}, timeout=5).json()
    assert [(m["subject"], m["text"].strip(), m["html"].strip()) for m in listed] == [
        ("Raw", "plain part", "<p>html part</p>")
    ]
    assert httpx.get(f"{stack.url}/_caisse/emails", params={"to": "nobody@example.test"}, timeout=5).json() == []


# --------------------------------------------------------------------------- fault injection


NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def no_retry_client(stack, service: str) -> Any:
    """A client that sends each call once, so a call meets a fault exactly once."""
    session = boto3.session.Session(region_name="us-east-1", **aws.LOCAL_CREDENTIALS)
    return session.client(service, endpoint_url=stack.url, config=NO_RETRIES)


@pytest.fixture
def faults(stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.url, timeout=5) as http:
        http.delete("/_caisse/faults")
        try:
            yield http
        finally:
            http.delete("/_caisse/faults")


def test_sesv2_send_email_fails_n_times_with_the_injected_error_then_succeeds(stack, faults):
    sesv2 = no_retry_client(stack, "sesv2")
    created = faults.post(
        "/_caisse/faults",
        json={
            "service": "sesv2",
            "operation": "SendEmail",
            "status": 503,
            "code": "ServiceUnavailable",
            "message": "try later",
            "count": 2,
        },
    )
    assert created.status_code == 201
    httpx.delete(f"{stack.url}/_caisse/requests")
    email = {
        "FromEmailAddress": "shop@example.test",
        "Destination": {"ToAddresses": ["ana@example.test"]},
        "Content": {"Simple": {"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "Hello"}}}},
    }
    for _ in range(2):
        with pytest.raises(ClientError) as failed:
            sesv2.send_email(**email)
        assert failed.value.response["Error"] == {"Code": "ServiceUnavailable", "Message": "try later"}
        assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert sesv2.send_email(**email)["MessageId"]
    (fault,) = faults.get("/_caisse/faults").json()["faults"]
    assert (fault["remaining"], fault["fired"]) == (0, 2)
    assert httpx.get(f"{stack.url}/_caisse/requests").json()["sesv2"]["SendEmail"] == 3  # faulted ones count


def test_dynamodb_and_query_protocol_faults_raise_client_errors_with_the_code(stack, faults):
    ddb = no_retry_client(stack, "dynamodb")
    table = stack.template.ref("ChangesTable", stack.ctx)
    faults.post(
        "/_caisse/faults",
        json={
            "service": "dynamodb",
            "operation": "PutItem",
            "status": 400,
            "code": "ProvisionedThroughputExceededException",
            "count": None,
        },
    )
    for _ in range(2):  # count null: every matching request fails until the faults are cleared
        with pytest.raises(ddb.exceptions.ProvisionedThroughputExceededException):
            ddb.put_item(TableName=table, Item={"pk": {"S": "faulted"}})
    ddb.get_item(TableName=table, Key={"pk": {"S": "faulted"}})  # other operations are untouched
    faults.delete("/_caisse/faults")
    ddb.put_item(TableName=table, Item={"pk": {"S": "faulted"}})

    ses = no_retry_client(stack, "ses")
    faults.post(
        "/_caisse/faults",
        json={
            "service": "ses",
            "operation": "SendEmail",
            "status": 400,
            "code": "MessageRejected",
            "message": "Email address is not verified.",
        },
    )
    with pytest.raises(ses.exceptions.MessageRejected, match="not verified"):
        ses.send_email(
            Source="shop@example.test",
            Destination={"ToAddresses": ["ana@example.test"]},
            Message={"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "Hello"}}},
        )
    sqs = no_retry_client(stack, "sqs")
    faults.post("/_caisse/faults", json={"service": "sqs", "operation": "SendMessage", "code": "KmsThrottled"})
    with pytest.raises(ClientError) as throttled:
        sqs.send_message(QueueUrl=queue_url(stack, "PausedQueue"), MessageBody="x")
    assert throttled.value.response["Error"]["Code"] == "KmsThrottled"
    assert [f["fired"] for f in faults.get("/_caisse/faults").json()["faults"]] == [1, 1]

    assert faults.post("/_caisse/faults", json={"operation": "SendEmail"}).status_code == 400
    assert faults.post("/_caisse/faults", json={"service": "sqs", "count": 0}).status_code == 400
