#!/usr/bin/env python3
"""What the encrypted brief costs a checkout (make bench-brief): the same song studio checkout with
a brief (validated, encrypted with the AWS Encryption SDK under the KMS key) and without one (the
same product and rules, its questionnaire removed), in one run on one local stack, alternating
so both see the same load. Prints latency (median, p90) and the AWS requests per checkout counted
by the local AWS endpoint, by service and operation; then the staff view that decrypts the brief.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from collections import Counter
from datetime import date, timedelta

import httpx

from caisse_local.authorizer import issue_token
from caisse_local.aws import client
from caisse_local.server import free_port
from caisse_local.stack import LocalStack, Ports

BRIEF = {
    "occasion": "wedding",
    "for_whom": "Awa",
    "from_whom": "Jean",
    "story": "We met at the Douala market in the rain; she laughed at my umbrella. " * 20,
    "due_date": (date.today() + timedelta(days=90)).isoformat(),
    "style": "makossa",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=40, help="checkouts of each kind")
    args = parser.parse_args()

    stack = LocalStack(Ports(free_port(), free_port(), free_port()), max_concurrency=1)
    stack.start()
    try:
        _add_product_without_brief(stack)
        api = httpx.Client(base_url=stack.api_url, timeout=30)
        days = iter(range(40, 365))  # clear of the demo's closed days around new year
        kinds = {
            "with a brief": lambda: {"sku": "SONG-STANDARD", "answers": BRIEF},
            "without a brief": lambda: {"sku": "SONG-BENCH-NO-BRIEF"},
        }
        results: dict[str, list[tuple[float, Counter]]] = {kind: [] for kind in kinds}
        first_brief = _checkout(stack, api, kinds["with a brief"](), next(days))  # cold: the data key comes from KMS
        _checkout(stack, api, kinds["without a brief"](), next(days))
        for _ in range(args.rounds):
            for kind, make in kinds.items():
                elapsed, counts, _ = _checkout(stack, api, make(), next(days))
                results[kind].append((elapsed, counts))
        order_id = first_brief[2]
        staff = {"Authorization": f"Bearer {issue_token(merchant_id='songstudio')}"}
        views = []
        for _ in range(args.rounds):
            views.append(_timed(stack, lambda: api.get(f"/admin/orders/{order_id}", headers=staff)))
    finally:
        stack.stop()

    print(f"song studio checkout, {args.rounds} of each, alternating, one function container each (ms):")
    print(f"{'':18} {'median':>8} {'p90':>8}   AWS requests per checkout")
    for kind, runs in results.items():
        times = sorted(t for t, _ in runs)
        counts = _per_call([c for _, c in runs])
        print(f"{kind:18} {statistics.median(times):8.1f} {times[int(len(times) * 0.9) - 1]:8.1f}   {counts}")
    print(f"first checkout with a brief (data key from KMS): {first_brief[0]:.1f} ms   {_per_call([first_brief[1]])}")
    times = sorted(t for t, _ in views)
    print(
        f"staff view decrypting the brief: median {statistics.median(times):.1f} ms, "
        f"p90 {times[int(len(times) * 0.9) - 1]:.1f} ms   {_per_call([c for _, c in views])}"
    )
    return 0


def _add_product_without_brief(stack: LocalStack) -> None:
    """SONG-STANDARD as it is (merchant rules, daily capacity, workflow), without its questionnaire."""
    table = client("dynamodb", stack.aws_url)
    name = stack.template.ref("CatalogTable", stack.ctx)
    item = table.get_item(TableName=name, Key={"pk": {"S": "PRODUCT#SONG-STANDARD"}}, ConsistentRead=True)["Item"]
    item = {**item, "pk": {"S": "PRODUCT#SONG-BENCH-NO-BRIEF"}, "sku": {"S": "SONG-BENCH-NO-BRIEF"}}
    item.pop("questionnaire")
    table.put_item(TableName=name, Item=item)


def _checkout(stack: LocalStack, api: httpx.Client, what: dict, day: int) -> tuple[float, Counter, str]:
    body = {
        "items": [{"sku": what["sku"], "quantity": 1}],
        "currency": "USD",
        "customer": {"name": "Bench", "email": f"bench-{uuid.uuid4().hex[:8]}@example.test"},
        "day": (date.today() + timedelta(days=day)).isoformat(),
        **({"answers": what["answers"]} if "answers" in what else {}),
    }
    holder: dict = {}

    def call() -> httpx.Response:
        holder["answer"] = api.post("/checkouts", json=body)
        return holder["answer"]

    elapsed, counts = _timed(stack, call)
    answer = holder["answer"]
    if answer.status_code != 201:
        raise RuntimeError(answer.text)
    return elapsed, counts, answer.json()["order_id"]


def _timed(stack: LocalStack, call) -> tuple[float, Counter]:
    stack.event_sources.drain(timeout=30)  # the stream consumer's reads are not the checkout's
    httpx.delete(f"{stack.aws_url}/_caisse/requests", timeout=5)
    started = time.perf_counter()
    answer = call()
    elapsed = (time.perf_counter() - started) * 1000
    if answer.status_code >= 400:
        raise RuntimeError(answer.text)
    counts = httpx.get(f"{stack.aws_url}/_caisse/requests", timeout=5).json()
    flat = Counter()
    for service in ("dynamodb", "kms", "ssm"):
        for operation, n in counts.get(service, {}).items():
            flat[f"{service}:{operation}"] += n
    return elapsed, flat


def _per_call(counts: list[Counter]) -> str:
    total = Counter()
    for c in counts:
        total.update(c)
    return ", ".join(f"{key} {n / len(counts):.2f}".rstrip("0").rstrip(".") for key, n in sorted(total.items()))


if __name__ == "__main__":
    sys.exit(main())
