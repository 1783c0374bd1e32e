"""S3 event notifications for the local stack: what Lambda's S3 trigger does, offline.

In AWS, S3 invokes a function asynchronously for each object event its notification configuration
matches, and Lambda retries a failed invocation (twice by default) before sending it to the
function's on-failure destination. moto cannot run Lambda code, but it does send S3 notifications
to an SQS queue it hosts. So for every function with a SAM `Type: S3` event in template.yaml, this
module gives the bucket a local-only queue notification with the event's names and key filter,
and a daemon thread long-polls that queue and invokes the function's in-process `FunctionPool`
with the message body, which is the `{"Records": [...]}` event itself (moto's shape: no
userIdentity, requestParameters, responseElements or sequencer; keys URL-encoded).

Each message is one asynchronous invocation: tried once, retried `MaximumRetryAttempts` times
(EventInvokeConfig, 2 by default) after `retry_delays`, then described to the OnFailure SQS
destination with the record Lambda sends; the message is deleted only after that (or after a
success). A throttled invocation is not an attempt: its message comes back in a moment. S3's
`s3:TestEvent` messages are deleted unread. Every wait is bounded, and `stop()` returns within a
few seconds even while a function runs (it finishes in its daemon thread; nothing new starts).
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from . import aws
from .runtime import FunctionError, FunctionPool, TooManyRequests
from .template import BucketSource, Context, Template

__all__ = ["S3Notifications"]

CONFIGURATION_PREFIX = "caisse-local-"
"""Id prefix of the notification entries this module owns (replaced on every start)."""


@dataclass
class _Trigger:
    source: BucketSource
    pool: FunctionPool
    bucket: str
    queue_url: str = ""
    queue_arn: str = ""
    max_retries: int = 2
    on_failure: str | None = None  # an SQS queue ARN
    thread: threading.Thread | None = None

    @property
    def name(self) -> str:
        return f"{self.source.function}.{self.source.event}"


class S3Notifications:
    """The S3 events of a template, wired to local queues and polled in daemon threads."""

    def __init__(
        self,
        template: Template,
        ctx: Context,
        aws_url: str,
        pools: Mapping[str, FunctionPool],
        *,
        retry_delays: Sequence[float] = (1.0, 2.0),
        wait_seconds: int = 1,
    ):
        if wait_seconds not in (0, 1):
            raise ValueError("wait_seconds must be 0 or 1 so that stopping stays quick")
        self.template = template
        self.ctx = ctx
        self.pools = pools
        self.retry_delays = tuple(retry_delays) or (0.0,)
        self.wait_seconds = wait_seconds
        self.sqs = aws.client("sqs", aws_url, ctx.region)
        self.s3 = aws.client("s3", aws_url, ctx.region)
        self.triggers: list[_Trigger] = []
        self._stopping = threading.Event()
        self._inflight: set[threading.Thread] = set()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> S3Notifications:
        """Create the queues, add them to the buckets' notification configurations, start polling."""
        if self.triggers:
            return self
        triggers = []
        for source in self.template.event_sources(self.ctx, "S3"):
            pool = self.pools.get(source.function)
            if pool is None:
                print(f"s3 events: no function pool for {source.function}, not polled", file=sys.stderr)
                continue
            trigger = _Trigger(source, pool, str(self.template.ref(source.bucket, self.ctx)))
            self._async_config(trigger)
            self._create_queue(trigger)
            triggers.append(trigger)
        for bucket in {t.bucket for t in triggers}:
            self._configure_bucket(bucket, [t for t in triggers if t.bucket == bucket])
        self.triggers = triggers
        for trigger in triggers:
            trigger.thread = threading.Thread(
                target=self._poll, args=(trigger,), name=f"caisse-s3-{trigger.name}", daemon=True
            )
            trigger.thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop polling; wait at most `timeout` seconds in all for the threads to end."""
        self._stopping.set()
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = [t.thread for t in self.triggers if t.thread is not None] + list(self._inflight)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        stuck = [thread.name for thread in threads if thread.is_alive()]
        if stuck:
            print(f"s3 events: still finishing after {timeout:g}s: {', '.join(stuck)}", file=sys.stderr, flush=True)

    def __enter__(self) -> S3Notifications:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ wiring
    def _async_config(self, trigger: _Trigger) -> None:
        spec = trigger.pool.spec
        config = self.template.resolve(spec.properties.get("EventInvokeConfig") or {}, self.ctx) or {}
        trigger.max_retries = max(0, int(config.get("MaximumRetryAttempts", 2)))
        target = ((config.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        if target and str(target).split(":")[2:3] != ["sqs"]:
            print(f"s3 events: {trigger.name}: only SQS on-failure destinations run locally", file=sys.stderr)
            target = None
        trigger.on_failure = str(target) if target else None

    def _create_queue(self, trigger: _Trigger) -> None:
        name = f"{self.ctx.stack_name}-{trigger.source.function}-{trigger.source.event}-s3"[:80]
        # Invisible while all attempts run, so a message is never handled twice at once.
        timeout = trigger.pool.spec.timeout * (trigger.max_retries + 1) + sum(self.retry_delays) + 30
        trigger.queue_url = self.sqs.create_queue(
            QueueName=name, Attributes={"VisibilityTimeout": str(int(min(timeout, 43200)))}
        )["QueueUrl"]
        trigger.queue_arn = self.sqs.get_queue_attributes(QueueUrl=trigger.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]

    def _configure_bucket(self, bucket: str, triggers: Iterable[_Trigger]) -> None:
        """Our queue entries replace earlier ones of ours; anything else configured stays."""
        current = self.s3.get_bucket_notification_configuration(Bucket=bucket)
        current.pop("ResponseMetadata", None)
        queues = [
            q for q in current.get("QueueConfigurations", []) if not q.get("Id", "").startswith(CONFIGURATION_PREFIX)
        ]
        for trigger in triggers:
            entry: dict[str, Any] = {
                "Id": f"{CONFIGURATION_PREFIX}{trigger.name}",
                "QueueArn": trigger.queue_arn,
                "Events": list(trigger.source.events),
            }
            if trigger.source.filter_rules:
                entry["Filter"] = {"Key": {"FilterRules": [dict(rule) for rule in trigger.source.filter_rules]}}
            queues.append(entry)
        current["QueueConfigurations"] = queues
        self.s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=current)

    # ------------------------------------------------------------------ polling
    def _poll(self, trigger: _Trigger) -> None:
        slots = threading.BoundedSemaphore(trigger.pool.max_concurrency)
        errors = 0
        while not self._stopping.is_set():
            if not slots.acquire(timeout=0.5):
                continue
            try:
                answer = self.sqs.receive_message(
                    QueueUrl=trigger.queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=self.wait_seconds
                )
                errors = 0
            except Exception as exc:  # noqa: BLE001 - a poller must outlive a bad poll
                slots.release()
                errors += 1
                if not self._stopping.is_set():
                    print(f"[{trigger.source.function}] S3 event poll failed: {exc}", file=sys.stderr, flush=True)
                self._stopping.wait(min(2.0, 0.1 * 2**errors))
                continue
            messages = answer.get("Messages", [])
            if not messages:
                slots.release()
                continue
            worker = threading.Thread(
                target=self._handle, args=(trigger, messages[0], slots), name=f"caisse-s3-{trigger.name}-invoke"
            )
            worker.daemon = True
            with self._lock:
                self._inflight.add(worker)
            worker.start()

    def _handle(self, trigger: _Trigger, message: dict[str, Any], slots: threading.BoundedSemaphore) -> None:
        try:
            self._deliver(trigger, message)
        except Exception as exc:  # noqa: BLE001 - the message comes back after its visibility timeout
            print(f"[{trigger.source.function}] S3 event not handled: {exc}", file=sys.stderr, flush=True)
        finally:
            slots.release()
            with self._lock:
                self._inflight.discard(threading.current_thread())

    def _deliver(self, trigger: _Trigger, message: dict[str, Any]) -> None:
        label = f"[{trigger.source.function}] S3 event {trigger.source.event}"
        try:
            event = json.loads(message.get("Body") or "")
        except ValueError:
            event = None
        if not isinstance(event, dict) or not isinstance(event.get("Records"), list):
            self._delete(trigger, message)  # s3:TestEvent, or nothing S3 would send
            return
        error: Exception | None = None
        attempts = 0
        for attempt in range(trigger.max_retries + 1):
            if attempt and self._stopping.wait(self.retry_delays[min(attempt, len(self.retry_delays)) - 1]):
                return  # stopping: the message stays in the queue
            if self._stopping.is_set():
                return
            attempts = attempt + 1
            try:
                trigger.pool.invoke(event)
            except TooManyRequests as exc:
                print(f"{label}: throttled, will come back: {exc}", file=sys.stderr, flush=True)
                self.sqs.change_message_visibility(
                    QueueUrl=trigger.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=1
                )
                return
            except FunctionError as exc:
                error = exc
                print(
                    f"{label}: attempt {attempts} failed: {exc}\n{exc.traceback}".rstrip(), file=sys.stderr, flush=True
                )
                continue
            except RuntimeError:
                if self._stopping.is_set():  # the pool was closed under us
                    return
                raise
            self._delete(trigger, message)
            return
        assert isinstance(error, FunctionError)
        if trigger.on_failure:
            record = _failure_record(trigger.pool, event, attempts, error)
            queue = trigger.on_failure.split(":")
            url = self.sqs.get_queue_url(QueueName=queue[5], QueueOwnerAWSAccountId=queue[4])["QueueUrl"]
            self.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))
            print(f"{label}: sent to {trigger.on_failure} after {attempts} attempts", file=sys.stderr, flush=True)
        else:
            print(f"{label}: dropped after {attempts} attempts: no on-failure destination", file=sys.stderr)
        self._delete(trigger, message)

    def _delete(self, trigger: _Trigger, message: dict[str, Any]) -> None:
        self.sqs.delete_message(QueueUrl=trigger.queue_url, ReceiptHandle=message["ReceiptHandle"])


def _failure_record(pool: FunctionPool, event: Any, attempts: int, error: FunctionError) -> dict[str, Any]:
    """What Lambda sends to an asynchronous invocation's on-failure destination."""
    return {
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"{pool.spec.arn}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": error.payload(),
    }
