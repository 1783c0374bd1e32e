"""POST /webhooks/paypal: verified by PayPal (the raw event spliced in unchanged, transmission time
in a window), then settled only on what PayPal's own API says about what the event names
(through the one webhook contract)."""

from caisse.answers import guarded
from caisse.observability import observability
from caisse.payments.paypal.provider import PayPalWebhook
from caisse.payments.webhook import handle

logger, metrics, tracer = observability("paypal-webhook")
adapter = PayPalWebhook()


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@guarded(logger)
def handler(event, context):
    return handle(adapter, event, logger, metrics)
