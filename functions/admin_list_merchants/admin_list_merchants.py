"""GET /admin/merchants: the platform's merchants a page at a time, for the platform's staff: kind,
plan and its status, Stripe onboarding, sign-up date, suspension, and orders paid over the last
30 days."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.merchants.oversight import MAX_PAGE_SIZE, PAGE_SIZE, merchants_overview
from caisse.observability import observability
from caisse.web import Query, current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-list-merchants")
app = resolver(logger)


@app.get(
    "/admin/merchants",
    summary="The platform's merchants, a page at a time (platform staff)",
    responses={
        200: {
            "description": "A page of merchants by id, each with its plan, onboarding and activity, and the "
            "cursor of the next page (null: the last page)"
        },
        **error_responses(
            {
                403: "forbidden: only the platform's staff list every merchant",
                422: "invalid_request: a cursor of another list",
            }
        ),
    },
)
def merchants(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> dict:
    return merchants_overview(current_staff(app), limit=limit, cursor=cursor)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
