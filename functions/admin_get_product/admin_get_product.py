"""GET /admin/products/{sku}: one product with its latest stock movements (who, when, why)."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.catalog.admin import get_product
from caisse.catalog.schemas import SKU
from caisse.observability import observability
from caisse.web import Path, current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-get-product")
app = resolver(logger)


@app.get(
    "/admin/products/<sku>",
    summary="A product and its stock movements",
    responses={
        200: {"description": "A product and its stock movements"},
        **error_responses({403: "forbidden: another merchant's product", 404: "not_found: no such product"}),
    },
)
def product(sku: Annotated[str, Path(max_length=64, pattern=SKU)]) -> dict:
    return get_product(sku, current_staff(app))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
