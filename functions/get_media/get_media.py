"""GET /media/{media_id}: staff follow an upload (processing, ready with its renditions, or
failed with the reason)."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.media.schemas import MEDIA_ID
from caisse.media.service import get_media
from caisse.observability import observability
from caisse.web import Path, current_staff, error_responses, resolver

logger, metrics, tracer = observability("get-media")
app = resolver(logger)


@app.get(
    "/media/<media_id>",
    summary="A photo's status, renditions and EXIF summary",
    responses={
        200: {"description": "The photo's status, renditions and EXIF summary"},
        **error_responses(
            {
                404: "not_found: no such media",
            }
        ),
    },
)
def media(media_id: Annotated[str, Path(pattern=MEDIA_ID)]) -> dict:
    return get_media(media_id, current_staff(app))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
