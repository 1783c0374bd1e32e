"""Stripe webhook signatures (the ``Stripe-Signature`` header).

Kept in its own module so tests and local scripts can sign payloads exactly the way the sandbox
(and Stripe) does: ``t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed with the endpoint secret>``.
"""

from __future__ import annotations

import hashlib
import hmac
import time


def compute_signature(payload: bytes, secret: str, timestamp: int) -> str:
    """Hex HMAC-SHA256 over ``b"<timestamp>." + payload``: the exact bytes sent must be the bytes signed."""
    signed = str(timestamp).encode("ascii") + b"." + payload
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """Return the ``Stripe-Signature`` header value for ``payload`` (now, unless ``timestamp`` is given)."""
    if timestamp is None:
        timestamp = int(time.time())
    return f"t={timestamp},v1={compute_signature(payload, secret, timestamp)}"
