"""POST /webhooks/paydunya: the form-encoded IPN. Its hash (SHA-512 of our master key) is checked in
constant time, then the order settles only on what `checkout-invoice/confirm` says, through the
one webhook contract."""

from caisse.answers import guarded
from caisse.observability import observability
from caisse.payments.paydunya.provider import PaydunyaWebhook
from caisse.payments.webhook import handle

logger, metrics, tracer = observability("paydunya-webhook")
adapter = PaydunyaWebhook()


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@guarded(logger)
def handler(event, context):
    return handle(adapter, event, logger, metrics)
