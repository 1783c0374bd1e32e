"""Starting a checkout: price on the server, apply the merchant's rules, write the pending order
with its holds, and only then ask the provider for the checkout (caisse.orders.checkout writes).

DynamoDB requests: one BatchGetItem (the cart's products, the order an Idempotency-Key names, and
the client's attempt counter where the merchant limits attempts), one UpdateItem (the order
number), one TransactWriteItems (the order, its history, holds, counters, the customer's link and
the day's capacity), then one TransactWriteItems recording the provider's checkout on the order.
A questionnaire's answers and a phone are encrypted before the write (KMS only when the cached
data key is older than five minutes); a full day costs one BatchGetItem more to name the next.

If the provider refuses, the order is cancelled (its stock given back) and the customer told why.
If a mobile-money provider may have sent the prompt but its answer never came, the order stays
pending: an approval on the phone then settles it like any other, and an unanswered prompt lapses
with the checkout's expiry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from caisse.catalog import questionnaire
from caisse.catalog.models import Merchant, Product
from caisse.catalog.platform import cart_payee, platform_fee, taking_orders_condition, taking_orders_refusal
from caisse.catalog.service import CartLine, price_cart
from caisse.clock import utcnow
from caisse.config import settings
from caisse.db import Transaction, TransactionCancelled, batch_get
from caisse.errors import CaisseError, InvalidRequest, ProviderUnavailable, SoldOut
from caisse.money import Money, check_maximum
from caisse.orders import capacity, states
from caisse.orders.checkout import (
    CheckoutRequest,
    CheckoutResult,
    LowStock,
    Rules,
    abandon,
    attach,
    attempts_so_far,
    check_replay,
    checkout_answer,
    existing_order,
    new_order,
    next_order_number,
    order_id_for,
    pending_order_transaction,
    return_urls,
    too_many,
    too_many_open,
)
from caisse.orders.models import ORDER_SK, Order, order_pk
from caisse.orders.tickets import check_admissions
from caisse.payments.base import CheckoutSpec, OutcomeUnknown, PaymentProvider
from caisse.payments.registry import load as load_provider
from caisse.payments.registry import provider_for

UNCONFIRMED_PROMPT = (
    "Mobile money did not confirm that it sent the payment prompt. If a prompt appears on your phone you can "
    "approve it and your order is confirmed; if none appears, nothing is charged and the order lapses."
)


@dataclass(frozen=True)
class Draft:
    """One checkout ready to write: the pending order, the transaction that writes it with its
    holds, the provider's checkout to open once it is written, and what a cancelled write means."""

    order: Order
    transaction: Transaction
    spec: CheckoutSpec
    provider: PaymentProvider
    refusal: Callable[[TransactionCancelled], CaisseError | None]
    low_stock: tuple[LowStock, ...] = ()  # limited products this checkout leaves at the merchant's threshold


class OrderSource(Protocol):
    """What a checkout sells (a cart of products, a merchant's time): the hooks the one pipeline
    calls. The pipeline owns the rest: the Idempotency-Key's order, replay, writing before asking
    the provider, and cancelling when the provider refuses."""

    def reads(self, request: CheckoutRequest) -> list[tuple[Any, Any, Any]]:
        """Records to read in the same BatchGetItem as the order an Idempotency-Key names."""
        ...

    def fingerprint(self, request: CheckoutRequest, token_key: str) -> str: ...

    def draft(
        self, found: list[Any], request: CheckoutRequest, order_id: str, now: datetime, fingerprint: str
    ) -> Draft:
        """Check the request against what was read and build the pending order and its writes;
        what is refused raises before anything is written."""
        ...

    def view(self, order: Order) -> dict[str, Any]:
        """What this kind of checkout adds to the answer."""
        ...


