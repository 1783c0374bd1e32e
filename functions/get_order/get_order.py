"""GET /orders/{order_id}: the customer's view of their order, behind the order token."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.errors import NotFound
from caisse.observability import observability
from caisse.orders import tokens
from caisse.orders.deliverables import download_offer
from caisse.orders.refunds import ticket_returns
from caisse.orders.service import load, order_view
from caisse.web import Header, Path, error_responses, resolver

logger, metrics, tracer = observability("get-order")
app = resolver(logger)


@app.get(
    "/orders/<order_id>",
    summary="Follow an order (Authorization: Bearer <order_token>)",
    responses={
        200: {"description": "The order as its customer sees it"},
        **error_responses(
            {
                401: "unauthorized: no order token, or not this order's",
                404: "not_found: no such order",
            }
        ),
    },
)
def get_order(
    order_id: Annotated[str, Path(max_length=36)],
    authorization: Annotated[str | None, Header(alias="Authorization")] = None,
) -> dict:
    token_key = tokens.check(order_id, authorization)
    bundle = load(order_id)
    if bundle is None:
        raise NotFound("no such order")
    return {
        **order_view(bundle),
        # The hosted order page offers the delivered file while the delivery's download window is
        # open, and tickets for an event that changed after they were bought to give back.
        "download": download_offer(bundle.order, token_key),
        "ticket_returns": ticket_returns(bundle),
    }


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
