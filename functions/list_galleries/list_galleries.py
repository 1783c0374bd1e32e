"""GET /admin/galleries: a merchant's galleries, newest first, a page at a time."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.media.galleries import list_for_merchant
from caisse.media.rules import MAX_PAGE_SIZE, PAGE_SIZE
from caisse.media.schemas import MERCHANT_ID
from caisse.observability import observability
from caisse.web import Query, current_staff, resolver

logger, metrics, tracer = observability("list-galleries")
app = resolver(logger)


@app.get("/admin/galleries", summary="A merchant's galleries (newest first)")
def galleries(
    merchant: Annotated[str | None, Query(max_length=40, pattern=MERCHANT_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> dict:
    return list_for_merchant(current_staff(app), merchant, limit=limit, cursor=cursor)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
