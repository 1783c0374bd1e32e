"""POST /admin/orders/{order_id}/delivery-email: staff send the delivery email again, with a fresh
download link (the download window starts again)."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.clock import iso
from caisse.observability import observability
from caisse.orders.service import resend_delivery
from caisse.web import Path, Response, current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-resend-delivery")
app = resolver(logger)


@app.post(
    "/admin/orders/<order_id>/delivery-email",
    summary="Send the delivery email again with a fresh download link",
    responses={
        202: {"description": "The email is on its way (the order's stream sends it)"},
        **error_responses({403: "Another merchant's order", 404: "No such order", 409: "The order is not delivered"}),
    },
)
def send_again(order_id: Annotated[str, Path(max_length=36)]) -> Response[dict]:
    bundle = resend_delivery(order_id, current_staff(app))
    order = bundle.order
    logger.info("delivery email sent again", extra={"order_id": order_id, "round": int(order.delivery_round)})
    body = {
        "order_id": order_id,
        "delivery_round": int(order.delivery_round),
        "download_until": iso(order.download_until),
    }
    return Response(status_code=202, content_type="application/json", body=body)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
