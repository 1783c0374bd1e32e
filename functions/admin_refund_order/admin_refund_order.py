"""POST /admin/orders/{order_id}/refunds: staff give money back (all of it when no amount is given),
within the merchant's refund policy; retried with the same Idempotency-Key, it refunds once."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Header, Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, Field

from caisse.observability import observability
from caisse.orders.refunds import request_refund
from caisse.web import current_staff, resolver

logger, metrics, tracer = observability("admin-refund-order")
app = resolver(logger)


class RefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    amount: int | None = Field(default=None, ge=1, strict=True, description="Minor units; leave out for all")
    reason: str | None = Field(default=None, max_length=300)


@app.post("/admin/orders/<order_id>/refunds", summary="Refund an order, fully or in part")
def refund_order(
    order_id: Annotated[str, Path(max_length=36)],
    refund: RefundIn,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)] = None,
) -> Response[dict]:
    answer = request_refund(order_id, current_staff(app), refund.amount, refund.reason, idempotency_key)
    logger.info("refund", extra={"order_id": order_id, "refund_id": answer["refund_id"], "status": answer["status"]})
    if not answer["replayed"]:
        metrics.add_metric(name="RefundIssued", unit=MetricUnit.Count, value=1)
    return Response(status_code=201, content_type="application/json", body=answer)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
