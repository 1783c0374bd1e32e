"""The public API's request shapes (pydantic), validated by the Event Handler and published in
the OpenAPI document. `defer_build` keeps schema building out of cold start."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from caisse.date_input import DayOrNone, Moment
from caisse.email_address import EmailAddress
from caisse.orders.checkout import BookingRequest, CheckoutRequest

_STRICT = ConfigDict(extra="forbid", defer_build=True, str_strip_whitespace=True)


class CartItemIn(BaseModel):
    model_config = _STRICT
    sku: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    quantity: int = Field(ge=1, le=100, strict=True, description="How many; a whole number from 1")


class CustomerIn(BaseModel):
    model_config = _STRICT
    name: str = Field(min_length=1, max_length=120)
    email: EmailAddress
    locale: Literal["en", "fr"] | None = Field(default=None, description="Leave out for the shop's language")
    phone: str | None = Field(
        default=None,
        pattern=r"^\+?[0-9(][0-9 ().-]{5,19}$",
        description="Needed for mobile money: 2376XXXXXXXX for CamPay, +226XXXXXXXX for Ouaga Live. For a booking, "
        "the tradie's contact: checked for the merchant's country (422 invalid_phone, field customer.phone), "
        "stored encrypted",
    )


class BookingIn(BaseModel):
    model_config = _STRICT
    merchant: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")
    service: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    start: Moment = Field(description="With its UTC offset, e.g. 2026-12-03T09:00:00+11:00")
    address: str | None = Field(default=None, min_length=1, max_length=300, description="Where the job is")
    notes: str | None = Field(
        default=None, min_length=1, max_length=2000, description="What the customer wants the tradie to know"
    )


class SourceIn(BaseModel):
    """Where the customer came from (UTM parameters of the shop's landing page): plain metadata."""

    model_config = _STRICT
    utm_source: str | None = Field(default=None, max_length=200)
    utm_medium: str | None = Field(default=None, max_length=200)
    utm_campaign: str | None = Field(default=None, max_length=200)
    utm_term: str | None = Field(default=None, max_length=200)
    utm_content: str | None = Field(default=None, max_length=200)
    referrer: str | None = Field(default=None, max_length=500)


class CheckoutIn(BaseModel):
    model_config = _STRICT
    items: list[CartItemIn] | None = Field(default=None, min_length=1, max_length=50)
    booking: BookingIn | None = Field(default=None, description="Book a merchant's time instead of buying items")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. USD, EUR, XAF, XOF")
    customer: CustomerIn
    provider: Literal["stripe", "paypal", "campay", "paydunya"] | None = Field(
        default=None, description="Leave out to let the shop choose for the currency"
    )
    answers: dict[str, Any] | None = Field(
        default=None,
        description="Answers to the product's questionnaire (GET /catalog lists its questions): the song brief. "
        "Checked per question (422 invalid_answers, one detail per field) and stored encrypted.",
    )
    source: SourceIn | None = Field(default=None, description="UTM fields, kept as plain metadata")
    day: DayOrNone = Field(
        default=None,
        description="For shops with a daily capacity: the day the order takes (default today in the shop's "
        "time zone); a full or closed day answers 409 day_unavailable with next_free_day",
    )

    @model_validator(mode="after")
    def items_or_booking(self) -> CheckoutIn:
        if (self.items is None) == (self.booking is None):
            raise ValueError("give either items or a booking")
        return self

    def to_request(self, client_ip: str | None = None) -> CheckoutRequest:
        return CheckoutRequest(
            items=tuple((item.sku, item.quantity) for item in self.items or ()),
            currency=self.currency,
            customer_name=self.customer.name,
            customer_email=self.customer.email,
            locale=self.customer.locale,
            provider=self.provider,
            customer_phone=self.customer.phone,
            client_ip=client_ip,
            answers=self.answers,
            source=self.source.model_dump(exclude_none=True) if self.source else None,
            day=self.day,
            booking=BookingRequest(
                self.booking.merchant,
                self.booking.service,
                self.booking.start,
                self.booking.address,
                self.booking.notes,
            )
            if self.booking
            else None,
        )


class CustomerRequestIn(BaseModel):
    """A request about one customer of a merchant (export, erasure): who, and for platform staff,
    which merchant."""

    model_config = _STRICT
    email: str = Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    merchant: str | None = Field(default=None, max_length=64, description="Platform staff name the merchant")


class StatusChangeIn(BaseModel):
    model_config = _STRICT
    status: str = Field(min_length=1, max_length=40, pattern=r"^[a-z_]+$")
    message: str | None = Field(
        default=None,
        max_length=500,
        description="For the customer: shown on their order page and in the email of this stage",
    )
    note: str | None = Field(
        default=None, max_length=2000, description="Internal, for staff only: never shown to the customer nor emailed"
    )


class NoteIn(BaseModel):
    model_config = _STRICT
    note: str = Field(min_length=1, max_length=2000, description="Internal: staff only, never shown nor emailed")


class ResendIn(BaseModel):
    model_config = _STRICT
    kind: Literal["order_confirmed", "stage_changed", "delivery", "refund_processed", "payment_failed", "balance_due"]


MoneyState = Literal["unpaid", "paid", "partially_refunded", "refunded", "disputed", "charged_back"]
Provider = Literal["stripe", "paypal", "campay", "paydunya"]


class MoneyOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    amount: int = Field(description="Integer minor units (cents; XAF and XOF have none)")
    currency: str


class CheckoutOut(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="allow")  # bookings add a "booking" part
    order_id: str
    order_number: str = Field(examples=["SC-2026-0042"])
    status: str
    money_state: str = Field(description="unpaid until the payment settles")
    total: MoneyOut
    provider: str
    next_action: dict[str, Any] | None = Field(description='e.g. {"type": "redirect", "url": ...}')
    expires_at: str
    order_token: str = Field(description="Keep it: GET /orders/{order_id} with Authorization: Bearer <order_token>")
