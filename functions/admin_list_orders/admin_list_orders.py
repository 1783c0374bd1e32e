"""GET /admin/orders: the staff's order list, newest first, filtered and searched through the
orders table's indexes (caisse.orders.listing), a page at a time."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.date_input import Bound
from caisse.observability import observability
from caisse.orders.listing import MAX_PAGE_SIZE, PAGE_SIZE, OrderQuery, order_row, page
from caisse.orders.schemas import MoneyState, Provider
from caisse.web import Query, current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-list-orders")
app = resolver(logger)

FILTERS = {
    "merchant": "Platform staff: one merchant's orders (merchant staff always see their own)",
    "status": "The lifecycle status, e.g. paid, needs_review, production",
    "created_from": "Created at or after: a date (UTC midnight) or a date-time with its offset",
    "created_to": "Created at or before: a date (the whole day, UTC) or a date-time",
    "q": "Search: an order number (SC-2026-0042), a customer email (exact, any case), an order id, "
    "or the start of the customer's name",
}


@app.get(
    "/admin/orders",
    summary="List and search orders (newest first)",
    responses={
        200: {"description": "List and search orders (newest first)"},
        **error_responses(
            {403: "forbidden: another merchant's orders", 422: "invalid_request: a filter, the search or the cursor"}
        ),
    },
)
def list_orders(
    merchant: Annotated[
        str | None, Query(max_length=64, pattern=r"^[a-z0-9-]+$", description=FILTERS["merchant"])
    ] = None,
    status: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z_]+$", description=FILTERS["status"])] = None,
    money_state: Annotated[MoneyState | None, Query()] = None,
    provider: Annotated[Provider | None, Query()] = None,
    product: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9._-]+$", description="A SKU")] = None,
    created_from: Annotated[Bound, Query(description=FILTERS["created_from"])] = None,
    created_to: Annotated[Bound, Query(description=FILTERS["created_to"])] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=254, description=FILTERS["q"])] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> dict:
    query = OrderQuery(merchant, status, money_state, provider, product, created_from, created_to, q)
    found = page(current_staff(app), query, limit=limit, cursor=cursor)
    return {
        "orders": [order_row(order) for order in found.orders],
        "next_cursor": found.next_cursor,
        "search": found.search,
    }


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
