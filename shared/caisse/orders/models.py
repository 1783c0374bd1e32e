"""The orders table. One partition per order holds the order itself, its history (one item per
version, so a move can be recorded only once), the provider events that touched it, its stock
holds and its refunds. Reading an order with everything it knows is one Query.

Outside the order partitions: provider references (which order a provider's checkout, payment or
transaction belongs to, written when we learn them, so an event is matched on what we stored and
not on what it claims) and incidents (money that arrived for no order we know).

Staff lists and searches read the orders_by_* indexes of template.yaml (never a Scan): the keys
an order carries for them are set in one place, caisse.orders.index.
"""

from __future__ import annotations

from typing import Any

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
from caisse.db import CaisseModel, LambdaMeta, document, string_list
from caisse.money import Money
from caisse.observability import ORDER_ATTRIBUTE
from caisse.orders import states

ORDER_SK = "ORDER"
INCIDENT_SK = "INCIDENT"


def order_pk(order_id: str) -> str:
    return f"ORDER#{order_id}"


class LineItem(MapAttribute[str, Any]):
    sku = UnicodeAttribute()
    name = UnicodeAttribute()
    quantity = NumberAttribute()
    unit_amount = NumberAttribute()
    event = document(null=True)  # tickets: the event, copied from the catalog at checkout
    admissions = NumberAttribute(null=True)  # tickets: people one item admits (one ticket each)


class Customer(MapAttribute[str, Any]):
    name = UnicodeAttribute()
    email = UnicodeAttribute()
    locale = UnicodeAttribute(default="en")
    phone = UnicodeAttribute(null=True)  # orders written before field-level encryption only
    phone_sealed = UnicodeAttribute(null=True)  # orders written before PersonalData only
    phone_ending = UnicodeAttribute(null=True)  # its last two digits, for "the number ending 77"


class OrderRecord(CaisseModel):
    class Meta(LambdaMeta):
        table_name = settings().orders_table

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    record_type = DiscriminatorAttribute(attr_name="type")


def order_from_image(image: dict[str, Any] | None) -> Order | None:
    """An order from a stream image (DynamoDB JSON); None for images of other records."""
    if not image or image.get("type", {}).get("S") != "order":
        return None
    return Order.from_raw_data(image)


