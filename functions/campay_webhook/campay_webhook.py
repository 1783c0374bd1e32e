"""GET or POST /webhooks/campay: the callback's JWT is checked, then the order settles on what
CamPay's own transaction record says (the JWT binds neither amount nor status), through the one
webhook contract."""

from caisse.answers import guarded
from caisse.observability import observability
from caisse.payments.campay.provider import CampayWebhook
from caisse.payments.webhook import handle

logger, metrics, tracer = observability("campay-webhook")
adapter = CampayWebhook()


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@guarded(logger)
def handler(event, context):
    return handle(adapter, event, logger, metrics)
