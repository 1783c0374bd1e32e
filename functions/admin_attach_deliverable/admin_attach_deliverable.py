"""POST /admin/orders/{order_id}/deliverable: staff get a presigned PUT for the file to deliver."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel, ConfigDict, Field

from caisse.observability import observability
from caisse.orders.deliverables import MAX_DELIVERABLE_BYTES, attach
from caisse.web import Path, Response, current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-attach-deliverable")
app = resolver(logger)


class DeliverableIn(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    filename: str = Field(min_length=1, max_length=200)
    content_type: str = Field(pattern=r"^[a-z]+/[a-zA-Z0-9.+-]+$", max_length=100)
    size: int = Field(
        ge=1, le=MAX_DELIVERABLE_BYTES, strict=True, description="The file's exact size in bytes (signed in the URL)"
    )


@app.post(
    "/admin/orders/<order_id>/deliverable",
    summary="Upload the file the customer will download",
    responses={
        201: {"description": "Where to PUT the file (signed for its exact size)"},
        **error_responses(
            {
                404: "not_found: no such order",
                409: "conflict: the order is not at its deliverable stage, or changed meanwhile",
            }
        ),
    },
)
def attach_deliverable(order_id: Annotated[str, Path(max_length=36)], deliverable: DeliverableIn) -> Response[dict]:
    answer = attach(order_id, current_staff(app), deliverable.filename, deliverable.content_type, deliverable.size)
    logger.info("deliverable attached", extra={"order_id": order_id, "key": answer["key"]})
    return Response(status_code=201, content_type="application/json", body=answer)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
