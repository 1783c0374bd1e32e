"""DELETE /admin/merchants/{merchant_id}/suspension: the platform's staff let a suspended merchant
take new orders again; recorded, and the merchant's staff emailed."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.merchants.oversight import lift
from caisse.observability import observability
from caisse.web import Path, current_staff, error_responses, resolver

logger, metrics, tracer = observability("lift-suspension")
app = resolver(logger)


@app.delete(
    "/admin/merchants/<merchant_id>/suspension",
    summary="Lift a merchant's suspension (platform staff)",
    responses={
        200: {"description": "The merchant takes new orders again"},
        **error_responses(
            {
                403: "forbidden: only the platform's staff lift a suspension",
                404: "not_found: no such merchant",
                409: "not_suspended",
            }
        ),
    },
)
def lift_suspension(merchant_id: Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9-]+$")]) -> dict:
    staff = current_staff(app)
    answer = lift(merchant_id, staff)
    logger.info("suspension lifted", extra={"merchant": merchant_id, "by": staff.actor_id})
    return answer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
