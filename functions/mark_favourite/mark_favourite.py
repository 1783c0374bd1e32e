"""POST /galleries/{gallery_id}/favourites?signature=...: the client marks (or unmarks) a photo
for the photographer, with the same link and access code that open the gallery."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.clock import utcnow
from caisse.media import client
from caisse.media.schemas import ACCESS_CODE_HEADER, GALLERY_ID, FavouriteIn
from caisse.observability import observability
from caisse.orders.tokens import TOKEN_KEY_PARAMETER
from caisse.secrets import secret
from caisse.web import Header, Path, Query, error_responses, resolver

logger, metrics, tracer = observability("mark-favourite")
app = resolver(logger)


@app.post(
    "/galleries/<gallery_id>/favourites",
    summary="Mark or unmark a photo as a favourite",
    responses={
        200: {"description": "The photo's favourite mark as it now is"},
        **error_responses(
            {
                404: "not_found: the link does not verify, or no such gallery",
                401: "access_code_required: the gallery has an access code and none was sent",
                403: "wrong_access_code: the access code is wrong (nothing more is said)",
                410: "gallery_expired: the gallery is past its expiry date",
            }
        ),
    },
)
def favourite(
    gallery_id: Annotated[str, Path(pattern=GALLERY_ID)],
    mark: FavouriteIn,
    signature: Annotated[str | None, Query(max_length=64, description="From the email's link")] = None,
    access_code: Annotated[str | None, Header(alias=ACCESS_CODE_HEADER, max_length=32)] = None,
) -> dict:
    now = utcnow()
    opened = client.open_gallery(gallery_id, signature, access_code, secret(TOKEN_KEY_PARAMETER), now)
    return client.mark_favourite(opened, mark.media_id, mark.favourite, now)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
