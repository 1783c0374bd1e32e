"""OrderStreamFailuresQueue → the notifications of stream batches the stream consumer gave up on
(SQS was down longer than its retries). Each message is Lambda's description of a failed batch;
the records are read back from the stream (kept 24 hours) and queued again. A message that fails
comes back after the queue's visibility timeout, until SQS is back; records the stream no longer
holds are left to the notification sweep (an error log and a metric say so)."""

import json

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from caisse.catalog.service import find_merchant
from caisse.notifications.replay import RecordsTrimmed, replay
from caisse.observability import observability

logger, metrics, tracer = observability("replay-stream-failures")
processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    failure = json.loads(record.body)
    try:
        queued = replay(failure, find_merchant)
    except RecordsTrimmed as gone:
        logger.error(
            "stream records no longer in the stream; the notification sweep will find them", extra={"batch": str(gone)}
        )
        metrics.add_metric(name="StreamRecordsTrimmed", unit=MetricUnit.Count, value=1)
        return
    metrics.add_metric(name="NotificationsReplayed", unit=MetricUnit.Count, value=len(queued))
    logger.info("stream batch replayed", extra={"ids": [n.id for n in queued]})


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
