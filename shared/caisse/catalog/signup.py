"""A business signs itself up on the platform: the person who signed in names it, and becomes its staff.

One TransactWriteItems writes the merchant and reserves what must stay unique: its slug (the
merchant's own key), its order-number prefix (two merchants never share order numbers) and its
owner (one person owns at most one business). Then the person is linked in the user pool
(`custom:merchant_id`, group merchant-staff) with the admin API; their next token is staff of
the new merchant, scoped like any other. A link that failed is made again by asking again: the
second request finds the business already theirs, links it, and answers as the first would have
(409 `already_owner` if it names another business).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pynamodb.attributes import UnicodeAttribute

from caisse.catalog.models import MERCHANTS, CatalogRecord, Merchant
from caisse.catalog.platform import platform_config
from caisse.catalog.schemas import known_zone
from caisse.clock import iso, utcnow
from caisse.config import settings
from caisse.db import Transaction, TransactionCancelled, aws_client
from caisse.email_address import EmailAddress
from caisse.errors import CaisseError, Conflict, ProviderUnavailable
from caisse.staff import Person

MERCHANT_GROUP = "merchant-staff"
SLUG = r"^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$"


class MerchantSignup(BaseModel):
    """What a person says about the business they sign up."""

    model_config = ConfigDict(extra="forbid", defer_build=True, str_strip_whitespace=True)
    name: str = Field(min_length=2, max_length=120, examples=["Bright Sparks Electrical"])
    slug: str = Field(
        pattern=SLUG,
        description="The business's address on the platform: 3-40 of a-z, 0-9 and -",
        examples=["bright-sparks"],
    )
    kind: str = Field(max_length=40, pattern=r"^[a-z0-9-]+$", description="One of the platform's signup kinds")
    timezone: str = Field(max_length=64, description="IANA time zone name", examples=["Australia/Sydney"])
    languages: list[Literal["en", "fr"]] = Field(
        min_length=1, max_length=2, description="The first is the default for emails and pages"
    )
    reply_to: EmailAddress = Field(description="Where customers' replies go")
    staff_email: EmailAddress = Field(description="Where staff notifications go")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_zone(value)

    @field_validator("languages")
    @classmethod
    def _once_each(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each language once")
        return value


class Reservation(CatalogRecord, discriminator="reservation"):
    """Something unique a merchant holds: an owner (OWNER#<sub>) or an order prefix (PREFIX#<prefix>)."""

    merchant = UnicodeAttribute()

    @staticmethod
    def owner_key(subject: str) -> str:
        return f"OWNER#{subject}"

    @staticmethod
    def prefix_key(prefix: str) -> str:
        return f"PREFIX#{prefix}"


def sign_up(request: MerchantSignup, person: Person) -> dict[str, Any]:
    """Write the new merchant, reserve its slug, prefix and owner, and make the person its staff."""
    if person.merchant:
        raise Conflict("this account is already staff of a business", code="already_staff", merchant=person.merchant)
    kind = platform_config().signup_kinds.get(request.kind)
    if kind is None:
        raise CaisseError(
            f"the platform does not take {request.kind!r} businesses",
            code="kind_not_offered",
            offered=sorted(platform_config().signup_kinds),
        )
    owned = _owned_by(person.subject)
    if owned is not None:
        _link(person, owned)  # a first request may have written the business and failed to link it
        if owned == request.slug:  # the same request again (its answer was lost, or the link failed)
            return _answer(Merchant.get(Merchant.key(owned), consistent_read=True))
        raise Conflict("this account already signed a business up", code="already_owner", merchant=owned)
    taken = {merchant.merchant_id: merchant.order_prefix for merchant in _merchants()}
    if request.slug in taken:
        raise _slug_taken(request.slug, set(taken))
    prefix = _free_prefix(request.slug, set(taken.values()))
    merchant = Merchant(
        Merchant.key(request.slug),
        parent=MERCHANTS,
        merchant_id=request.slug,
        name=request.name,
        order_prefix=prefix,
        stages=list(kind.stages),
        reply_to=request.reply_to,
        staff_email=request.staff_email,
        default_locale=request.languages[0],
        languages=list(request.languages),
        timezone=request.timezone,
        country=kind.country,
        slot_minutes=kind.slot_minutes,
        booking_rules={"refund_policy": dict(kind.refund_policy)} if kind.refund_policy else None,
        business_kind=request.kind,
        owner=person.subject,
        signed_up_at=iso(utcnow()),
    )
    tx = Transaction()
    tx.put(merchant, Merchant.pk.does_not_exist(), label="slug")
    tx.put(
        Reservation(Reservation.prefix_key(prefix), merchant=request.slug),
        Reservation.pk.does_not_exist(),
        label="prefix",
    )
    tx.put(
        Reservation(Reservation.owner_key(person.subject), merchant=request.slug),
        Reservation.pk.does_not_exist(),
        label="owner",
    )
    try:
        tx.commit()
    except TransactionCancelled as cancelled:
        if "owner" in cancelled.failed:
            raise Conflict("this account already signed a business up", code="already_owner") from None
        if "slug" in cancelled.failed:
            raise _slug_taken(request.slug, set(taken) | {request.slug}) from None
        raise Conflict(
            "another business took the same order prefix at the same moment; please try again",
            code="concurrent_update",
        ) from None
    _link(person, request.slug)
    return _answer(merchant)


def _answer(merchant: Merchant) -> dict[str, Any]:
    return {
        "merchant_id": merchant.merchant_id,
        "name": merchant.name,
        "kind": merchant.business_kind,
        "order_prefix": merchant.order_prefix,
        "timezone": merchant.timezone,
        "languages": list(merchant.languages or []),
        "refresh_token_needed": True,
    }


def _merchants() -> list[Merchant]:
    """Every merchant (one Query of by_parent): the slugs and prefixes already in use, including
    the catalog file's, which hold no reservation records."""
    return [record for record in CatalogRecord.by_parent.query(MERCHANTS) if isinstance(record, Merchant)]


def _owned_by(subject: str) -> str | None:
    try:
        return Reservation.get(Reservation.owner_key(subject)).merchant
    except Reservation.DoesNotExist:
        return None


def _slug_taken(slug: str, taken: set[str]) -> Conflict:
    suggestion = next(f"{slug[:36]}-{n}" for n in range(2, 1000) if f"{slug[:36]}-{n}" not in taken)
    return Conflict(f"{slug!r} is taken", code="slug_taken", suggestion=suggestion)


def _free_prefix(slug: str, taken: set[str]) -> str:
    """Order numbers read <prefix>-<year>-<n>: initials of the slug's words, then a number if taken."""
    words = [word for word in re.split(r"[^a-z0-9]+", slug) if word]
    base = "".join(word[0] for word in words).upper()
    if len(base) < 2:
        base = slug.replace("-", "")[:2].upper()
    base = base[:5]
    for candidate in (base, *(f"{base}{n}" for n in range(2, 1000))):
        if candidate not in taken and not _reserved(candidate):
            return candidate
    raise Conflict("no order prefix is free for this name", code="concurrent_update")


def _reserved(prefix: str) -> bool:
    try:
        Reservation.get(Reservation.prefix_key(prefix))
    except Reservation.DoesNotExist:
        return False
    return True


def _link(person: Person, merchant_id: str) -> None:
    """The person becomes staff of the merchant in the user pool: the attribute the app client
    cannot write, and the group. Both calls are idempotent."""
    pool = settings().staff_user_pool_id
    cognito = _cognito()
    try:
        cognito.admin_update_user_attributes(
            UserPoolId=pool,
            Username=person.username,
            UserAttributes=[{"Name": "custom:merchant_id", "Value": merchant_id}],
        )
        cognito.admin_add_user_to_group(UserPoolId=pool, Username=person.username, GroupName=MERCHANT_GROUP)
    except (ClientError, BotoCoreError) as error:
        raise ProviderUnavailable(
            "the business is saved but the sign-in service did not answer; send the same request again"
        ) from error


def _cognito() -> Any:
    """The user pool's admin API, from the shared session; only this route talks to it."""

    return aws_client("cognito-idp")
