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


def checkout_completed(order: dict, payment_intent: str = "pi_local") -> bytes:
    """The `checkout.session.completed` Stripe sends once the customer paid a Caisse checkout
    answer `order` (its order id, total and session): for benchmarks and replays."""
    import json
    import uuid

    session = {
        "id": order["next_action"]["url"].rsplit("/", 1)[1],
        "object": "checkout.session",
        "client_reference_id": order["order_id"],
        "payment_status": "paid",
        "amount_total": order["total"]["amount"],
        "currency": order["total"]["currency"].lower(),
        "payment_intent": payment_intent,
    }
    event = {
        "id": f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "type": "checkout.session.completed",
        "data": {"object": session},
    }
    return json.dumps(event).encode()
