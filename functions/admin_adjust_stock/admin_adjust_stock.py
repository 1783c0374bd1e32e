"""POST /admin/products/{sku}/stock: add to or take from a product's stock, with a reason; one
conditional write (never below zero, so it cannot oversell against a checkout racing it),
recorded with who and when."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.catalog.admin import adjust_stock
from caisse.catalog.schemas import SKU, StockAdjustmentIn
from caisse.observability import observability
from caisse.web import Path, current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-adjust-stock")
app = resolver(logger)


@app.post(
    "/admin/products/<sku>/stock",
    summary="Adjust a product's stock",
    responses={
        200: {"description": "Adjust a product's stock"},
        **error_responses(
            {
                403: "forbidden: another merchant's product",
                404: "not_found: no such product",
                409: "not_enough_stock (the body says how many are left) or not_limited",
                422: "invalid_request: the body names the field",
            }
        ),
    },
)
def adjust(sku: Annotated[str, Path(max_length=64, pattern=SKU)], adjustment: StockAdjustmentIn) -> dict:
    answer = adjust_stock(sku, current_staff(app), adjustment.delta, adjustment.reason)
    logger.info("stock adjusted", extra={"sku": sku, "delta": adjustment.delta, "stock": answer["stock"]})
    return answer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
