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

from typing import Any

from caisse.catalog import questionnaire
from caisse.catalog.service import CartLine, price_cart
from caisse.clock import utcnow
from caisse.config import settings
from caisse.db import TransactionCancelled
from caisse.errors import InvalidRequest, ProviderUnavailable, SoldOut
from caisse.money import Money, check_maximum
from caisse.orders import capacity, states
from caisse.orders.checkout import (
    CheckoutRequest,
    CheckoutResult,
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
    read_cart,
    return_urls,
    too_many,
    too_many_open,
)
from caisse.orders.models import Order
from caisse.orders.tickets import check_admissions
from caisse.payments.base import CheckoutSpec, OutcomeUnknown, PaymentProvider
from caisse.payments.registry import load as load_provider
from caisse.payments.registry import provider_for

UNCONFIRMED_PROMPT = (
    "Mobile money did not confirm that it sent the payment prompt. If a prompt appears on your phone you can "
    "approve it and your order is confirmed; if none appears, nothing is charged and the order lapses."
)


def create_checkout(request: CheckoutRequest, idempotency_key: str | None, token_key: str) -> CheckoutResult:
    order_id = order_id_for(idempotency_key)
    now = utcnow()
    fingerprint = request.fingerprint(token_key)
    skus = list(dict.fromkeys(sku for sku, _ in request.items))
    products, existing = read_cart(skus, order_id if idempotency_key else None)
    if existing is not None:
        check_replay(existing, fingerprint)
        return CheckoutResult(checkout_answer(resume(existing), token_key), replayed=True)
    cart = price_cart(products, request.items, request.currency)
    rules = Rules(cart.merchant_rules or {})
    rules.check_phone(request.customer_phone)
    rules.check_items_per_order(cart)
    check_admissions(list(cart.lines))
    provider = provider_for(request.currency, request.provider, rules.raw.get("routes"))
    answers = questionnaire.validate(cart.questionnaire, request.answers)
    limit = capacity.DailyLimit.of(rules.raw)
    if limit is None and request.day is not None:
        raise InvalidRequest("this shop does not take orders by day", code="day_not_offered")
    day = limit.choose(cart.merchant, request.day, now) if limit is not None else None
    attempts = attempts_so_far(rules, cart.merchant, request.client, now)
    counters = rules.open_counters(cart.merchant, request)

    order_number = next_order_number(cart.order_prefix, now.year)
    order = new_order(
        order_id, order_number, cart, request, provider.name, now, rules, counters, fingerprint, answers, day
    )
    # The phone in clear for the provider's call only (CamPay's prompt): the order holds it encrypted.
    spec = spec_for(order, list(cart.lines), customer_phone=request.customer_phone)
    provider.check(spec)  # what the provider would refuse is refused before anything is written
    check_maximum(spec.total, provider.name)
    try:
        pending_order_transaction(
            order, cart, now, attempts, counters, (limit, day) if limit is not None and day is not None else None
        ).commit()
    except TransactionCancelled as cancelled:
        found = existing_order(cancelled)
        if found is not None:  # the same request, retried while the first was running
            check_replay(found, fingerprint)
            return CheckoutResult(checkout_answer(resume(found), token_key), replayed=True)
        sold_out = [label.split(":", 1)[1] for label in cancelled.failed if label.startswith("stock:")]
        if sold_out:
            raise SoldOut(
                f"{products[sold_out[0]].name} sold out while you were checking out",
                sku=sold_out[0],
                remaining=0,
            ) from cancelled
        if "capacity" in cancelled.failed and limit is not None and day is not None:
            raise limit.refuse(cart.merchant, day, now, full=True) from cancelled
        if "attempts" in cancelled.failed:
            raise too_many(rules) from cancelled
        for kind in ("email", "ip"):
            if f"open:{kind}" in cancelled.failed:
                raise too_many_open(rules, kind) from cancelled
        raise
    return CheckoutResult(
        checkout_answer(open_checkout(order, spec, provider), token_key),
        replayed=False,
        low_stock=rules.low_stock(products, cart),
    )


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
    fee = booking.get("platform_fee")
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
        "application_fee": Money(int(fee["amount"]), fee["currency"]) if fee else None,
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
