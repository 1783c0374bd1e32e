"""The HTTP client the mobile-money and PayPal integrations share: TLS verified (the CamPay SDK
turns verification off; we never do), short timeouts because a Lambda is waiting, and retries only
for connections that failed before anything was sent."""

from __future__ import annotations

from functools import cache
from typing import Any

import httpx

TIMEOUT = httpx.Timeout(10.0, connect=3.0)


@cache
def client(base_url: str) -> httpx.Client:
    return httpx.Client(
        base_url=base_url.rstrip("/") + "/",
        timeout=TIMEOUT,
        transport=httpx.HTTPTransport(retries=2),
        headers={"User-Agent": "caisse/1 (+https://github.com/caisse)"},
    )


def json_or_none(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
