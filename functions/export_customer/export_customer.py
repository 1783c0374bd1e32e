"""POST /admin/customers/export: every record about one customer of the staff's merchant (orders
with their answers and phone decrypted, emails sent, suppression, galleries), as JSON."""

from aws_lambda_powertools.logging import correlation_paths

from caisse.observability import observability
from caisse.orders.schemas import CustomerRequestIn
from caisse.privacy import export
from caisse.web import current_staff, error_responses, resolver

logger, metrics, tracer = observability("export-customer")
app = resolver(logger)


@app.post(
    "/admin/customers/export",
    summary="Export everything held about a customer (GDPR access request)",
    responses={
        200: {"description": "Everything held about the customer: orders, answers, emails"},
        **error_responses({401: "Not signed in", 403: "Another merchant's customer"}),
    },
)
def export_customer(customer: CustomerRequestIn) -> dict:
    staff = current_staff(app)
    merchant = staff.merchant_for(customer.merchant, "this customer")
    answer = export(merchant, customer.email, staff.actor_id)
    logger.info(
        "customer exported", extra={"merchant": merchant, "orders": len(answer["orders"]), "by": staff.actor_id}
    )
    return answer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
