"""Notification messages → email through SES, each at most once (see caisse.notifications.dispatch).

Batches from the FIFO queue are processed message by message; a failure that passes is reported
for that message alone (and the rest of its group, to keep one order's emails in order), with a
growing visibility timeout as the backoff. After the queue's maxReceiveCount it goes to the DLQ.
"""

import json

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from caisse.config import settings
from caisse.db import aws_client
from caisse.notifications import dispatch
from caisse.notifications.changes import Notification
from caisse.notifications.sender import TransientSendError
from caisse.observability import correlate, correlation_of, observability
from caisse.orders.tokens import TOKEN_KEY_PARAMETER
from caisse.secrets import secret

logger, metrics, tracer = observability("send-email")
processor = SqsFifoPartialProcessor(skip_group_on_error=True)
MAX_BACKOFF_SECONDS = 900


def record_handler(record: SQSRecord) -> None:
    correlate(correlation_of(record.raw_event))
    notification = Notification.from_message(json.loads(record.body))
    try:
        outcome = dispatch.deliver(notification, secret(TOKEN_KEY_PARAMETER))
    except (TransientSendError, dispatch.ClaimedElsewhere) as error:
        attempt = int(record.attributes.approximate_receive_count or 1)
        delay = min(MAX_BACKOFF_SECONDS, settings().email_retry_base_seconds * 2 ** (attempt - 1))
        aws_client("sqs").change_message_visibility(
            QueueUrl=settings().notifications_queue_url, ReceiptHandle=record.receipt_handle, VisibilityTimeout=delay
        )
        logger.warning(
            "email not sent, will retry",
            extra={"notification": notification.id, "error": str(error), "attempt": attempt, "retry_in": delay},
        )
        metrics.add_metric(name="EmailRetried", unit=MetricUnit.Count, value=1)
        raise
    logger.info("email handled", extra={"notification": notification.id, "outcome": outcome.status})
    metrics.add_metric(name=f"Email{outcome.status.capitalize()}", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
