"""Who is calling an admin route, from the claims the API Gateway Cognito authorizer verified.

Staff of a merchant carry its id in `custom:merchant_id`; platform staff belong to the
`platform-admin` group and may act on every merchant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caisse.errors import Forbidden, InvalidRequest, Unauthorized

PLATFORM_GROUP = "platform-admin"


@dataclass(frozen=True)
class Staff:
    subject: str
    email: str | None
    merchant: str | None
    platform: bool

    @property
    def actor_id(self) -> str:
        """How staff appear in an order's history: who, without more personal data than needed."""
        return f"staff:{self.subject}"

    def require(self, merchant: str, what: str = "this order") -> None:
        if not (self.platform or self.merchant == merchant):
            raise Forbidden(f"{what} belongs to another merchant")

    def merchant_for(self, named: str | None, what: str) -> str:
        """The merchant a request is about: the one named (platform staff must name one), which
        must be this member of staff's own."""
        merchant = named or self.merchant
        if not merchant:
            raise InvalidRequest("platform staff name the merchant", code="merchant_required")
        self.require(merchant, what)
        return merchant

    def scope(self, named: str | None, what: str) -> list[str] | None:
        """The merchants a list shows this member of staff: the one named (which must be theirs,
        unless they are platform staff), else their own, else None: platform staff, every merchant."""
        if named is not None:
            self.require(named, what)
            return [named]
        if self.platform:
            return None
        assert self.merchant is not None  # staff_from_claims refuses staff of no merchant
        return [self.merchant]


def _groups(value: Any) -> set[str]:
    # API Gateway REST hands claims over as strings; a list claim may arrive as "a,b" or "[a b]".
    if isinstance(value, list):
        return {str(v) for v in value}
    text = str(value or "").strip("[]")
    return {part for part in text.replace(",", " ").split() if part}


def staff_from_claims(claims: dict[str, Any] | None) -> Staff:
    if not claims or not claims.get("sub"):
        raise Unauthorized("sign in as staff to use this route")
    platform = PLATFORM_GROUP in _groups(claims.get("cognito:groups"))
    merchant = claims.get("custom:merchant_id") or None
    if not platform and not merchant:
        raise Forbidden("this account is not staff of any merchant")
    return Staff(subject=str(claims["sub"]), email=claims.get("email"), merchant=merchant, platform=platform)


@dataclass(frozen=True)
class Person:
    """Someone signed in to the staff user pool who may not be staff of any merchant yet: who signs
    a new business up. Only the sign-up route reads a caller this way; every other route wants Staff."""

    subject: str
    username: str
    email: str
    merchant: str | None


def person_from_claims(claims: dict[str, Any] | None) -> Person:
    if not claims or not claims.get("sub") or not claims.get("email"):
        raise Unauthorized("sign in to sign a business up")
    return Person(
        subject=str(claims["sub"]),
        username=str(claims.get("cognito:username") or claims["sub"]),
        email=str(claims["email"]),
        merchant=claims.get("custom:merchant_id") or None,
    )