def create_checkout(
    request: CheckoutRequest, idempotency_key: str | None, token_key: str, source: OrderSource | None = None
) -> CheckoutResult:
    """The one checkout pipeline: every order, whatever it sells, is started here."""
    source = source or CART
    order_id = order_id_for(idempotency_key)
    now = utcnow()
    fingerprint = source.fingerprint(request, token_key)
    wanted = source.reads(request)
    if idempotency_key:
        wanted.append((Order, order_pk(order_id), ORDER_SK))
    found = batch_get(wanted)
    existing = next((record for record in found if isinstance(record, Order)), None)
    if existing is not None:
        return _replayed(existing, fingerprint, source, token_key)
    draft = source.draft(found, request, order_id, now, fingerprint)
    try:
        draft.transaction.commit()
    except TransactionCancelled as cancelled:
        written = existing_order(cancelled)
        if written is not None:  # the same request, retried while the first was running
            return _replayed(written, fingerprint, source, token_key)
        refusal = draft.refusal(cancelled)
        if refusal is not None:
            raise refusal from cancelled
        raise
    opened = open_checkout(draft.order, draft.spec, draft.provider)
    return CheckoutResult(
        checkout_answer(opened, token_key) | source.view(opened), replayed=False, low_stock=draft.low_stock
    )


def _replayed(existing: Order, fingerprint: str, source: OrderSource, token_key: str) -> CheckoutResult:
    check_replay(existing, fingerprint)
    order = resume(existing)
    return CheckoutResult(checkout_answer(order, token_key) | source.view(order), replayed=True)


class Cart:
    """Products from the catalog, priced on the server, their stock held, under the merchant's
    checkout rules (phone format, attempts, open checkouts, daily capacity)."""

    def reads(self, request: CheckoutRequest) -> list[tuple[Any, Any, Any]]:
        return [(Product, Product.key(sku), None) for sku in dict.fromkeys(sku for sku, _ in request.items)]

    def fingerprint(self, request: CheckoutRequest, token_key: str) -> str:
        return request.fingerprint(token_key)

    def draft(
        self, found: list[Any], request: CheckoutRequest, order_id: str, now: datetime, fingerprint: str
    ) -> Draft:
        products = {record.sku: record for record in found if isinstance(record, Product)}
        cart = price_cart(products, request.items, request.currency)
        rules = Rules(cart.merchant_rules or {})
        rules.check_phone(request.customer_phone)
        rules.check_items_per_order(cart)
        check_admissions(list(cart.lines))
        # A signed-up merchant's cart is a direct charge on its own Stripe account with its plan's fee.
        payee = cart_payee(cart.merchant) if cart.platform_merchant else None
        account = payee.stripe_account if payee else None
        provider = provider_for(request.currency, request.provider, rules.raw.get("routes"), account)
        fee = platform_fee(cart.total, int(payee.platform_fee_bps)) if payee else None
        answers = questionnaire.validate(cart.questionnaire, request.answers)
        limit = capacity.DailyLimit.of(rules.raw)
        if limit is None and request.day is not None:
            raise InvalidRequest("this shop does not take orders by day", code="day_not_offered")
        day = limit.choose(cart.merchant, request.day, now) if limit is not None else None
        attempts = attempts_so_far(rules, cart.merchant, request.client, now)
        counters = rules.open_counters(cart.merchant, request)

        order_number = next_order_number(cart.order_prefix, now.year)
        order = new_order(
            order_id,
            order_number,
            cart,
            request,
            provider.name,
            now,
            rules,
            counters,
            fingerprint,
            answers,
            day,
            connect_account=account,
            platform_fee={**fee.as_dict(), "bps": int(payee.platform_fee_bps)} if fee and payee else None,
        )
        # The phone in clear for the provider's call only (CamPay's prompt): the order holds it encrypted.
        spec = spec_for(order, list(cart.lines), customer_phone=request.customer_phone)
        provider.check(spec)  # what the provider would refuse is refused before anything is written
        check_maximum(spec.total, provider.name)
        daily = (limit, day) if limit is not None and day is not None else None
        transaction = pending_order_transaction(order, cart, now, attempts, counters, daily)
        # Checked in the same transaction, so a catalog shop's cart costs no read of its merchant.
        transaction.check(Merchant, Merchant.key(cart.merchant), None, taking_orders_condition(), "merchant")

        def refusal(cancelled: TransactionCancelled) -> CaisseError | None:
            if "merchant" in cancelled.failed:
                return taking_orders_refusal(cart.merchant)
            sold_out = [label.split(":", 1)[1] for label in cancelled.failed if label.startswith("stock:")]
            if sold_out:
                return SoldOut(
                    f"{products[sold_out[0]].name} sold out while you were checking out",
                    sku=sold_out[0],
                    remaining=0,
                )
            if "capacity" in cancelled.failed and daily is not None:
                return daily[0].refuse(cart.merchant, daily[1], now, full=True)
            if "attempts" in cancelled.failed:
                return too_many(rules)
            for kind in ("email", "ip"):
                if f"open:{kind}" in cancelled.failed:
                    return too_many_open(rules, kind)
            return None

        return Draft(order, transaction, spec, provider, refusal, rules.low_stock(products, cart))

    def view(self, order: Order) -> dict[str, Any]:
        return {}


