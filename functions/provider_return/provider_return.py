"""GET /orders/{order_id}/return: where the provider's page sends the customer back. The order is
settled with what the provider says now (an approved PayPal order is captured here), through the
same path as the webhook, so whichever comes first settles it once; then the browser goes on to
the hosted order page."""

from typing import Annotated, Literal

from aws_lambda_powertools.logging import correlation_paths

from caisse.observability import observability
from caisse.orders.links import order_page
from caisse.payments.reconciliation import refresh
from caisse.web import Path, Query, Response, error_responses, resolver

logger, metrics, tracer = observability("provider-return")
app = resolver(logger)


@app.get(
    "/orders/<order_id>/return",
    summary="Back from the provider's page: settle, then go to the shop",
    responses={
        303: {"description": "To the order page (Location), paid or not", "content": {}},
        **error_responses({404: "not_found: no such order"}),
    },
)
def provider_return(
    order_id: Annotated[str, Path(max_length=36)],
    result: Annotated[Literal["success", "cancel"], Query()] = "success",
) -> Response[str]:
    settlement = refresh(order_id) if result == "success" else None
    logger.info(
        "customer back from the provider",
        extra={"order_id": order_id, "result": settlement.result if settlement else None},
    )
    # No fragment here: the browser keeps the one it came with (#token=...), RFC 9110 10.2.2.
    return Response(status_code=303, headers={"Location": order_page(order_id, result=result)}, body="")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
