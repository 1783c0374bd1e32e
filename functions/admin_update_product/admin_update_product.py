"""PATCH /admin/products/{sku}: change a product's name, description, prices, per-order limit, or
take it off sale (`"active": false`). Stock has its own route, so an edit never resets it."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.catalog.admin import update_product
from caisse.catalog.schemas import SKU, ProductUpdate
from caisse.observability import observability
from caisse.web import Path, current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-update-product")
app = resolver(logger)


@app.patch(
    "/admin/products/<sku>",
    summary="Change a product, or take it off sale",
    responses={
        200: {"description": "Change a product, or take it off sale"},
        **error_responses(
            {
                403: "forbidden: another merchant's product",
                404: "not_found: no such product",
                422: "invalid_request or invalid_price: the body names the field",
            }
        ),
    },
)
def update(sku: Annotated[str, Path(max_length=64, pattern=SKU)], changes: ProductUpdate) -> dict:
    answer = update_product(sku, current_staff(app), changes.model_dump(exclude_unset=True))
    logger.info("product changed", extra={"sku": sku, "fields": sorted(changes.model_fields_set)})
    return answer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
