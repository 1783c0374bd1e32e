"""POST /webhooks/stripe-connect: events of merchants' connected accounts (their own signing
secret), through the one webhook contract. `account.updated` keeps a merchant's ability to take
charges in step; payment, refund and dispute events apply only to that merchant's orders."""

from caisse.answers import guarded
from caisse.observability import observability
from caisse.payments.stripe.events import CONNECT_EVENTS, CONNECT_WEBHOOK_SECRET_PARAMETER, StripeWebhook
from caisse.payments.webhook import handle

logger, metrics, tracer = observability("stripe-connect-webhook")
adapter = StripeWebhook(CONNECT_WEBHOOK_SECRET_PARAMETER, provider="stripe-connect", events=CONNECT_EVENTS)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@guarded(logger)
def handler(event, context):
    return handle(adapter, event, logger, metrics)
