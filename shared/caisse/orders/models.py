"""The orders table. One partition per order holds the order itself, its history (one item per
version, so a move can be recorded only once), the provider events that touched it, and its stock
holds. Reading an order with everything it knows is one Query.
"""

from __future__ import annotations

from pynamodb.attributes import (
    DiscriminatorAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from caisse.config import settings
from caisse.db import CaisseModel, LambdaMeta
from caisse.money import Money

ORDER_SK = "ORDER"


def order_pk(order_id: str) -> str:
    return f"ORDER#{order_id}"


class LineItem(MapAttribute):
    sku = UnicodeAttribute()
    name = UnicodeAttribute()
    quantity = NumberAttribute()
    unit_amount = NumberAttribute()


class Customer(MapAttribute):
    name = UnicodeAttribute()
    email = UnicodeAttribute()
    locale = UnicodeAttribute(default="en")
    phone = UnicodeAttribute(null=True)


class OrderRecord(CaisseModel):
    class Meta(LambdaMeta):
        table_name = settings().orders_table

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    record_type = DiscriminatorAttribute(attr_name="type")


class OrdersByStatus(GlobalSecondaryIndex):
    """Orders by status and creation time: what reconciliation and the expiry sweep walk."""

    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class Order(OrderRecord, discriminator="order"):
    order_id = UnicodeAttribute()
    order_number = UnicodeAttribute()
    merchant = UnicodeAttribute()
    merchant_contact = MapAttribute(null=True)  # copied at checkout, so emails need no catalog read
    status = UnicodeAttribute()
    version = NumberAttribute()
    currency = UnicodeAttribute()
    total_amount = NumberAttribute()
    items = ListAttribute(of=LineItem)
    customer = Customer()
    stages = ListAttribute(of=UnicodeAttribute, default=list)
    provider = UnicodeAttribute()
    provider_ref = UnicodeAttribute(null=True)  # e.g. the Checkout Session id
    payment_ref = UnicodeAttribute(null=True)  # e.g. the PaymentIntent id, once known
    next_action = MapAttribute(null=True)
    request_fingerprint = UnicodeAttribute()
    status_reason = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()  # ISO 8601, sortable; the by_merchant index key
    updated_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    paid_at = UTCDateTimeAttribute(null=True)
    deliverable_key = UnicodeAttribute(null=True)  # the delivered file, in the deliverables bucket
    review_above = NumberAttribute(null=True)  # paid amounts above this wait for a person
    refund_policy = MapAttribute(null=True)  # status -> percent of the payment refundable then
    refunded_amount = NumberAttribute(default=0)
    last_refund = MapAttribute(null=True)  # the latest refund, for the refund email
    connect_account = UnicodeAttribute(null=True)  # a Stripe connected account (direct charges)
    booking = MapAttribute(null=True)  # service, start/end (UTC and local), deposit, fee, full price
    saved_payment = MapAttribute(null=True)  # customer and payment method kept for an off-session charge
    balance = MapAttribute(null=True)  # the charge after the job: status due | paid, amount, link
    by_status = OrdersByStatus()

    @property
    def total(self) -> Money:
        return Money(int(self.total_amount), self.currency)


class HistoryEntry(OrderRecord, discriminator="history"):
    version = NumberAttribute()
    from_status = UnicodeAttribute(null=True)
    to_status = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    actor = UnicodeAttribute()  # provider | staff | system | customer
    actor_id = UnicodeAttribute()
    note = UnicodeAttribute(null=True)

    @staticmethod
    def key(version: int) -> str:
        return f"HISTORY#{version:06d}"


class PaymentEvent(OrderRecord, discriminator="payment_event"):
    provider = UnicodeAttribute()
    event_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    outcome = UnicodeAttribute()
    amount = NumberAttribute(null=True)
    currency = UnicodeAttribute(null=True)
    received_at = UTCDateTimeAttribute()

    @staticmethod
    def key(provider: str, event_id: str) -> str:
        return f"PAYMENT#{provider}#{event_id}"


class Hold(OrderRecord, discriminator="hold"):
    """Stock taken from the catalog for this order while it waits for payment."""

    sku = UnicodeAttribute()
    quantity = NumberAttribute()
    state = UnicodeAttribute()  # held | released

    @staticmethod
    def key(sku: str) -> str:
        return f"HOLD#{sku}"


class Refund(OrderRecord, discriminator="refund"):
    """Money given back: reserved on the order first (so two refunds can never exceed what was
    paid), then asked of the provider, or owed and paid out by a person where there is no API."""

    refund_id = UnicodeAttribute()
    amount = NumberAttribute()
    currency = UnicodeAttribute()
    status = UnicodeAttribute()  # requested | succeeded | pending | owed | paid_out | failed
    reason = UnicodeAttribute(null=True)
    requested_by = UnicodeAttribute()
    requested_at = UTCDateTimeAttribute()
    provider = UnicodeAttribute()
    provider_refund_id = UnicodeAttribute(null=True)
    provider_status = UnicodeAttribute(null=True)  # what the provider's refund events last said
    payout = MapAttribute(null=True)
    confirmed_by = UnicodeAttribute(null=True)
    confirmed_at = UTCDateTimeAttribute(null=True)

    @staticmethod
    def key(refund_id: str) -> str:
        return f"REFUND#{refund_id}"


class Slot(OrderRecord, discriminator="slot"):
    """One step of a merchant's booking grid, taken by one order. The key is the slot itself, so
    a conditional put is what makes two customers unable to hold the same time."""

    merchant = UnicodeAttribute()
    order_id = UnicodeAttribute()
    start = UnicodeAttribute()  # UTC ISO 8601

    @staticmethod
    def partition(merchant: str, local_date: str) -> str:
        return f"SLOTS#{merchant}#{local_date}"
