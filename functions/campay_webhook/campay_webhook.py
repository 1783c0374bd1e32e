"""GET or POST /webhooks/campay: check the callback's JWT, then settle on what CamPay's own
transaction record says (the JWT does not bind amount or status)."""

import json

from caisse.errors import ProviderUnavailable
from caisse.observability import observability
from caisse.payments.campay.provider import WEBHOOK_KEY_PARAMETER, CamPay, InvalidCallback, verify_callback
from caisse.payments.webhook import raw_body, reject, settle_and_answer, unavailable
from caisse.secrets import secret

logger, metrics, tracer = observability("campay-webhook")


def _params(event: dict) -> dict:
    """The callback's fields: query string (GET) or JSON body (POST), as the dashboard chose."""
    if (event.get("httpMethod") or "").upper() == "GET":
        return dict(event.get("queryStringParameters") or {})
    try:
        body = json.loads(raw_body(event) or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    try:
        reference = verify_callback(_params(event), secret(WEBHOOK_KEY_PARAMETER))
    except InvalidCallback as error:
        return reject(logger, metrics, "campay", str(error), event)
    provider = CamPay()
    try:
        notice = provider.notice(provider.transaction(reference))
    except ProviderUnavailable as error:
        return unavailable(logger, "campay", error)
    return settle_and_answer(notice, logger, metrics)
