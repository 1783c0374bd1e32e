"""POST /admin/merchants/{merchant_id}/billing/card: Stripe's page where the merchant's staff give
another card for the plan (the customer portal's payment-method update), back to the console's
billing page after (caisse.payments.plans.card_page)."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.catalog.schemas import MERCHANT_ID
from caisse.config import settings
from caisse.observability import observability
from caisse.payments.plans import card_page
from caisse.web import Path, current_staff, error_responses, resolver

logger, metrics, tracer = observability("update-card")
app = resolver(logger)


@app.post(
    "/admin/merchants/<merchant_id>/billing/card",
    summary="Open Stripe's page to give another card for a merchant's plan",
    responses={
        200: {
            "description": "Where to give the card (`url`, Stripe's customer portal, for one visit soon after): "
            "it comes back to the console's billing page"
        },
        **error_responses(
            {
                403: "forbidden: another merchant",
                404: "not_found: no such merchant",
                409: "not_a_platform_merchant; no_running_plan (no card with Stripe yet: choose a plan); "
                "card_page_refused (Stripe refused, e.g. its customer portal is not set up)",
                503: "provider_unavailable: Stripe did not answer; try again",
            }
        ),
    },
)
def card(merchant_id: Annotated[str, Path(max_length=64, pattern=MERCHANT_ID)]) -> dict:
    staff = current_staff(app)
    back = f"{settings().public_api_url}/console#/billing"
    answer = card_page(merchant_id, staff, done_url=f"{back}?result=card_saved", back_url=back)
    logger.info("card page opened", extra={"merchant": merchant_id, "by": staff.actor_id})
    return answer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
