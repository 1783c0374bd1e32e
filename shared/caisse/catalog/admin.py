"""The catalog as staff run it: a merchant's products (and services) read back, products created
and changed (names, prices, limits, on sale or not), stock adjusted with a reason.

Stock only ever moves by a difference, in one conditional write: an adjustment racing a checkout
is applied on top of whatever the checkout took, and never takes the stock below zero (so nothing
is sold twice). Each adjustment is recorded with who, when and why in the same transaction.
Prices are checked as money (integers in the currency's minor unit) before anything is written.
"""

from __future__ import annotations

import uuid
from typing import Any, NamedTuple

from pynamodb.exceptions import DoesNotExist, UpdateError

from caisse.catalog import questionnaire
from caisse.catalog.models import (
    CatalogRecord,
    Event,
    Merchant,
    Product,
    QuestionnaireAttribute,
    Service,
    StockMovement,
    merchant_parent,
)
from caisse.catalog.service import BOOKABLE_KIND, event_copy, get_merchant, merchant_rules
from caisse.clock import moment, utcnow
from caisse.db import Transaction, TransactionCancelled
from caisse.errors import Conflict, InvalidRequest, NotFound
from caisse.money import Money, MoneyError
from caisse.staff import Staff

MOVEMENTS_SHOWN = 50


def _merchant_of(staff: Staff, merchant: str | None) -> str:
    return staff.merchant_for(merchant, "this merchant's catalog")


def _product(sku: str, staff: Staff) -> Product:
    try:
        product = Product.get(Product.key(sku), consistent_read=True)
    except DoesNotExist:
        raise NotFound("no such product") from None
    staff.require(product.merchant, "this product")
    return product


def _prices(prices: dict[str, int]) -> dict[str, int]:
    for currency, amount in prices.items():
        try:
            Money(amount, currency)
        except MoneyError as error:
            raise InvalidRequest(f"prices.{currency}: {error}", code="invalid_price", field="prices") from error
    return dict(prices)


def product_admin_view(product: Product) -> dict[str, Any]:
    """A product as staff see it: on sale or not, stock left (None: not limited), its prices."""
    return {
        "sku": product.sku,
        "merchant": product.merchant,
        "name": product.name,
        "kind": product.kind,
        "description": product.description,
        "prices": product.price_table(),
        "stock": int(product.stock) if product.stock is not None else None,
        "max_per_order": int(product.max_per_order),
        "active": bool(product.active),
        # A ticket: the event it admits to (as the catalog defines it) and how many people.
        "event": product.event.as_dict() if product.event else None,
        "admissions": int(product.admissions or 1) if product.event else None,
        "questionnaire": questionnaire.public(product.questionnaire),  # what a checkout asks
        "updated_at": product.updated_at,
        "updated_by": product.updated_by,
    }


def service_view(service: Service) -> dict[str, Any]:
    return {
        "service_id": service.service_id,
        "name": service.name,
        "duration_minutes": int(service.duration_minutes),
        "full_price": {"amount": int(service.full_price), "currency": service.currency},
        "deposit": {"percent": int(service.deposit_percent)}
        if service.deposit_percent is not None
        else {"fixed": int(service.deposit_fixed or 0)},
        "active": bool(service.active),
    }


def event_view(event: Event) -> dict[str, Any]:
    return {
        **event.fields(),
        "added_by": event.added_by,
        "revision": int(event.revision or 0),
        "telling_holders": event.telling_holders,
    }


def list_catalog(staff: Staff, merchant: str | None) -> dict[str, Any]:
    """A merchant's products (on sale or not, stock left), bookable services and the events it
    sells tickets for, one Query."""
    merchant = _merchant_of(staff, merchant)
    found = catalog_records(merchant)
    return {
        "merchant": merchant,
        "products": [product_admin_view(p) for p in sorted(found.products, key=lambda p: p.sku)],
        "services": [service_view(s) for s in sorted(found.services, key=lambda s: s.service_id)],
        "events": [event_view(e) for e in sorted(found.events, key=lambda e: (e.start, e.event_id))],
    }


def movement_view(movement: StockMovement) -> dict[str, Any]:
    return {
        "delta": int(movement.delta),
        "reason": movement.reason,
        "by": movement.by,
        "at": movement.at,
    }


def get_product(sku: str, staff: Staff) -> dict[str, Any]:
    """A product with its latest stock movements (newest first)."""
    product = _product(sku, staff)
    movements = [
        movement_view(record)
        for record in CatalogRecord.by_parent.query(
            StockMovement.listed_under(sku), scan_index_forward=False, limit=MOVEMENTS_SHOWN
        )
        if isinstance(record, StockMovement)
    ]
    return {**product_admin_view(product), "stock_movements": movements}


