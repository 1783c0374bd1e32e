"""The Stripe SDK client, built once per secret key (a rotated key builds a new one)."""

from __future__ import annotations

from functools import lru_cache

import stripe

from caisse.config import settings
from caisse.secrets import secret

SECRET_KEY_PARAMETER = "stripe/secret_key"


@lru_cache(maxsize=2)
def _client_for(api_key: str, api_base: str | None) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base} if api_base else None,
        # A StripeClient built without this retries nothing (see reference/payment-providers.md).
        max_network_retries=2,
        # The synchronous client the SDK picks by default, named so that it builds no asynchronous
        # fallback: an httpx AsyncClient (httpcore and an SSL context, ~60 ms of CPU on the first
        # request of a cold function) for the `*_async` methods we never call.
        http_client=stripe.RequestsClient(),
    )


def client() -> stripe.StripeClient:
    return _client_for(secret(SECRET_KEY_PARAMETER), settings().stripe_api_base)
