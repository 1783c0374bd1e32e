"""POST /webhooks/stripe: verify the signature on the raw body, record the event once, settle."""

from caisse.observability import observability
from caisse.payments.stripe import events
from caisse.payments.stripe.client import WEBHOOK_SECRET_PARAMETER
from caisse.payments.webhook import header, raw_body, reject, settle_and_answer
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
    return settle_and_answer(events.notice(stripe_event), logger, metrics)
