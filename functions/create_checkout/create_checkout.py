"""POST /checkouts: price the cart on the server, hold stock, open the provider's checkout."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from caisse.observability import observability
from caisse.orders import tokens
from caisse.orders.schemas import CheckoutIn, CheckoutOut
from caisse.payments.checkout import create_checkout
from caisse.secrets import secret
from caisse.web import Header, Response, client_ip, error_responses, resolver

logger, metrics, tracer = observability("checkout")
app = resolver(logger)


@app.post(
    "/checkouts",
    summary="Start a checkout",
    responses={
        201: {"description": "The order and what to do next"},
        **error_responses(
            {
                404: "not_found: no such merchant or service (a booking)",
                409: "sold_out, slot_taken or concurrent_update: the stock or slot is gone, or changed meanwhile",
                429: "too_many_attempts or too_many_open_checkouts: the merchant's limits for one client",
                503: "provider_unavailable: the payment provider did not answer; nothing was charged",
            }
        ),
    },
)
def start_checkout(
    checkout: CheckoutIn,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)] = None,
) -> Response[CheckoutOut]:
    token_key = secret(tokens.TOKEN_KEY_PARAMETER)
    request = checkout.to_request(client_ip(app))
    source = None  # a cart of products
    if request.booking is not None:
        from caisse.bookings.service import BOOKING

        source = BOOKING
    result = create_checkout(request, idempotency_key, token_key, source)
    logger.info(
        "checkout started",
        extra={"order_id": result.body["order_id"], "replayed": result.replayed, "provider": result.body["provider"]},
    )
    if not result.replayed:
        metrics.add_metric(name="CheckoutStarted", unit=MetricUnit.Count, value=1)
    for low in result.low_stock:
        logger.warning(
            "low stock", extra={"merchant": low.merchant, "sku": low.sku, "left": low.left, "threshold": low.threshold}
        )
    if result.low_stock:
        metrics.add_metric(name="LowStock", unit=MetricUnit.Count, value=len(result.low_stock))
    return Response(
        status_code=201,
        content_type="application/json",
        # the answer as stored with the order, in CheckoutOut's shape: a replay answers it unchanged
        body=result.body,  # type: ignore[arg-type]
        headers={"Idempotent-Replayed": "true"} if result.replayed else {},
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
