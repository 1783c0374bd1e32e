"""Publishing notifications to the queue the email function reads (SQS FIFO): grouped by what
changed and who it is for (Notification.group), so one order's emails to its customer go out in
order, and deduplicated by the notification id, so a stream record delivered twice queues its
email once (within SQS's five-minute window; the ledger catches anything later)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from caisse.config import settings
from caisse.db import aws_client
from caisse.notifications.changes import Notification
from caisse.observability import MESSAGE_ATTRIBUTE, correlation_id

_client = None


class PublishError(Exception):
    """SQS did not take every message; the stream record is retried."""


def _sqs() -> Any:  # a boto3 client (boto3 ships no types)
    global _client
    if _client is None:
        _client = aws_client("sqs")
    return _client


def publish(notifications: Sequence[Notification]) -> int:
    # The correlation id logged now (the order's, in the stream consumer) goes with each message,
    # for the email function to log under (caisse.observability).
    current = correlation_id()
    correlation = {"MessageAttributes": {MESSAGE_ATTRIBUTE: {"DataType": "String", "StringValue": current}}}
    for start in range(0, len(notifications), 10):
        batch = notifications[start : start + 10]
        answer = _sqs().send_message_batch(
            QueueUrl=settings().notifications_queue_url,
            Entries=[
                {
                    "Id": str(index),
                    "MessageBody": json.dumps(notification.to_message()),
                    "MessageGroupId": notification.group,
                    "MessageDeduplicationId": notification.deduplication_id,
                    **(correlation if current else {}),
                }
                for index, notification in enumerate(batch)
            ],
        )
        if answer.get("Failed"):
            raise PublishError(", ".join(f"{f['Code']}: {f.get('Message', '')}" for f in answer["Failed"]))
    return len(notifications)
