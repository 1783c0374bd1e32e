"""PUT /admin/merchants/{merchant_id}/hours: weekly working hours and dates off."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.bookings.schemas import HoursIn
from caisse.bookings.setup import put_hours
from caisse.observability import observability
from caisse.web import Path, current_staff, error_responses, resolver

logger, metrics, tracer = observability("put-booking-hours")
app = resolver(logger)


@app.put(
    "/admin/merchants/<merchant_id>/hours",
    summary="Set working hours and blocked dates",
    responses={
        200: {"description": "The merchant's hours as set"},
        **error_responses(
            {404: "not_found: no such merchant", 409: "settings_changed: another change came in between"}
        ),
    },
)
def save_hours(merchant_id: Annotated[str, Path(max_length=64)], hours: HoursIn) -> dict:
    return put_hours(merchant_id, current_staff(app), hours.as_spec())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
