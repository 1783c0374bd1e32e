"""POST /admin/merchants/{merchant_id}/stripe/connect: create the merchant's Stripe account (once)
and answer an onboarding link for its owner."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.config import settings
from caisse.observability import observability
from caisse.payments.stripe.connect import connect
from caisse.web import Path, current_staff, error_responses, resolver

logger, metrics, tracer = observability("connect-merchant")
app = resolver(logger)


@app.post(
    "/admin/merchants/<merchant_id>/stripe/connect",
    summary="Onboard a merchant on Stripe Connect",
    responses={
        200: {"description": "Where the merchant finishes onboarding at Stripe"},
        **error_responses(
            {
                404: "not_found: no such merchant",
                503: "provider_unavailable: Stripe did not answer; try again",
            }
        ),
    },
)
def connect_merchant(merchant_id: Annotated[str, Path(max_length=64)]) -> dict:
    shop = settings().shop_url
    answer = connect(
        merchant_id,
        current_staff(app),
        return_url=f"{shop}/merchants/{merchant_id}/onboarding?result=done",
        refresh_url=f"{shop}/merchants/{merchant_id}/onboarding?result=expired",
    )
    logger.info("onboarding link issued", extra={"merchant": merchant_id, "account": answer["account_id"]})
    return answer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
