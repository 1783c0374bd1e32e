#!/usr/bin/env python3
"""Give orders written before the staff lists existed (issue 12) their index keys and product
lines, so /admin/orders, its filters, searches and export find them.

Also gives catalog records what the catalog's by_parent index lists (a merchant's products and
services, every merchant): run `scripts/seed_catalog.py` once instead if data/catalog.json is the
shop's catalog (the seed is an upsert that sets them).

Idempotent: orders that have `listed_at` are left alone; each update is conditional on the order
not having moved meanwhile (run it again for any it reports as moved). Orders created within the
same second keep their relative order by id (the time they were created is only known to the
second for them).

`--help` shows how to run it (scripts/table_migration.py: dry run, --apply, the local stack).
"""

from __future__ import annotations

import sys
from datetime import datetime

from table_migration import arguments


def main() -> int:
    args = arguments(__doc__)  # before caisse is imported: it reads the table's name once

    from caisse.db import Transaction, TransactionCancelled
    from caisse.orders import index
    from caisse.orders.models import Order

    changed = moved = 0
    for order in Order.scan(Order.listed_at.does_not_exist()):
        created = datetime.fromisoformat(order.created_at.replace("Z", "+00:00"))
        index.index_order(order, created)
        print(f"{order.order_id}: listed at {order.listed_at}")
        changed += 1
        if not args.apply:
            continue
        tx = Transaction()
        keys = ("listed_at", "merchant_status", "merchant_money", "merchant_provider", "email_key", "name_key")
        if order.booking_start:
            keys += ("booking_merchant", "booking_start")
        attributes = Order.get_attributes()
        tx.update(
            Order(order.pk, order.sk),
            actions=[attributes[name].set(getattr(order, name)) for name in keys],
            condition=Order.listed_at.does_not_exist() & (Order.version == int(order.version)),
            label="order",
        )
        for line in index.lines(order):
            tx.put(line, label=f"line:{line.sku}")
        try:
            tx.commit()
        except TransactionCancelled:
            moved += 1
            print(f"{order.order_id}: moved meanwhile, run again")
    print(f"{changed} orders {'indexed' if args.apply else 'to index (dry run: --apply writes them)'}; {moved} moved")
    return 0


if __name__ == "__main__":
    sys.exit(main())
