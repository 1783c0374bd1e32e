"""GET /openapi.json and GET /docs: the API's OpenAPI document (generated from the functions'
code by scripts/openapi.py and committed beside this handler) and Swagger UI over it.

Swagger UI is vendored from the npm registry at build time (swagger-ui-dist, pinned in
package-lock.json; this directory's Makefile and `make local` copy it into swagger-ui/), never
loaded from a CDN: the page works offline, and it is served under a strict Content-Security-Policy
(this origin's files only, no inline script or style).
"""

import json
from functools import cache
from pathlib import Path
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path as PathParam
from aws_lambda_powertools.logging import correlation_paths

from caisse.errors import NotFound
from caisse.observability import observability
from caisse.web import error_responses, resolver

logger, metrics, tracer = observability("api-docs")
app = resolver(logger)

HERE = Path(__file__).resolve().parent
ASSETS = {
    "swagger-ui-bundle.js": (HERE / "swagger-ui" / "swagger-ui-bundle.js", "application/javascript; charset=utf-8"),
    "swagger-ui.css": (HERE / "swagger-ui" / "swagger-ui.css", "text/css; charset=utf-8"),
    "init.js": (HERE / "static" / "init.js", "application/javascript; charset=utf-8"),
    "docs.css": (HERE / "static" / "docs.css", "text/css; charset=utf-8"),
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@cache
def _document() -> dict:
    return json.loads((HERE / "openapi.json").read_text())


@app.get("/openapi.json", summary="The API's OpenAPI document")
def openapi() -> dict:
    """The committed document, with this deployment's base URL as its server (API Gateway's stage
    is part of the path, so "Try it out" reaches the right stage)."""
    stage = app.current_event.request_context.stage
    base = f"/{stage}" if stage and app.current_event.request_context.path.startswith(f"/{stage}/") else ""
    return {**_document(), "servers": [{"url": base or "/", "description": "this deployment"}]}


@app.get("/docs", summary="Swagger UI (HTML) over the OpenAPI document")
def docs() -> Response[str]:
    return Response(
        status_code=200,
        content_type="text/html; charset=utf-8",
        body=(HERE / "static" / "index.html").read_text(),
        headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"},
    )


@app.get(
    "/docs/<asset>",
    summary="Swagger UI's files (script and style)",
    responses=error_responses({404: "not_found: no such file"}),
)
def asset(asset: Annotated[str, PathParam(max_length=40, pattern=r"^[a-z.-]+$")]) -> Response[str]:
    found = ASSETS.get(asset)
    if found is None or not found[0].is_file():
        raise NotFound("no such file")
    path, content_type = found
    return Response(
        status_code=200,
        content_type=content_type,
        body=path.read_text(),
        headers={**SECURITY_HEADERS, "Cache-Control": "public, max-age=86400"},
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
