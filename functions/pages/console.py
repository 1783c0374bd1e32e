"""GET /console: the staff console, a page that talks only to the documented JSON API (the same one
a shop's developer uses). GET /console/{asset}: its CSS and JavaScript modules, the modules it
shares with the order page, and config.json, which tells the page how staff sign in: Cognito's
hosted pages (authorization code with PKCE) once deployed, a pasted `make admin-token` locally."""

import json
import os
from pathlib import Path
from typing import Any

from caisse.pages import answer, page_file

STATIC = Path(__file__).resolve().parent / "static"


def config() -> dict:
    signing_in = os.environ.get("STAFF_SIGN_IN", "cognito")
    found: dict[str, Any] = {"signIn": signing_in}
    if signing_in == "cognito":
        found.update(
            authorizeUrl=f"{os.environ['COGNITO_DOMAIN']}/oauth2/authorize",
            tokenUrl=f"{os.environ['COGNITO_DOMAIN']}/oauth2/token",
            logoutUrl=f"{os.environ['COGNITO_DOMAIN']}/logout",
            clientId=os.environ["COGNITO_CLIENT_ID"],
            redirectUri=f"{os.environ['PUBLIC_API_URL']}/console",
        )
    elif os.environ.get("AWS_ENDPOINT_URL"):
        # The local stack's stand-in for the user pool (caisse_local.cognito): sign up there too.
        found["userPool"] = {"endpoint": os.environ["AWS_ENDPOINT_URL"], "clientId": os.environ["COGNITO_CLIENT_ID"]}
    return found


def connect_sources() -> tuple[str, ...]:
    """Where the page may send requests besides the API: Cognito's token endpoint, and S3 for the
    presigned uploads of deliverables (the emulated S3 locally)."""
    sources = ["https://*.amazonaws.com", "https://*.amazoncognito.com"]
    if os.environ.get("AWS_ENDPOINT_URL"):
        sources.append(os.environ["AWS_ENDPOINT_URL"])
    return tuple(sources)


def image_sources() -> tuple[str, ...]:
    """Where gallery thumbnails come from besides HTTPS: the emulated S3 locally (presigned GETs)."""
    return (os.environ["AWS_ENDPOINT_URL"],) if os.environ.get("AWS_ENDPOINT_URL") else ()


def handler(event, context):
    # The page links its files as console/assets/... relative to itself, so /console finds them at
    # /console/assets/... and /console/ (with its slash) at /console/console/assets/...: both work,
    # with or without a stage or base path in front.
    asset = (event.get("pathParameters") or {}).get("asset")
    extra = {"connect": connect_sources(), "images": image_sources()}
    if asset is not None:
        asset = asset.removeprefix("console/")
    if asset is None or asset == "":
        return answer(page_file(STATIC, "console/index.html", allowed=("console",)), **extra)
    if asset == "config.json":
        return answer(None, body=json.dumps(config()), content_type="application/json", **extra)
    relative = asset.removeprefix("assets/")
    relative = relative if relative.startswith("shared/") else f"console/{relative}"
    return answer(page_file(STATIC, relative, allowed=("console", "shared")), **extra)
