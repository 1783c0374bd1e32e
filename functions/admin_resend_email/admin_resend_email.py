"""POST /admin/orders/{order_id}/emails: send the customer's last email of a kind again (a
delivery email with a fresh download link), recorded in the order's history; the orders stream
sends it (caisse.notifications.resend)."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.notifications.resend import request_resend
from caisse.observability import observability
from caisse.orders.schemas import ResendIn
from caisse.web import Path, Response, current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-resend-email")
app = resolver(logger)


@app.post(
    "/admin/orders/<order_id>/emails",
    summary="Send the customer's last email of a kind again",
    responses={
        202: {"description": "Recorded; the email follows in seconds"},
        **error_responses(
            {
                403: "forbidden: another merchant's order",
                404: "not_found: no such order",
                409: "nothing_to_resend: the order never reached that email",
            }
        ),
    },
)
def resend(order_id: Annotated[str, Path(max_length=36)], body: ResendIn) -> Response[dict]:
    answer = request_resend(order_id, current_staff(app), body.kind)
    logger.info("email resend asked", extra={"order_id": order_id, "kind": body.kind})
    return Response(status_code=202, content_type="application/json", body=answer)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
