"""POST /admin/customers/erase: anonymise one customer of the staff's merchant everywhere (orders,
answers, email records, suppression entry, galleries), keeping amounts, dates and order numbers;
refused (409) while one of their orders is open or a refund is owed."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import Field

from caisse.observability import observability
from caisse.orders.schemas import CustomerRequestIn
from caisse.privacy import erase
from caisse.web import current_staff, error_responses, resolver

logger, metrics, tracer = observability("erase-customer")
app = resolver(logger)


class ErasureIn(CustomerRequestIn):
    reason: str | None = Field(default=None, max_length=200, description="e.g. the request's reference")


@app.post(
    "/admin/customers/erase",
    summary="Erase a customer's personal data (GDPR erasure request)",
    responses={
        200: {"description": "What was erased, and what is kept by law"},
        **error_responses(
            {401: "Not signed in", 403: "Another merchant's customer", 409: "An order is open or a refund is owed"}
        ),
    },
)
def erase_customer(request: ErasureIn) -> dict:
    staff = current_staff(app)
    merchant = staff.merchant_for(request.merchant, "this customer")
    answer = erase(merchant, request.email, staff.actor_id, request.reason)
    logger.info("customer erased", extra={"erasure_id": answer["erasure_id"], "merchant": merchant, **answer["erased"]})
    metrics.add_metric(name="CustomerErased", unit=MetricUnit.Count, value=1)
    return answer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
