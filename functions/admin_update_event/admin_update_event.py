"""PATCH /admin/merchants/{merchant_id}/events/{event_id}: correct an event (name, times, venue,
address) until its first ticket is issued; its ticket types carry the correction."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.catalog.events import change_event
from caisse.catalog.schemas import EventUpdate
from caisse.observability import observability
from caisse.orders.tickets import issued_for
from caisse.web import Path, current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-update-event")
app = resolver(logger)


@app.patch(
    "/admin/merchants/<merchant_id>/events/<event_id>",
    summary="Correct an event before its tickets are issued",
    responses={
        200: {"description": "The event as stored, with the merchant's time zone"},
        **error_responses(
            {
                403: "forbidden: another merchant",
                404: "not_found: no such merchant or event",
                409: "tickets_issued or settings_changed: its tickets are out, or another change came in between",
                422: "invalid_request or invalid_event_times: the body names the field",
            }
        ),
    },
)
def update(
    merchant_id: Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9-]+$")],
    event_id: Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9._-]+$")],
    changes: EventUpdate,
) -> dict:
    answer = change_event(
        merchant_id, event_id, current_staff(app), changes.model_dump(exclude_unset=True), issued=issued_for
    )
    logger.info("event changed", extra={"merchant": merchant_id, "event": event_id})
    return answer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
