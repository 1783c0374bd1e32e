"""Lambda event source mappings for the local stack: DynamoDB streams, SQS queues and SNS topics.

In AWS, Lambda polls a function's streams and queues and invokes it with batches, and SNS invokes
it asynchronously. Here each DynamoDB, SQS and SNS event of template.yaml gets a daemon thread that
does the same against the emulated AWS and invokes the function's in-process `FunctionPool` with
the event Lambda would send, with Lambda's failure semantics:

- DynamoDB streams: records of a shard in order; an exception retries the batch (bisected if
  BisectBatchOnFunctionError); with ReportBatchItemFailures the batch is checkpointed before the
  first failed record and retried from it; after MaximumRetryAttempts the failed batch's
  description goes to the OnFailure destination, or is logged as discarded. Bisected retries do
  not use up attempts, so a poison record is isolated before anything is given up.
- SQS: successes are deleted, reported failures and failed batches are left for the visibility
  timeout; moto itself moves a message to the queue's DLQ on the receive after maxReceiveCount,
  as SQS does. FIFO groups stay in order (with a fix to moto in `aws._fix_moto_fifo_groups`).
- SNS: moto delivers SNS to SQS, so a bridge queue is subscribed to the topic (envelope, not raw)
  and each notification is one asynchronous invocation: retried MaximumRetryAttempts times (2 by
  default), then sent to the function's EventInvokeConfig OnFailure destination or DeadLetterQueue,
  or logged as dropped.

Lambda event filtering (FilterCriteria) is applied; filtered-out stream records are skipped and
filtered-out SQS messages deleted, as Lambda does. Every invocation failure is printed to stderr
with its traceback. `drain()` is how tests and benchmarks know that everything that was going to
happen has happened.
"""

from __future__ import annotations

import base64
import json
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import aws
from .runtime import FunctionError, FunctionPool, TooManyRequests
from .template import Context, QueueSource, StreamSource, Template, TopicSource

__all__ = ["EventSources", "matches_filters"]

log = logging.getLogger("caisse_local.event_sources")

SQS_ATTRIBUTES = (
    "ApproximateReceiveCount SentTimestamp SenderId ApproximateFirstReceiveTimestamp SequenceNumber "
    "MessageGroupId MessageDeduplicationId AWSTraceHeader DeadLetterQueueSourceArn"
).split()
"""The message system attributes Lambda puts in an SQS record."""

SHARD_REFRESH_SECONDS = 5.0
BRIDGE_VISIBILITY_TIMEOUT = 3600  # longer than three attempts of the longest Lambda timeout


class _Stopped(Exception):
    """The event sources are stopping: leave the poll loop without touching anything else."""


