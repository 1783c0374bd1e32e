"""GET /merchants/{merchant_id}/availability?service=...&date=YYYY-MM-DD: free start times, in the
merchant's time zone, for the booking widget on the merchant's own site."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.bookings.service import availability
from caisse.date_input import Day
from caisse.observability import observability
from caisse.web import Path, Query, error_responses, resolver

logger, metrics, tracer = observability("get-availability")
app = resolver(logger)


@app.get(
    "/merchants/<merchant_id>/availability",
    summary="Free slots for a service on a day",
    responses={
        200: {"description": "The free slots of that day"},
        **error_responses(
            {
                404: "not_found or unknown_service: no such merchant or service",
            }
        ),
    },
)
def free_slots(
    merchant_id: Annotated[str, Path(max_length=64)],
    service: Annotated[str, Query(max_length=64)],
    date: Annotated[Day, Query()],  # noqa: A002 - the query parameter's public name
) -> dict:
    return availability(merchant_id, service, date)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
