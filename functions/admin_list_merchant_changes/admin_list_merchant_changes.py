"""GET /admin/merchants/{merchant_id}/changes: the merchant's settings changes, newest first:
who (staff:<sub>), when, which fields, old and new values."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.catalog.merchant_settings import CHANGES_PAGE, list_changes
from caisse.catalog.schemas import MERCHANT_ID
from caisse.observability import observability
from caisse.web import Path, Query, current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-list-merchant-changes")
app = resolver(logger)


@app.get(
    "/admin/merchants/<merchant_id>/changes",
    summary="A merchant's settings changes, newest first",
    responses={
        200: {"description": "A page of changes and the cursor of the next (null: the last page)"},
        **error_responses({403: "forbidden: another merchant", 422: "invalid_request: a cursor of another list"}),
    },
)
def changes(
    merchant_id: Annotated[str, Path(max_length=64, pattern=MERCHANT_ID)],
    limit: Annotated[int, Query(ge=1, le=100)] = CHANGES_PAGE,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> dict:
    return list_changes(merchant_id, current_staff(app), limit=limit, cursor=cursor)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
