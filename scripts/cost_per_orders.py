#!/usr/bin/env python3
"""What 1 000 orders cost on AWS (make cost), for each shop's typical order, from what one order
does on the local stack and AWS's published prices for us-east-1 (Lambda on arm64).

Measured per order, on one local stack (the mean over --orders orders per shop, after one warm-up
order): the invocations of every function the order passed through (checkout, the provider's
webhook, the stream consumer, the email function, the figures function) with the wall time of each
handler and the memory size template.yaml gives it; the DynamoDB read and write request units,
sized from the items each call read or wrote (caisse_local.aws.capacity_units: updates and deletes
are sized from the request, a lower bound); every SQS, KMS, SES and SSM request; the API requests;
the bytes of the functions' log lines. Estimated, and said so in the output: Lambda's own START,
END and REPORT lines (about 300 bytes per invocation, not emitted locally); warm invocations only
(a cold start also bills its init); the handler's wall time on this loaded 2-core machine against
moto, which is slower than DynamoDB, so the Lambda figures are an upper bound. Not counted: free
tiers, fixed monthly costs (the KMS keys, alarms, dashboard, custom metrics), data transfer, S3 and
the photographers' galleries (images are not part of an order), a booking's balance charged after
the job, and the scheduled jobs that run whatever the number of orders.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
from bench_brief import BRIEF  # the song brief make bench-brief measures (scripts/ is on the path)

from caisse_local.server import free_port
from caisse_local.stack import LocalStack, Ports, output_to

ROOT = Path(__file__).resolve().parents[1]
PRICES_READ_ON = "2026-12-01"
# us-east-1, each with the page that publishes it and the copy of it this was checked against.
PRICES = {
    "lambda_gb_s": (
        0.0000133334,
        "Lambda duration, Arm, first 7.5 billion GB-s/month: aws.amazon.com/lambda/pricing/",
    ),
    "lambda_request": (0.20 / 1e6, "Lambda requests, $0.20 per million: aws.amazon.com/lambda/pricing/"),
    "api_request": (
        3.50 / 1e6,
        "API Gateway REST API, first 333 million/month: aws.amazon.com/api-gateway/pricing/",
    ),
    "dynamodb_wru": (
        0.625 / 1e6,
        "DynamoDB on-demand write request units (since the Nov 2024 cut): aws.amazon.com/dynamodb/pricing/on-demand/",
    ),
    "dynamodb_rru": (0.125 / 1e6, "DynamoDB on-demand read request units: aws.amazon.com/dynamodb/pricing/on-demand/"),
    "sqs_fifo_request": (0.50 / 1e6, "SQS FIFO requests, per 64 KB chunk: aws.amazon.com/sqs/pricing/"),
    "sqs_request": (0.40 / 1e6, "SQS standard requests: aws.amazon.com/sqs/pricing/"),
    "ses_email": (0.10 / 1000, "SES outbound email, $0.10 per 1 000: aws.amazon.com/ses/pricing/"),
    "kms_request": (0.03 / 10000, "KMS symmetric requests, $0.03 per 10 000: aws.amazon.com/kms/pricing/"),
    "logs_gb": (0.50, "CloudWatch Logs ingestion, Standard class, per GB: aws.amazon.com/cloudwatch/pricing/"),
}
LAMBDA_PLATFORM_LOG_BYTES = 300  # START, END and REPORT lines per invocation (estimated)


def shops() -> dict[str, tuple[str, dict]]:
    """Each shop's typical order: its description and the checkout it sends."""
    day = iter(range(40, 365))

    def studio_day() -> str:
        catalog = json.loads((ROOT / "data" / "catalog.json").read_text())
        studio = next(m for m in catalog["merchants"] if m["id"] == "songstudio")
        closed = set(studio["rules"]["capacity"]["blackout_dates"])
        while (value := (date.today() + timedelta(days=next(day))).isoformat()) in closed:
            pass
        return value

    return {
        "song studio": (
            "one standard song, USD, Stripe, with its brief",
            lambda api: (
                {"items": [{"sku": "SONG-STANDARD", "quantity": 1}], "currency": "USD"}
                | {"answers": BRIEF, "day": studio_day()}
            ),
        ),
        "festival": (
            "two day passes, USD, Stripe",
            lambda api: {"items": [{"sku": "FEST-DAY-PASS", "quantity": 2}], "currency": "USD"},
        ),
        "photo studio": (
            "an A3 print, USD, Stripe (its sessions are Connect bookings, like the tradie's)",
            lambda api: {"items": [{"sku": "PHOTO-PRINT-A3", "quantity": 1}], "currency": "USD"},
        ),
        "Ouaga Live": (
            "two concert tickets, XOF, PayDunya",
            lambda api: {
                "items": [{"sku": "OL-CONCERT-STANDARD", "quantity": 2}],
                "currency": "XOF",
                "customer_phone": f"+2267{uuid.uuid4().int % 10**7:07d}",
            },
        ),
        "tradie (Fixit Plumbing)": ("a call-out's deposit, AUD, Stripe Connect, slots looked up first", booking),
    }


