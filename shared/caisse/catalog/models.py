"""The catalog table: products, the merchants that sell them, and per-merchant order counters.

Products carry a copy of what checkout needs from their merchant (order prefix, fulfilment stages)
so that pricing a cart is one BatchGetItem.

Staff lists read the table's one index, by_parent (never a Scan): a merchant's products,
services and events (parent MERCHANT#<id>), every merchant (parent MERCHANTS), a product's stock movements
(parent STOCK#<sku>, oldest first by their key).
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    DiscriminatorAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from caisse.config import settings
from caisse.db import CaisseModel, LambdaMeta, document, string_list

MERCHANTS = "MERCHANTS"


class QuestionnaireAttribute(UnicodeAttribute):
    """A product's questions (JSON, caisse.catalog.questionnaire). Staff taking every question
    away store NONE_ASKED rather than nothing, so that seeding the catalog file again, which only
    fills a questionnaire where there is none (caisse.catalog.service._upsert), does not bring the
    file's back; it reads as None, like a product that never asked anything."""

    NONE_ASKED = "[]"

    def deserialize(self, value: str) -> str | None:
        return None if value == self.NONE_ASKED else value


class CatalogByParent(GlobalSecondaryIndex[Any]):
    """Records by what they belong to, in key order: the catalog's lists without a Scan."""

    class Meta:
        index_name = "by_parent"
        projection = AllProjection()

    parent = UnicodeAttribute(hash_key=True)
    pk = UnicodeAttribute(range_key=True)


class CatalogRecord(CaisseModel):
    class Meta(LambdaMeta):
        table_name = settings().catalog_table

    pk = UnicodeAttribute(hash_key=True)
    record_type = DiscriminatorAttribute(attr_name="type")
    parent = UnicodeAttribute(null=True)  # what the record is listed under (by_parent)
    by_parent = CatalogByParent()


def merchant_parent(merchant_id: str) -> str:
    return f"MERCHANT#{merchant_id}"


