"""The order token: what the browser keeps to read its own order without an account.

It is an HMAC of the order id under a server key, so nothing about it is stored, the same
checkout replayed gets the same token, and checking it needs no database read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from caisse.errors import NotFound, Unauthorized
from caisse.secrets import secret

TOKEN_KEY_PARAMETER = "order_token_key"


def issue(order_id: str, key: str) -> str:
    digest = hmac.new(key.encode(), f"order:{order_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def matches(order_id: str, token: str, key: str) -> bool:
    # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError, so a 5xx).
    return hmac.compare_digest(issue(order_id, key).encode(), token.encode())


def check(order_id: str, authorization: str | None) -> str:
    """The customer's routes: the order token sent as `Authorization: Bearer <order_token>`,
    checked before any read (a wrong token learns nothing, not even whether the order exists).
    Returns the token key (download links are signed with it)."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("send the order token as 'Authorization: Bearer <order_token>'")
    key = secret(TOKEN_KEY_PARAMETER)
    if not matches(order_id, token.strip(), key):
        raise NotFound("no such order")
    return key
