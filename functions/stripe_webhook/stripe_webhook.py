"""POST /webhooks/stripe: the platform's Stripe events, through the one webhook contract
(caisse.payments.webhook: verify on the raw body, notices, settle)."""

from caisse.answers import guarded
from caisse.observability import observability
from caisse.payments.stripe.events import WEBHOOK_SECRET_PARAMETER, StripeWebhook
from caisse.payments.webhook import handle

logger, metrics, tracer = observability("stripe-webhook")
adapter = StripeWebhook(WEBHOOK_SECRET_PARAMETER)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@guarded(logger)
def handler(event, context):
    return handle(adapter, event, logger, metrics)
