"""POST /admin/merchants/{merchant_id}/events: an event the merchant sells tickets for (a concert);
its ticket types are then products naming it (POST /admin/products with `event`)."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.catalog.events import add_event
from caisse.catalog.schemas import EventIn
from caisse.observability import observability
from caisse.web import Path, Response, current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-add-event")
app = resolver(logger)


@app.post(
    "/admin/merchants/<merchant_id>/events",
    summary="Add an event to sell tickets for",
    responses={
        201: {"description": "The event as stored, with the merchant's time zone"},
        **error_responses(
            {
                403: "forbidden: another merchant",
                404: "not_found: no such merchant",
                409: "event_exists or settings_changed: the id is taken, or another change came in between",
                422: "invalid_request or invalid_event_times: the body names the field",
            }
        ),
    },
)
def create(merchant_id: Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9-]+$")], event: EventIn) -> Response[dict]:
    answer = add_event(merchant_id, current_staff(app), event.model_dump())
    logger.info("event added", extra={"merchant": merchant_id, "event": answer["id"]})
    return Response(status_code=201, content_type="application/json", body=answer)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
