"""GET /admin/merchants: every merchant, for the platform's staff: kind, plan and its status,
Stripe onboarding, sign-up date, suspension, and orders paid over the last 30 days."""

from aws_lambda_powertools.logging import correlation_paths

from caisse.merchants.oversight import merchants_overview
from caisse.observability import observability
from caisse.web import current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-list-merchants")
app = resolver(logger)


@app.get(
    "/admin/merchants",
    summary="Every merchant on the platform (platform staff)",
    responses={
        200: {"description": "Every merchant with its plan, onboarding and activity"},
        **error_responses({403: "forbidden: only the platform's staff list every merchant"}),
    },
)
def merchants() -> dict:
    return merchants_overview(current_staff(app))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
