"""PATCH /admin/merchants/{merchant_id}: a merchant's own switches (whether its staff are
emailed each paid order and booking)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths

from caisse.catalog.admin import set_new_order_email
from caisse.catalog.schemas import MERCHANT_ID, MerchantUpdate
from caisse.observability import observability
from caisse.web import current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-update-merchant")
app = resolver(logger)


@app.patch(
    "/admin/merchants/<merchant_id>",
    summary="Change a merchant's switches",
    responses={
        200: {"description": "Change a merchant's switches"},
        **error_responses({403: "forbidden: another merchant", 404: "not_found: no such merchant"}),
    },
)
def update(merchant_id: Annotated[str, Path(max_length=64, pattern=MERCHANT_ID)], changes: MerchantUpdate) -> dict:
    staff = current_staff(app)
    set_new_order_email(merchant_id, staff, changes.new_order_email)
    logger.info("merchant changed", extra={"merchant": merchant_id, "by": staff.actor_id})
    return {"merchant": merchant_id, "new_order_email": changes.new_order_email}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
