"""GET /admin/figures: business figures per merchant, day and currency (paid orders, revenue,
refunds, fees, money charged back, net), from the aggregate the orders stream keeps."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.date_input import Day
from caisse.observability import observability
from caisse.orders.figures import figures
from caisse.web import Query, current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-get-figures")
app = resolver(logger)


@app.get(
    "/admin/figures",
    summary="Figures per day: paid orders, revenue, refunds, fees",
    responses={
        200: {"description": "Figures per day: paid orders, revenue, refunds, fees"},
        **error_responses(
            {403: "forbidden: another merchant's figures", 422: "invalid_request: a range of at most 366 days"}
        ),
    },
)
def daily_figures(
    start: Annotated[Day, Query(alias="from", description="First day (the merchant's dates)")],
    end: Annotated[Day, Query(alias="to", description="Last day (included)")],
    merchant: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9-]+$")] = None,
) -> dict:
    return figures(current_staff(app), merchant, start, end)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
