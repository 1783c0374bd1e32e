"""SES bounces and complaints (via SNS) → the suppression list, so those addresses are not mailed again."""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import SNSEvent, event_source

from caisse.clock import utcnow
from caisse.notifications import feedback
from caisse.notifications.ledger import Suppression
from caisse.observability import observability

logger, metrics, tracer = observability("email-feedback")


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@event_source(data_class=SNSEvent)
def handler(event: SNSEvent, context):
    suppressed = 0
    for record in event.records:
        for item in feedback.read(record.sns.message):
            Suppression(
                Suppression.key(item.email), email=item.email, reason=item.reason, detail=item.detail, at=utcnow()
            ).save()
            suppressed += 1
            metrics.add_metric(name=f"EmailSuppressed{item.reason.capitalize()}", unit=MetricUnit.Count, value=1)
    # Addresses are personal data: the log says how many, not which.
    logger.info("email feedback processed", extra={"suppressed": suppressed})
    return {"suppressed": suppressed}
