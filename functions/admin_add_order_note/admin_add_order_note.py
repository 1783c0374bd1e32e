"""POST /admin/orders/{order_id}/notes: an internal note on an order, for staff only (never shown
to the customer nor emailed), kept in the order's history with who and when."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.observability import observability
from caisse.orders.schemas import NoteIn
from caisse.orders.service import add_note, order_view
from caisse.web import Path, Response, current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-add-order-note")
app = resolver(logger)


@app.post(
    "/admin/orders/<order_id>/notes",
    summary="Add an internal note to an order",
    responses={
        201: {"description": "Add an internal note to an order"},
        **error_responses({403: "forbidden: another merchant's order", 404: "not_found: no such order"}),
    },
)
def note(order_id: Annotated[str, Path(max_length=36)], body: NoteIn) -> Response[dict]:
    bundle = add_note(order_id, current_staff(app), body.note)
    logger.info("note added", extra={"order_id": order_id, "version": int(bundle.order.version)})
    return Response(status_code=201, content_type="application/json", body=order_view(bundle, staff=True))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
