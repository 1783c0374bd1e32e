"""GET /admin/events/{event_id}/attendees: an event's attendee list as CSV (code, state, holder,
item, who checked it in and when), for the door when the network is down. Staff of the merchant
only; platform staff name the merchant (?merchant=)."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.observability import observability
from caisse.orders.tickets import attendees_csv
from caisse.web import Path, Query, Response, current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-event-attendees")
app = resolver(logger)


@app.get(
    "/admin/events/<event_id>/attendees",
    summary="An event's attendee list (CSV)",
    responses={
        200: {"description": "The CSV file", "content": {"text/csv": {"schema": {"type": "string"}}}},
        **error_responses(
            {
                403: "forbidden: another merchant's event",
                422: "merchant_required: platform staff name the merchant (?merchant=)",
            }
        ),
    },
)
def event_attendees(
    event_id: Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9._-]+$")],
    merchant: Annotated[str | None, Query(max_length=64)] = None,
) -> Response[str]:
    staff = current_staff(app)
    owner = staff.merchant_for(merchant, "this event")
    body = attendees_csv(owner, event_id)
    logger.info("attendee list", extra={"merchant": owner, "event": event_id, "by": staff.actor_id})
    return Response(
        status_code=200,
        content_type="text/csv; charset=utf-8",
        body=body,
        headers={
            "Content-Disposition": f'attachment; filename="attendees-{event_id}.csv"',
            "Cache-Control": "no-store",
        },
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
