"""GET /admin/merchants/{merchant_id}/billing: the merchant's plan, its status, fee and limits, the
current period's end, the last invoice, and what to do next."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.catalog.schemas import MERCHANT_ID
from caisse.observability import observability
from caisse.payments.plans import billing_view
from caisse.web import Path, current_staff, error_responses, resolver

logger, metrics, tracer = observability("get-billing")
app = resolver(logger)


@app.get(
    "/admin/merchants/<merchant_id>/billing",
    summary="A merchant's plan and billing",
    responses={
        200: {"description": "Plan, status, fee, limits, period end, last invoice, next step"},
        **error_responses({403: "forbidden: another merchant", 404: "not_found: no such merchant"}),
    },
)
def billing(merchant_id: Annotated[str, Path(max_length=64, pattern=MERCHANT_ID)]) -> dict:
    return billing_view(merchant_id, current_staff(app))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
