"""Reading the catalog and pricing a cart. Prices always come from here, never from the browser."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from caisse.catalog import questionnaire
from caisse.catalog.models import (
    MERCHANTS,
    CatalogRecord,
    Event,
    Merchant,
    PlatformSettings,
    Product,
    Service,
    merchant_parent,
)
from caisse.config import settings
from caisse.db import decode_cursor, encode_cursor
from caisse.errors import InvalidRequest, NotFound, SoldOut
from caisse.money import Money, MoneyError, check_maximum


@dataclass(frozen=True)
class CartLine:
    sku: str
    name: str
    quantity: int
    unit_price: Money
    limited: bool
    event: dict[str, Any] | None = None  # a ticket's event (caisse.orders.tickets issues them)
    admissions: int | None = None  # people one item admits: a pass for two issues two tickets

    @property
    def total(self) -> Money:
        return self.unit_price * self.quantity

    def as_dict(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "name": self.name,
            "quantity": self.quantity,
            "unit_amount": self.unit_price.amount,
            "currency": self.unit_price.currency,
            "limited": self.limited,
        }


@dataclass(frozen=True)
class PricedCart:
    merchant: str
    order_prefix: str
    stages: tuple[str, ...]
    lines: tuple[CartLine, ...]
    total: Money
    merchant_contact: dict[str, Any] | None = None
    merchant_rules: dict[str, Any] | None = None
    questionnaire: str | None = None  # JSON, for products made to order from the customer's answers
    workflow: dict[str, Any] | None = None  # revisions and the stage that needs a deliverable
    platform_merchant: bool = (
        False  # a signed-up merchant's: paid on its own Stripe account (Product.platform_merchant)
    )


def price_cart(products: dict[str, Product], wanted: Sequence[tuple[str, int]], currency: str) -> PricedCart:
    """Price `wanted` (sku, quantity) pairs in `currency` from catalog records.

    Pure: the caller fetched the records. Raises a 4xx domain error for anything a customer could
    get wrong: unknown or inactive products, a currency a product is not sold in, a mixed-merchant
    cart, too many of one item, or not enough left.
    """
    if not wanted:
        raise InvalidRequest("the cart is empty")
    quantities: dict[str, int] = {}
    for sku, quantity in wanted:
        quantities[sku] = quantities.get(sku, 0) + quantity

    unknown = [sku for sku in quantities if sku not in products or not products[sku].active]
    if unknown:
        raise InvalidRequest(f"unknown product: {', '.join(unknown)}", code="unknown_sku", skus=unknown)
    booked = [sku for sku in quantities if products[sku].kind == BOOKABLE_KIND]
    if booked:
        # A merchant's time is booked (a slot, a deposit on its own account, its fee), never bought.
        merchant = products[booked[0]].merchant
        raise InvalidRequest(
            f"{booked[0]} is booked, not bought: see GET /catalog for the service and "
            f"GET /merchants/{merchant}/availability for its times",
            code="book_instead",
            skus=booked,
        )

    merchants = {products[sku].merchant for sku in quantities}
    if len(merchants) > 1:
        raise InvalidRequest("a checkout can only hold products of one shop", merchants=sorted(merchants))
    made_to_order = [sku for sku in quantities if products[sku].questionnaire]
    if made_to_order and (len(quantities) > 1 or quantities[made_to_order[0]] != 1):
        # One brief, one workflow, one day of the studio's capacity: one made-to-order item per order.
        raise InvalidRequest(
            f"{made_to_order[0]} is made from your answers: order one, on its own",
            code="one_per_order",
            sku=made_to_order[0],
        )

    lines = []
    for sku, quantity in quantities.items():
        product = products[sku]
        if quantity > product.max_per_order:
            raise InvalidRequest(f"at most {product.max_per_order} of {sku} per order", sku=sku)
        prices = product.price_table()
        if currency not in prices:
            raise InvalidRequest(
                f"{sku} is not sold in {currency}", code="currency_not_offered", sku=sku, currencies=sorted(prices)
            )
        if product.stock is not None and product.stock < quantity:
            raise SoldOut(
                f"{product.name} is sold out"
                if product.stock <= 0
                else f"only {int(product.stock)} of {product.name} left",
                sku=sku,
                remaining=max(int(product.stock), 0),
            )
        try:
            unit = Money(prices[currency], currency)
        except MoneyError as exc:
            raise InvalidRequest(f"{sku} has no valid price in {currency}") from exc
        event = product.event.as_dict() if product.event else None
        admissions = int(product.admissions or 1) if event else None
        lines.append(CartLine(sku, product.name, quantity, unit, product.stock is not None, event, admissions))

    total = Money.zero(currency)
    for line in lines:
        total = total + line.total
    if total.amount <= 0:
        raise InvalidRequest("the total must be more than zero")
    check_maximum(total)  # more than any provider takes at once: refused before anything is written
    first = products[next(iter(quantities))]
    return PricedCart(
        first.merchant,
        first.order_prefix,
        tuple(str(stage) for stage in first.stages or ()),
        tuple(lines),
        total,
        merchant_contact=first.merchant_contact.as_dict() if first.merchant_contact else None,
        merchant_rules=first.merchant_rules.as_dict() if first.merchant_rules else None,
        questionnaire=first.questionnaire,
        workflow=_plain(first.workflow.as_dict()) if first.workflow else None,
        platform_merchant=bool(first.platform_merchant),
    )


_merchants: dict[str, tuple[float, Merchant | None]] = {}


def find_merchant(merchant_id: str) -> Merchant | None:
    """The merchant (its staff address, language, switches), or None, read at most once per the
    catalog's cache time per process (30 s): the notification functions ask for every change they
    turn into emails, and a switch staff change takes effect within that time."""
    cached = _merchants.get(merchant_id)
    if cached is not None and time.monotonic() - cached[0] < settings().catalog_cache_seconds:
        return cached[1]
    try:
        merchant = Merchant.get(Merchant.key(merchant_id))
    except Merchant.DoesNotExist:
        merchant = None
    _merchants[merchant_id] = (time.monotonic(), merchant)
    return merchant


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB hands numbers back as Decimal; workflow settings are whole numbers or text."""
    return {key: int(value) if isinstance(value, Decimal) else value for key, value in values.items()}


