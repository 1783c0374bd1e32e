"""POST /admin/merchants/{merchant_id}/subscription: a Stripe Checkout (subscription mode) for one
of the platform's plans, or, while a subscription runs, its move to another plan (prorated by
Stripe); the merchant's plan follows Stripe's billing events (caisse.payments.plans)."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.catalog.schemas import MERCHANT_ID, SubscriptionRequest
from caisse.config import settings
from caisse.observability import observability
from caisse.payments.plans import subscribe
from caisse.web import Path, current_staff, error_responses, resolver

logger, metrics, tracer = observability("subscribe-merchant")
app = resolver(logger)


@app.post(
    "/admin/merchants/<merchant_id>/subscription",
    summary="Subscribe a merchant to a plan, or move its running subscription to another",
    responses={
        200: {
            "description": "Where the merchant pays for the plan (`checkout_url`, Stripe Checkout); or, for a "
            "running subscription, the move asked of Stripe (`checkout_url` null, `changing_from`, the "
            "proration `invoice`): the plan and fee change when Stripe's event arrives"
        },
        **error_responses(
            {
                403: "forbidden: another merchant",
                404: "not_found: no such merchant",
                409: "already_on_plan; plan_change_refused (first payment pending, the card declined the difference "
                "(`reason` card_declined) or its bank asks to confirm it (`reason` authentication_required), "
                "or Stripe refused); "
                "not_a_platform_merchant",
                422: "unknown_plan, currency_not_offered, currency_not_changeable (a running plan keeps its currency)",
                503: "provider_unavailable: Stripe did not answer; try again",
            }
        ),
    },
)
def subscription(
    merchant_id: Annotated[str, Path(max_length=64, pattern=MERCHANT_ID)], request: SubscriptionRequest
) -> dict:
    staff = current_staff(app)
    back = f"{settings().public_api_url}/console#/billing"  # the console's page the staff subscribed from
    answer = subscribe(
        merchant_id,
        staff,
        request.plan,
        request.currency,
        success_url=f"{back}?result=subscribed",
        cancel_url=f"{back}?result=cancelled",
    )
    what = "plan checkout opened" if answer["checkout_url"] else "plan change asked of Stripe"
    logger.info(what, extra={"merchant": merchant_id, "plan": request.plan, "by": staff.actor_id})
    return answer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
