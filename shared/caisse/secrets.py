"""Secrets from SSM Parameter Store (SecureString), through Powertools Parameters with a cache, so
a warm function does not call SSM on every request and a rotated value is picked up within minutes.

Names are relative to the stage's prefix, e.g. "stripe/secret_key" → /caisse/dev/stripe/secret_key.
Values never go to logs.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from caisse.config import settings

CACHE_SECONDS = 300


@cache
def _provider() -> Any:
    # Imported on first use (it pulls in boto3), with an SSM client made from the session the
    # DynamoDB client already loaded: a separate boto3 session costs ~35 ms more of cold start.
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    from caisse.db import aws_client

    return SSMProvider(boto3_client=aws_client("ssm"))


def secret(name: str) -> str:
    value = _provider().get(f"{settings().parameter_prefix}/{name}", decrypt=True, max_age=CACHE_SECONDS)
    if not isinstance(value, str) or not value:
        raise RuntimeError(f"parameter {name} is empty")
    return value