def get_merchant(merchant_id: str) -> Merchant:
    try:
        return Merchant.get(Merchant.key(merchant_id), consistent_read=True)
    except Merchant.DoesNotExist:
        raise NotFound("no such merchant") from None


BOOKABLE_KIND = "service"


def list_offers() -> tuple[list[Product], list[Service], dict[str, Merchant]]:
    """Everything on sale: the merchants (one Query of the by_parent index, parent MERCHANTS),
    then each merchant's products and services (one Query each, parent MERCHANT#<id>). Never a
    Scan: the catalog table also holds records that grow with traffic (checkout attempt limits, one
    per client per 15 minutes; daily capacity; stock movements), which the catalog must not read.

    Kept per warm function for `settings().catalog_cache_seconds` (30 s in template.yaml): the
    public catalog may show a price or the stock left up to that much late; checkout always reads
    both again, so nobody is sold what is not there."""
    global _offers
    seconds = settings().catalog_cache_seconds
    if _offers is not None and time.monotonic() - _offers[0] < seconds:
        return _offers[1]
    products, services, merchants = [], [], {}
    for merchant in CatalogRecord.by_parent.query(MERCHANTS):
        if not isinstance(merchant, Merchant):
            continue
        merchants[merchant.merchant_id] = merchant
        for record in CatalogRecord.by_parent.query(merchant_parent(merchant.merchant_id)):
            if isinstance(record, Product) and record.active and record.kind != BOOKABLE_KIND:
                products.append(record)
            elif isinstance(record, Service) and record.active:
                services.append(record)
    offers = (products, services, merchants)
    _offers = (time.monotonic(), offers)
    return offers


