"""DELETE /admin/galleries/{gallery_id}: the gallery goes, with its originals, renditions and records."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from caisse.media.galleries import delete
from caisse.media.schemas import GALLERY_ID
from caisse.observability import observability
from caisse.web import Path, current_staff, error_responses, resolver

logger, metrics, tracer = observability("delete-gallery")
app = resolver(logger)


@app.delete(
    "/admin/galleries/<gallery_id>",
    summary="Delete a gallery and every file of it",
    responses={
        200: {"description": "The gallery is deleted, with its files"},
        **error_responses({403: "forbidden: another merchant's gallery", 404: "not_found: no such gallery"}),
    },
)
def delete_gallery(gallery_id: Annotated[str, Path(pattern=GALLERY_ID)]) -> dict:
    staff = current_staff(app)
    answer = delete(gallery_id, staff)
    logger.info(
        "gallery deleted",
        extra={"gallery_id": gallery_id, "photos": answer["photos"], "files": answer["files"], "by": staff.actor_id},
    )
    metrics.add_metric(name="GalleryFilesDeleted", unit=MetricUnit.Count, value=answer["files"])
    return answer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
