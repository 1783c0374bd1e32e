"""POST /admin/products: a new product for a merchant (what checkout needs is copied from the
merchant, as the seed does)."""

from aws_lambda_powertools.logging import correlation_paths

from caisse.catalog.admin import create_product
from caisse.catalog.schemas import ProductIn
from caisse.observability import observability
from caisse.web import Response, current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-create-product")
app = resolver(logger)


@app.post(
    "/admin/products",
    summary="Create a product",
    responses={
        201: {"description": "Create a product"},
        **error_responses(
            {
                403: "forbidden: another merchant's catalog",
                404: "not_found: no such merchant",
                409: "sku_taken: a product with this SKU exists",
                422: "invalid_request or invalid_price: the body names the field",
            }
        ),
    },
)
def create(product: ProductIn) -> Response[dict]:
    answer = create_product(current_staff(app), product.model_dump())
    logger.info("product created", extra={"sku": answer["sku"], "merchant": answer["merchant"]})
    return Response(status_code=201, content_type="application/json", body=answer)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
