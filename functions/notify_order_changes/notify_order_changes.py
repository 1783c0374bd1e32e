"""The orders and media tables' streams → notification messages. The streams are the outbox: a
change that was committed always reaches this function, even if the function that wrote it crashed
right after."""

import time

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from caisse.catalog.models import Merchant
from caisse.notifications import changes, outbox
from caisse.observability import observability

logger, metrics, tracer = observability("notify-order-changes")
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


MERCHANT_SECONDS = 60
_merchants: dict[str, tuple[float, Merchant | None]] = {}


def merchant_of(merchant_id: str) -> Merchant | None:
    """The merchant (its staff address, language, switches), read at most once a minute."""
    cached = _merchants.get(merchant_id)
    if cached is not None and time.monotonic() - cached[0] < MERCHANT_SECONDS:
        return cached[1]
    try:
        merchant = Merchant.get(Merchant.key(merchant_id))
    except Merchant.DoesNotExist:
        merchant = None
    _merchants[merchant_id] = (time.monotonic(), merchant)
    return merchant


def record_handler(record: DynamoDBRecord) -> None:
    images = record.raw_event.get("dynamodb") or {}
    notifications = changes.for_stream_images(images.get("OldImage"), images.get("NewImage"), merchant_of)
    if notifications:
        outbox.publish(notifications)
        metrics.add_metric(name="NotificationsQueued", unit=MetricUnit.Count, value=len(notifications))
        logger.info("notifications queued", extra={"ids": [n.id for n in notifications]})


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
