"""GET /admin/emails/problems: emails that did not reach their recipient (failed, retrying,
skipped because the address bounced or complained, or lost), newest first."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.notifications.problems import MAX_PAGE_SIZE, PAGE_SIZE, problems
from caisse.observability import observability
from caisse.web import Query, current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-list-email-problems")
app = resolver(logger)


@app.get(
    "/admin/emails/problems",
    summary="Emails that failed or were suppressed (newest first)",
    responses={
        200: {"description": "Emails that failed or were suppressed (newest first)"},
        **error_responses({403: "forbidden: another merchant's emails", 422: "invalid_request: the cursor"}),
    },
)
def email_problems(
    merchant: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9-]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> dict:
    return problems(current_staff(app), merchant, limit=limit, cursor=cursor)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