_weeks = iter(range(2, 60))


def booking(api: httpx.Client) -> dict:
    """A tradie's customer looks at a Tuesday's free slots and books the first one (a week each)."""
    today = datetime.now(UTC).date()
    day = today + timedelta(days=(1 - today.weekday()) % 7 + 7 * next(_weeks))
    free = api.get("/merchants/fixit-plumbing/availability", params={"service": "callout", "date": day.isoformat()})
    start = free.json()["slots"][0]["start"]
    return {"booking": {"merchant": "fixit-plumbing", "service": "callout", "start": start}, "currency": "AUD"}


def one_order(stack: LocalStack, api: httpx.Client, make, log: Path) -> dict:
    """Run one order from checkout (and what the customer reads to make it) to its last email;
    what it used."""
    stack.event_sources.drain(timeout=60)
    httpx.delete(f"{stack.aws_url}/_caisse/requests", timeout=10)
    before = {name: len(pool.invocations) for name, pool in stack.pools.items()}
    log_offset = log.stat().st_size
    body = make(api)
    customer = {"name": "Cost Bench", "email": f"cost-{uuid.uuid4().hex[:8]}@example.test", "locale": "en"}
    phone = body.pop("customer_phone", None)
    if phone:
        customer["phone"] = phone
    answer = api.post("/checkouts", json={**body, "customer": customer})
    if answer.status_code != 201:
        raise RuntimeError(answer.text)
    order = answer.json()
    httpx.post(f"{order['next_action']['url'].split('?')[0].rstrip('/')}/pay", timeout=30)
    httpx.post(f"{stack.sandbox_url}/_sandbox/deliveries/flush", params={"timeout": 30}, timeout=35)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        emails = httpx.get(
            f"{stack.aws_url}/_caisse/emails", params={"source": f"order:{order['order_id']}"}, timeout=10
        ).json()
        if any(e["kind"] == "order_confirmed" for e in emails):
            break
        time.sleep(0.2)
    else:
        raise RuntimeError(f"no confirmation email for {order['order_id']}")
    stack.event_sources.drain(timeout=60)
    requests = httpx.get(f"{stack.aws_url}/_caisse/requests", timeout=10).json()
    units = httpx.get(f"{stack.aws_url}/_caisse/requests", params={"units": "1"}, timeout=10).json()
    invocations = {
        name: pool.invocations[before[name] :]
        for name, pool in stack.pools.items()
        if len(pool.invocations) > before[name]
    }
    sys.stdout.flush()
    with log.open("rb") as lines:
        lines.seek(log_offset)
        log_bytes = sum(len(line) for line in lines if line.startswith(b"{"))
    return {
        "requests": requests,
        "units": units,
        "invocations": invocations,
        "log_bytes": log_bytes,
        "emails": len(emails),
    }


