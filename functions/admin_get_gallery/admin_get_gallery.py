"""GET /admin/galleries/{gallery_id}: staff see a gallery with its photos (status, why one failed,
the client's favourites), its client link and access code."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.media.galleries import staff_view
from caisse.media.rules import MAX_PAGE_SIZE, PAGE_SIZE
from caisse.media.schemas import GALLERY_ID
from caisse.observability import observability
from caisse.orders.tokens import TOKEN_KEY_PARAMETER
from caisse.secrets import secret
from caisse.web import Path, Query, current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-get-gallery")
app = resolver(logger)


@app.get(
    "/admin/galleries/<gallery_id>",
    summary="A gallery with its photos, statuses and favourites",
    responses={
        200: {"description": "The gallery, its photos and favourites"},
        **error_responses({403: "forbidden: another merchant's gallery", 404: "not_found: no such gallery"}),
    },
)
def gallery(
    gallery_id: Annotated[str, Path(pattern=GALLERY_ID)],
    favourites: Annotated[bool, Query(description="Only the photos the client marked")] = False,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> dict:
    return staff_view(
        gallery_id,
        current_staff(app),
        secret(TOKEN_KEY_PARAMETER),
        limit=limit,
        cursor=cursor,
        favourites_only=favourites,
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