def create_product(staff: Staff, spec: dict[str, Any]) -> dict[str, Any]:
    """A new product of a merchant, with what checkout needs copied from the merchant (like the
    seed does); refused if the SKU exists (409), whoever's it is."""
    merchant = get_merchant(_merchant_of(staff, spec.get("merchant")))
    if spec["kind"] == BOOKABLE_KIND:
        raise InvalidRequest(
            "a bookable service is set up with PUT /admin/merchants/{id}/services/{service_id}", field="kind"
        )
    event = _event_sold_by(merchant, spec.get("event"), spec.get("admissions"))
    now = utcnow()
    product = Product(
        Product.key(spec["sku"]),
        parent=merchant_parent(merchant.merchant_id),
        sku=spec["sku"],
        merchant=merchant.merchant_id,
        name=spec["name"],
        kind=spec["kind"],
        description=spec.get("description"),
        prices=_prices(spec["prices"]),
        stock=spec.get("stock"),
        max_per_order=spec.get("max_per_order") or 20,
        active=spec.get("active", True),
        order_prefix=merchant.order_prefix,
        stages=list(merchant.stages or []),
        merchant_contact=merchant.contact(),
        platform_merchant=True if merchant.business_kind else None,
        merchant_rules=merchant_rules(
            merchant.checkout_rules.as_dict() if merchant.checkout_rules else None, merchant.timezone or "UTC"
        ),
        updated_at=moment(now),
        updated_by=staff.actor_id,
        event=event,
        admissions=(spec.get("admissions") or 1) if event else None,
        questionnaire=_questionnaire(spec.get("questionnaire")),
    )
    tx = Transaction()
    tx.put(product, condition=Product.pk.does_not_exist(), label="product")
    if product.stock is not None and int(product.stock) > 0:
        tx.put(_movement(product.sku, int(product.stock), "initial stock", staff), label="movement")
    try:
        tx.commit()
    except TransactionCancelled as cancelled:
        if "product" in cancelled.failed:
            raise Conflict(f"a product {spec['sku']} exists already", code="sku_taken") from cancelled
        raise
    return product_admin_view(product)


def _questionnaire(questions: list[dict[str, Any]] | None) -> str | None:
    """The questions as the product keeps them; 422 `invalid_questionnaire` naming what is wrong
    (the request's schema checked each question; here, what spans them: distinct names)."""
    try:
        return questionnaire.stored(questions)
    except ValueError as wrong:
        raise InvalidRequest(f"questionnaire: {wrong}", code="invalid_questionnaire", field="questionnaire") from None


def _event_sold_by(merchant: Merchant, event_id: str | None, admissions: int | None) -> dict[str, Any] | None:
    """The event a new ticket admits to, as the ticket keeps it: one of the merchant's events."""
    if event_id is None:
        if admissions is not None:
            raise InvalidRequest(
                "admissions: only a ticket (a product with an event) admits people", field="admissions"
            )
        return None
    try:
        event = Event.get(Event.key(merchant.merchant_id, event_id), consistent_read=True)
    except DoesNotExist:
        raise InvalidRequest(
            f"event: {event_id} is not one of this merchant's events", code="unknown_event", field="event"
        ) from None
    return event_copy(event, merchant.timezone or "UTC")


def update_product(sku: str, staff: Staff, changes: dict[str, Any]) -> dict[str, Any]:
    """Change what a product is: name, description, prices (the whole table), the most per order,
    on sale or not (`active`: false takes it off the catalog; orders already made keep it), its
    questionnaire (orders already made keep their answers; the next checkout asks the new one). Stock
    has its own route: a price edit can never reset what is left."""
    product = _product(sku, staff)
    actions: list[Any] = [Product.updated_at.set(moment(utcnow())), Product.updated_by.set(staff.actor_id)]
    if "name" in changes:
        actions.append(Product.name.set(changes["name"]))
    if "description" in changes:
        description = changes["description"]
        actions.append(Product.description.set(description) if description else Product.description.remove())
    if "prices" in changes:
        actions.append(Product.prices.set(_prices(changes["prices"])))
    if "max_per_order" in changes:
        actions.append(Product.max_per_order.set(changes["max_per_order"]))
    if "active" in changes:
        actions.append(Product.active.set(changes["active"]))
    if "questionnaire" in changes:
        asked = _questionnaire(changes["questionnaire"])
        actions.append(Product.questionnaire.set(asked or QuestionnaireAttribute.NONE_ASKED))
    try:
        product.update(actions=actions, condition=Product.pk.exists())
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise NotFound("no such product") from error
        raise
    return product_admin_view(product)


def adjust_stock(sku: str, staff: Staff, delta: int, reason: str) -> dict[str, Any]:
    """Add to or take from a product's stock, never below zero, with the reason recorded."""
    if delta == 0:
        raise InvalidRequest("delta: give a change other than 0", field="delta")
    product = _product(sku, staff)
    if product.stock is None:
        raise Conflict(f"{product.name} is not limited: there is no stock to adjust", code="not_limited")
    tx = Transaction()
    condition = Product.stock.exists()
    if delta < 0:
        condition = condition & (Product.stock >= -delta)
    tx.update(
        Product(Product.key(sku)),
        actions=[
            Product.stock.add(delta),
            Product.updated_at.set(moment(utcnow())),
            Product.updated_by.set(staff.actor_id),
        ],
        condition=condition,
        label="stock",
    )
    tx.put(_movement(sku, delta, reason, staff), label="movement")
    try:
        tx.commit()
    except TransactionCancelled as cancelled:
        if "stock" in cancelled.failed:
            left = _product(sku, staff).stock
            raise Conflict(
                f"only {int(left or 0)} of {product.name} left: cannot take {-delta}",
                code="not_enough_stock",
                stock=int(left or 0),
            ) from cancelled
        raise
    return get_product(sku, staff)


def _movement(sku: str, delta: int, reason: str, staff: Staff) -> StockMovement:
    at = moment(utcnow())
    return StockMovement(
        StockMovement.key(sku, at, uuid.uuid4().hex[:8]),
        parent=StockMovement.listed_under(sku),
        sku=sku,
        delta=delta,
        reason=reason,
        by=staff.actor_id,
        at=at,
    )


class MerchantCatalog(NamedTuple):
    products: list[Product]
    services: list[Service]
    events: list[Event]


def catalog_records(merchant: str) -> MerchantCatalog:
    """A merchant's products, services and events, one Query of the catalog's by_parent index."""
    found = MerchantCatalog([], [], [])
    for record in CatalogRecord.by_parent.query(merchant_parent(merchant)):
        if isinstance(record, Product):
            found.products.append(record)
        elif isinstance(record, Service):
            found.services.append(record)
        elif isinstance(record, Event):
            found.events.append(record)
    return found
