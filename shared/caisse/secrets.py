"""Secrets from SSM Parameter Store (SecureString), through Powertools Parameters with a cache, so
a warm function does not call SSM on every request and a rotated value is picked up within minutes.

Names are relative to the stage's prefix, e.g. "stripe/secret_key" → /caisse/dev/stripe/secret_key.
Values never go to logs.
"""

from __future__ import annotations

from caisse.config import settings

CACHE_SECONDS = 300


def secret(name: str) -> str:
    # Imported here: it pulls in boto3, which only functions holding secrets should pay for.
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_parameter(f"{settings().parameter_prefix}/{name}", decrypt=True, max_age=CACHE_SECONDS)
    if not isinstance(value, str) or not value:
        raise RuntimeError(f"parameter {name} is empty")
    return value