class Product(CatalogRecord, discriminator="product"):
    sku = UnicodeAttribute()
    merchant = UnicodeAttribute()
    name = UnicodeAttribute()
    kind = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    prices = document()  # currency -> integer minor units
    stock = NumberAttribute(null=True)  # None: not limited
    max_per_order = NumberAttribute(default=20)
    active = BooleanAttribute(default=True)
    order_prefix = UnicodeAttribute()
    stages = string_list(default=list)
    merchant_contact = document(null=True)  # name, reply_to, staff_email, locale (for emails)
    merchant_rules = document(null=True)  # payment routes, phone format, limits, refund policy
    # Sold by a merchant that signed up on the platform (copied at creation; it never stops being one):
    # its carts are paid on its own Stripe account with its plan's fee, the only carts that read the merchant.
    platform_merchant = BooleanAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    updated_by = UnicodeAttribute(null=True)
    questionnaire = QuestionnaireAttribute(null=True)  # JSON: the questions a checkout answers
    workflow = document(null=True)  # revision_stage, revision_from, revisions, deliverable_stage
    # Tickets: the event one item admits to (copied from the merchant's events: id, name, start and
    # end in the merchant's time zone, timezone, venue, address) and how many people it admits.
    event = document(null=True)
    admissions = NumberAttribute(null=True)

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
    stages = string_list(default=list)
    reply_to = UnicodeAttribute(null=True)
    staff_email = UnicodeAttribute(null=True)
    default_locale = UnicodeAttribute(default="en")
    timezone = UnicodeAttribute(default="UTC")
    watermark = document(null=True)  # {"text", "logo" (key under branding/), "opacity"}: caisse.media
    gallery_defaults = document(null=True)  # {"expiry_days", "downloads"}: a new gallery's, unless staff say
    settings_version = NumberAttribute(null=True)  # one more each recorded change (caisse.catalog.merchant_settings)
    # Stripe Connect: the merchant's own account, and whether Stripe lets it take charges yet.
    stripe_account = UnicodeAttribute(null=True)
    connect_type = UnicodeAttribute(default="express")
    charges_enabled = BooleanAttribute(default=False)
    payouts_enabled = BooleanAttribute(default=False)
    platform_fee_bps = NumberAttribute(default=250)  # basis points of each charge: 250 = 2.5 %
    country = UnicodeAttribute(default="AU")
    contact_email = UnicodeAttribute(null=True)
    # Bookings: working hours per weekday ("mon": [["08:00", "17:00"]]), dates off, the grid.
    weekly_hours = document(null=True)
    blocked_dates = string_list(default=list)
    slot_minutes = NumberAttribute(default=30)
    booking_rules = document(null=True)  # refund_policy etc., as products carry merchant_rules
    checkout_rules = document(null=True)  # data/catalog.json "rules": what new products copy
    new_order_email = BooleanAttribute(default=True)  # staff are emailed each paid order and booking
    # Merchants that signed up themselves on the platform (not from the catalog file).
    business_kind = UnicodeAttribute(
        null=True
    )  # the platform's signup kind: photography, trades; None: a shop from the file
    owner = UnicodeAttribute(null=True)  # the Cognito subject who signed it up
    languages = string_list(null=True)
    signed_up_at = UnicodeAttribute(null=True)
    suspended = document(null=True)  # {"at", "by", "reason"}: platform staff stopped its new orders
    # Its platform plan (Stripe Billing on the platform's own account), kept in step by billing events.
    plan = UnicodeAttribute(null=True)  # a plan id from the platform's configuration
    plan_status = UnicodeAttribute(null=True)  # the Stripe subscription's status: active, past_due, canceled...
    stripe_customer = UnicodeAttribute(null=True)
    stripe_subscription = UnicodeAttribute(null=True)
    plan_event_at = NumberAttribute(null=True)  # `created` of the last billing event applied (older ones are stale)
    billing = document(null=True)  # {"period_end", "last_invoice"}: what billing events said (caisse.payments.plans)
    plan_moves_declined = NumberAttribute(null=True)  # moves to another plan the card declined (a new key each)

    GALLERY_DEFAULTS = {"expiry_days": 30, "downloads": False}  # a merchant that set none

    def new_gallery(self) -> dict[str, Any]:
        """How long a new gallery stays open and whether its client downloads the full size,
        unless staff say otherwise when they create it (the merchant's gallery defaults)."""
        chosen = self.gallery_defaults.as_dict() if self.gallery_defaults else {}
        return {
            "expiry_days": int(chosen.get("expiry_days") or self.GALLERY_DEFAULTS["expiry_days"]),
            "downloads": bool(chosen.get("downloads", self.GALLERY_DEFAULTS["downloads"])),
        }

    def contact(self) -> dict[str, str]:
        details = {
            "name": self.name,
            "reply_to": self.reply_to,
            "staff_email": self.staff_email or self.reply_to,
            "locale": self.default_locale,
            "timezone": self.timezone,  # dates on the order page are the shop's
        }
        return {key: value for key, value in details.items() if value}

    @staticmethod
    def key(merchant_id: str) -> str:
        return f"MERCHANT#{merchant_id}"


class MerchantChange(CatalogRecord, discriminator="merchant_change"):
    """One change staff made to a merchant's settings (details, languages, notifications, refund
    policy, gallery defaults, hours, a service), written in the same transaction as the change, so
    each change is recorded once; listed newest first under CHANGES#<merchant> (by_parent)."""

    merchant = UnicodeAttribute()
    by = UnicodeAttribute()  # staff:<sub>: who, without more personal data than needed
    at = UnicodeAttribute()
    fields = string_list()
    changes = UnicodeAttribute()  # JSON: {field: {"old": ..., "new": ...}}

    @staticmethod
    def key(merchant: str, at: str, change_id: str) -> str:
        return f"CHANGE#{merchant}#{at}#{change_id}"

    @staticmethod
    def listed_under(merchant: str) -> str:
        return f"CHANGES#{merchant}"


class PlatformSettings(CatalogRecord, discriminator="platform"):
    """The catalog file's `platform` section (caisse.catalog.document.Platform) as the seed wrote it."""

    document = UnicodeAttribute()  # JSON

    KEY = "PLATFORM"


class OrderCounter(CatalogRecord, discriminator="counter"):
    value = NumberAttribute(default=0)

    @staticmethod
    def key(prefix: str, year: int) -> str:
        return f"COUNTER#{prefix}#{year}"


class Service(CatalogRecord, discriminator="service"):
    """Something a customer books: a duration, a full price, and the deposit taken at booking."""

    merchant = UnicodeAttribute()
    service_id = UnicodeAttribute()
    name = UnicodeAttribute()
    duration_minutes = NumberAttribute()
    currency = UnicodeAttribute()
    full_price = NumberAttribute()  # minor units
    deposit_percent = NumberAttribute(null=True)
    deposit_fixed = NumberAttribute(null=True)  # minor units
    active = BooleanAttribute(default=True)

    @staticmethod
    def key(merchant: str, service_id: str) -> str:
        return f"SERVICE#{merchant}#{service_id}"


