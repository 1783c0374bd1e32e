"""GET /orders/{order_id}: the customer's view of their order, behind the order token."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.errors import NotFound, Unauthorized
from caisse.observability import observability
from caisse.orders import tokens
from caisse.orders.deliverables import download_offer
from caisse.orders.service import load, order_view
from caisse.secrets import secret
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
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("send the order token as 'Authorization: Bearer <order_token>'")
    # Checked before any read: a wrong token learns nothing, not even whether the order exists.
    token_key = secret(tokens.TOKEN_KEY_PARAMETER)
    if not tokens.matches(order_id, token.strip(), token_key):
        raise NotFound("no such order")
    bundle = load(order_id)
    if bundle is None:
        raise NotFound("no such order")
    # The hosted order page offers the delivered file while the delivery's download window is open.
    return {**order_view(bundle), "download": download_offer(bundle.order, token_key)}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
