"""GET /openapi.json and GET /docs: the API's OpenAPI document (generated from the functions' code
by scripts/openapi.py and committed beside this handler) and Swagger UI over it.

Swagger UI is vendored from the npm registry at build time (swagger-ui-dist, pinned in
package-lock.json; this directory's Makefile and `make local` copy its two files into
swagger-ui/), never loaded from a CDN: the page works offline. /docs and its files are pages like
the order page (caisse.pages: the strict Content-Security-Policy, no inline script or style); the
document is the JSON API's, through Powertools.
"""

import json
from functools import cache
from pathlib import Path

from aws_lambda_powertools.logging import correlation_paths

from caisse.observability import observability
from caisse.pages import answer, page_file
from caisse.web import resolver

logger, metrics, tracer = observability("api-docs")
app = resolver(logger)

HERE = Path(__file__).resolve().parent
SWAGGER_FILES = ("swagger-ui-bundle.js", "swagger-ui.css")


@cache
def _document() -> dict:
    return json.loads((HERE / "openapi.json").read_text())


@app.get("/openapi.json", summary="The API's OpenAPI document")
def openapi() -> dict:
    """The committed document, with this deployment's base path as its server (API Gateway's stage
    is part of the path, so "Try it out" reaches the right stage)."""
    context = app.current_event.request_context
    stage = context.stage
    base = f"/{stage}" if stage and (context.path or "").startswith(f"/{stage}/") else "/"
    return {**_document(), "servers": [{"url": base, "description": "this deployment"}]}


def page(event: dict) -> dict:
    """/docs (the HTML shell) and /docs/{asset} (Swagger UI's files, our init script and style)."""
    asset = (event.get("pathParameters") or {}).get("asset")
    if asset is None:
        return answer(page_file(HERE, "static/index.html", allowed=("static",)))
    folder = "swagger-ui" if asset in SWAGGER_FILES else "static"
    return answer(page_file(HERE, f"{folder}/{asset}", allowed=("static", "swagger-ui")), cache_seconds=86400)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    if (event.get("resource") or "").startswith("/docs"):
        return page(event)
    return app.resolve(event, context)
