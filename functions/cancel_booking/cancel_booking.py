"""POST /admin/bookings/{booking_id}/cancel: free the slot and refund what the merchant's rule allows."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.bookings.schemas import CancelIn
from caisse.bookings.service import cancel_booking
from caisse.observability import observability
from caisse.web import Header, Path, current_staff, error_responses, resolver

logger, metrics, tracer = observability("cancel-booking")
app = resolver(logger)


@app.post(
    "/admin/bookings/<booking_id>/cancel",
    summary="Cancel a booking",
    responses={
        200: {"description": "The booking cancelled, and the deposit refunded as the rules say"},
        **error_responses(
            {
                404: "not_found: no such booking",
                409: "conflict: the booking cannot be cancelled now, or changed meanwhile",
                503: "provider_unavailable: Stripe did not answer the refund of the deposit",
            }
        ),
    },
)
def cancel(
    booking_id: Annotated[str, Path(max_length=36)],
    cancellation: CancelIn,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)] = None,
) -> dict:
    answer = cancel_booking(booking_id, current_staff(app), cancellation.reason, idempotency_key)
    logger.info("booking cancelled", extra={"booking_id": booking_id, "status": answer["status"]})
    return answer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
