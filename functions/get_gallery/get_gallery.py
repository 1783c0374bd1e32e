"""GET /galleries/{gallery_id}?signature=...: the client's gallery, opened with the signed link
from the gallery-ready email and, where the gallery has one, the access code in X-Access-Code."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.clock import utcnow
from caisse.media import client
from caisse.media.rules import MAX_PAGE_SIZE, PAGE_SIZE
from caisse.media.schemas import ACCESS_CODE_HEADER, GALLERY_ID
from caisse.observability import observability
from caisse.orders.tokens import TOKEN_KEY_PARAMETER
from caisse.secrets import secret
from caisse.web import Header, Path, Query, error_responses, resolver

logger, metrics, tracer = observability("get-gallery")
app = resolver(logger)


@app.get(
    "/galleries/<gallery_id>",
    summary="The client's gallery: ready photos with short-lived URLs",
    responses={
        200: {"description": "The gallery's ready photos with short-lived URLs"},
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
def gallery(
    gallery_id: Annotated[str, Path(pattern=GALLERY_ID)],
    signature: Annotated[str | None, Query(max_length=64, description="From the email's link")] = None,
    access_code: Annotated[str | None, Header(alias=ACCESS_CODE_HEADER, max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> dict:
    now = utcnow()
    opened = client.open_gallery(gallery_id, signature, access_code, secret(TOKEN_KEY_PARAMETER), now)
    return client.view(opened, limit=limit, cursor=cursor, now=now)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
