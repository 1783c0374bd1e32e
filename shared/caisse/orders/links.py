"""Links inside emails. The download link is ours, not S3's: it carries its own expiry (7 days by
default) signed with the order-token key, and the function behind it answers with a fresh
five-minute presigned S3 GET. A presigned URL made by a Lambda role stops working when the role's
temporary credentials do (hours, not days), so it cannot go in an email itself."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from urllib.parse import urlencode

from caisse.clock import iso, utcnow
from caisse.config import settings
from caisse.orders import tokens

DOWNLOAD_DAYS = 7


def order_link(order_id: str, token_key: str) -> str:
    token = tokens.issue(order_id, token_key)
    return f"{settings().shop_url}/orders/{order_id}?{urlencode({'token': token})}"


def _download_signature(order_id: str, expires: int, token_key: str) -> str:
    return hmac.new(token_key.encode(), f"download:{order_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def download_link(order_id: str, token_key: str, now: datetime | None = None) -> tuple[str, str]:
    """The link and when it stops working (ISO 8601)."""
    expires_at = (now or utcnow()) + timedelta(days=DOWNLOAD_DAYS)
    expires = int(expires_at.timestamp())
    query = urlencode({"expires": expires, "signature": _download_signature(order_id, expires, token_key)})
    return f"{settings().public_api_url}/orders/{order_id}/download?{query}", iso(expires_at)


def download_allowed(order_id: str, expires: int, signature: str, token_key: str, now: datetime | None = None) -> bool:
    if not hmac.compare_digest(_download_signature(order_id, expires, token_key), signature):
        return False
    return expires > (now or utcnow()).timestamp()
