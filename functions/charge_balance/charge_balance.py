"""POST /admin/bookings/{booking_id}/charge-balance: after the job, charge what is left on the card
saved at booking (once per booking); if the bank wants the customer, email them a payment link."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from caisse.bookings.schemas import BalanceIn
from caisse.bookings.service import charge_balance
from caisse.observability import observability
from caisse.web import Path, current_staff, error_responses, resolver

logger, metrics, tracer = observability("charge-balance")
app = resolver(logger)


@app.post(
    "/admin/bookings/<booking_id>/charge-balance",
    summary="Charge the balance after the job",
    responses={
        200: {"description": "The balance charged, or due with a link the customer was emailed"},
        **error_responses(
            {
                404: "not_found: no such booking",
                409: "conflict: charged before with other details, no card saved, or not due",
                503: "provider_unavailable: Stripe did not answer; nothing was charged",
            }
        ),
    },
)
def charge(booking_id: Annotated[str, Path(max_length=36)], balance: BalanceIn) -> dict:
    answer = charge_balance(booking_id, current_staff(app), balance.final_amount)
    logger.info("balance", extra={"booking_id": booking_id, "status": answer["status"], "replayed": answer["replayed"]})
    if not answer["replayed"]:
        metrics.add_metric(name=f"BalanceCharge{answer['status'].capitalize()}", unit=MetricUnit.Count, value=1)
    return answer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
