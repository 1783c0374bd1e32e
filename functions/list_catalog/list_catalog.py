"""GET /catalog: the products on sale, their prices in minor units and what is left; and the
services merchants take bookings for, each with its one id and how to book it (they are booked
through availability and a booking checkout, never bought as cart items)."""

from aws_lambda_powertools.logging import correlation_paths

from caisse.bookings.setup import catalog_entry
from caisse.catalog.service import list_offers, product_view
from caisse.observability import observability
from caisse.web import resolver

logger, metrics, tracer = observability("catalog")
app = resolver(logger)


@app.get("/catalog")
def catalog() -> dict:
    products, services, merchants = list_offers()
    return {
        "products": [product_view(p) for p in sorted(products, key=lambda p: (p.merchant, p.sku))],
        "services": [
            catalog_entry(s, merchants.get(s.merchant))
            for s in sorted(services, key=lambda s: (s.merchant, s.service_id))
        ],
    }


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
