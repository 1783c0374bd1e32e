"""GET /admin/bookings: a merchant's bookings for a day or a range of days (its own dates), in
the order of the appointments, with time, customer, phone, address and notes."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.bookings.agenda import MAX_PAGE_SIZE, PAGE_SIZE, agenda
from caisse.date_input import DayOrNone
from caisse.observability import observability
from caisse.web import Query, current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-list-bookings")
app = resolver(logger)


@app.get(
    "/admin/bookings",
    summary="A merchant's bookings by day or range",
    responses={
        200: {"description": "A merchant's bookings by day or range"},
        **error_responses(
            {
                403: "forbidden: another merchant's bookings",
                404: "not_found: no such merchant",
                422: "invalid_request: a date or a range of at most 62 days",
            }
        ),
    },
)
def bookings(
    merchant: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9-]+$")] = None,
    day: Annotated[DayOrNone, Query(alias="date", description="One day, in the merchant's time zone")] = None,
    start: Annotated[DayOrNone, Query(alias="from", description="First day of a range")] = None,
    end: Annotated[DayOrNone, Query(alias="to", description="Last day of a range (included)")] = None,
    include_cancelled: Annotated[bool, Query(description="Also bookings cancelled or expired")] = False,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> dict:
    return agenda(
        current_staff(app),
        merchant,
        day=day,
        start=start,
        end=end,
        include_cancelled=include_cancelled,
        limit=limit,
        cursor=cursor,
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
