"""GET /orders/{order_id}/download: the delivery email's link → a fresh presigned S3 GET (302)."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.observability import observability
from caisse.orders.deliverables import download_url
from caisse.orders.tokens import TOKEN_KEY_PARAMETER
from caisse.secrets import secret
from caisse.web import Path, Query, Response, error_responses, resolver

logger, metrics, tracer = observability("download-deliverable")
app = resolver(logger)


@app.get(
    "/orders/<order_id>/download",
    summary="Download the delivered file (link from the delivery email)",
    responses={
        302: {"description": "To the file (Location: a short-lived URL)", "content": {}},
        **error_responses(
            {
                403: "forbidden: the link is not valid or has expired",
                404: "not_found: nothing delivered for this order",
            }
        ),
    },
)
def download(
    order_id: Annotated[str, Path(max_length=36)],
    expires: Annotated[int, Query()],
    signature: Annotated[str, Query(max_length=64)],
) -> Response[str]:
    url = download_url(order_id, expires, signature, secret(TOKEN_KEY_PARAMETER))
    logger.info("deliverable downloaded", extra={"order_id": order_id})
    return Response(status_code=302, headers={"Location": url, "Cache-Control": "no-store"}, body="")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
