"""Daily (and on demand: scripts/run_scheduled.py ReconcilePaymentsFunction): settle payments whose
webhook never came, report every mismatch with the providers."""

from aws_lambda_powertools.metrics import MetricUnit

from caisse.observability import observability
from caisse.payments.reconciliation import reconcile

logger, metrics, tracer = observability("reconcile-payments")


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    report = reconcile()
    metrics.add_metric(name="ReconciliationChecked", unit=MetricUnit.Count, value=report.checked)
    metrics.add_metric(name="ReconciliationSettled", unit=MetricUnit.Count, value=len(report.settled))
    metrics.add_metric(name="ReconciliationMismatch", unit=MetricUnit.Count, value=len(report.mismatches))
    for mismatch in report.mismatches:
        logger.warning("reconciliation mismatch", extra=mismatch)
    logger.info("reconciliation done", extra=report.as_dict())
    return report.as_dict()