CART = Cart()


def spec_for(order: Order, lines: list[CartLine] | None = None, **overrides: Any) -> CheckoutSpec:
    """What the provider needs to take the payment of a pending order, from the order itself (so a
    retried request asks for exactly the same checkout)."""
    booking = order.booking.as_dict() if order.booking else {}
    if lines is None:
        lines = [
            CartLine(item.sku, item.name, int(item.quantity), Money(int(item.unit_amount), order.currency), False)
            for item in order.items
        ]
    contact = order.merchant_contact.as_dict() if order.merchant_contact else {}
    values: dict[str, Any] = {
        "order_id": order.order_id,
        "order_number": order.order_number,
        "merchant": order.merchant,
        "merchant_name": contact.get("name") or order.merchant,
        "lines": lines,
        "total": order.total,
        "customer_name": order.customer.name,
        "customer_email": order.customer.email,
        "customer_phone": None,  # encrypted on the order; the caller that needs it passes it
        "locale": order.customer.locale or "en",
        "expires_at": order.expires_at,
        **return_urls(order.order_id),
        "notify_url": f"{settings().public_api_url}/webhooks/{order.provider}",
        "idempotency_key": f"checkout-{order.order_id}",
        "application_fee": order.application_fee,
        "save_card": bool(booking),
    }
    values.update(overrides)
    return CheckoutSpec(**values)


def open_checkout(order: Order, spec: CheckoutSpec, provider: PaymentProvider) -> Order:
    """Ask the provider for the checkout of an order already written as pending, and record it."""
    try:
        opened = provider.open_checkout(spec)
    except OutcomeUnknown:
        # The prompt may be on the customer's phone: keep the order, so an approval settles it.
        return attach(order, None, {"type": "ussd_prompt", "confirmed": False, "message": UNCONFIRMED_PROMPT})
    except InvalidRequest as refused:
        abandon(order.order_id, f"the payment provider refused the checkout: {refused.message}")
        raise
    except ProviderUnavailable:
        abandon(order.order_id, "the payment provider did not answer")
        raise
    return attach(order, opened.provider_ref, opened.next_action)


def resume(existing: Order) -> Order:
    """A retried checkout: its order as written, with the provider's checkout asked for again if
    the first request stopped before recording it (only where asking again is safe: with the same
    idempotency key a card or PayPal checkout comes back the same; a USSD prompt is never re-sent)."""
    if existing.next_action is not None or existing.status != states.PENDING_PAYMENT:
        return existing
    if existing.provider == "campay":
        return existing
    provider = load_provider(existing.provider, existing.connect_account)
    return open_checkout(existing, spec_for(existing), provider)
