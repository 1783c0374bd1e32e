"""GET /admin/incidents: money a provider took for no order Caisse knows, oldest first, until
platform staff resolve it (POST /admin/incidents/{incident_id}/resolve)."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.observability import observability
from caisse.orders.worklists import MAX_PAGE_SIZE, PAGE_SIZE, open_incidents
from caisse.web import Query, current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-list-incidents")
app = resolver(logger)


@app.get(
    "/admin/incidents",
    summary="Open incidents: money for no known order (platform staff)",
    responses={
        200: {"description": "Open incidents: money for no known order (platform staff)"},
        **error_responses({403: "forbidden: platform staff only", 422: "invalid_request: the cursor"}),
    },
)
def incidents(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> dict:
    return open_incidents(current_staff(app), limit=limit, cursor=cursor)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
