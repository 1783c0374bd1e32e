"""POST /admin/merchants/{merchant_id}/billing/pay: the plan's failed invoice paid now with the card
Stripe has, rather than at its next retry (caisse.payments.plans.pay_now)."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.catalog.schemas import MERCHANT_ID
from caisse.observability import observability
from caisse.payments.plans import pay_now
from caisse.web import Path, current_staff, error_responses, resolver

logger, metrics, tracer = observability("pay-plan-invoice")
app = resolver(logger)


@app.post(
    "/admin/merchants/<merchant_id>/billing/pay",
    summary="Pay a merchant's failed plan invoice now",
    responses={
        200: {
            "description": "The invoice paid (`invoice`: id, amount, currency, paid): the plan is active again "
            "once Stripe's event arrives"
        },
        **error_responses(
            {
                403: "forbidden: another merchant",
                404: "not_found: no such merchant",
                409: "nothing_to_pay (no failed payment); plan_payment_refused (`reason` card_declined: the "
                "card declined again; `reason` authentication_required: the bank asks to confirm, on the "
                "invoice's page at Stripe, `confirm_url`; or Stripe refused); not_a_platform_merchant",
                503: "provider_unavailable: Stripe did not answer; try again",
            }
        ),
    },
)
def pay(merchant_id: Annotated[str, Path(max_length=64, pattern=MERCHANT_ID)]) -> dict:
    staff = current_staff(app)
    answer = pay_now(merchant_id, staff)
    logger.info("failed plan invoice paid", extra={"merchant": merchant_id, "by": staff.actor_id})
    return answer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
