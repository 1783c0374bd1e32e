"""POST /webhooks/paypal: PayPal verifies its own signature (the raw event spliced in unchanged);
an approved order is captured here, and captures settle the order."""

from caisse.errors import ProviderUnavailable
from caisse.observability import observability
from caisse.payments.base import Outcome, PaymentNotice
from caisse.payments.paypal.provider import InvalidWebhook, PayPal, verify_webhook
from caisse.payments.webhook import header, raw_body, reject, settle_and_answer, unavailable

logger, metrics, tracer = observability("paypal-webhook")
TRANSMISSION_HEADERS = ("auth-algo", "cert-url", "transmission-id", "transmission-sig", "transmission-time")


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    headers = {f"paypal-{name}": header(event, f"PayPal-{name}") for name in TRANSMISSION_HEADERS}
    provider = PayPal()
    try:
        paypal_event = verify_webhook(raw_body(event), headers)
    except InvalidWebhook as error:
        return reject(logger, metrics, "paypal", str(error), event)
    except ProviderUnavailable as error:
        return unavailable(logger, "paypal", error)
    kind, resource, event_id = (
        paypal_event.get("event_type", ""),
        paypal_event.get("resource") or {},
        paypal_event["id"],
    )
    try:
        if kind == "CHECKOUT.ORDER.APPROVED":
            notice = provider.order_notice(provider.capture(resource["id"]), event_id)
        elif kind.startswith("PAYMENT.CAPTURE.") and kind != "PAYMENT.CAPTURE.REFUNDED":
            notice = provider.capture_notice(resource, event_id, kind)
        else:
            notice = PaymentNotice("paypal", event_id, kind, Outcome.IGNORED, resource.get("custom_id"))
    except ProviderUnavailable as error:
        return unavailable(logger, "paypal", error)
    return settle_and_answer(notice, logger, metrics)
