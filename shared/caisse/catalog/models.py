"""The catalog table: products, the merchants that sell them, and per-merchant order counters.

Products carry a copy of what checkout needs from their merchant (order prefix, fulfilment stages)
so that pricing a cart is one BatchGetItem.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    DiscriminatorAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)

from caisse.config import settings
from caisse.db import CaisseModel, LambdaMeta


class CatalogRecord(CaisseModel):
    class Meta(LambdaMeta):
        table_name = settings().catalog_table

    pk = UnicodeAttribute(hash_key=True)
    record_type = DiscriminatorAttribute(attr_name="type")


class Product(CatalogRecord, discriminator="product"):
    sku = UnicodeAttribute()
    merchant = UnicodeAttribute()
    name = UnicodeAttribute()
    kind = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    prices = MapAttribute()  # currency -> integer minor units
    stock = NumberAttribute(null=True)  # None: not limited
    max_per_order = NumberAttribute(default=20)
    active = BooleanAttribute(default=True)
    order_prefix = UnicodeAttribute()
    stages = ListAttribute(of=UnicodeAttribute, default=list)
    merchant_contact = MapAttribute(null=True)  # name, reply_to, staff_email, locale (for emails)
    merchant_rules = MapAttribute(null=True)  # payment routes, phone format, limits, refund policy

    @staticmethod
    def key(sku: str) -> str:
        return f"PRODUCT#{sku}"

    def price_table(self) -> dict[str, int]:
        """Prices as plain integers per currency (DynamoDB hands numbers back as Decimal)."""
        return {currency: int(amount) for currency, amount in self.prices.as_dict().items()}


class Merchant(CatalogRecord, discriminator="merchant"):
    merchant_id = UnicodeAttribute()
    name = UnicodeAttribute()
    order_prefix = UnicodeAttribute()
    stages = ListAttribute(of=UnicodeAttribute, default=list)
    reply_to = UnicodeAttribute(null=True)
    staff_email = UnicodeAttribute(null=True)
    default_locale = UnicodeAttribute(default="en")
    timezone = UnicodeAttribute(default="UTC")
    watermark = MapAttribute(null=True)  # {"text", "logo" (key under branding/), "opacity"}: caisse.media

    @staticmethod
    def key(merchant_id: str) -> str:
        return f"MERCHANT#{merchant_id}"


class OrderCounter(CatalogRecord, discriminator="counter"):
    value = NumberAttribute(default=0)

    @staticmethod
    def key(prefix: str, year: int) -> str:
        return f"COUNTER#{prefix}#{year}"


class CheckoutAttempts(CatalogRecord, discriminator="attempts"):
    """Checkouts one client started with one merchant in one time window (for attempt limits)."""

    attempts = NumberAttribute(default=0)
    expires_at = TTLAttribute()

    @staticmethod
    def key(merchant: str, client: str, window: int) -> str:
        return f"ATTEMPTS#{merchant}#{client}#{window}"