class OrdersByMoneyState(GlobalSecondaryIndex[Any]):
    """Orders by money state and creation time: what reconciliation walks for refunds and disputes."""

    class Meta:
        index_name = "by_money_state"
        projection = AllProjection()

    money_state = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class OrdersByStatus(GlobalSecondaryIndex[Any]):
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
    merchant_contact = document(null=True)  # copied at checkout, so emails need no catalog read
    status = UnicodeAttribute()  # the lifecycle: payment, then the merchant's stages (states.Workflow)
    money_state = UnicodeAttribute(default="unpaid")  # unpaid | paid | partially_refunded | ... (states)
    version = NumberAttribute()
    currency = UnicodeAttribute()
    total_amount = NumberAttribute()
    items = ListAttribute(of=LineItem)
    customer = Customer()  # type: ignore[no-untyped-call]  # pynamodb's constructor
    stages = string_list(default=list)
    provider = UnicodeAttribute()
    provider_ref = UnicodeAttribute(null=True)  # e.g. the Checkout Session id
    payment_ref = UnicodeAttribute(null=True)  # e.g. the PaymentIntent id, once known
    next_action = document(null=True)
    request_fingerprint = UnicodeAttribute()
    status_reason = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()  # ISO 8601, sortable; the by_merchant index key
    updated_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    paid_at = UTCDateTimeAttribute(null=True)
    deliverable_key = UnicodeAttribute(null=True)  # the delivered file, in the deliverables bucket
    review_above = NumberAttribute(null=True)  # paid amounts above this wait for a person
    refund_policy = document(null=True)  # status -> percent of the payment refundable then
    paid_amount = NumberAttribute(null=True)  # what the provider reported paid (minor units, order currency)
    refunded_amount = NumberAttribute(default=0)  # refunds done (succeeded, pending at the provider, owed)
    refund_reserved = NumberAttribute(default=0)  # refunds asked and not answered yet: counted against the cap
    owed_refunds = NumberAttribute(null=True)  # refunds owed by hand (mobile money) and not confirmed paid yet
    last_refund = document(null=True)  # the latest refund, for its email (one per refund)
    dispute = document(null=True)  # the latest dispute: id, reason, amount, status, outcome
    open_counters = string_list(null=True)  # per-customer caps this checkout counts in
    connect_account = UnicodeAttribute(null=True)  # a Stripe connected account (direct charges)
    platform_fee = document(null=True)  # a signed-up merchant's cart: the plan's fee, {amount, currency, bps}
    # The id of the request that created the order (caisse.observability), logged by every function
    # that handles one of its changes: its stream records, its notification messages, its webhooks.
    correlation_id = UnicodeAttribute(null=True, attr_name=ORDER_ATTRIBUTE)
    booking = document(null=True)  # service, start/end (UTC and local), deposit, fee, full price
    saved_payment = document(null=True)  # the customer (and, before, the card) kept for an off-session charge
    balance = document(null=True)  # the charge after the job: status due | paid, amount, link
    email_problem = document(null=True)  # the latest email SES refused for good: notification, kind, reason
    # The customer's encrypted fields (the song brief's answers, a booking's address and notes, the
    # phone) live in the order's PersonalData item; this names which ones it holds. The two
    # attributes below and Customer.phone_sealed are read only for orders written before that.
    sealed_apart = string_list(null=True)
    answers_sealed = UnicodeAttribute(null=True)
    job_sealed = UnicodeAttribute(null=True)
    # Where the customer came from (UTM fields), plain metadata.
    source = document(null=True)
    day = UnicodeAttribute(null=True)  # the day of the merchant's daily capacity this order takes
    workflow = document(null=True)  # revision_stage, revision_from, revisions, deliverable_stage
    revisions_used = NumberAttribute(default=0)
    download_until = UTCDateTimeAttribute(null=True)  # the delivered file can be downloaded until then
    delivery_round = NumberAttribute(null=True)  # 1 when delivered, +1 each time the email is sent again
    retention_months = NumberAttribute(null=True)  # personal data erased this long after the order closes
    erased_at = UTCDateTimeAttribute(null=True)  # personal data erased (a request, or retention)
    # Issued when the order becomes paid (caisse.orders.tickets), one per admission:
    # [{"code", "sku", "unit", "number", "state"}]; each also has a Ticket record, which the door checks.
    tickets: ListAttribute[dict[str, Any]] = ListAttribute(null=True)
    resend = document(null=True)  # the latest email staff asked to send again: {"id", "kind"}
    # Index keys (caisse.orders.index): what staff lists and searches read.
    listed_at = UnicodeAttribute(null=True)  # "<created, microseconds>Z#<order_id>": newest first, unique
    merchant_status = UnicodeAttribute(null=True)  # "<merchant>#<status>"
    merchant_money = UnicodeAttribute(null=True)  # "<merchant>#<money_state>"
    merchant_provider = UnicodeAttribute(null=True)  # "<merchant>#<provider>"
    email_key = UnicodeAttribute(null=True)  # the customer's digest (personal.customer_ref), for search
    name_key = UnicodeAttribute(null=True)  # "<the name folded for search>#<listed_at>"
    booking_merchant = UnicodeAttribute(null=True)  # bookings only: the merchant whose day it fills
    booking_start = UnicodeAttribute(null=True)  # bookings only: "<start, UTC>#<order_id>"
    by_status = OrdersByStatus()
    by_money_state = OrdersByMoneyState()

    @property
    def total(self) -> Money:
        return Money(int(self.total_amount), self.currency)

    @property
    def application_fee(self) -> Money | None:
        """The platform's fee on the order's payment: a signed-up merchant's cart's, or a booking's
        deposit's; None for the platform's own shops."""
        fee = (
            self.platform_fee.as_dict()
            if self.platform_fee
            else (self.booking.as_dict() if self.booking else {}).get("platform_fee")
        )
        return Money(int(fee["amount"]), fee["currency"]) if fee else None

    @property
    def paid(self) -> Money:
        """What the order's own payment brought: the provider's figure when it reported one, else
        the total (a booking's deposit: its balance is a payment of its own, `balance_paid`)."""
        amount = self.paid_amount if self.paid_amount is not None else self.total_amount
        return Money(int(amount), self.currency)

    @property
    def balance_paid(self) -> Money:
        """A booking's balance paid after the job (zero until then, and for every other order)."""
        balance = self.balance.as_dict() if self.balance else {}
        amount = balance.get("amount") or {}
        if balance.get("status") != "paid" or amount.get("currency") != self.currency:
            return Money.zero(self.currency)
        return Money(int(amount.get("amount") or 0), self.currency)

    @property
    def received(self) -> Money:
        """Everything received for the order: its payment, and a booking's balance once paid. What
        refunds and chargebacks are measured against (all of it back: refunded)."""
        return self.paid + self.balance_paid


