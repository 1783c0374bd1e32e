"""PUT /admin/merchants/{merchant_id}/services/{service_id}: a service customers can book."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.bookings.schemas import ServiceIn
from caisse.bookings.setup import put_service
from caisse.observability import observability
from caisse.web import Path, current_staff, error_responses, resolver

logger, metrics, tracer = observability("put-service")
app = resolver(logger)


@app.put(
    "/admin/merchants/<merchant_id>/services/<service_id>",
    summary="Create or change a bookable service",
    responses={
        200: {"description": "The service as stored"},
        **error_responses(
            {404: "not_found: no such merchant", 409: "settings_changed: another change came in between"}
        ),
    },
)
def save_service(
    merchant_id: Annotated[str, Path(max_length=64)],
    service_id: Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9._-]+$")],
    service: ServiceIn,
) -> dict:
    return put_service(merchant_id, service_id, current_staff(app), service.model_dump())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
