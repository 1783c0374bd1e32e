"""POST /admin/merchants/{merchant_id}/suspension: the platform's staff stop a merchant's new
orders (existing ones go on); recorded with who, when and why, and the merchant's staff emailed."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.merchants.oversight import SuspensionIn, suspend
from caisse.observability import observability
from caisse.web import Path, current_staff, error_responses, resolver

logger, metrics, tracer = observability("suspend-merchant")
app = resolver(logger)


@app.post(
    "/admin/merchants/<merchant_id>/suspension",
    summary="Suspend a merchant (platform staff)",
    responses={
        200: {"description": "The suspension as recorded"},
        **error_responses(
            {
                403: "forbidden: only the platform's staff suspend a merchant",
                404: "not_found: no such merchant",
                409: "already_suspended",
            }
        ),
    },
)
def suspension(merchant_id: Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9-]+$")], body: SuspensionIn) -> dict:
    staff = current_staff(app)
    answer = suspend(merchant_id, staff, body.reason)
    logger.info("merchant suspended", extra={"merchant": merchant_id, "by": staff.actor_id})
    return answer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