class HistoryEntry(OrderRecord, discriminator="history"):
    """One version of the order: a status move, a money move, both (a payment), or another staff
    action on it (an internal note, a file attached, an email sent again, a payout confirmed),
    each with who and when. `message` is what the customer is told; `note` is for staff only and
    never reaches the customer's view or any email to them."""

    version = NumberAttribute()
    from_status = UnicodeAttribute(null=True)
    to_status = UnicodeAttribute()
    from_money = UnicodeAttribute(null=True)  # set when the money state moved (or refunds changed it)
    to_money = UnicodeAttribute(null=True)
    amount = NumberAttribute(null=True)  # the money moved by this version (a refund, a dispute), minor units
    at = UTCDateTimeAttribute()
    actor = UnicodeAttribute()  # provider | staff | system | customer
    actor_id = UnicodeAttribute()
    note = UnicodeAttribute(null=True)  # internal: staff only
    message = UnicodeAttribute(null=True)  # to the customer (their order page and the email of this move)
    action = UnicodeAttribute(null=True)  # a staff action that moved nothing: note | deliverable | email_resent | ...
    changes = document(null=True)  # what that action changed, e.g. {"deliverable": "orders/.../song.mp3"}

    @staticmethod
    def key(version: int) -> str:
        return f"HISTORY#{version:06d}"

    @property
    def moved(self) -> bool:
        """Whether this version moved the order's status or money (what customers see of it)."""
        return self.to_money is not None or self.from_status != self.to_status


class OrderLine(OrderRecord, discriminator="line"):
    """One product of an order, written with it: what the product filter of the staff list reads
    (orders_by_product). Lines never change once written."""

    sku = UnicodeAttribute()
    merchant_product = UnicodeAttribute()  # "<merchant>#<sku>"
    listed_at = UnicodeAttribute()

    @staticmethod
    def key(sku: str) -> str:
        return f"LINE#{sku}"


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
    """Stock taken from the catalog for this order: held while it waits for payment, sold once
    paid, released if it never is; what a refund gives back is counted in `returned` (once)."""

    sku = UnicodeAttribute()
    quantity = NumberAttribute()
    state = UnicodeAttribute()  # held | released
    returned = NumberAttribute(default=0)  # given back to stock by refunds

    @staticmethod
    def key(sku: str) -> str:
        return f"HOLD#{sku}"


