"""POST /webhooks/paydunya: the form-encoded IPN. Its hash (SHA-512 of our master key) is checked in
constant time, then the order settles only on what `checkout-invoice/confirm` says."""

from caisse.errors import ProviderUnavailable
from caisse.observability import observability
from caisse.payments.paydunya.provider import MASTER_KEY_PARAMETER, InvalidIpn, PayDunya, read_ipn, verify_ipn
from caisse.payments.webhook import raw_body, reject, settle_and_answer, unavailable
from caisse.secrets import secret

logger, metrics, tracer = observability("paydunya-webhook")


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    try:
        token = verify_ipn(read_ipn(raw_body(event)), secret(MASTER_KEY_PARAMETER))
    except InvalidIpn as error:
        return reject(logger, metrics, "paydunya", str(error), event)
    provider = PayDunya()
    try:
        notice = provider.notice(provider.confirm(token))
    except ProviderUnavailable as error:
        return unavailable(logger, "paydunya", error)
    return settle_and_answer(notice, logger, metrics)
