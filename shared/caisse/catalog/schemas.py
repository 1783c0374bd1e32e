"""Request shapes of the staff catalog routes (pydantic, validated by the Event Handler)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

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


class ProductUpdate(BaseModel):
    model_config = _STRICT
    name: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=1000)
    prices: dict[str, int] | None = Field(default=None, min_length=1, description="The whole price table")
    max_per_order: int | None = Field(default=None, ge=1, le=100, strict=True)
    active: bool | None = Field(default=None, description="false takes the product off sale")


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


class MerchantUpdate(BaseModel):
    model_config = _STRICT
    new_order_email: bool = Field(description="Email the merchant's staff each paid order and booking")
