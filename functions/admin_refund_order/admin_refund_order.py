"""POST /admin/orders/{order_id}/refunds: staff give money back (all that may be refunded when no
amount or items are given), within the merchant's refund policy, items given back to stock;
retried with the same Idempotency-Key, it refunds once. Refunds move the order's money, never its
status."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, Field

from caisse.money import LARGEST_AMOUNT
from caisse.observability import observability
from caisse.payments.refunds import request_refund
from caisse.web import Header, Path, Response, current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-refund-order")
app = resolver(logger)


class RefundItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    sku: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    quantity: int = Field(ge=1, le=100, strict=True)


class RefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    amount: int | None = Field(
        default=None,
        ge=1,
        le=LARGEST_AMOUNT,
        strict=True,
        description="Minor units; leave out for what the items cost, or for all that may be refunded",
    )
    items: list[RefundItemIn] | None = Field(
        default=None, max_length=50, description="Items (tickets) given back to stock with this refund"
    )
    tickets: list[str] | None = Field(
        default=None,
        max_length=40,
        description="Codes of the tickets given back: voided, and their admissions back to stock",
    )
    reason: str | None = Field(default=None, max_length=300)

    def item_quantities(self) -> dict[str, int]:
        quantities: dict[str, int] = {}
        for item in self.items or []:
            quantities[item.sku] = quantities.get(item.sku, 0) + item.quantity
        return quantities


@app.post(
    "/admin/orders/<order_id>/refunds",
    summary="Refund an order, fully or in part",
    responses={
        201: {"description": "The refund, made or on its way"},
        **error_responses(
            {
                404: "not_found: no such order",
                409: "conflict: nothing left to refund, the money is not taken, or the order kept changing",
                503: "provider_unavailable: the provider did not answer the refund",
            }
        ),
    },
)
def refund_order(
    order_id: Annotated[str, Path(max_length=36)],
    refund: RefundIn,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)] = None,
) -> Response[dict]:
    answer = request_refund(
        order_id,
        current_staff(app),
        refund.amount,
        refund.reason,
        idempotency_key,
        refund.item_quantities(),
        [code[:40] for code in refund.tickets or []],
    )
    logger.info("refund", extra={"order_id": order_id, "refund_id": answer["refund_id"], "status": answer["status"]})
    if not answer["replayed"]:
        metrics.add_metric(name="RefundIssued", unit=MetricUnit.Count, value=1)
    return Response(status_code=201, content_type="application/json", body=answer)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