def forget_offers() -> None:
    """Drop the kept catalog (a test that starts a fresh emulated AWS in the same process)."""
    global _offers
    _offers = None


_offers: tuple[float, tuple[list[Product], list[Service], dict[str, Merchant]]] | None = None


def product_view(product: Product) -> dict[str, Any]:
    view: dict[str, Any] = {
        "sku": product.sku,
        "name": product.name,
        "merchant": product.merchant,
        "kind": product.kind,
        "description": product.description,
        "prices": product.price_table(),
        "limited": product.stock is not None,
    }
    if product.stock is not None:
        view["remaining"] = max(int(product.stock), 0)
    if product.questionnaire:
        view["questionnaire"] = questionnaire.public(product.questionnaire)
    workflow = product.workflow.as_dict() if product.workflow else {}
    if workflow:  # made-to-order products say what the customer will go through
        view["stages"] = list(product.stages or [])
        view["revisions"] = int(workflow.get("revisions") or 0)

    if product.event:
        view["event"] = product.event.as_dict()
        view["admissions"] = int(product.admissions or 1)
    return view


def merchant_ids() -> list[str]:
    """Every merchant's id (the catalog's by_parent index, one Query): what platform staff read
    across when they name no merchant."""
    return [record.merchant_id for record in CatalogRecord.by_parent.query(MERCHANTS) if isinstance(record, Merchant)]


# --------------------------------------------------------------------------- seeding (an upsert)

# What staff change through the API and a seed must not undo: a merchant's booking hours and time
# zone, whether it wants new-order emails, its name, addresses, language, watermark and bookings'
# refund policy (its settings, caisse.catalog.merchant_settings); a product's stock, questionnaire
# and whether it is on sale (unless the file says so). Stripe onboarding and order counters are
# never written by the seed at all.
_KEPT_MERCHANT = (
    "timezone",
    "weekly_hours",
    "blocked_dates",
    "slot_minutes",
    "new_order_email",
    "name",
    "reply_to",
    "staff_email",
    "default_locale",
    "watermark",
    "booking_rules",  # a booking merchant's refund policy
)
# A product's stock, and its questionnaire: the file gives the first one, staff change it in the
# console (caisse.catalog.admin.update_product; one they took away is kept as none asked).
_KEPT_PRODUCT = ("stock", "questionnaire")
# And an event's details once staff changed them (caisse.catalog.events: its holders may have been
# told), and how many changes its holders were told of.
_KEPT_EVENT = ("name", "start", "end", "venue", "address", "revision", "told", "cancelled")


def product_workflow(merchant: dict[str, Any], item: dict[str, Any]) -> dict[str, Any] | None:
    """A product's workflow settings: the merchant's (the revision stage and where it loops from,
    the stage that needs a deliverable) with the product's number of revisions."""
    workflow = dict(merchant.get("workflow") or {})
    if "revisions" in item:
        workflow["revisions"] = int(item["revisions"])
    stages = item.get("stages") or merchant.get("stages", [])
    for name in ("revision_from", "deliverable_stage"):
        if workflow.get(name) and workflow[name] not in stages:
            raise ValueError(f"{item['sku']}: {name} {workflow[name]!r} is not one of its stages")
    return workflow or None


def product_questionnaire(merchant: dict[str, Any], item: dict[str, Any]) -> str | None:
    """A product's questionnaire, as stored (JSON): its own list, or one the merchant names."""
    declared = item.get("questionnaire")
    if isinstance(declared, str):
        declared = (merchant.get("questionnaires") or {}).get(declared)
        if declared is None:
            raise ValueError(f"{item['sku']}: no questionnaire {item['questionnaire']!r} in its merchant")
    return questionnaire.stored(declared)


