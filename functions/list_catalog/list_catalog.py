"""GET /catalog: the products on sale, their prices in minor units, and what is left."""

from aws_lambda_powertools.logging import correlation_paths

from caisse.catalog.service import list_products, product_view
from caisse.observability import observability
from caisse.web import resolver

logger, metrics, tracer = observability("catalog")
app = resolver(logger)


@app.get("/catalog")
def catalog() -> dict:
    products = sorted(list_products(), key=lambda p: (p.merchant, p.sku))
    return {"products": [product_view(p) for p in products]}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