class EventSources:
    """The event source mappings of a template, polled in daemon threads.

    `pools` maps function logical ids to their pools; events of functions without a pool are not
    polled. `retry_delay` is the first backoff between retries (doubling up to `max_retry_delay`);
    `poll_interval` is the pause between empty stream polls: 0.25 s, Lambda's own rate ("Lambda
    polls shards in your DynamoDB stream for records at a base rate of 4 times per second",
    https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html); polling faster only costs the
    emulated endpoint CPU that the functions need. `wait_seconds` is the SQS long poll
    (at most 1 s, so `stop()` is quick). `max_batching_window`, if given, caps every mapping's
    MaximumBatchingWindowInSeconds: Lambda may invoke before the window ends anyway (a full batch),
    so a shorter one changes when records arrive, never what a function must handle; the e2e
    stacks use it so that a test waiting on an email does not wait a whole second per stream hop.
    """

    def __init__(
        self,
        template: Template,
        ctx: Context,
        aws_url: str,
        pools: dict[str, FunctionPool],
        *,
        retry_delay: float = 0.1,
        max_retry_delay: float = 2.0,
        poll_interval: float = 0.25,
        wait_seconds: int = 1,
        max_batching_window: float | None = None,
    ):
        if wait_seconds not in (0, 1):
            raise ValueError("wait_seconds must be 0 or 1 so that stopping stays quick")
        self.template = template
        self.ctx = ctx
        self.aws_url = aws_url
        self.pools = pools
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.poll_interval = poll_interval
        self.wait_seconds = wait_seconds
        self.max_batching_window = max_batching_window
        self.pollers: list[_Poller] = []
        self._stopping = threading.Event()
        self._activity = 0
        self._activity_lock = threading.Lock()
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> EventSources:
        """Set every mapping up (stream positions, bridge subscriptions), then start polling.

        LATEST stream positions are taken here, so a change made after `start()` returns is delivered.
        """
        if self.pollers:
            return self
        pollers: list[_Poller] = []
        for source in self.template.event_sources(self.ctx, "DynamoDB"):
            if self._wanted(source.function, source.event, "DynamoDB", source.enabled):
                pollers.append(_StreamPoller(self, source))
        for source in self.template.event_sources(self.ctx, "SQS"):
            if self._wanted(source.function, source.event, "SQS", source.enabled):
                pollers.append(_QueuePoller(self, source))
        for source in self.template.event_sources(self.ctx, "SNS"):
            if self._wanted(source.function, source.event, "SNS", True):
                pollers.append(_TopicPoller(self, source))
        for poller in pollers:
            poller.setup()
        self.pollers = pollers
        for poller in pollers:
            poller.thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop polling and wait at most `timeout` seconds in all for the threads to end.

        A function still running then is left to finish in its daemon thread (it cannot be
        interrupted); nothing is invoked after this returns.
        """
        self._stopping.set()
        deadline = time.monotonic() + timeout
        for poller in self.pollers:
            poller.thread.join(max(0.0, deadline - time.monotonic()))
        stuck = [p.name for p in self.pollers if p.thread.is_alive()]
        if stuck:
            print(f"event sources: still finishing after {timeout:g}s: {', '.join(stuck)}", file=sys.stderr, flush=True)

    def drain(self, timeout: float = 30.0) -> None:
        """Wait until nothing is in flight and every source is empty, all at one moment.

        "Empty" is checked against the emulated AWS itself (stream records past the poller's
        position; a queue's visible, in-flight and delayed messages), and no invocation may start
        or end while the check runs, so work one function causes for another is waited for too.
        A message left in flight until its visibility timeout counts as not done yet.
        Raises TimeoutError naming the busy mappings.
        """
        deadline = time.monotonic() + timeout
        while True:
            before = self._activity
            busy = [p.name for p in self.pollers if not p.quiet()]
            if not busy and self._activity == before:
                return
            if time.monotonic() >= deadline:
                names = ", ".join(busy) or "invocations kept starting"
                raise TimeoutError(f"event sources still busy after {timeout:g}s: {names}")
            time.sleep(0.05)

    def __enter__(self) -> EventSources:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ shared by the pollers
    def batching_window(self, source: StreamSource | QueueSource) -> float:
        """The mapping's batching window, capped by `max_batching_window`."""
        if self.max_batching_window is None:
            return source.batching_window
        return min(source.batching_window, self.max_batching_window)

    def client(self, service: str) -> Any:
        """One boto3 client per service (botocore clients are thread-safe)."""
        with self._clients_lock:
            if service not in self._clients:
                self._clients[service] = aws.client(service, self.aws_url, self.ctx.region)
            return self._clients[service]

    def _wanted(self, function: str, event: str, kind: str, enabled: bool) -> bool:
        if not enabled:
            log.info("%s.%s (%s) is disabled (Enabled: false)", function, event, kind)
            return False
        if function not in self.pools:
            log.warning("%s.%s (%s) is not polled: no function pool for %s", function, event, kind, function)
            return False
        return True

    def touch(self) -> None:
        with self._activity_lock:
            self._activity += 1

    def sleep(self, seconds: float) -> None:
        """Wait, unless stopping; raises _Stopped when it is time to go."""
        if self._stopping.wait(seconds):
            raise _Stopped

    def backoff(self, attempt: int) -> float:
        return min(self.max_retry_delay, self.retry_delay * 2 ** max(0, attempt - 1))

    def invoke(self, pool: FunctionPool, event: dict[str, Any], label: str) -> tuple[Any, Exception | None]:
        """(result, None) or (None, error); failures are printed to stderr with their traceback."""
        if self._stopping.is_set():
            raise _Stopped
        self.touch()
        try:
            return pool.invoke(event), None
        except FunctionError as exc:
            print(f"[{pool.spec.logical_id}] {label}: {exc}\n{exc.traceback}".rstrip(), file=sys.stderr, flush=True)
            return None, exc
        except TooManyRequests as exc:
            print(f"[{pool.spec.logical_id}] {label}: throttled: {exc}", file=sys.stderr, flush=True)
            return None, exc
        except RuntimeError:
            if self._stopping.is_set():  # the pool was closed under us
                raise _Stopped from None
            raise
        finally:
            self.touch()

    def deliver(self, target_arn: str, body: dict[str, Any], attributes: dict[str, str] | None = None) -> None:
        """Send a failure record to an SQS queue or SNS topic destination (raises on failure)."""
        service = target_arn.split(":")[2] if target_arn.count(":") >= 5 else ""
        extra: dict[str, Any] = {}
        if attributes:
            extra["MessageAttributes"] = {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()}
        if service == "sqs":
            self.client("sqs").send_message(QueueUrl=self.queue_url(target_arn), MessageBody=json.dumps(body), **extra)
        elif service == "sns":
            self.client("sns").publish(TopicArn=target_arn, Message=json.dumps(body), **extra)
        else:
            raise ValueError(f"only SQS and SNS destinations are emulated, not {target_arn}")

    def deliver_until_done(self, target_arn: str, body: dict[str, Any], label: str, **kwargs: Any) -> None:
        """Keep trying a destination: records are never dropped because a destination hiccupped."""
        attempt = 0
        while True:
            try:
                self.deliver(target_arn, body, **kwargs)
                return
            except (ClientError, BotoCoreError) as exc:
                attempt += 1
                print(f"{label}: could not send to {target_arn}, will retry: {exc}", file=sys.stderr, flush=True)
                self.sleep(self.backoff(attempt))

    def queue_url(self, queue_arn: str) -> str:
        parts = queue_arn.split(":")
        if len(parts) != 6 or parts[2] != "sqs":
            raise ValueError(f"not an SQS queue ARN: {queue_arn!r}")
        return self.client("sqs").get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]

    def queue_empty(self, url: str) -> bool:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        names.append("ApproximateNumberOfMessagesDelayed")
        attributes = self.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        return all(attributes.get(name, "0") == "0" for name in names)


