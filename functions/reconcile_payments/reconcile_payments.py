"""Daily (and on demand: scripts/run_scheduled.py ReconcilePaymentsFunction): settle payments whose
webhook never came, report every mismatch with the providers.

A run that would outlast the function's timeout stops cleanly before it, with a checkpoint, and
fails on purpose (ReconciliationIncomplete) so that Lambda retries the same scheduled event, which
resumes from the checkpoint instead of starting over."""

import time

from aws_lambda_powertools.metrics import MetricUnit

from caisse.observability import observability
from caisse.payments.reconciliation import reconcile

logger, metrics, tracer = observability("reconcile-payments")


class ReconciliationIncomplete(Exception):
    """Stopped before the deadline with work left: the retry of this event resumes it."""


def remaining_seconds(event, context):
    """Seconds left before the deadline: the function's own, or a shorter one the event asks for
    (`detail.stop_after_seconds`, for a bounded run on demand)."""
    started = time.monotonic()
    detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
    limit = detail.get("stop_after_seconds")

    def remaining() -> float:
        left = context.get_remaining_time_in_millis() / 1000
        if isinstance(limit, int | float) and not isinstance(limit, bool):
            left = min(left, float(limit) - (time.monotonic() - started))
        return left

    return remaining


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    run_id = event.get("id") or context.aws_request_id  # a retried event carries the same id
    report = reconcile(run_id=run_id, remaining=remaining_seconds(event, context))
    metrics.add_metric(name="ReconciliationChecked", unit=MetricUnit.Count, value=report.checked)
    metrics.add_metric(name="ReconciliationSettled", unit=MetricUnit.Count, value=len(report.settled))
    metrics.add_metric(name="ReconciliationMismatch", unit=MetricUnit.Count, value=len(report.mismatches))
    for mismatch in report.mismatches:
        logger.warning("reconciliation mismatch", extra=mismatch)
    if not report.complete:
        metrics.add_metric(name="ReconciliationIncomplete", unit=MetricUnit.Count, value=1)
        logger.warning("reconciliation stopped before its deadline; the retry resumes it", extra=report.as_dict())
        raise ReconciliationIncomplete(f"run {run_id}: {report.checked} orders checked, more to do")
    logger.info("reconciliation done", extra=report.as_dict())
    return report.as_dict()