class Refund(OrderRecord, discriminator="refund"):
    """Money given back: reserved on the order first (so two refunds can never exceed what was
    paid), then asked of the provider, or owed and paid out by a person where there is no API.
    A refund made outside Caisse (a provider's dashboard) is recorded here too, by its provider id,
    so a refund and its webhooks count once."""

    refund_id = UnicodeAttribute()
    amount = NumberAttribute()
    currency = UnicodeAttribute()
    status = UnicodeAttribute()  # requested | succeeded | pending | owed | paid_out | failed
    reason = UnicodeAttribute(null=True)
    # [{"sku", "quantity"}] given back to stock with this refund
    items: ListAttribute[dict[str, Any]] = ListAttribute(null=True)
    # codes of the tickets this refund voids (caisse.orders.tickets)
    tickets: ListAttribute[str] = ListAttribute(null=True)
    origin = UnicodeAttribute(default="caisse")  # caisse | provider (made in the provider's dashboard)
    payment_ref = UnicodeAttribute(null=True)  # the payment it gave back, when not the order's own (a balance)
    requested_by = UnicodeAttribute()
    requested_at = UTCDateTimeAttribute()
    provider = UnicodeAttribute()
    provider_refund_id = UnicodeAttribute(null=True)
    provider_status = UnicodeAttribute(null=True)  # what the provider's refund events last said
    payout = document(null=True)
    confirmed_by = UnicodeAttribute(null=True)
    confirmed_at = UTCDateTimeAttribute(null=True)
    # On the work list of refunds staff owe by hand while `owed` (the work_lists index).
    work_list = UnicodeAttribute(null=True)
    work_at = UnicodeAttribute(null=True)

    @staticmethod
    def key(refund_id: str) -> str:
        return f"REFUND#{refund_id}"

    @property
    def given_back(self) -> bool:
        """The holder's own refund (tickets given back from the order page): while it is requested
        its tickets are kept from the door (caisse.orders.tickets.keep_from_door)."""
        return self.requested_by == states.Actor.CUSTOMER.value


DONE_REFUND = frozenset({"succeeded", "pending", "owed", "paid_out"})


class ProviderRef(OrderRecord, discriminator="provider_ref"):
    """Which order a provider's id (checkout, payment, transaction) belongs to: written when we
    learn the id, read when an event names it (CamPay's own examples send no external_reference;
    a dashboard refund names only the payment)."""

    order_id = UnicodeAttribute()
    provider = UnicodeAttribute()

    @staticmethod
    def key(provider: str, reference: str) -> str:
        return f"REF#{provider}#{reference}"


class Incident(OrderRecord, discriminator="incident"):
    """Money a provider took for no order we know: staff must give it back or match it by hand."""

    provider = UnicodeAttribute()
    event_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    provider_ref = UnicodeAttribute(null=True)
    payment_ref = UnicodeAttribute(null=True)
    claimed_order_id = UnicodeAttribute(null=True)
    amount = NumberAttribute(null=True)
    currency = UnicodeAttribute(null=True)
    at = UTCDateTimeAttribute()
    status = UnicodeAttribute(default="open")  # open | resolved
    resolution = document(null=True)  # {"by", "at", "note"} once staff resolved it
    # On the platform's work list while open (the work_lists index).
    work_list = UnicodeAttribute(null=True)
    work_at = UnicodeAttribute(null=True)

    @staticmethod
    def key(provider: str, reference: str) -> str:
        return f"INCIDENT#{provider}#{reference}"


PLAN_CHANGE_SK = "PLAN"


class MerchantNotice(OrderRecord, discriminator="plan_change"):  # its first use named the stored type
    """Something about a merchant's account its staff are emailed about: a plan event
    (caisse.payments.plans), a suspension or its lifting (caisse.merchants.oversight). Written in
    the transaction that makes the change, so the orders stream sends it once, like an incident:
    an email never depends on a queue answering after the change was committed."""

    merchant = UnicodeAttribute()
    kind = UnicodeAttribute()  # a caisse.notifications.kinds.Kind value
    event_id = UnicodeAttribute()
    created = NumberAttribute()
    context = document()  # what the email says

    @staticmethod
    def key(merchant: str, event_id: str) -> str:
        return f"PLAN#{merchant}#{event_id}"

    @property
    def source(self) -> str:
        """What the email is about, in its id: the merchant's plan, or the merchant itself."""
        return f"{'plan' if self.kind.startswith('plan_') else 'merchant'}:{self.merchant}"


