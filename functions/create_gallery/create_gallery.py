"""POST /admin/galleries: staff open a gallery for a client (and an order, if any) before
uploading its photos; the answer has the client's link and access code."""

from aws_lambda_powertools.logging import correlation_paths

from caisse.media.galleries import create
from caisse.media.schemas import GalleryIn
from caisse.observability import observability
from caisse.orders.tokens import TOKEN_KEY_PARAMETER
from caisse.secrets import secret
from caisse.web import Response, current_staff, error_responses, resolver

logger, metrics, tracer = observability("create-gallery")
app = resolver(logger)


@app.post(
    "/admin/galleries",
    summary="Open a gallery for a client",
    responses={
        201: {"description": "The gallery, its client link and access code"},
        **error_responses({403: "forbidden: another merchant's gallery"}),
    },
)
def post_gallery(gallery: GalleryIn) -> Response[dict]:
    staff = current_staff(app)
    answer = create(gallery, staff, secret(TOKEN_KEY_PARAMETER))
    logger.info("gallery created", extra={"gallery_id": answer["gallery_id"], "merchant": answer["merchant"]})
    return Response(status_code=201, content_type="application/json", body=answer)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
