"""The pages Caisse serves itself (the hosted order page, the staff console): an HTML shell and its
CSS and JavaScript modules, read from the serving function's own package, so `sam deploy` ships
them with nothing else to host. The pages hold no data: their scripts call the JSON API on the same
origin. Every page answer carries a strict Content-Security-Policy (no inline script or style, no
other origin) and the usual hardening headers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:{images}; "
    "connect-src 'self'{connect}; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",  # the order page's address carries its token in the fragment only
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}


def page_file(root: Path, relative: str, *, allowed: tuple[str, ...]) -> Path | None:
    """The file `relative` names under `root`, if it is in one of the `allowed` folders and is a
    kind of file pages are made of; never anything outside (no `..`, no other folder)."""
    wanted = (root / relative).resolve()
    folders = [(root / folder).resolve() for folder in allowed]
    if not any(folder in wanted.parents for folder in folders):
        return None
    if wanted.suffix not in CONTENT_TYPES or not wanted.is_file():
        return None
    return wanted


def answer(
    path: Path | None,
    *,
    body: str | None = None,
    content_type: str | None = None,
    connect: tuple[str, ...] = (),
    images: tuple[str, ...] = (),
    cache_seconds: int = 300,
) -> dict[str, Any]:
    """An API Gateway proxy answer with the file (or `body` as `content_type`), or a plain 404.
    `connect` adds the origins the page's scripts may call besides its own (Cognito, S3), `images`
    the plain-HTTP origins its images may come from besides any HTTPS one (the emulated S3)."""
    policy = CSP.format(connect="".join(f" {c}" for c in connect), images="".join(f" {i}" for i in images))
    headers = {**HEADERS, "Content-Security-Policy": policy}
    if body is not None:
        return {
            "statusCode": 200,
            "headers": {**headers, "Content-Type": content_type or "text/plain", "Cache-Control": "no-cache"},
            "body": body,
        }
    if path is None:
        return {
            "statusCode": 404,
            "headers": {**headers, "Content-Type": "text/plain; charset=utf-8"},
            "body": "Not found",
        }
    cache = "no-cache" if path.suffix == ".html" else f"public, max-age={cache_seconds}"
    return {
        "statusCode": 200,
        "headers": {**headers, "Content-Type": CONTENT_TYPES[path.suffix], "Cache-Control": cache},
        "body": path.read_text(encoding="utf-8"),
    }
