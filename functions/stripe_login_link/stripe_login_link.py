"""POST /admin/merchants/{merchant_id}/stripe/login-link: a single-use link to the merchant's
Stripe Express dashboard, where its owner sees the balance and payouts."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.observability import observability
from caisse.payments.stripe.connect import login_link
from caisse.web import Path, current_staff, error_responses, resolver

logger, metrics, tracer = observability("stripe-login-link")
app = resolver(logger)


@app.post(
    "/admin/merchants/<merchant_id>/stripe/login-link",
    summary="Open the merchant's Stripe Express dashboard",
    responses={
        200: {"description": "The single-use dashboard link (url), valid a few minutes"},
        **error_responses(
            {
                404: "not_found: no such merchant",
                409: "not_connected, not_express or onboarding_incomplete: no dashboard to open yet",
                503: "provider_unavailable: Stripe did not answer; try again",
            }
        ),
    },
)
def stripe_login_link(merchant_id: Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9-]+$")]) -> dict:
    answer = login_link(merchant_id, current_staff(app))
    logger.info("dashboard link issued", extra={"merchant": merchant_id, "account": answer["account_id"]})
    return answer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
