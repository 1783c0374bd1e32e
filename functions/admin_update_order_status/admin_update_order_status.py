"""POST /admin/orders/{order_id}/status: staff move an order through its fulfilment stages, with a
message for the customer (their order page and the stage's email) and an internal note."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from caisse.observability import observability
from caisse.orders.schemas import StatusChangeIn
from caisse.orders.service import change_status_by_staff, order_view
from caisse.web import Path, current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-order-status")
app = resolver(logger)


@app.post(
    "/admin/orders/<order_id>/status",
    summary="Move an order to its next status",
    responses={
        200: {"description": "The order in its new status"},
        **error_responses(
            {
                403: "forbidden: another merchant's order",
                404: "not_found: no such order",
                409: "illegal_transition: the state machine does not allow it (the body names the moves it allows)",
            }
        ),
    },
)
def update_status(order_id: Annotated[str, Path(max_length=36)], change: StatusChangeIn) -> dict:
    staff = current_staff(app)
    bundle = change_status_by_staff(order_id, change.status, staff, message=change.message, note=change.note)
    logger.info("order status changed", extra={"order_id": order_id, "status": change.status, "by": staff.actor_id})
    metrics.add_metric(name="OrderStatusChanged", unit=MetricUnit.Count, value=1)
    return order_view(bundle, staff=True)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
