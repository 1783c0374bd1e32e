"""The orders stream -> business figures per merchant and day (caisse.orders.figures). A step of
its own, apart from the emails: each record is counted once, whatever Lambda redelivers."""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from caisse.observability import observability
from caisse.orders.figures import apply_stream_images

logger, metrics, tracer = observability("aggregate-figures")
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def record_handler(record: DynamoDBRecord) -> None:
    images = record.raw_event.get("dynamodb") or {}
    outcome = apply_stream_images(images.get("OldImage"), images.get("NewImage"))
    if outcome != "nothing":
        metrics.add_metric(name=f"Figures{outcome.capitalize()}", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
