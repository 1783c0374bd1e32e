"""GET /platform/plans: the plans a signed-up merchant chooses from (public): each monthly price per
currency, the fee taken on every payment, the limits."""

from aws_lambda_powertools.logging import correlation_paths

from caisse.catalog.plans import public_plans
from caisse.observability import observability
from caisse.web import resolver

logger, metrics, tracer = observability("list-plans")
app = resolver(logger)


@app.get(
    "/platform/plans",
    summary="The platform's plans",
    responses={200: {"description": "Each plan: monthly price per currency, fee, limits"}},
)
def plans() -> dict:
    return public_plans()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
