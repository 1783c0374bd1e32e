"""GET /admin/refunds/owed: refunds owed by hand to mobile-money customers, oldest first, with
what each payout needs (who, which phone, how much); confirm one with
POST /admin/orders/{order_id}/refunds/{refund_id}/confirm."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.observability import observability
from caisse.orders.worklists import MAX_PAGE_SIZE, PAGE_SIZE, owed_refunds
from caisse.web import Query, current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-list-owed-refunds")
app = resolver(logger)


@app.get(
    "/admin/refunds/owed",
    summary="Refunds owed by hand (mobile money), oldest first",
    responses={
        200: {"description": "Refunds owed by hand (mobile money), oldest first"},
        **error_responses({403: "forbidden: another merchant's refunds", 422: "invalid_request: the cursor"}),
    },
)
def owed(
    merchant: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9-]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> dict:
    return owed_refunds(current_staff(app), merchant, limit=limit, cursor=cursor)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
