"""POST /admin/orders/{order_id}/refunds/{refund_id}/confirm: staff paid an owed refund back by
hand (mobile money has no refund API) and record it."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel, ConfigDict, Field

from caisse.observability import observability
from caisse.orders.refunds import confirm_payout
from caisse.web import Path, current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-confirm-refund")
app = resolver(logger)


class PayoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    reference: str | None = Field(default=None, max_length=120, description="The withdrawal or transfer reference")


@app.post(
    "/admin/orders/<order_id>/refunds/<refund_id>/confirm",
    summary="Record that an owed refund was paid",
    responses={
        200: {"description": "The refund, now paid out"},
        **error_responses(
            {
                404: "not_found: no such order or refund",
                409: "conflict: the refund is not owed",
            }
        ),
    },
)
def confirm(
    order_id: Annotated[str, Path(max_length=36)], refund_id: Annotated[str, Path(max_length=36)], payout: PayoutIn
) -> dict:
    answer = confirm_payout(order_id, refund_id, current_staff(app), payout.reference)
    logger.info("refund paid out", extra={"order_id": order_id, "refund_id": refund_id})
    return answer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
