"""POST /webhooks/stripe-connect: events of merchants' connected accounts (their own signing
secret). `account.updated` keeps a merchant's ability to take charges in step; payment events of
deposits and balances settle through the same path as the platform's."""

from caisse.observability import observability
from caisse.payments import deliveries
from caisse.payments.stripe import events
from caisse.payments.stripe.connect import CONNECT_WEBHOOK_SECRET_PARAMETER, account_updated
from caisse.payments.webhook import answer, header, raw_body, reject, settle_and_answer
from caisse.secrets import secret

logger, metrics, tracer = observability("stripe-connect-webhook")


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    try:
        signature = header(event, "Stripe-Signature")
        stripe_event = events.verify(raw_body(event), signature, secret(CONNECT_WEBHOOK_SECRET_PARAMETER))
    except events.InvalidWebhook as error:
        return reject(logger, metrics, "stripe-connect", str(error), event)
    if stripe_event["type"] == "account.updated":
        delivery = deliveries.record("stripe", stripe_event["id"], stripe_event["type"], None)
        if delivery is None:
            return answer(200, {"received": True, "result": "duplicate"})
        result = account_updated(stripe_event)
        deliveries.finish(delivery, result)
        logger.info("account updated", extra={"account": stripe_event.get("account"), "result": result})
        return answer(200, {"received": True, "result": result})
    return settle_and_answer(events.notice(stripe_event), logger, metrics)
