"""Request shapes of the staff catalog routes (pydantic, validated by the Event Handler)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from caisse.catalog.questionnaire import MAX_QUESTIONS, Question
from caisse.email_address import EmailAddress

_STRICT = ConfigDict(extra="forbid", defer_build=True, str_strip_whitespace=True)
SKU = r"^[A-Za-z0-9._-]+$"
MERCHANT_ID = r"^[a-z0-9-]+$"
CURRENCY = r"^[A-Z]{3}$"


class ProductIn(BaseModel):
    model_config = _STRICT
    sku: str = Field(min_length=1, max_length=64, pattern=SKU)
    merchant: str | None = Field(default=None, max_length=64, pattern=MERCHANT_ID, description="Platform staff name it")
    name: str = Field(min_length=1, max_length=120)
    kind: str = Field(min_length=1, max_length=40, pattern=r"^[a-z_]+$", examples=["ticket", "song", "donation"])
    description: str | None = Field(default=None, max_length=1000)
    prices: dict[str, int] = Field(min_length=1, description='Currency -> integer minor units, e.g. {"USD": 9900}')
    stock: int | None = Field(
        default=None, ge=0, strict=True, description="Leave out for a product that is not limited"
    )
    max_per_order: int | None = Field(default=None, ge=1, le=100, strict=True)
    active: bool = True
    event: str | None = Field(
        default=None,
        max_length=64,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="A ticket: the id of one of the merchant's events (GET /admin/products lists them)",
    )
    admissions: int | None = Field(default=None, ge=1, le=20, strict=True, description="People one ticket admits")
    questionnaire: list[Question] | None = Field(
        default=None,
        max_length=MAX_QUESTIONS,
        description="What the customer answers at checkout (the song brief); such a product is ordered one at a time",
    )


def local_time(value: str) -> str:
    try:
        datetime.fromisoformat(value)  # 2027-02-30T20:00 has the shape but is no day
    except ValueError:
        raise ValueError(f"{value!r} is not a day and time (e.g. 2027-02-14T20:00)") from None
    return value


LocalTime = Annotated[
    str,
    Field(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$", description="Local time in the merchant's zone"),
    AfterValidator(local_time),
]


class EventIn(BaseModel):
    model_config = _STRICT
    id: str | None = Field(
        default=None, max_length=64, pattern=MERCHANT_ID, description="Left out: made from the name and day"
    )
    name: str = Field(min_length=1, max_length=120)
    start: LocalTime = Field(examples=["2027-02-14T20:00"])
    end: LocalTime = Field(description="After the start", examples=["2027-02-15T01:00"])
    venue: str | None = Field(default=None, max_length=120)
    address: str | None = Field(default=None, max_length=300)


class EventUpdate(BaseModel):
    model_config = _STRICT
    name: str | None = Field(default=None, min_length=1, max_length=120)
    start: LocalTime | None = None
    end: LocalTime | None = None
    venue: str | None = Field(default=None, max_length=120, description="Empty: none")
    address: str | None = Field(default=None, max_length=300, description="Empty: none")
    tell_holders: bool = Field(
        default=False,
        description="Once tickets are issued: make the change and email every holder the new details and their tickets",
    )
    cancelled: str | None = Field(
        default=None,
        min_length=1,
        max_length=300,
        description="Cancel the event, saying why (its holders are told): its ticket types go off sale, checkouts"
        " still open for it are closed, and every holder's tickets are refunded in full and voided",
    )


class ProductUpdate(BaseModel):
    model_config = _STRICT
    name: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=1000)
    prices: dict[str, int] | None = Field(default=None, min_length=1, description="The whole price table")
    max_per_order: int | None = Field(default=None, ge=1, le=100, strict=True)
    active: bool | None = Field(default=None, description="false takes the product off sale")
    questionnaire: list[Question] | None = Field(
        default=None,
        max_length=MAX_QUESTIONS,
        description="The whole questionnaire, in order; [] asks nothing. Orders already made keep their answers",
    )


class StockAdjustmentIn(BaseModel):
    model_config = _STRICT
    delta: int = Field(ge=-1_000_000, le=1_000_000, strict=True, description="Added to the stock (negative: taken)")
    reason: str = Field(min_length=1, max_length=300, description="Why, recorded with who and when")


class SubscriptionRequest(BaseModel):
    model_config = _STRICT
    plan: str = Field(min_length=1, max_length=64, pattern=MERCHANT_ID, description="A plan id (GET /platform/plans)")
    currency: str = Field(
        min_length=3, max_length=3, pattern=r"^[A-Za-z]{3}$", description="One of the plan's currencies, e.g. AUD"
    )


LANGUAGES = ("en", "fr")  # what the emails, pages and console are written in


def known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not a time zone name (e.g. Europe/Paris)") from None
    return value


class WatermarkIn(BaseModel):
    model_config = _STRICT
    text: str | None = Field(default=None, max_length=80, description="Empty: the shop's name")
    opacity: float | None = Field(default=None, ge=0.05, le=1)


class GalleryDefaultsIn(BaseModel):
    model_config = _STRICT
    expiry_days: int | None = Field(default=None, ge=1, le=365, strict=True, description="A new gallery stays open")
    downloads: bool | None = Field(default=None, description="Whether a new gallery's client gets the full size")


class MerchantSettingsUpdate(BaseModel):
    """What a merchant's own staff change (only the fields sent; the rest stays as it is)."""

    model_config = _STRICT
    name: str | None = Field(default=None, min_length=1, max_length=120)
    reply_to: EmailAddress | None = Field(default=None, description="Where customers' replies to emails go")
    staff_email: EmailAddress | None = Field(default=None, description="Where new-order emails to staff go")
    timezone: Annotated[str, AfterValidator(known_zone)] | None = Field(
        default=None, max_length=64, examples=["Australia/Sydney"]
    )
    languages: list[Literal["en", "fr"]] | None = Field(default=None, min_length=1, max_length=len(LANGUAGES))
    default_locale: Literal["en", "fr"] | None = Field(default=None, description="One of `languages`")
    new_order_email: bool | None = Field(default=None, description="Email staff each paid order and booking")
    refund_policy: dict[str, Annotated[int, Field(ge=0, le=100, strict=True)]] | None = Field(
        default=None,
        description="Stage -> percent of the payment refundable then; only the stages sent change",
        examples=[{"scheduled": 50}],
    )
    watermark: WatermarkIn | None = Field(default=None, description="Gallery defaults: the watermark's text, opacity")
    gallery_defaults: GalleryDefaultsIn | None = Field(
        default=None, description="What a new gallery takes when staff give no expiry or downloads"
    )
