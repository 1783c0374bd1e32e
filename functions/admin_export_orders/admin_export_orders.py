"""GET /admin/orders/export: the same selection as the order list, as a CSV file for the
accountant (caisse.orders.export): in the answer when small, else a 303 to a 15-minute link."""

import json
from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from caisse.date_input import Bound
from caisse.observability import observability
from caisse.orders.export import export_orders
from caisse.orders.listing import OrderQuery
from caisse.orders.schemas import MoneyState, Provider
from caisse.web import Query, Response, current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-export-orders")
app = resolver(logger)


@app.get(
    "/admin/orders/export",
    summary="Export orders as CSV (the list's filters and search)",
    description="UTF-8 with a byte-order mark, one row per order, money in major units with its currency. "
    "Up to 5000 rows in the answer (text/csv); more, or `link=true`, answers 303 See Other to a 15-minute "
    "link to the file (its JSON body says the same).",
    responses={
        200: {"description": "The CSV file", "content": {"text/csv": {"schema": {"type": "string"}}}},
        303: {
            "description": "The file is at the Location (a presigned link, 15 minutes)",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["url", "rows", "filename", "expires_at"],
                        "properties": {
                            "url": {"type": "string"},
                            "rows": {"type": "integer"},
                            "filename": {"type": "string"},
                            "expires_at": {"type": "string", "format": "date-time"},
                        },
                    }
                }
            },
        },
        **error_responses(
            {403: "forbidden: another merchant's orders", 422: "invalid_request: a filter or the search"}
        ),
    },
)
def export(
    merchant: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9-]+$")] = None,
    status: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z_]+$")] = None,
    money_state: Annotated[MoneyState | None, Query()] = None,
    provider: Annotated[Provider | None, Query()] = None,
    product: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9._-]+$")] = None,
    created_from: Annotated[Bound, Query()] = None,
    created_to: Annotated[Bound, Query()] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=254)] = None,
    link: Annotated[bool, Query(description="Always answer with a link to the file")] = False,
) -> Response[str]:
    query = OrderQuery(merchant, status, money_state, provider, product, created_from, created_to, q)
    done = export_orders(current_staff(app), query, link=link)
    metrics.add_metric(name="OrdersExported", unit=MetricUnit.Count, value=done.rows)
    if done.body is not None:
        return Response(
            status_code=200,
            content_type="text/csv; charset=utf-8",
            body=done.body,
            headers={"Content-Disposition": f'attachment; filename="{done.filename}"'},
        )
    assert done.url is not None  # an export is its body, or a link to it
    return Response(
        status_code=303,
        content_type="application/json",
        body=json.dumps({"url": done.url, "rows": done.rows, "filename": done.filename, "expires_at": done.expires_at}),
        headers={"Location": done.url},
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
