#!/usr/bin/env python3
"""Move the encrypted fields of orders written before the PersonalData item (the brief's answers,
a booking's address and notes, the phone) into it, so every later write of those orders costs what
a new order's does (README, "The order item"). The ciphertexts move as they are: nothing is
decrypted, and no KMS call is made.

Idempotent: an order without those fields on its item is left alone; each move is one
transaction, conditional on the order not having moved meanwhile (run it again for any it reports
as moved). Readers handle both kinds of order, so it can run while the stack serves.

`--help` shows how to run it (scripts/table_migration.py: dry run, --apply, the local stack).
"""

from __future__ import annotations

import sys

from table_migration import arguments


def main() -> int:
    args = arguments(__doc__)  # before caisse is imported: it reads the table's name once

    from caisse.db import Transaction, TransactionCancelled
    from caisse.orders import personal
    from caisse.orders.models import Order, PersonalData

    held = Order.answers_sealed.exists() | Order.job_sealed.exists() | Order.customer.phone_sealed.exists()
    changed = moved = 0
    for order in Order.scan(held):
        version = int(order.version)
        record = personal.set_apart(order)
        if record is None:
            continue
        print(f"{order.order_id}: {', '.join(order.sealed_apart or [])} set apart")
        changed += 1
        if not args.apply:
            continue
        tx = Transaction()
        tx.put(record, condition=PersonalData.pk.does_not_exist(), label="personal")
        tx.update(
            Order(order.pk, order.sk),
            actions=[
                Order.sealed_apart.set(order.sealed_apart),
                Order.answers_sealed.remove(),
                Order.job_sealed.remove(),
                Order.customer.phone_sealed.remove(),
            ],
            condition=Order.version == version,
            label="order",
        )
        try:
            tx.commit()
        except TransactionCancelled:
            moved += 1
            print(f"{order.order_id}: moved meanwhile, run again")
    done = "set apart" if args.apply else "to set apart (dry run: --apply writes them)"
    print(f"{changed} orders {done}; {moved} moved")
    return 0


if __name__ == "__main__":
    sys.exit(main())