# --------------------------------------------------------------------------- pollers


class _Poller:
    """One mapping's thread: `poll()` until stopped; errors are printed and backed off."""

    kind = ""

    def __init__(self, sources: EventSources, function: str, event: str):
        self.sources = sources
        self.function = function
        self.pool = sources.pools[function]
        self.name = f"{function}.{event}"
        self.label = f"{self.kind} event {event}"
        self.busy = False
        self.thread = threading.Thread(target=self._run, name=f"caisse-events-{self.name}", daemon=True)

    def setup(self) -> None:
        """Runs in start(), before any thread: create what the mapping needs, fix its position."""

    def poll(self) -> bool:
        """One round; True when it did something (so the next round follows at once)."""
        raise NotImplementedError

    def source_empty(self) -> bool:
        raise NotImplementedError

    def quiet(self) -> bool:
        if self.busy:
            return False
        try:
            return self.source_empty() and not self.busy
        except (ClientError, BotoCoreError):
            return False

    def _run(self) -> None:
        errors = 0
        while not self.sources._stopping.is_set():
            try:
                worked = self.poll()
                errors = 0
                if not worked:
                    self.sources.sleep(self.sources.poll_interval)
            except _Stopped:
                break
            except Exception as exc:  # noqa: BLE001 - a poller must outlive a bad poll
                errors += 1
                self.busy = False
                if self.sources._stopping.is_set():
                    break
                print(f"[{self.function}] {self.label}: polling failed: {exc}", file=sys.stderr, flush=True)
                try:
                    self.sources.sleep(self.sources.backoff(errors))
                except _Stopped:
                    break
        self.busy = False


# ---- DynamoDB streams


@dataclass
class _Shard:
    id: str
    parent: str | None
    start: str  # iterator type to begin with: TRIM_HORIZON or LATEST
    iterator: str | None = None  # where the next read starts
    started: bool = False
    closed: bool = False  # the shard ended and was read to its end
    last_read: str | None = None  # sequence number of the last record fetched
    pending: list[dict[str, Any]] = field(default_factory=list)  # fetched, not yet done with, in order
    first_pending_at: float = 0.0
    limit: int = 0  # records in the next batch (smaller while bisecting)
    attempts: int = 0  # failed invocations of the records at the head
    invocations: int = 0


