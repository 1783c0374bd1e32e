"""Links inside emails, and the one way they are signed: an HMAC-SHA256 under the order-token key
(SSM), over a scope and a subject, so a signature made for one purpose never opens another.

The download link carries its own expiry (7 days by default) and the function behind it answers
with a fresh five-minute presigned S3 GET: a presigned URL made by a Lambda role stops working when
the role's temporary credentials do (hours, not days), so it cannot go in an email itself.

A gallery link is signed over the gallery id only: the gallery's own expiry (which staff can
change) decides how long it opens. A gallery's access code is derived the same way from a random
salt stored on the gallery, so the code itself is stored nowhere, yet the email can print it."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode

from caisse.clock import iso, utcnow
from caisse.config import settings
from caisse.orders import tokens

DOWNLOAD_DAYS = 7
ACCESS_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # 32 signs, none that reads as another
ACCESS_CODE_LENGTH = 8  # 40 bits


def signature(scope: str, subject: str, key: str) -> str:
    return hmac.new(key.encode(), f"{scope}:{subject}".encode(), hashlib.sha256).hexdigest()


def signature_matches(scope: str, subject: str, given: str, key: str) -> bool:
    # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError, so a 5xx).
    return hmac.compare_digest(signature(scope, subject, key).encode(), given.encode())


def order_page(order_id: str, *, result: str | None = None, token_key: str | None = None) -> str:
    """The hosted order page (served by Caisse itself at /order/{id}). With `token_key`, the order
    token rides in the fragment (#token=...), which browsers keep across redirects and never send
    to a server, so it reaches no log; `result` says the customer is back from the provider."""
    url = f"{settings().public_api_url}/order/{quote(order_id)}"
    if result:
        url += f"?{urlencode({'result': result})}"
    if token_key:
        url += f"#{urlencode({'token': tokens.issue(order_id, token_key)})}"
    return url


def order_link(order_id: str, token_key: str) -> str:
    """The "follow your order" link of every email."""
    return order_page(order_id, token_key=token_key)


def download_expiry(now: datetime | None = None) -> datetime:
    """Until when a delivery (or a delivery email sent again) lets the customer download."""
    return (now or utcnow()) + timedelta(days=DOWNLOAD_DAYS)


def download_link(
    order_id: str, token_key: str, now: datetime | None = None, until: datetime | None = None
) -> tuple[str, str]:
    """The link and when it stops working (ISO 8601): `until`, or DOWNLOAD_DAYS from now."""
    expires_at = until or download_expiry(now)
    expires = int(expires_at.timestamp())
    query = urlencode({"expires": expires, "signature": signature("download", f"{order_id}:{expires}", token_key)})
    return f"{settings().public_api_url}/orders/{order_id}/download?{query}", iso(expires_at)


def download_allowed(order_id: str, expires: int, given: str, token_key: str, now: datetime | None = None) -> bool:
    if not signature_matches("download", f"{order_id}:{expires}", given, token_key):
        return False
    return expires > (now or utcnow()).timestamp()


def gallery_link(gallery_id: str, token_key: str) -> str:
    """The client's gallery page on the shop's site, which calls GET /galleries/{id} with the same
    query (and the access code in the X-Access-Code header)."""
    query = urlencode({"signature": signature("gallery", gallery_id, token_key)})
    return f"{settings().shop_url}/galleries/{quote(gallery_id)}?{query}"


def gallery_link_valid(gallery_id: str, given: str, token_key: str) -> bool:
    return signature_matches("gallery", gallery_id, given, token_key)


def gallery_access_code(gallery_id: str, salt: str, token_key: str) -> str:
    """The code a client types, e.g. "K7QM-3XTP": eight signs of the HMAC, shown in two halves.
    A new salt gives a new code; removing the salt removes the code."""
    digest = int(signature("gallery-code", f"{gallery_id}:{salt}", token_key)[:10], 16)  # 40 bits
    signs = "".join(ACCESS_CODE_ALPHABET[(digest >> (5 * i)) & 31] for i in range(ACCESS_CODE_LENGTH))
    return f"{signs[:4]}-{signs[4:]}"


def access_code_matches(gallery_id: str, salt: str, given: str, token_key: str) -> bool:
    """Case, spaces and dashes do not matter; the comparison takes the same time whatever is typed."""
    typed = "".join(ch for ch in given.upper() if ch.isalnum())
    expected = gallery_access_code(gallery_id, salt, token_key).replace("-", "")
    return hmac.compare_digest(typed.encode(), expected.encode())
