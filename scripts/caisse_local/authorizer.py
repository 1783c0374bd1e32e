"""Local stand-in for the Cognito user-pool authorizer that guards the admin routes.

There is no Cognito locally, so staff tokens are JWTs shaped like Cognito ID tokens but signed
with HS256 and a fixed, public key. The key is NOT a secret: it only exists so the local API can
tell a token it issued from garbage. Nothing deployed ever accepts these tokens (real API Gateway
verifies Cognito's RS256 signatures).

`verify()` returns the claims the way API Gateway REST hands them to Lambda in
`requestContext.authorizer.claims`: every value a string.

    python -m caisse_local.authorizer [--merchant ID] [--ttl SECONDS]   # prints a token
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from typing import Any

import jwt

__all__ = [
    "AUDIENCE",
    "ISSUER",
    "LOCAL_SIGNING_KEY",
    "USER_POOL_ID",
    "Unauthorized",
    "id_token",
    "issue_token",
    "verify",
]

LOCAL_SIGNING_KEY = "caisse-local-signing-key-not-a-secret"  # noqa: S105 - public on purpose, see above
USER_POOL_ID = "us-east-1_caisselocal"
ISSUER = f"https://cognito-idp.us-east-1.amazonaws.com/{USER_POOL_ID}"
AUDIENCE = "caisselocal-client"
ALGORITHM = "HS256"


class Unauthorized(Exception):
    """The token is missing, malformed, expired or not one of ours (API Gateway answers 401)."""


def issue_token(
    merchant_id: str | None = None,
    email: str = "staff@example.test",
    ttl_seconds: int = 3600,
) -> str:
    """A Cognito-like ID token: platform admin without `merchant_id`, merchant staff with it."""
    groups = ["platform-admin"] if merchant_id is None else ["merchant-staff"]
    return id_token(str(uuid.uuid4()), email, email, groups=groups, merchant_id=merchant_id, ttl_seconds=ttl_seconds)


def id_token(
    subject: str,
    username: str,
    email: str,
    *,
    groups: list[str] | None = None,
    merchant_id: str | None = None,
    ttl_seconds: int = 3600,
) -> str:
    """An ID token in Cognito's claim shapes, signed with the local key (also what the local
    user pool, `caisse_local.cognito`, issues at sign-in): no group claim when the user is in none,
    no `custom:merchant_id` until an admin call set it."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject,
        "email": email,
        "email_verified": True,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "token_use": "id",
        "iat": now,
        "auth_time": now,
        "exp": now + int(ttl_seconds),
        "cognito:username": username,
    }
    if groups:
        claims["cognito:groups"] = list(groups)
    if merchant_id is not None:
        claims["custom:merchant_id"] = merchant_id
    return jwt.encode(claims, LOCAL_SIGNING_KEY, algorithm=ALGORITHM)


def verify(token: str) -> dict[str, str]:
    """Check signature, expiry, issuer, audience and token_use; return the claims as strings."""
    try:
        claims = jwt.decode(
            token,
            LOCAL_SIGNING_KEY,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized(str(exc)) from exc
    if claims.get("token_use") != "id":
        raise Unauthorized("not an ID token")
    return {key: _as_string(value) for key, value in claims.items()}


def _as_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(_as_string(v) for v in value)
    return str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print a local staff token for the admin routes.")
    parser.add_argument("--merchant", help="merchant staff for this merchant id (default: platform admin)")
    parser.add_argument("--email", default="staff@example.test")
    parser.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    args = parser.parse_args(argv)
    print(issue_token(args.merchant, email=args.email, ttl_seconds=args.ttl))
    return 0


if __name__ == "__main__":
    sys.exit(main())
