"""The two ways a committed change that never became a message still becomes one.

- Replay: when the stream consumer gives up on a batch (SQS down longer than its retries), Lambda
  sends only the batch's description (stream, shard, first and last sequence numbers) to the
  failure queue. The records themselves stay in the stream for 24 hours: `replay` reads them back
  from the shard and queues their notifications, exactly as the stream consumer would have.
- Sweep: `sweep` reads orders changed in the last day or so (never a Scan: the status and money
  indexes, filtered on `updated_at`), rebuilds from each one's history and refunds the emails it
  called for, and queues those the email ledger has no record of. It finds what even a lost
  failure record, or a replay after the stream's 24 hours, would miss.

Both are safe to run any number of times: a notification's id is derived from the change, the
queue deduplicates it for five minutes and the email function claims it in the ledger before
sending, so a notification queued twice is mailed once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from caisse.clock import iso, utcnow
from caisse.db import aws_client, batch_get
from caisse.notifications import outbox
from caisse.notifications.changes import Notification, for_history, for_stream_images
from caisse.notifications.ledger import EmailRecord
from caisse.orders import states
from caisse.orders.models import Order
from caisse.orders.service import load

MerchantOf = Callable[[str], Any]


class RecordsTrimmed(Exception):
    """The stream no longer holds these records (older than 24 hours): only the sweep can help."""


def queue_for_record(images: dict[str, Any], merchant_of: MerchantOf) -> list[Notification]:
    """Queue the notifications of one stream record (its `dynamodb` part); what was queued."""
    notifications = for_stream_images(images.get("OldImage"), images.get("NewImage"), merchant_of)
    if notifications:
        outbox.publish(notifications)
    return notifications


def replay(failure: dict[str, Any], merchant_of: MerchantOf) -> list[Notification]:
    """Queue again the notifications of the stream batch a failure record describes (Lambda's
    on-failure record for a DynamoDB stream: `DDBStreamBatchInfo`)."""
    batch = failure["DDBStreamBatchInfo"]
    start, end = int(batch["startSequenceNumber"]), int(batch["endSequenceNumber"])
    streams = aws_client("dynamodbstreams")
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=batch["streamArn"],
            ShardId=batch["shardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=batch["startSequenceNumber"],
        )["ShardIterator"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("TrimmedDataAccessException", "ResourceNotFoundException"):
            raise RecordsTrimmed(f"{batch['shardId']} {start}..{end}") from error
        raise
    queued: list[Notification] = []
    empty_pages = 0
    while iterator and empty_pages < 10:  # an open shard may answer empty pages before the records
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        records = page.get("Records", [])
        empty_pages = 0 if records else empty_pages + 1
        for record in records:
            number = int(record["dynamodb"]["SequenceNumber"])
            if number > end:
                return queued
            if number >= start:
                queued += queue_for_record(record["dynamodb"], merchant_of)
        iterator = page.get("NextShardIterator")
    return queued


# The sweep looks at orders changed at least GRACE ago (the stream and the email function have had
# their chance) and at most WINDOW ago (it runs hourly; an order changed again is looked at again).
GRACE = timedelta(minutes=10)
WINDOW = timedelta(hours=26)
# How far back orders were created that the sweep still looks at (the indexes' sort key).
CREATED_DAYS = 30
# Statuses and money states whose orders may owe an email (the lifecycle's emails, refunds).
SWEPT_STATUSES = (states.PAYMENT_FAILED, states.NEEDS_REVIEW)
SWEPT_MONEY = (states.MONEY_PAID, states.PARTIALLY_REFUNDED, states.REFUNDED)


@dataclass
class SweepReport:
    orders: int = 0
    expected: int = 0
    queued: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"orders": self.orders, "expected": self.expected, "queued": self.queued}


def _recently_changed(now: datetime) -> Iterator[Order]:
    since = iso(now - timedelta(days=CREATED_DAYS))
    seen: set[str] = set()
    queries = [Order.by_status.query(status, Order.created_at >= since) for status in SWEPT_STATUSES]
    queries += [Order.by_money_state.query(state, Order.created_at >= since) for state in SWEPT_MONEY]
    for query in queries:
        for record in query:
            if not isinstance(record, Order) or record.order_id in seen:
                continue
            seen.add(record.order_id)
            if now - WINDOW <= record.updated_at <= now - GRACE:
                yield record


def sweep(now: datetime | None = None, merchant_of: MerchantOf | None = None) -> SweepReport:
    """Queue the emails that orders changed in the window called for and that were never sent or
    even claimed (no ledger record)."""
    now = now or utcnow()
    report = SweepReport()
    for order in _recently_changed(now):
        bundle = load(order.order_id)
        if bundle is None:
            continue
        report.orders += 1
        owed = for_history(bundle.order, bundle.history, bundle.refunds, merchant_of)
        report.expected += len(owed)
        missing = _without_record(owed)
        if missing:
            outbox.publish(missing)
            report.queued += [notification.id for notification in missing]
    return report


def _without_record(notifications: list[Notification]) -> list[Notification]:
    found: set[str] = set()
    keys = [(EmailRecord, EmailRecord.key(n.id), None) for n in notifications]
    for start in range(0, len(keys), 100):
        found.update(record.pk for record in batch_get(keys[start : start + 100]))
    return [n for n in notifications if EmailRecord.key(n.id) not in found]
