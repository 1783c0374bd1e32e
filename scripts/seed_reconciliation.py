#!/usr/bin/env python3
"""Seed a running local stack with orders paid at their provider whose webhooks never came, for
reconciliation to find: the e2e test of a day's reconciliation and `make bench-reconcile`.

Each order is written straight into the orders table (BatchWriteItem: the order, its first
history entry and its provider reference), and its payment is made for real at the provider
sandbox through the provider's own API and pages (a Checkout Session paid, a PayPal order
approved, a CamPay prompt approved on the handset, a PayDunya invoice paid), with the sandbox's
webhooks switched off, as when they are lost. Reconciliation itself then runs untouched.

    scripts/seed_reconciliation.py --orders 2000      # Stripe 70 %, PayPal, CamPay, PayDunya 10 % each
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx

from caisse_local.runtime import apply_environment
from caisse_local.stack import LocalStack, Ports

SHARES = {"stripe": 0.7, "paypal": 0.1, "campay": 0.1, "paydunya": 0.1}
WANTED = {  # provider: (sku, currency, phone)
    "stripe": ("FEST-DAY-PASS", "USD", None),
    "paypal": ("FEST-DAY-PASS", "USD", None),
    "campay": ("SONG-STANDARD", "XAF", "237677777777"),
    "paydunya": ("OL-CONCERT-STANDARD", "XOF", "+22670000000"),
}
PAY_PATHS = {
    "paypal": "/paypal/checkoutnow/{ref}/pay",
    "campay": "/handset/{ref}/approve",
    "paydunya": "/paydunya/checkout/invoice/{ref}/pay",
}


def seed(stack: LocalStack, count: int, workers: int = 8) -> dict:
    from caisse.catalog.models import Product
    from caisse.catalog.service import price_cart
    from caisse.clock import utcnow
    from caisse.db import batch_get
    from caisse.orders import states
    from caisse.orders.checkout import CheckoutRequest, Rules, new_order
    from caisse.orders.models import HistoryEntry, Order, ProviderRef
    from caisse.orders.service import REF_SK
    from caisse.payments.checkout import spec_for
    from caisse.payments.registry import load as load_provider

    now = utcnow()
    skus = sorted({sku for sku, _, _ in WANTED.values()})
    products = {p.sku: p for p in batch_get([(Product, Product.key(sku), None) for sku in skus])}
    plan = [name for name, share in SHARES.items() for _ in range(round(count * share))][:count]
    sandbox = httpx.Client(base_url=stack.sandbox_url, timeout=30, headers={"Accept": "application/json"})

    def one(number: int, provider_name: str) -> list:
        sku, currency, phone = WANTED[provider_name]
        cart = price_cart(products, [(sku, 1)], currency)
        request = CheckoutRequest(
            items=((sku, 1),),
            currency=currency,
            customer_name=f"Reconciled {number}",
            customer_email=f"reconcile-{number}@example.test",
            locale="en",
            provider=provider_name,
        )
        created = now - timedelta(minutes=1 + number % (36 * 60))  # spread over the last 36 hours
        order_id = str(uuid.uuid4())
        number_text = f"{cart.order_prefix}-R{number:05d}"
        fingerprint = request.fingerprint("seed-reconciliation-not-a-key")
        order = new_order(order_id, number_text, cart, request, provider_name, created, Rules({}), [], fingerprint)
        order.expires_at = now + timedelta(days=1)  # the expiry sweep leaves them to reconciliation
        # The phone goes to the provider only (a seeded order keeps none: no KMS key in this process).
        spec = spec_for(order, list(cart.lines), customer_phone=phone)
        opened = load_provider(provider_name).open_checkout(spec)
        order.provider_ref, order.next_action = opened.provider_ref, opened.next_action
        if provider_name == "stripe":
            answer = sandbox.post(f"{opened.next_action['url']}/pay")
        else:
            answer = sandbox.post(PAY_PATHS[provider_name].format(ref=opened.provider_ref))
        answer.raise_for_status()
        history = HistoryEntry(
            order.pk,
            HistoryEntry.key(1),
            version=1,
            from_status=None,
            to_status=states.PENDING_PAYMENT,
            to_money=states.UNPAID,
            at=created,
            actor="customer",
            actor_id="checkout",
        )
        reference = ProviderRef(
            ProviderRef.key(provider_name, opened.provider_ref), REF_SK, order_id=order_id, provider=provider_name
        )
        return [order, history, reference]

    started = time.monotonic()
    sandbox.post("/_sandbox/config", json={"drop_webhooks": True}).raise_for_status()
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            records = [r for batch in pool.map(one, range(len(plan)), plan) for r in batch]
    finally:
        sandbox.post("/_sandbox/reset-config").raise_for_status()
    paid_at = time.monotonic()
    with Order.batch_write() as batch:
        for record in records:
            batch.save(record)
    written = time.monotonic()
    orders = [r for r in records if isinstance(r, Order)]
    return {
        "orders": [order.order_id for order in orders],
        "by_provider": {name: plan.count(name) for name in SHARES},
        "provider_seconds": round(paid_at - started, 1),
        "table_seconds": round(written - paid_at, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--ids", action="store_true", help="print the seeded order ids (JSON) as well")
    args = parser.parse_args()
    stack = LocalStack(Ports.from_env())
    stack.configure_process()  # the environment the running stack gives its functions
    apply_environment([stack.template.function("CreateCheckoutFunction", stack.ctx)])
    seeded = seed(stack, args.orders, args.workers)
    if not args.ids:
        seeded.pop("orders")
    print(json.dumps(seeded))
    return 0


if __name__ == "__main__":
    sys.exit(main())