class _StreamPoller(_Poller):
    kind = "DynamoDB"

    def __init__(self, sources: EventSources, source: StreamSource):
        super().__init__(sources, source.function, source.event)
        self.source = source
        self.streams = sources.client("dynamodbstreams")
        self.shards: dict[str, _Shard] = {}
        self.lock = threading.Lock()
        self.refreshed_at = 0.0

    def setup(self) -> None:
        self._refresh_shards(self.source.starting_position)
        for shard in self.shards.values():
            self._start_if_ready(shard)

    # -- shards
    def _refresh_shards(self, start: str = "TRIM_HORIZON") -> None:
        """Learn new shards (shards that appear later are read from their beginning)."""
        args: dict[str, Any] = {"StreamArn": self.source.stream_arn}
        while True:
            description = self.streams.describe_stream(**args)["StreamDescription"]
            for shard in description.get("Shards", []):
                if shard["ShardId"] not in self.shards:
                    with self.lock:
                        self.shards[shard["ShardId"]] = _Shard(
                            shard["ShardId"], shard.get("ParentShardId"), start, limit=self.source.batch_size
                        )
            if not description.get("LastEvaluatedShardId"):
                break
            args["ExclusiveStartShardId"] = description["LastEvaluatedShardId"]
        self.refreshed_at = time.monotonic()

    def _start_if_ready(self, shard: _Shard) -> None:
        """A child shard waits until its parent has been read and processed to the end."""
        parent = self.shards.get(shard.parent) if shard.parent else None
        if shard.started or (parent is not None and not (parent.closed and not parent.pending)):
            return
        self._reacquire(shard)
        shard.started = True

    def _reacquire(self, shard: _Shard) -> None:
        """A fresh iterator after the last record fetched (iterators expire; moto forgets them on restart)."""
        args: dict[str, Any] = {"StreamArn": self.source.stream_arn, "ShardId": shard.id}
        if shard.last_read is None:
            args["ShardIteratorType"] = shard.start
        else:
            args["ShardIteratorType"] = "AFTER_SEQUENCE_NUMBER"
            args["SequenceNumber"] = shard.last_read
        iterator = self.streams.get_shard_iterator(**args)["ShardIterator"]
        with self.lock:
            shard.iterator = iterator

    # -- polling
    def poll(self) -> bool:
        if time.monotonic() - self.refreshed_at > SHARD_REFRESH_SECONDS:
            self._refresh_shards()
        worked = False
        for shard in list(self.shards.values()):
            self._start_if_ready(shard)
            if not shard.started or (shard.closed and not shard.pending):
                continue
            if len(shard.pending) < self.source.batch_size and not shard.closed:
                worked |= self._fetch(shard)
            if shard.pending and self._batch_ready(shard):
                self._process(shard)
                worked = True
        return worked

    def _fetch(self, shard: _Shard) -> bool:
        if shard.iterator is None:
            self._reacquire(shard)
        try:
            page = self.streams.get_records(ShardIterator=shard.iterator, Limit=min(1000, self.source.batch_size))
        except ClientError as exc:
            with self.lock:
                shard.iterator = None  # expired or unknown: start again after the last record read
            code = exc.response.get("Error", {}).get("Code")
            if code not in ("ExpiredIteratorException", "TrimmedDataAccessException"):
                raise
            return False
        records = [self._record(r) for r in page.get("Records", [])]
        kept = [r for r in records if matches_filters(self.source.filters, r)]
        with self.lock:
            if kept and not shard.pending:
                shard.first_pending_at = time.monotonic()
            shard.pending.extend(kept)
            if records:
                shard.last_read = records[-1]["dynamodb"]["SequenceNumber"]
            shard.iterator = page.get("NextShardIterator")
            if shard.iterator is None:
                shard.closed = True
                self.refreshed_at = 0.0  # its children appear now
        return bool(records)

    def _batch_ready(self, shard: _Shard) -> bool:
        window = self.sources.batching_window(self.source)
        return (
            window <= 0
            or shard.closed
            or shard.attempts > 0
            or len(shard.pending) >= self.source.batch_size
            or time.monotonic() - shard.first_pending_at >= window
        )

    def _record(self, raw: dict[str, Any]) -> dict[str, Any]:
        """moto's record as Lambda delivers it: event version 1.1, source ARN, region, JSON-safe values."""
        data = raw.get("dynamodb", {})
        created = data.get("ApproximateCreationDateTime")
        dynamodb: dict[str, Any] = {
            "ApproximateCreationDateTime": int(created.timestamp() if isinstance(created, datetime) else created or 0)
        }
        for key in ("Keys", "NewImage", "OldImage", "SequenceNumber", "SizeBytes", "StreamViewType"):
            if key in data:
                dynamodb[key] = _jsonable(data[key])
        record = {
            "eventID": raw.get("eventID") or uuid.uuid4().hex,
            "eventName": raw["eventName"],
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": self.sources.ctx.region,
            "dynamodb": dynamodb,
            "eventSourceARN": self.source.stream_arn,
        }
        if raw.get("userIdentity"):
            record["userIdentity"] = raw["userIdentity"]
        return record

    def _process(self, shard: _Shard) -> None:
        self.busy = True
        try:
            self._invoke_head(shard)
        finally:
            self.busy = False

    def _invoke_head(self, shard: _Shard) -> None:
        """Invoke with the head of the shard's pending records and act on the outcome."""
        batch = shard.pending[: shard.limit]
        shard.invocations += 1
        result, error = self.sources.invoke(self.pool, {"Records": batch}, self.label)
        failed_at: int | None = None
        if error is None and self.source.report_batch_item_failures:
            sequence_numbers = [r["dynamodb"]["SequenceNumber"] for r in batch]
            failed = _reported_failures(result, sequence_numbers)
            if failed is None:
                print(f"[{self.function}] {self.label}: invalid batchItemFailures {result!r}", file=sys.stderr)
                error = ValueError("invalid batchItemFailures")
            elif failed:
                failed_at = min(sequence_numbers.index(s) for s in failed)
                print(
                    f"[{self.function}] {self.label}: {len(failed)} of {len(batch)} records reported failed; "
                    f"retrying from {sequence_numbers[failed_at]}",
                    file=sys.stderr,
                    flush=True,
                )
        if error is None and failed_at is None:
            self._done(shard, len(batch))
            return
        if error is not None and self.source.bisect_on_error and len(batch) > 1:
            shard.limit = (len(batch) + 1) // 2  # retry the first half; splitting uses no attempt
            return
        if failed_at is not None:
            self._done(shard, failed_at, reset=False)
            batch = batch[failed_at:]
            if self.source.bisect_on_error:
                shard.limit = len(batch)
        shard.attempts += 1
        retries = self.source.maximum_retry_attempts
        if 0 <= retries < shard.attempts:
            self._give_up(shard, batch, "Unhandled" if error is not None else None)
            self._done(shard, len(batch))
            return
        self.sources.sleep(self.sources.backoff(shard.attempts))

    def _done(self, shard: _Shard, count: int, *, reset: bool = True) -> None:
        """Checkpoint: the first `count` pending records are finished with."""
        with self.lock:
            del shard.pending[:count]
            if reset:
                shard.attempts = 0
                shard.invocations = 0
                shard.limit = self.source.batch_size

    def _give_up(self, shard: _Shard, batch: list[dict[str, Any]], function_error: str | None) -> None:
        first, last = batch[0]["dynamodb"], batch[-1]["dynamodb"]
        span = f"{first['SequenceNumber']}..{last['SequenceNumber']} ({len(batch)} records)"
        if not self.source.on_failure:
            print(
                f"[{self.function}] {self.label}: discarding records {span} after {shard.invocations} attempts: "
                "no OnFailure destination",
                file=sys.stderr,
                flush=True,
            )
            return
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if function_error:
            response["functionError"] = function_error
        info = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.pool.spec.arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": shard.invocations,
            },
            "responseContext": response,
            "version": "1.0",
            "timestamp": _now_iso(),
            "DDBStreamBatchInfo": {
                "shardId": shard.id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(first["ApproximateCreationDateTime"]),
                "approximateArrivalOfLastRecord": _iso(last["ApproximateCreationDateTime"]),
                "batchSize": len(batch),
                "streamArn": self.source.stream_arn,
            },
        }
        label = f"[{self.function}] {self.label}"
        self.sources.deliver_until_done(self.source.on_failure, info, label)
        print(f"{label}: records {span} sent to {self.source.on_failure}", file=sys.stderr, flush=True)

    def source_empty(self) -> bool:
        with self.lock:
            shards = [(s.started, s.closed, bool(s.pending), s.iterator) for s in self.shards.values()]
        for started, closed, pending, iterator in shards:
            if pending or not started:
                return False
            if closed:
                continue
            if iterator is None:
                return False
            if self.streams.get_records(ShardIterator=iterator, Limit=1).get("Records"):
                return False
        return True


