"""Every day: customers of orders closed longer ago than their merchant keeps personal data
(`retention_months`) are anonymised, keeping the accounting figures (caisse.privacy)."""

from aws_lambda_powertools.metrics import MetricUnit

from caisse.observability import observability
from caisse.privacy import apply_retention

logger, metrics, tracer = observability("apply-retention")


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    report = apply_retention()
    metrics.add_metric(name="OrdersAnonymised", unit=MetricUnit.Count, value=report["erased"])
    logger.info("retention applied", extra={"erased": report["erased"], "waiting": len(report["waiting"])})
    return report