def merchant_rules(rules: dict[str, Any] | None, timezone: str) -> dict[str, Any] | None:
    """A merchant's checkout rules as copied onto its products (by the seed and by staff creating
    a product); a daily capacity counts days in the merchant's time zone."""
    if rules and rules.get("capacity"):
        rules = {**rules, "capacity": {"timezone": timezone, **rules["capacity"]}}
    return rules


def ticket_event(events: dict[str, Event], item: dict[str, Any], timezone: str) -> dict[str, Any] | None:
    """The event a ticket product admits to, as stored (staff may have changed it), with the
    merchant's time zone (start and end are local times there); None for products that are not
    tickets. The catalog's schema (caisse.catalog.document) has checked the event exists."""
    if not item.get("event"):
        return None
    return event_copy(events[item["event"]], timezone)


def event_copy(event: Event, timezone: str) -> dict[str, Any]:
    """What a ticket product (and its orders) keep of its event: id, name, start and end (local
    times), venue, address, the merchant's time zone they are in, the event's revision once it
    changed after its tickets were issued (which change its holders were told of), and why it was
    cancelled if it was."""
    found = {**event.fields(), "revision": int(event.revision or 0)}
    return {**{key: value for key, value in found.items() if value}, "timezone": timezone}


def seed(catalog: dict[str, Any]) -> int:
    """Write merchants, their services and products from a catalog document (data/catalog.json's
    shape), as an upsert: what the file defines (names, prices, rules, stages) is written over
    what is there; live state is never reset: stock, Stripe onboarding (account, charges and
    payouts enabled), order counters, and what staff set through the API (_KEPT_MERCHANT, an
    event's details (_KEPT_EVENT), a product's questionnaire and its active flag unless the file
    gives one, _KEPT_PRODUCT). Merchant settings that checkout needs, and a ticket's event as
    stored, are copied onto each product.
    Returns how many records were written; a document that does not follow the schema
    (caisse.catalog.document) raises CatalogError before anything is written.
    """
    from caisse.catalog.document import check  # only the seed needs the schema: no cost at checkout's cold start

    check(catalog)  # the whole document first: a mistake writes nothing
    merchants = {m["id"]: m for m in catalog["merchants"]}
    written = 0
    stored = {}
    events: dict[tuple[str, str], Event] = {}
    for document in merchants.values():
        merchant = _merchant_from(document)
        _upsert(merchant, kept=_KEPT_MERCHANT)  # the merchant as stored now (what staff kept included)
        stored[merchant.merchant_id] = merchant
        written += 1
        for offer in (document.get("booking") or {}).get("services", []):
            service = Service(
                Service.key(merchant.merchant_id, offer["id"]),
                parent=merchant_parent(merchant.merchant_id),
                merchant=merchant.merchant_id,
                service_id=offer["id"],
                name=offer["name"],
                duration_minutes=offer["duration_minutes"],
                currency=offer["currency"],
                full_price=offer["full_price"],
                deposit_percent=offer["deposit"].get("percent"),
                deposit_fixed=offer["deposit"].get("fixed"),
                active=offer.get("active", True),
            )
            _upsert(service, kept=() if "active" in offer else ("active",))
            written += 1
        for event in document.get("events", []):
            record = Event.of(merchant.merchant_id, event)
            _upsert(record, kept=_KEPT_EVENT)
            events[merchant.merchant_id, event["id"]] = record
            written += 1
    for item in catalog["products"]:
        merchant = merchants[item["merchant"]]
        product = Product(
            Product.key(item["sku"]),
            parent=merchant_parent(item["merchant"]),
            sku=item["sku"],
            merchant=item["merchant"],
            name=item["name"],
            kind=item["kind"],
            description=item.get("description"),
            prices=item["prices"],
            stock=item.get("stock"),
            max_per_order=item.get("max_per_order", 20),
            active=item.get("active", True),
            order_prefix=merchant["order_prefix"],
            stages=item.get("stages") or merchant.get("stages", []),
            merchant_contact=stored[item["merchant"]].contact(),
            merchant_rules=merchant_rules(merchant.get("rules"), stored[item["merchant"]].timezone or "UTC"),
            questionnaire=product_questionnaire(merchant, item),
            workflow=product_workflow(merchant, item),
            event=ticket_event(
                {event_id: e for (owner, event_id), e in events.items() if owner == item["merchant"]},
                item,
                stored[item["merchant"]].timezone or "UTC",
            ),
            admissions=item.get("admissions", 1) if item.get("event") else None,
        )
        _upsert(product, kept=_KEPT_PRODUCT + (() if "active" in item else ("active",)))
        written += 1
    if "platform" in catalog:
        PlatformSettings(PlatformSettings.KEY, document=json.dumps(catalog["platform"])).save()
        written += 1
    return written


