"""PATCH /admin/galleries/{gallery_id}: staff change a gallery's expiry, downloads or access code."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.media.galleries import update
from caisse.media.schemas import GALLERY_ID, GalleryUpdate
from caisse.observability import observability
from caisse.orders.tokens import TOKEN_KEY_PARAMETER
from caisse.secrets import secret
from caisse.web import Path, current_staff, error_responses, resolver

logger, metrics, tracer = observability("update-gallery")
app = resolver(logger)


@app.patch(
    "/admin/galleries/<gallery_id>",
    summary="Change a gallery's expiry, downloads or access code",
    responses={
        200: {"description": "The gallery as changed"},
        **error_responses({403: "forbidden: another merchant's gallery", 404: "not_found: no such gallery"}),
    },
)
def patch_gallery(gallery_id: Annotated[str, Path(pattern=GALLERY_ID)], change: GalleryUpdate) -> dict:
    answer = update(gallery_id, change, current_staff(app), secret(TOKEN_KEY_PARAMETER))
    logger.info("gallery changed", extra={"gallery_id": gallery_id, "fields": sorted(change.model_fields_set)})
    return answer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
