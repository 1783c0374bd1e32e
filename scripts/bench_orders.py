#!/usr/bin/env python3
"""One page of the staff order list at 1 000 and at 20 000 orders (make bench-orders): time and
AWS requests per page, for each kind of filter and search, on a local stack of its own.

    .venv/bin/python scripts/bench_orders.py [--sizes 1000 20000] [--runs 7] [--limit 25]

1. Orders are written straight into the orders table (BatchWriteItem), each as checkout writes
   it: the order with its index keys (caisse.orders.index), its first history entry and its
   product lines, spread over a year, five shops, every status, three providers. The stack runs
   without its stream consumers: they would turn 20 000 inserted orders into emails.
2. For each size, each scenario (GET /admin/orders with its filters, as the shop's staff or as
   platform staff across every shop) is asked once to warm the function, then `--runs` times:
   median and range of the wall time of one page, and the AWS requests that page made, counted by
   the local AWS endpoint.
3. Where the time goes: the same index Query and BatchGetItem, timed from this process against the
   same moto server.

Times are the local stack's (moto in server mode, one machine shared with other work): compare
them with each other, not with AWS.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

import httpx

from caisse_local.authorizer import issue_token
from caisse_local.server import free_port
from caisse_local.stack import LocalStack, Ports

SHOPS = {
    "songstudio": ("SC", "USD", [("SONG-STANDARD", "Custom song", 9900), ("SONG-PREMIUM", "Premium song", 24900)]),
    "festival": ("SF", "USD", [("FEST-DAY-PASS", "Day pass", 4500), ("FEST-DONATION-10", "Donation", 1000)]),
    "lumen": ("LU", "USD", [("PHOTO-PRINT-A3", "Fine-art print, A3", 5000)]),
    "ouaga-live": ("OL", "XOF", [("OL-CONCERT-STANDARD", "Concert", 5000), ("OL-CONCERT-VIP", "VIP", 150000)]),
    "fixit-plumbing": ("FX", "AUD", [("callout", "Deposit: call-out", 3000)]),
}
PROVIDERS = {"USD": ("stripe", "paypal"), "XOF": ("paydunya",), "AUD": ("stripe",)}
STATUSES = [  # (status, money state, weight)
    ("pending_payment", "unpaid", 8),
    ("payment_failed", "unpaid", 4),
    ("expired", "unpaid", 10),
    ("cancelled", "unpaid", 3),
    ("paid", "paid", 45),
    ("paid", "partially_refunded", 4),
    ("paid", "refunded", 3),
    ("needs_review", "paid", 2),
    ("tickets_issued", "paid", 21),
]
FIRST = ["Ada", "Awa", "Sam", "Zoë", "Élodie", "Kofi", "Mia", "Noah", "Ines", "Omar", "Lena", "Yao"]
LAST = ["Lovelace", "Ndiaye", "Martin", "Traoré", "Smith", "Nguyen", "Dupont", "Mensah", "Kaya", "Rossi"]


class Bench(LocalStack):
    """The local stack without its stream, queue and topic pollers (see the module's docstring)."""

    def _start_event_sources(self) -> None:
        return None


def orders(start: int, count: int, rng: random.Random, now: datetime):
    """`count` orders numbered from `start`, as checkout writes them: order, history, lines."""
    from caisse.orders import index
    from caisse.orders.models import ORDER_SK, Customer, HistoryEntry, LineItem, Order, order_pk

    statuses = [(s, m) for s, m, w in STATUSES for _ in range(w)]
    for n in range(start, start + count):
        merchant = rng.choice(list(SHOPS))
        prefix, currency, skus = SHOPS[merchant]
        status, money = rng.choice(statuses)
        created = now - timedelta(seconds=rng.randrange(365 * 86400))
        lines = rng.sample(skus, k=min(len(skus), rng.choice((1, 1, 1, 2))))
        items = [
            LineItem(sku=sku, name=name, quantity=rng.randint(1, 3), unit_amount=price) for sku, name, price in lines
        ]
        total = sum(int(i.unit_amount) * int(i.quantity) for i in items)
        order_id = f"b{n:07d}-0000-4000-8000-000000000000"
        order = Order(
            order_pk(order_id),
            ORDER_SK,
            order_id=order_id,
            order_number=f"{prefix}-{created.year}-{n:05d}",
            merchant=merchant,
            merchant_contact={"name": merchant, "staff_email": f"staff@{merchant}.example"},
            status=status,
            money_state=money,
            version=2,
            currency=currency,
            total_amount=total,
            paid_amount=total if money != "unpaid" else None,
            refunded_amount={"refunded": total, "partially_refunded": total // 2}.get(money, 0),
            items=items,
            customer=Customer(
                name=f"{rng.choice(FIRST)} {rng.choice(LAST)}", email=f"customer{n}@bench.example", locale="en"
            ),
            stages=["tickets_issued"],
            provider=rng.choice(PROVIDERS[currency]),
            request_fingerprint="bench",
            created_at=created.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
            updated_at=created,
            expires_at=created + timedelta(minutes=30),
            paid_at=created + timedelta(minutes=2) if money != "unpaid" else None,
        )
        index.index_order(order, created)
        history = HistoryEntry(
            order.pk,
            HistoryEntry.key(2),
            version=2,
            from_status="pending_payment",
            to_status=status,
            at=created,
            actor="provider",
            actor_id="bench",
        )
        yield [order, history, *index.lines(order)]


def fill(start: int, count: int, rng: random.Random, now: datetime) -> tuple[float, dict[str, str]]:
    """Write the orders; how long it took, and the number of each order id written."""
    from caisse.orders.models import OrderRecord

    numbers = {}
    began = time.perf_counter()
    with OrderRecord.batch_write() as batch:
        for records in orders(start, count, rng, now):
            numbers[records[0].order_id] = records[0].order_number
            for record in records:
                batch.save(record)
    return time.perf_counter() - began, numbers


def scenarios(now: datetime, sample_email: str, sample_number: str) -> list[tuple[str, str, dict]]:
    week = {
        "created_from": (now - timedelta(days=60)).date().isoformat(),
        "created_to": (now - timedelta(days=54)).date().isoformat(),
    }
    return [
        ("one shop, newest first", "festival", {}),
        ("status = paid", "festival", {"status": "paid"}),
        ("money state = refunded", "festival", {"money_state": "refunded"}),
        ("provider = paypal", "festival", {"provider": "paypal"}),
        ("product = FEST-DAY-PASS", "festival", {"product": "FEST-DAY-PASS"}),
        ("one week", "festival", week),
        ("customer email", "platform", {"q": sample_email}),
        ("order number", "platform", {"q": sample_number}),
        ("name prefix 'zoe n'", "festival", {"q": "zoe n"}),
        ("status + provider", "festival", {"status": "paid", "provider": "paypal"}),
        ("every shop (platform)", "platform", {}),
        ("every shop, status = paid", "platform", {"status": "paid"}),
    ]


def measure(stack: LocalStack, api: httpx.Client, who: str, params: dict, limit: int, runs: int) -> tuple:
    token = issue_token() if who == "platform" else issue_token(merchant_id=who)
    headers = {"Authorization": f"Bearer {token}"}
    query = {"limit": limit, **params}

    def once() -> tuple[float, dict, int]:
        httpx.delete(f"{stack.aws_url}/_caisse/requests", timeout=5)
        began = time.perf_counter()
        answer = api.get("/admin/orders", params=query, headers=headers)
        elapsed = time.perf_counter() - began
        answer.raise_for_status()
        counts = httpx.get(f"{stack.aws_url}/_caisse/requests", timeout=5).json()
        return elapsed, counts.get("dynamodb", {}), len(answer.json()["orders"])

    once()  # a warm function, as the second page a member of staff asks for finds it
    results = [once() for _ in range(runs)]
    times = sorted(r[0] for r in results)
    return statistics.median(times), times[0], times[-1], results[-1][1], results[-1][2]


def where_time_goes(runs: int) -> tuple[float, float]:
    """One index Query (festival's partition, 25 keys) and one BatchGetItem of those 25 orders,
    timed from this process against the same moto server: median seconds."""
    from caisse.config import settings
    from caisse.db import batch_get, query_index
    from caisse.orders.models import ORDER_SK, Order

    query_times, read_times = [], []
    for _ in range(runs):
        began = time.perf_counter()
        keys = query_index(
            settings().orders_table,
            "orders_by_merchant",
            ("merchant", "festival"),
            ("listed_at", "0", "~"),
            forward=False,
            limit=25,
        )
        query_times.append(time.perf_counter() - began)
        began = time.perf_counter()
        batch_get([(Order, key["pk"]["S"], ORDER_SK) for key in keys])
        read_times.append(time.perf_counter() - began)
    return statistics.median(query_times), statistics.median(read_times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 20000])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--limit", type=int, default=25)
    args = parser.parse_args()

    stack = Bench(Ports(free_port(), free_port(), free_port()))
    stack.start()
    rng = random.Random(12)
    now = datetime.now(UTC)
    written = 0
    numbers: dict[str, str] = {}
    results: dict[int, dict[str, tuple]] = {}
    moto: dict[int, tuple[float, float]] = {}
    try:
        api = httpx.Client(base_url=stack.api_url, timeout=120)
        for size in sorted(args.sizes):
            took, more_numbers = fill(written, size - written, rng, now)
            numbers.update(more_numbers)
            print(f"wrote orders {written}..{size - 1} ({3 * (size - written)}+ items) in {took:.0f} s", flush=True)
            written = size
            results[size] = {}
            sample_number = numbers["b0000007-0000-4000-8000-000000000000"]  # order 7: its shop and year vary
            for name, who, params in scenarios(now, "customer7@bench.example", sample_number):
                results[size][name] = measure(stack, api, who, params, args.limit, args.runs)
                median, low, high, requests, rows = results[size][name]
                detail = ", ".join(f"{op} {n}" for op, n in sorted(requests.items()))
                print(
                    f"  {size:>6} orders | {name:<28} | {median * 1000:6.0f} ms ({low * 1000:.0f}-{high * 1000:.0f}) "
                    f"| {rows:>3} rows | DynamoDB: {detail}",
                    flush=True,
                )
            moto[size] = where_time_goes(args.runs)
    finally:
        stack.stop()

    sizes = sorted(results)
    print(f"\nOne page of {args.limit} (median of {args.runs} after a warm-up), DynamoDB requests per page:")
    print("| list | " + " | ".join(f"{size} orders" for size in sizes) + " | requests per page |")
    print("|---|" + "---:|" * len(sizes) + "---|")
    for name in results[sizes[0]]:
        requests = results[sizes[-1]][name][3]
        detail = ", ".join(f"{op} {n}" for op, n in sorted(requests.items()))
        cells = " | ".join(f"{results[size][name][0] * 1000:.0f} ms" for size in sizes)
        print(f"| {name} | {cells} | {detail} |")
    for size in sizes:
        query, read = moto[size]
        print(
            f"moto at {size} orders: one index Query of 25 keys {query * 1000:.0f} ms, "
            f"BatchGetItem of 25 orders {read * 1000:.0f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
