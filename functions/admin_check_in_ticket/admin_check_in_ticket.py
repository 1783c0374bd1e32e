"""POST /admin/tickets/{code}/check-in: staff at the door scan or type a ticket's code. The first
scan admits; any later one is refused with when and by whom it was used; a voided ticket or
another merchant's is refused with the reason (caisse.orders.tickets.check_in)."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from caisse.clock import utcnow
from caisse.errors import CaisseError
from caisse.observability import observability
from caisse.orders.tickets import check_in
from caisse.web import Path, current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-check-in-ticket")
app = resolver(logger)


@app.post(
    "/admin/tickets/<code>/check-in",
    summary="Admit the holder of a ticket, once",
    responses={
        200: {"description": "Admitted: {result: admitted, ticket}"},
        **error_responses(
            {
                403: "other_merchant: the ticket is another merchant's",
                404: "unknown_ticket: no ticket has this code",
                409: "already_checked_in (when and by whom, and the ticket) or ticket_voided "
                "(why: refunded, or its holder is giving it back)",
            }
        ),
    },
)
def check_in_ticket(code: Annotated[str, Path(max_length=40)]) -> dict:
    staff = current_staff(app)
    try:
        admitted = check_in(code, staff, utcnow())
    except CaisseError as refused:
        logger.info("ticket refused", extra={"reason": refused.code, "by": staff.actor_id})
        metrics.add_metric(name="TicketRefused", unit=MetricUnit.Count, value=1)
        raise
    logger.info("ticket admitted", extra={"order_id": admitted["ticket"]["order_id"], "by": staff.actor_id})
    metrics.add_metric(name="TicketAdmitted", unit=MetricUnit.Count, value=1)
    return admitted


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
