"""Every few minutes: abandoned checkouts past their expiry are closed and expired, their stock
holds released (unless the provider says they were paid after all: then they settle)."""

from aws_lambda_powertools.metrics import MetricUnit

from caisse.observability import observability
from caisse.payments.reconciliation import expire_checkouts

logger, metrics, tracer = observability("expire-checkouts")


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    report = expire_checkouts()
    metrics.add_metric(name="CheckoutsExpired", unit=MetricUnit.Count, value=len(report.expired))
    logger.info("expiry sweep done", extra={"expired": len(report.expired), "settled": len(report.settled)})
    return report.as_dict()