class Event(CatalogRecord, discriminator="event"):
    """Something a merchant sells tickets for: from the catalog document (seeded) or added by its
    staff. Start and end are local times in the merchant's time zone ("2027-07-09T16:00"); a
    ticket product carries a copy (`Product.event`, with the zone), as its orders do. `revision`
    counts the changes made after its tickets were issued (each one tells every holder);
    `told` is the last revision every holder has been told of."""

    merchant = UnicodeAttribute()
    event_id = UnicodeAttribute()
    name = UnicodeAttribute()
    start = UnicodeAttribute()
    end = UnicodeAttribute()
    venue = UnicodeAttribute(null=True)
    address = UnicodeAttribute(null=True)
    added_by = UnicodeAttribute(null=True)  # staff who added it (None: from the catalog document)
    revision = NumberAttribute(default=0)
    told = NumberAttribute(default=0)
    cancelled = UnicodeAttribute(null=True)  # why it was cancelled, as its holders were told (None: it goes ahead)

    @staticmethod
    def key(merchant: str, event_id: str) -> str:
        return f"EVENT#{merchant}#{event_id}"

    @classmethod
    def of(
        cls, merchant: str, fields: dict[str, Any], added_by: str | None = None, revision: int = 0, told: int = 0
    ) -> Event:
        """The record of an event as the catalog document (or `fields()`) says it."""
        return cls(
            cls.key(merchant, fields["id"]),
            parent=merchant_parent(merchant),
            merchant=merchant,
            event_id=fields["id"],
            name=fields["name"],
            start=fields["start"],
            end=fields["end"],
            venue=fields.get("venue") or None,
            address=fields.get("address") or None,
            added_by=added_by,
            revision=revision,
            told=told,
            cancelled=fields.get("cancelled") or None,
        )

    def fields(self) -> dict[str, Any]:
        """What the catalog document says of it: id, name, start, end, venue, address; and why it
        was cancelled, if it was."""
        found = {"id": self.event_id, "name": self.name, "start": self.start, "end": self.end}
        return {**found, **{key: value for key in ("venue", "address", "cancelled") if (value := getattr(self, key))}}

    @property
    def telling_holders(self) -> bool:
        """Whether some ticket holders have still to be told of its last change."""
        return int(self.told or 0) < int(self.revision or 0)


class StockMovement(CatalogRecord, discriminator="stock_movement"):
    """One change of a product's stock made by staff, with why (written in the same transaction
    as the change, so every adjustment is recorded once)."""

    sku = UnicodeAttribute()
    delta = NumberAttribute()
    reason = UnicodeAttribute()
    by = UnicodeAttribute()
    at = UnicodeAttribute()

    @staticmethod
    def key(sku: str, at: str, movement_id: str) -> str:
        return f"STOCK#{sku}#{at}#{movement_id}"

    @staticmethod
    def listed_under(sku: str) -> str:
        return f"STOCK#{sku}"


class CheckoutAttempts(CatalogRecord, discriminator="attempts"):
    """Checkouts one client started with one merchant in one time window (for attempt limits)."""

    attempts = NumberAttribute(default=0)
    expires_at = TTLAttribute()

    @staticmethod
    def key(merchant: str, client: str, window: int) -> str:
        return f"ATTEMPTS#{merchant}#{client}#{window}"


class DailyCapacity(CatalogRecord, discriminator="capacity"):
    """How many orders a merchant with a daily capacity (the song studio: 3) took for one day: a
    conditional counter taken in the pending order's own transaction and given back by the
    orders' state machine when the checkout expires, fails or is cancelled."""

    taken = NumberAttribute(default=0)

    @staticmethod
    def key(merchant: str, day: str) -> str:
        return f"CAPACITY#{merchant}#{day}"


class OpenCheckouts(CatalogRecord, discriminator="open_checkouts"):
    """How many checkouts one customer (an email, a client address) has open with a merchant: a
    checkout counts from the moment it holds stock until it is paid or closed (the orders' state
    machine gives the count back in the same transaction as that move)."""

    count = NumberAttribute(default=0)  # type: ignore[assignment]  # the item's count; Model.count (a table count) is never wanted here

    @staticmethod
    def key(merchant: str, kind: str, who: str) -> str:
        return f"OPEN#{merchant}#{kind}#{who}"