class CapacityHold(OrderRecord, discriminator="capacity_hold"):
    """One unit of a merchant's daily capacity taken by this order: held from checkout, kept once
    paid, given back (once) when the checkout expires, fails or is cancelled, like stock holds."""

    merchant = UnicodeAttribute()
    day = UnicodeAttribute()  # YYYY-MM-DD in the merchant's time zone
    state = UnicodeAttribute()  # held | released

    @staticmethod
    def key(day: str) -> str:
        return f"CAPACITY#{day}"


class CustomerLink(OrderRecord, discriminator="customer_link"):
    """Which orders a customer (a merchant's customer, by a digest of their email) placed: what an
    export or an erasure reads instead of a Scan. Written with the order; deleted by erasure."""

    order_id = UnicodeAttribute()
    merchant = UnicodeAttribute()
    created_at = UnicodeAttribute()

    @staticmethod
    def partition(merchant: str, customer_ref: str) -> str:
        return f"CUSTOMER#{merchant}#{customer_ref}"

    @staticmethod
    def key(order_id: str) -> str:
        return f"ORDER#{order_id}"


PERSONAL_SK = "PERSONAL"


class PersonalData(OrderRecord, discriminator="personal"):
    """The customer's encrypted fields of one order (caisse.orders.personal), written once with the
    order in an item of their own beside it. The ciphertexts are most of a song's or a booking's
    order (~1 KB each), and every status or money move rewrites the order item, which DynamoDB bills
    by its size per started KB; this item is written at checkout and deleted by an erasure, no more."""

    answers_sealed = UnicodeAttribute(null=True)  # the questionnaire's answers, one JSON document
    job_sealed = UnicodeAttribute(null=True)  # a booking's address and notes, one JSON document
    phone_sealed = UnicodeAttribute(null=True)
    # The questions the answers were given to, as the product asked them then (JSON, not personal):
    # staff read an old brief under its own words after the questionnaire changed.
    questions = UnicodeAttribute(null=True)


class AccessEntry(OrderRecord, discriminator="access"):
    """Who read the customer's encrypted answers (or phone) and why: part of the order's history
    that does not move its version, so a read never races a payment or a stage."""

    at = UTCDateTimeAttribute()
    actor_id = UnicodeAttribute()
    fields = string_list()  # answers | phone
    purpose = UnicodeAttribute()  # staff_view | export | refund_payout

    @staticmethod
    def key(at: str, nonce: str) -> str:
        return f"ACCESS#{at}#{nonce}"


class RetentionDue(OrderRecord, discriminator="retention_due"):
    """An order whose customer's personal data falls due for erasure under the merchant's
    retention rule: written when the order closes, under the month it falls due, so the daily
    sweep reads only what is due (caisse.privacy)."""

    order_id = UnicodeAttribute()
    due_at = UTCDateTimeAttribute()

    @staticmethod
    def partition(month: str) -> str:
        return f"RETENTION#{month}"

    @staticmethod
    def key(due: str, order_id: str) -> str:
        return f"{due}#{order_id}"


class Erasure(OrderRecord, discriminator="erasure"):
    """The record that a customer's personal data was erased: when, by whom, which orders (by
    number). It names no one: the customer it was about is gone from every table."""

    erasure_id = UnicodeAttribute()
    merchant = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    actor_id = UnicodeAttribute()
    reason = UnicodeAttribute()  # request | retention
    orders = string_list()
    counts = document()

    @staticmethod
    def key(erasure_id: str) -> str:
        return f"ERASURE#{erasure_id}"


class Slot(OrderRecord, discriminator="slot"):
    """One step of a merchant's booking grid, taken by one order. The key is the slot itself, so
    a conditional put is what makes two customers unable to hold the same time."""

    merchant = UnicodeAttribute()
    order_id = UnicodeAttribute()
    start = UnicodeAttribute()  # UTC ISO 8601

    @staticmethod
    def partition(merchant: str, local_date: str) -> str:
        return f"SLOTS#{merchant}#{local_date}"
