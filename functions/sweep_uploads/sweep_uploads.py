"""Every 15 minutes: uploads whose file never came are failed ("never_uploaded"), so their gallery
settles (ready with the photos that did arrive) instead of staying pending forever."""

from aws_lambda_powertools.metrics import MetricUnit

from caisse.media.sweep import sweep_uploads
from caisse.observability import observability

logger, metrics, tracer = observability("sweep-uploads")


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    report = sweep_uploads()
    metrics.add_metric(name="UploadsNeverArrived", unit=MetricUnit.Count, value=len(report.failed))
    logger.info(
        "upload sweep done",
        extra={"failed": len(report.failed), "skipped": len(report.skipped), "discarded": len(report.discarded)},
    )
    return report.as_dict()
