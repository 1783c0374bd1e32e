"""DELETE /admin/merchants/{merchant_id}/subscription: the merchant's plan ends with the period it
paid for (Stripe's cancel_at_period_end); orders go on until then, and choosing the plan again
before then keeps it (caisse.payments.plans)."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.catalog.schemas import MERCHANT_ID
from caisse.observability import observability
from caisse.payments.plans import end_plan
from caisse.web import Path, current_staff, error_responses, resolver

logger, metrics, tracer = observability("end-plan")
app = resolver(logger)


@app.delete(
    "/admin/merchants/<merchant_id>/subscription",
    summary="End a merchant's plan when its paid period ends",
    responses={
        200: {"description": "When the plan ends (`ends_at`, epoch seconds): the end of the period paid for"},
        **error_responses(
            {
                403: "forbidden: another merchant",
                404: "not_found: no such merchant",
                409: "no_running_plan; not_a_platform_merchant; plan_change_refused (Stripe refused)",
                503: "provider_unavailable: Stripe did not answer; try again",
            }
        ),
    },
)
def ending(merchant_id: Annotated[str, Path(max_length=64, pattern=MERCHANT_ID)]) -> dict:
    staff = current_staff(app)
    answer = end_plan(merchant_id, staff)
    logger.info("plan set to end", extra={"merchant": merchant_id, "ends_at": answer["ends_at"], "by": staff.actor_id})
    return answer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