# ---- SQS


class _QueuePoller(_Poller):
    kind = "SQS"

    def __init__(self, sources: EventSources, source: QueueSource | None, *, function: str = "", event: str = ""):
        super().__init__(sources, source.function if source else function, source.event if source else event)
        self.source = source
        self.sqs = sources.client("sqs")
        self.url = ""
        self.queue_arn = source.queue_arn if source else ""
        self.visibility = float(BRIDGE_VISIBILITY_TIMEOUT)

    def setup(self) -> None:
        self.url = self.sources.queue_url(self.queue_arn)
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["VisibilityTimeout"])
        visibility = self.visibility = float(attributes["Attributes"].get("VisibilityTimeout", 30))
        if visibility < self.pool.spec.timeout:  # Lambda refuses such a mapping, and for good reason
            raise ValueError(
                f"{self.name}: the queue's visibility timeout ({visibility:g} s) is less than the function's "
                f"timeout ({self.pool.spec.timeout:g} s): messages would come back while still being handled"
            )

    def receive(self, limit: int, window: float = 0.0) -> list[dict[str, Any]]:
        """Up to `limit` messages: what one long poll brings, or what the batching window gathers
        from the first message on. Holding messages makes the poller busy (see `quiet()`)."""
        messages: dict[str, dict[str, Any]] = {}  # by id: a message seen twice keeps its newest receipt
        deadline: float | None = None
        while len(messages) < limit and not self.sources._stopping.is_set():
            wait = self.sources.wait_seconds
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                wait = wait if remaining >= 1 else 0  # never poll past the window
            page = self.sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=min(10, limit - len(messages)),
                WaitTimeSeconds=wait,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            for message in page.get("Messages", []):
                messages[message["MessageId"]] = message
            if deadline is None:
                if not messages or window <= 0:
                    break
                self.busy = True
                deadline = time.monotonic() + min(window, self.visibility / 2)  # invoke before they come back
            elif not page.get("Messages") and wait == 0:
                self.sources.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        if messages:
            self.busy = True
        return list(messages.values())

    def poll(self) -> bool:
        assert self.source is not None
        try:
            messages = self.receive(self.source.batch_size, self.sources.batching_window(self.source))
            if not messages:
                return bool(self.sources.wait_seconds)  # the long poll already waited
            records = [self._record(m) for m in messages]
            kept = [r for r in records if matches_filters(self.source.filters, r, sqs=True)]
            dropped = [r for r in records if r not in kept]
            self._delete(dropped)  # Lambda deletes what its filters reject
            if kept:
                self._handle(kept)
        finally:
            self.busy = False
        return True

    def _handle(self, records: list[dict[str, Any]]) -> None:
        assert self.source is not None
        result, error = self.sources.invoke(self.pool, {"Records": records}, self.label)
        if error is not None:
            return  # every message comes back after its visibility timeout
        failed: set[str] | None = set()
        if self.source.report_batch_item_failures:
            failed = _reported_failures(result, [r["messageId"] for r in records])
            if failed is None:
                print(f"[{self.function}] {self.label}: invalid batchItemFailures {result!r}", file=sys.stderr)
                return
            if failed:
                print(
                    f"[{self.function}] {self.label}: {len(failed)} of {len(records)} messages reported failed; "
                    "they come back after the visibility timeout",
                    file=sys.stderr,
                    flush=True,
                )
        self._delete([r for r in records if r["messageId"] not in failed])

    def _delete(self, records: list[dict[str, Any]]) -> None:
        for start in range(0, len(records), 10):
            chunk = records[start : start + 10]
            entries = [{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(chunk)]
            answer = self.sqs.delete_message_batch(QueueUrl=self.url, Entries=entries)
            for failure in answer.get("Failed", []):
                print(f"[{self.function}] {self.label}: could not delete a message: {failure}", file=sys.stderr)

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        """An SQS message as Lambda delivers it (camelCase message attributes, base64 binaries)."""
        system = message.get("Attributes", {})
        record: dict[str, Any] = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message.get("Body", ""),
            "attributes": {k: system[k] for k in SQS_ATTRIBUTES if k in system},
            "messageAttributes": {
                name: _lambda_message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.sources.ctx.region,
        }
        if message.get("MD5OfMessageAttributes"):
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        return record

    def source_empty(self) -> bool:
        return self.sources.queue_empty(self.url)


def _lambda_message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "StringValue" in value:
        out["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        out["binaryValue"] = _b64(value["BinaryValue"])
    out["stringListValues"] = list(value.get("StringListValues", []))
    out["binaryListValues"] = [_b64(v) for v in value.get("BinaryListValues", [])]
    out["dataType"] = value.get("DataType", "String")
    return out


# ---- SNS


class _TopicPoller(_QueuePoller):
    """SNS → function through a bridge queue; each notification is one asynchronous invocation."""

    kind = "SNS"

    def __init__(self, sources: EventSources, source: TopicSource):
        super().__init__(sources, None, function=source.function, event=source.event)
        self.topic = source
        self.subscription_arn = ""
        spec = self.pool.spec
        resolve = sources.template.resolve
        config = resolve(spec.properties.get("EventInvokeConfig") or {}, sources.ctx) or {}
        self.max_retries = max(0, int(config.get("MaximumRetryAttempts", 2)))
        destinations = config.get("DestinationConfig") or {}
        self.on_success = (destinations.get("OnSuccess") or {}).get("Destination")
        self.on_failure = (destinations.get("OnFailure") or {}).get("Destination")
        self.dead_letter = (resolve(spec.properties.get("DeadLetterQueue") or {}, sources.ctx) or {}).get("TargetArn")

    def setup(self) -> None:
        ctx = self.sources.ctx
        name = f"{ctx.stack_name}-{self.function}-{self.topic.event}-sns"[:80]
        self.url = self.sqs.create_queue(
            QueueName=name, Attributes={"VisibilityTimeout": str(BRIDGE_VISIBILITY_TIMEOUT)}
        )["QueueUrl"]  # notifications are retried in-process, so this only matters after a crash
        self.queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        attributes = {"RawMessageDelivery": "false"}
        if self.topic.filter_policy:
            attributes["FilterPolicy"] = self.topic.filter_policy
        if self.topic.filter_policy_scope:
            attributes["FilterPolicyScope"] = self.topic.filter_policy_scope
        sns = self.sources.client("sns")
        for existing in sns.list_subscriptions_by_topic(TopicArn=self.topic.topic_arn).get("Subscriptions", []):
            if existing["Protocol"] == "sqs" and existing["Endpoint"] == self.queue_arn:
                self.subscription_arn = existing["SubscriptionArn"]
                for key, value in attributes.items():
                    sns.set_subscription_attributes(
                        SubscriptionArn=self.subscription_arn, AttributeName=key, AttributeValue=value
                    )
                return
        self.subscription_arn = sns.subscribe(
            TopicArn=self.topic.topic_arn,
            Protocol="sqs",
            Endpoint=self.queue_arn,
            Attributes=attributes,
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]

    def poll(self) -> bool:
        try:
            messages = self.receive(10)
            for message in messages:
                self._notify(message)
                self._delete([{"receiptHandle": message["ReceiptHandle"]}])
        finally:
            self.busy = False
        return bool(messages or self.sources.wait_seconds)

    def _notify(self, message: dict[str, Any]) -> None:
        try:
            envelope = json.loads(message.get("Body", ""))
            event = {"Records": [self._sns_record(envelope)]}
        except (ValueError, KeyError, TypeError) as exc:
            print(f"[{self.function}] {self.label}: not an SNS notification, dropped: {exc}", file=sys.stderr)
            return
        label = f"[{self.function}] {self.label}"
        for attempt in range(1, self.max_retries + 2):
            result, error = self.sources.invoke(self.pool, event, self.label)
            if error is None:
                if self.on_success:
                    record = _async_record(self.pool, event, attempt, "Success", result, None)
                    self._send(self.on_success, record, label)
                return
            if attempt <= self.max_retries:
                self.sources.sleep(self.sources.backoff(attempt))
        payload = error.payload() if isinstance(error, FunctionError) else {"errorMessage": str(error)}
        if self.on_failure:
            record = _async_record(self.pool, event, attempt, "RetriesExhausted", payload, "Unhandled")
            self._send(self.on_failure, record, label)
            print(f"{label}: notification sent to {self.on_failure} after {attempt} attempts", file=sys.stderr)
        elif self.dead_letter:
            attributes = {"RequestID": str(uuid.uuid4()), "ErrorCode": "200", "ErrorMessage": str(error)[:256]}
            self.sources.deliver_until_done(self.dead_letter, event, label, attributes=attributes)
            print(f"{label}: notification sent to {self.dead_letter} after {attempt} attempts", file=sys.stderr)
        else:
            print(f"{label}: notification dropped after {attempt} attempts: no destination", file=sys.stderr)

    def _send(self, target: str, record: dict[str, Any], label: str) -> None:
        lambda_target = next((p for p in self.sources.pools.values() if p.spec.arn == target), None)
        if lambda_target is not None:
            self.sources.invoke(lambda_target, record, f"destination of {self.name}")
        else:
            self.sources.deliver_until_done(target, record, label)

    def _sns_record(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """moto's SNS-to-SQS envelope as the event SNS gives Lambda (note the Url spellings)."""
        region = self.sources.ctx.region
        return {
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": self.subscription_arn,
            "Sns": {
                "Type": envelope.get("Type", "Notification"),
                "MessageId": envelope["MessageId"],
                "TopicArn": envelope["TopicArn"],
                "Subject": envelope.get("Subject"),
                "Message": envelope["Message"],
                "Timestamp": envelope["Timestamp"],
                "SignatureVersion": envelope.get("SignatureVersion", "1"),
                "Signature": envelope.get("Signature", ""),
                "SigningCertUrl": envelope.get("SigningCertURL", ""),
                "UnsubscribeUrl": (
                    f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={self.subscription_arn}"
                ),
                "MessageAttributes": envelope.get("MessageAttributes", {}),
            },
        }


def _async_record(
    pool: FunctionPool, event: Any, attempts: int, condition: str, payload: Any, function_error: str | None
) -> dict[str, Any]:
    """The invocation record Lambda sends to an asynchronous invocation's destination."""
    response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if function_error:
        response["functionError"] = function_error
    return {
        "version": "1.0",
        "timestamp": _now_iso(),
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"{pool.spec.arn}:$LATEST",
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": response,
        "responsePayload": payload,
    }


# --------------------------------------------------------------------------- helpers


def _reported_failures(result: Any, identifiers: list[str]) -> set[str] | None:
    """The identifiers a partial batch response reports failed; None when the response is invalid
    (Lambda then treats the whole batch as failed). No response, or an empty list, is success."""
    if result is None or not isinstance(result, dict):
        return set() if result is None else None
    items = result.get("batchItemFailures")
    if not items:
        return set()
    if not isinstance(items, list):
        return None
    failed = set()
    for item in items:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in identifiers:
            return None
        failed.add(identifier)
    return failed


def _jsonable(value: Any) -> Any:
    """botocore's parsed values back to the JSON Lambda sends (binary attributes base64)."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return _b64(value)
    return value


def _b64(value: Any) -> str:
    data = value if isinstance(value, (bytes, bytearray)) else str(value).encode()
    return base64.b64encode(data).decode()


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _iso(epoch_seconds: Any) -> str:
    return datetime.fromtimestamp(float(epoch_seconds or 0), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- event filtering


def matches_filters(patterns: tuple[dict[str, Any], ...], record: dict[str, Any], *, sqs: bool = False) -> bool:
    """Lambda event filtering: True when there are no patterns or any pattern matches the record.

    For SQS a JSON body is matched as the parsed object, as Lambda does. Supported operators:
    exact values, null, prefix, suffix, equals-ignore-case, anything-but, exists and numeric.
    """
    if not patterns:
        return True
    if sqs:
        try:
            record = {**record, "body": json.loads(record.get("body", ""))}
        except ValueError:
            pass
    return any(_match_object(pattern, record) for pattern in patterns)


def _match_object(pattern: dict[str, Any], value: Any) -> bool:
    for key, rule in pattern.items():
        present = isinstance(value, dict) and key in value
        field_value = value[key] if present else None
        if isinstance(rule, dict):
            if not present or not _match_object(rule, field_value):
                return False
        elif isinstance(rule, list):
            if not _match_rules(rule, present, field_value):
                return False
        else:
            raise ValueError(f"a filter pattern value must be an object or a list, got {rule!r}")
    return True


def _match_rules(rules: list[Any], present: bool, value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    for rule in rules:
        if isinstance(rule, dict) and "exists" in rule:
            if bool(rule["exists"]) == present:
                return True
        elif present and any(_match_value(rule, v) for v in values):
            return True
    return False


_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "=": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _match_value(rule: Any, value: Any) -> bool:
    if not isinstance(rule, dict):
        return _equal(rule, value)
    ((operator, argument),) = rule.items()
    if operator == "prefix":
        return isinstance(value, str) and value.startswith(argument)
    if operator == "suffix":
        return isinstance(value, str) and value.endswith(argument)
    if operator == "equals-ignore-case":
        return isinstance(value, str) and value.lower() == str(argument).lower()
    if operator == "anything-but":
        if isinstance(argument, dict):
            return not _match_value(argument, value)
        options = argument if isinstance(argument, list) else [argument]
        return not any(_equal(option, value) for option in options)
    if operator == "numeric":
        number = _number(value)
        if number is None:
            return False
        pairs = zip(argument[::2], argument[1::2], strict=True)
        return all(_NUMERIC[op](number, float(limit)) for op, limit in pairs)
    raise ValueError(f"filter operator {operator!r} is not emulated locally")


def _equal(rule: Any, value: Any) -> bool:
    if isinstance(rule, (int, float)) and not isinstance(rule, bool):
        number = _number(value)
        return number is not None and number == float(rule)
    return rule == value


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
