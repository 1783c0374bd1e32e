"""The orders and media tables' streams → notification messages. The streams are the outbox: a
change that was committed always reaches this function, even if the function that wrote it crashed
right after. A batch it gives up on (SQS down past its retries) goes to the failure queue, from
which ReplayStreamFailuresFunction queues it again (caisse.notifications.replay)."""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from caisse.catalog.service import find_merchant
from caisse.notifications.replay import queue_for_record
from caisse.observability import correlate, correlation_of, observability

logger, metrics, tracer = observability("notify-order-changes")
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def record_handler(record: DynamoDBRecord) -> None:
    correlate(correlation_of(record.raw_event))
    notifications = queue_for_record(record.raw_event.get("dynamodb") or {}, find_merchant)
    if notifications:
        metrics.add_metric(name="NotificationsQueued", unit=MetricUnit.Count, value=len(notifications))
        logger.info("notifications queued", extra={"ids": [n.id for n in notifications]})


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