def _merchant_from(document: dict[str, Any]) -> Merchant:
    connect = document.get("connect") or {}
    booking = document.get("booking") or {}
    return Merchant(
        Merchant.key(document["id"]),
        parent=MERCHANTS,
        merchant_id=document["id"],
        name=document["name"],
        order_prefix=document["order_prefix"],
        stages=document.get("stages", []),
        reply_to=document.get("reply_to"),
        staff_email=document.get("staff_email"),
        default_locale=document.get("default_locale", "en"),
        timezone=document.get("timezone", "UTC"),
        watermark=document.get("watermark"),
        connect_type=connect.get("type", "express"),
        country=connect.get("country", "AU"),
        platform_fee_bps=connect.get("platform_fee_bps", 250),
        weekly_hours=booking.get("weekly"),
        blocked_dates=booking.get("blocked_dates", []),
        slot_minutes=booking.get("slot_minutes", 30),
        booking_rules={"refund_policy": booking["refund_policy"]} if booking.get("refund_policy") else None,
        checkout_rules=document.get("rules"),
        new_order_email=document.get("new_order_email", True),
    )


# Never written by a seed: live state that only the system or staff change.
_LIVE = frozenset(
    {
        "stripe_account",
        "charges_enabled",
        "payouts_enabled",
        "updated_at",
        "updated_by",
        "business_kind",
        "owner",
        "languages",
        "gallery_defaults",
        "settings_version",
        "signed_up_at",
        "suspended",
        "plan",
        "plan_status",
        "stripe_customer",
        "stripe_subscription",
        "plan_event_at",
        "billing",
    }
)


def _upsert(record: CatalogRecord, *, kept: tuple[str, ...]) -> None:
    """One UpdateItem: the record's defined attributes written over what is there, the `kept`
    ones only where the record has none yet (DynamoDB's if_not_exists). The record is left holding
    what is stored (pynamodb reads back the item as updated)."""
    actions: list[Any] = [type(record).record_type.set(type(record))]
    for name, attribute in type(record).get_attributes().items():
        if name in ("pk", "record_type") or name in _LIVE:
            continue
        value = getattr(record, name)
        if name in kept:
            if value is not None:
                actions.append(attribute.set(attribute | value))
        elif value is None or value == []:
            actions.append(attribute.remove())
        else:
            actions.append(attribute.set(value))
    record.update(actions=actions)


def listed_page(
    parent: str, *, limit: int, cursor: str | None, newest_first: bool = False
) -> tuple[list[CatalogRecord], str | None]:
    """One page of what the catalog's by_parent index lists under `parent` (in key order, or the
    reverse), and the cursor of the next page (None: the last); a cursor of another list is a 422."""
    after = decode_cursor(cursor, parent)
    found = CatalogRecord.by_parent.query(
        parent,
        scan_index_forward=not newest_first,
        limit=limit,
        page_size=limit,
        last_evaluated_key={"parent": {"S": parent}, "pk": {"S": after}} if after else None,
    )
    records = list(found)
    last = found.last_evaluated_key
    return records, encode_cursor(last["pk"]["S"], parent) if last else None
