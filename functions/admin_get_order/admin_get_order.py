"""GET /admin/orders/{order_id}: staff view of one order of their merchant, with the customer's
answers (the song brief), phone and a booking's address and notes decrypted for them; each such
read is recorded on the order."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.errors import NotFound
from caisse.observability import observability
from caisse.orders import refunds
from caisse.orders.service import load, revealed_view
from caisse.web import Path, current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-get-order")
app = resolver(logger)


@app.get(
    "/admin/orders/<order_id>",
    summary="Staff view of an order",
    responses={
        200: {"description": "The order as staff see it"},
        **error_responses(
            {
                404: "not_found: no such order",
            }
        ),
    },
)
def admin_get_order(order_id: Annotated[str, Path(max_length=36)]) -> dict:
    staff = current_staff(app)
    bundle = load(order_id)
    if bundle is None:
        raise NotFound("no such order")
    staff.require(bundle.order.merchant)
    view = revealed_view(bundle, staff.actor_id, "staff_view")
    view["refund_terms"] = refunds.terms(bundle)
    return view


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
