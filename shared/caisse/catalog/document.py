"""The catalog document's schema (data/catalog.json), checked before the seed writes anything, so a
typo is an error naming the merchant or product and the field, not a 502 at checkout. Every level
forbids keys it does not know: a misspelt rule is refused instead of silently ignored."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from caisse.catalog.schemas import known_zone
from caisse.catalog.service import BOOKABLE_KIND
from caisse.money import Money

_STRICT = ConfigDict(extra="forbid", strict=True, frozen=True)
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]+$", max_length=64)]
Sku = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]+$", max_length=64)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Percent = Annotated[int, Field(ge=0, le=100)]
Count = Annotated[int, Field(ge=1)]
Provider = Literal["stripe", "paypal", "campay", "paydunya"]
Clock = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
Day = Annotated[date, Field(strict=False)]  # written as "2027-01-01" in the file
Opening = Annotated[list[Clock], Field(min_length=2, max_length=2)]  # ["08:00", "12:00"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class _Part(BaseModel):
    model_config = _STRICT


class Phone(_Part):
    prefix: Annotated[str, StringConstraints(pattern=r"^\+\d{1,4}$")]
    digits: Count


class AttemptLimit(_Part):
    count: Count
    window_minutes: Count


class Capacity(_Part):
    per_day: Count
    days_ahead: Count | None = None
    blackout_dates: list[Day] = []


class Limits(_Part):
    items_per_order: Count | None = None
    open_checkouts_per_email: Count | None = None
    open_checkouts_per_ip: Count | None = None


class Rules(_Part):
    routes: dict[Currency, list[Provider]] = {}
    refund_policy: dict[str, Percent] = {}
    hold_minutes: Count | None = None
    low_stock_threshold: Annotated[int, Field(ge=0)] | None = None
    phone: Phone | None = None
    attempt_limit: AttemptLimit | None = None
    review_above: dict[Currency, Annotated[int, Field(ge=0)]] = {}
    capacity: Capacity | None = None
    limits: Limits | None = None
    retention_months: Count | None = None

    @model_validator(mode="after")
    def _amounts_in_known_currencies(self) -> Rules:
        for currency, amount in self.review_above.items():
            Money(amount, currency)
        return self


class Deposit(_Part):
    percent: Percent | None = None
    fixed: Annotated[int, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Deposit:
        if (self.percent is None) == (self.fixed is None):
            raise ValueError("a deposit is a percent or a fixed amount, one of them")
        return self


class Service(_Part):
    id: Slug
    name: str
    duration_minutes: Count
    currency: Currency
    full_price: Annotated[int, Field(ge=0)]
    deposit: Deposit
    active: bool = True

    @model_validator(mode="after")
    def _price(self) -> Service:
        Money(self.full_price, self.currency)
        return self


class Booking(_Part):
    slot_minutes: Count | None = None
    weekly: dict[
        Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        list[Annotated[list[Clock], Field(min_length=2, max_length=2)]],
    ] = {}
    blocked_dates: list[Day] = []
    refund_policy: dict[str, Percent] = {}
    services: list[Service] = []


class Connect(_Part):
    type: Literal["express", "standard", "custom"]
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    platform_fee_bps: Annotated[int, Field(ge=0, le=10_000)] = 0
    demo_onboarded: bool = False


class Event(_Part):
    id: Slug
    name: str
    start: str
    end: str
    venue: str | None = None
    address: str | None = None

    @field_validator("start", "end")
    @classmethod
    def _local_time(cls, value: str) -> str:
        datetime.fromisoformat(value)  # a local time in the merchant's zone, e.g. 2027-07-09T16:00
        return value


class Watermark(_Part):
    text: str | None = None
    logo: str | None = None  # a key under branding/ in the uploads bucket
    opacity: Annotated[float, Field(gt=0, le=1)] | None = None


class Workflow(_Part):
    deliverable_stage: str | None = None
    revision_from: str | None = None
    revision_stage: str | None = None


class Merchant(_Part):
    id: Slug
    name: str
    order_prefix: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2,8}$")]
    timezone: str = "UTC"
    default_locale: Literal["en", "fr"] = "en"
    reply_to: str | None = None
    staff_email: str | None = None
    new_order_email: bool | None = None
    stages: list[str] = []
    rules: Rules | None = None
    booking: Booking | None = None
    connect: Connect | None = None
    events: list[Event] = []
    questionnaires: dict[str, list[dict[str, Any]]] = {}  # each field checked by catalog.questionnaire
    watermark: Watermark | None = None
    workflow: Workflow | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_zone(value)


class Product(_Part):
    sku: Sku
    merchant: Slug
    name: str
    kind: Annotated[str, StringConstraints(pattern=r"^[a-z_]+$")]
    description: str | None = None
    prices: dict[Currency, Annotated[int, Field(ge=0)]] = Field(min_length=1)
    stock: Annotated[int, Field(ge=0)] | None = None
    max_per_order: Annotated[int, Field(ge=1, le=100)] | None = None
    active: bool | None = None
    stages: list[str] = []
    event: Slug | None = None
    admissions: Count | None = None
    questionnaire: str | None = None
    revisions: Annotated[int, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _prices(self) -> Product:
        for currency, amount in self.prices.items():
            Money(amount, currency)
        return self

    @model_validator(mode="after")
    def _not_bookable(self) -> Product:
        if self.kind == BOOKABLE_KIND:
            raise ValueError("a bookable service goes under its merchant's booking.services, not under products")
        return self


PlanLimit = Literal["galleries_per_month", "bookings_per_month"]
"""What a plan can limit per month (0 or absent: not limited)."""


class Plan(_Part):
    """A subscription tier the platform sells its merchants: a monthly price per currency (each a
    Stripe Price, recurring monthly) and the fee taken on every payment made to them."""

    id: Slug
    name: str
    monthly: dict[Currency, Annotated[int, Field(ge=0)]] = Field(min_length=1)  # minor units
    fee_bps: Annotated[int, Field(ge=0, le=10_000)]  # the application fee: 250 = 2.5 %
    limits: dict[PlanLimit, Count] = {}

    @model_validator(mode="after")
    def _prices(self) -> Plan:
        for currency, amount in self.monthly.items():
            Money(amount, currency)  # an unknown currency is refused here
        return self


class SignupKind(_Part):
    """A kind of business that may sign up on the platform, and what a new one starts with."""

    label: str
    stages: list[str] = Field(min_length=1)
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    currency: Currency
    slot_minutes: Count = 30
    refund_policy: dict[str, Percent] = {}


class Platform(_Part):
    """What the platform decides for the merchants that sign up themselves: which kinds of
    business may, the plans they choose from, and how far a merchant may move its refund policy."""

    signup_kinds: dict[Slug, SignupKind] = {}
    plans: list[Plan] = []
    refund_percent_max: Percent = 100  # no merchant refunds more than this share at any stage
    refund_percent_min_before_work: Percent = 0  # nor less than this before any work is done


class Catalog(_Part):
    about: str | None = Field(default=None, alias="_about")
    platform: Platform | None = None
    merchants: list[Merchant] = Field(min_length=1)
    products: list[Product] = []

    @model_validator(mode="after")
    def _references(self) -> Catalog:
        merchants = {merchant.id: merchant for merchant in self.merchants}
        if len(merchants) != len(self.merchants):
            raise ValueError("two merchants have the same id")
        if len({product.sku for product in self.products}) != len(self.products):
            raise ValueError("two products have the same sku")
        for product in self.products:
            merchant = merchants.get(product.merchant)
            if merchant is None:
                raise ValueError(f"{product.sku}: merchant {product.merchant!r} is not in merchants")
            if product.event and product.event not in {event.id for event in merchant.events}:
                raise ValueError(f"{product.sku}: no event {product.event!r} under merchant {merchant.id}'s events")
            if product.questionnaire and product.questionnaire not in merchant.questionnaires:
                raise ValueError(f"{product.sku}: no questionnaire {product.questionnaire!r} under {merchant.id}")
        return self


class CatalogError(ValueError):
    """The catalog document is wrong; the message names each place and what is wrong there."""


def check(document: dict[str, Any]) -> None:
    """Raise CatalogError listing every mistake, each as `merchants[festival].rules.phone.digits: ...`."""
    try:
        Catalog.model_validate(document)
    except ValidationError as error:
        raise CatalogError("\n".join(_where(document, e["loc"]) + ": " + e["msg"] for e in error.errors())) from None


def _where(document: dict[str, Any], loc: tuple[Any, ...]) -> str:
    """A pydantic location with list indexes replaced by the merchant's id or the product's sku."""
    parts: list[str] = []
    node: Any = document
    for step in loc:
        if isinstance(step, int) and isinstance(node, list) and 0 <= step < len(node):
            item = node[step]
            name = item.get("id") or item.get("sku") if isinstance(item, dict) else None
            parts[-1] += f"[{name or step}]"
            node = item
        else:
            parts.append(str(step))
            node = node.get(step) if isinstance(node, dict) else None
    return ".".join(parts) or "catalog"
