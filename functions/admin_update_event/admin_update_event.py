"""PATCH /admin/merchants/{merchant_id}/events/{event_id}: change an event (name, times, venue,
address) or cancel it; its ticket types carry the change. Once its tickets are issued, only with
tell_holders (or a cancellation): then its holders are told, and for a cancellation refunded,
through the ticket holders queue (caisse.orders.ticket_holders)."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.catalog.events import change_event
from caisse.catalog.schemas import EventUpdate
from caisse.observability import observability
from caisse.orders import ticket_holders
from caisse.orders.tickets import issued_for
from caisse.web import Path, current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-update-event")
app = resolver(logger)


@app.patch(
    "/admin/merchants/<merchant_id>/events/<event_id>",
    summary="Change or cancel an event (once its tickets are issued: and tell every holder)",
    responses={
        200: {"description": "The event as stored, its time zone, and telling_holders while its holders are told"},
        **error_responses(
            {
                403: "forbidden: another merchant",
                404: "not_found: no such merchant or event",
                409: "tickets_issued (send tell_holders), event_cancelled, or settings_changed: a change came first",
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
    fields = changes.model_dump(exclude_unset=True, exclude={"tell_holders"})
    staff = current_staff(app)
    answer = change_event(merchant_id, event_id, staff, fields, issued=issued_for, tell_holders=changes.tell_holders)
    if answer["telling_holders"]:  # queued again if staff save again while it is under way: each holder is told once
        ticket_holders.start(merchant_id, event_id, answer["revision"], staff)
    logger.info(
        "event changed",
        extra={"merchant": merchant_id, "event": event_id, "revision": answer["revision"]},
    )
    return answer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