def cost(stack: LocalStack, runs: list[dict]) -> tuple[list[tuple[str, str, float]], dict]:
    """Per 1 000 orders: (line, what it counts, dollars), from the mean of the runs."""
    n = len(runs)
    gb_s: float = 0
    invocations = 0
    per_function: dict[str, list[float]] = defaultdict(list)
    for run in runs:
        for name, calls in run["invocations"].items():
            memory_gb = stack.pools[name].spec.memory_size / 1024
            for call in calls:
                gb_s += memory_gb * max(1, round(call.duration_ms)) / 1000
                per_function[name].append(call.duration_ms)
                invocations += 1
    requests: Counter = Counter()
    for run in runs:
        for service, operations in run["requests"].items():
            for operation, count in operations.items():
                requests[(service, operation)] += count
    # Sends, deletes and visibility changes as measured; one receive per message deleted (Lambda's
    # pollers take a batch per receive, and their idle long polls cost the same at any volume):
    # the local poller's own receives are not Lambda's.
    sent = ("SendMessage", "SendMessageBatch", "DeleteMessage", "DeleteMessageBatch", "ChangeMessageVisibility")
    deletes = sum(c for (service, op), c in requests.items() if service == "sqs" and op.startswith("DeleteMessage"))
    sqs = sum(c for (service, op), c in requests.items() if service == "sqs" and op in sent) + deletes
    kms = sum(c for (service, _), c in requests.items() if service == "kms")
    ses = sum(c for (service, op), c in requests.items() if service in ("ses", "sesv2") and "Send" in op)
    api = sum(len(calls) for run in runs for name, calls in run["invocations"].items() if _api(stack, name))
    wru = sum(run["units"].get("write", 0) for run in runs)
    rru = sum(run["units"].get("read", 0) for run in runs)
    log_gb = (
        sum(run["log_bytes"] + LAMBDA_PLATFORM_LOG_BYTES * sum(map(len, run["invocations"].values())) for run in runs)
        / 1e9
    )
    scale = 1000 / n

    def line(label: str, what: str, quantity: float, price: str) -> tuple[str, str, float]:
        return label, what, quantity * scale * PRICES[price][0]

    lines = [
        line("Lambda duration", f"{gb_s / n:.3f} GB-s per order", gb_s, "lambda_gb_s"),
        line("Lambda requests", f"{invocations / n:.1f} invocations per order", invocations, "lambda_request"),
        line("API Gateway", f"{api / n:.1f} API requests per order", api, "api_request"),
        line("DynamoDB writes", f"{wru / n:.1f} WRU per order", wru, "dynamodb_wru"),
        line("DynamoDB reads", f"{rru / n:.1f} RRU per order", rru, "dynamodb_rru"),
        line("SQS", f"{sqs / n:.1f} FIFO requests per order (receives estimated)", sqs, "sqs_fifo_request"),
        line("SES", f"{ses / n:.1f} emails per order", ses, "ses_email"),
        line("KMS", f"{kms / n:.1f} requests per order", kms, "kms_request"),
        line(
            "CloudWatch Logs",
            f"{log_gb * 1e9 / n / 1000:.1f} KB per order (with ~300 B/invocation estimated)",
            log_gb,
            "logs_gb",
        ),
    ]
    functions = {name: (len(d) / n, statistics.median(d)) for name, d in sorted(per_function.items())}
    return lines, functions


def _api(stack: LocalStack, name: str) -> bool:
    """Whether the function answers API Gateway (each of its invocations was one API request)."""
    return any(event.type == "Api" for event in stack.pools[name].spec.events)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=5, help="orders measured per shop (after one warm-up)")
    args = parser.parse_args()
    log = ROOT / ".bench" / "cost.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.unlink(missing_ok=True)
    log.touch()
    with output_to(log) as console:
        stack = LocalStack(Ports(free_port(), free_port(), free_port()), max_concurrency=1)
        stack.start()
        try:
            report(stack, args.orders, log, console)
        finally:
            stack.stop()
    return 0


def report(stack: LocalStack, orders: int, log: Path, console) -> None:
    def say(text: str = "") -> None:
        console.write(text + "\n")

    api = httpx.Client(base_url=stack.api_url, timeout=60)
    say(f"Cost of 1 000 orders on AWS, us-east-1, Lambda arm64; measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    say(f"on the local stack, {orders} orders per shop after one warm-up; prices read on {PRICES_READ_ON}.")
    for shop, (what, make) in shops().items():
        one_order(stack, api, make, log)  # warm-up: cold starts and first KMS data keys are not typical
        runs = [one_order(stack, api, make, log) for _ in range(orders)]
        lines, functions = cost(stack, runs)
        total = sum(dollars for _, _, dollars in lines)
        say()
        say(f"{shop}: {what}  -  ${total:.3f} per 1 000 orders")
        for label, measured, dollars in lines:
            say(f"  {label:16} ${dollars:8.4f}   {measured}")
        say(
            "  functions (invocations per order, median handler ms): "
            + ", ".join(
                f"{name.removesuffix('Function')} {count:g}x {median:.0f} ms"
                for name, (count, median) in functions.items()
            )
        )
    say()
    say("Estimated, not measured: Lambda's START/END/REPORT log lines (~300 B per invocation); warm")
    say("invocations only; handler times against moto on a loaded 2-core machine (an upper bound);")
    say("DynamoDB updates and deletes sized from the request (a lower bound); SQS receives taken as one")
    say("per message deleted. Not counted: free tiers, fixed monthly costs (keys, alarms, dashboard,")
    say("metrics), data transfer, S3, scheduled jobs, the customer's visits to the order page.")
    say("Prices (us-east-1):")
    for value, source in PRICES.values():
        say(f"  {value:.10g}  {source}")


if __name__ == "__main__":
    sys.exit(main())
