"""Hourly (and on demand: scripts/run_scheduled.py SweepNotificationsFunction): queue the emails
that orders changed in the last day called for and that the email ledger never saw, whatever lost
them (caisse.notifications.replay.sweep)."""

from aws_lambda_powertools.metrics import MetricUnit

from caisse.catalog.service import find_merchant
from caisse.notifications.replay import sweep
from caisse.observability import observability

logger, metrics, tracer = observability("sweep-notifications")


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    report = sweep(merchant_of=find_merchant)
    metrics.add_metric(name="NotificationsSwept", unit=MetricUnit.Count, value=len(report.queued))
    if report.queued:
        logger.warning("emails that were never queued, queued now", extra=report.as_dict())
    else:
        logger.info("notification sweep done", extra={"orders": report.orders, "expected": report.expected})
    return report.as_dict()
