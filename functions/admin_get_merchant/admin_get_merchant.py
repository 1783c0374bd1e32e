"""GET /admin/merchants/{merchant_id} (and .../settings, the same view): a merchant's settings
read back: contact, languages, time zone, new-order emails, refund policy with the platform's
bounds, gallery defaults, Stripe onboarding, working hours and dates off, services."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.bookings.setup import merchant_settings
from caisse.observability import observability
from caisse.web import Path, current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-get-merchant")
app = resolver(logger)


@app.get(
    "/admin/merchants/<merchant_id>/settings",
    summary="A merchant's settings, hours and services (as PATCH .../settings answers)",
    responses={
        200: {"description": "A merchant's settings, hours and services"},
        **error_responses({403: "forbidden: another merchant", 404: "not_found: no such merchant"}),
    },
)
@app.get(
    "/admin/merchants/<merchant_id>",
    summary="A merchant's settings, hours and services",
    responses={
        200: {"description": "A merchant's settings, hours and services"},
        **error_responses({403: "forbidden: another merchant", 404: "not_found: no such merchant"}),
    },
)
def merchant(merchant_id: Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9-]+$")]) -> dict:
    return merchant_settings(merchant_id, current_staff(app))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
