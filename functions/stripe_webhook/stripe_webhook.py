"""POST /webhooks/stripe: verify the signature on the raw body, record the event once, settle."""

from aws_lambda_powertools.metrics import MetricUnit

from caisse.observability import observability
from caisse.payments.settlement import settle
from caisse.payments.stripe import events
from caisse.payments.stripe.client import WEBHOOK_SECRET_PARAMETER
from caisse.payments.webhook import answer, header, raw_body, reject
from caisse.secrets import secret

logger, metrics, tracer = observability("stripe-webhook")


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    try:
        stripe_event = events.verify(
            raw_body(event), header(event, "Stripe-Signature"), secret(WEBHOOK_SECRET_PARAMETER)
        )
    except events.InvalidWebhook as error:
        return reject(logger, metrics, "stripe", str(error), event)

    notice = events.notice(stripe_event)
    settlement = settle(notice)
    logger.info(
        "stripe event settled",
        extra={
            "event_id": notice.event_id,
            "event_type": notice.event_type,
            "order_id": notice.order_id,
            "result": settlement.result,
            "status": settlement.status,
        },
    )
    if settlement.result == "flagged":
        metrics.add_metric(name="PaymentFlagged", unit=MetricUnit.Count, value=1)
    elif settlement.result == "moved" and settlement.status == "paid":
        metrics.add_metric(name="PaymentSucceeded", unit=MetricUnit.Count, value=1)
    elif settlement.result == "moved" and settlement.status == "payment_failed":
        metrics.add_metric(name="PaymentFailed", unit=MetricUnit.Count, value=1)
    return answer(200, {"received": True, "result": settlement.result})
