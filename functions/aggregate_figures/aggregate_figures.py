"""The orders stream -> business figures per merchant and day (caisse.orders.figures). A step of
its own, apart from the emails: each record is counted once, whatever Lambda redelivers."""

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from caisse.observability import observability
from caisse.orders.figures import apply_stream_images

logger, metrics, tracer = observability("aggregate-figures")
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def record_handler(record: DynamoDBRecord) -> None:
    images = record.raw_event.get("dynamodb") or {}
    outcome, counted = apply_stream_images(images.get("OldImage"), images.get("NewImage"))
    if outcome != "nothing":
        metrics.add_metric(name=f"Figures{outcome.capitalize()}", unit=MetricUnit.Count, value=1)
    # The dashboard's orders and revenue per hour: counted here because every paid order passes by
    # once, whether its webhook or the customer's return from the provider settled it.
    for (_, currency), adds in sorted(counted.additions.items()) if counted else ():
        _per_currency("OrdersPaid", currency, adds.get("paid_orders", 0))
        _per_currency("Revenue", currency, adds.get("revenue", 0))  # in the currency's minor unit


def _per_currency(name: str, currency: str, value: int) -> None:
    """A count with the currency as its only dimension (not the function's service)."""
    if value:
        with single_metric(name=name, unit=MetricUnit.Count, value=value, default_dimensions={"currency": currency}):
            pass


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
