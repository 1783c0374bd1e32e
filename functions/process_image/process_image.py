"""S3 ObjectCreated on the uploads prefix: the four renditions, the EXIF summary, the record.

A bad file is recorded as failed and the invocation succeeds (no retry could help); an AWS error
raises, so Lambda retries twice and then sends the event to the on-failure queue."""

from aws_lambda_powertools.metrics import MetricUnit

from caisse.media.events import uploaded_objects
from caisse.media.processing import process_upload, workers_for
from caisse.observability import observability

logger, metrics, tracer = observability("process-image")

LEASE_MARGIN_SECONDS = 5


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    workers = workers_for(context.memory_limit_in_mb)
    results = []
    for upload in uploaded_objects(event):
        lease = context.get_remaining_time_in_millis() / 1000 + LEASE_MARGIN_SECONDS
        outcome = process_upload(upload, workers=workers, lease_seconds=lease)
        logger.info(
            "upload processed",
            extra={
                "media_id": outcome.media_id,
                "result": outcome.result,
                "reason": outcome.reason_code,
                "stored_bytes": outcome.stored_bytes,
                "workers": workers,
            },
        )
        if outcome.result == "ready":
            metrics.add_metric(name="ImageReady", unit=MetricUnit.Count, value=1)
        elif outcome.result == "failed":
            metrics.add_metric(name="ImageRejected", unit=MetricUnit.Count, value=1)
        results.append({"media_id": outcome.media_id, "result": outcome.result, "reason": outcome.reason_code})
    return {"results": results}
