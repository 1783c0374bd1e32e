"""GET /admin/products: a merchant's products (on sale or not, with stock left) and bookable
services, read from the catalog's by_parent index."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.catalog.admin import list_catalog
from caisse.catalog.schemas import MERCHANT_ID
from caisse.observability import observability
from caisse.web import Query, current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-list-products")
app = resolver(logger)


@app.get(
    "/admin/products",
    summary="A merchant's products and services",
    responses={
        200: {"description": "A merchant's products and services"},
        **error_responses(
            {403: "forbidden: another merchant's catalog", 422: "invalid_request: platform staff name the merchant"}
        ),
    },
)
def products(merchant: Annotated[str | None, Query(max_length=64, pattern=MERCHANT_ID)] = None) -> dict:
    return list_catalog(current_staff(app), merchant)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
