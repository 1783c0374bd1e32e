#!/usr/bin/env python3
"""Email throughput on the local stack (make bench-email): a batch of orders is paid at once
(signed Stripe events posted concurrently), and the clock runs until every confirmation email has
been accepted by the emulated SES. Prints emails per second for the whole pipeline (stream →
queue → email function → SES) and the AWS requests per email, counted by the local AWS endpoint.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

from caisse_local.server import free_port
from caisse_local.stack import LocalStack, Ports
from provider_sandbox.signing import checkout_completed, sign


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=100)
    args = parser.parse_args()

    stack = LocalStack(Ports(free_port(), free_port(), free_port()))
    stack.start()
    try:
        api = httpx.Client(base_url=stack.api_url, timeout=30)
        secret = stack.parameter("stripe/webhook_secret")
        body = {"items": [{"sku": "FEST-DONATION-10", "quantity": 1}], "currency": "USD"}
        with ThreadPoolExecutor(8) as pool:
            orders = list(
                pool.map(
                    lambda n: api.post(
                        "/checkouts",
                        json={**body, "customer": {"name": f"Bench {n}", "email": f"bench{n}@example.test"}},
                    ).json(),
                    range(args.orders),
                )
            )
        events = [checkout_completed(order, f"pi_{uuid.uuid4().hex[:12]}") for order in orders]
        stack.event_sources.drain(timeout=60)
        httpx.delete(f"{stack.aws_url}/_caisse/requests", timeout=5)
        before = 0
        started = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda e: api.post("/webhooks/stripe", content=e, headers=_headers(e, secret)), events))
        settled = time.perf_counter()
        deadline = time.monotonic() + 300
        first_email = None
        while (count := _emails(stack) - before) < args.orders:
            if first_email is None and count > 0:
                first_email = time.perf_counter()
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {count} of {args.orders} emails after 300 s")
            time.sleep(0.05)
        done = time.perf_counter()
        first_email = first_email or done
        stack.event_sources.drain(timeout=60)
        counts = httpx.get(f"{stack.aws_url}/_caisse/requests", timeout=5).json()
    finally:
        stack.stop()

    sent = args.orders
    print(f"{sent} orders paid at once; all {sent} confirmation emails sent {done - started:.2f} s later")
    rate = sent / (done - started)
    print(f"  webhooks answered in {settled - started:.2f} s; emails per second, whole pipeline: {rate:.1f}")
    dispatch = (sent - 1) / max(done - first_email, 1e-6)
    print(f"  dispatcher alone (first email to last): {done - first_email:.2f} s, {dispatch:.1f} emails per second")
    total = 0
    print("AWS requests during that time, per email:")
    for service in ("dynamodb", "dynamodbstreams", "sqs", "sesv2", "ssm"):
        operations = counts.get(service, {})
        if not operations:
            continue
        calls = sum(operations.values())
        total += calls if service != "dynamodbstreams" else 0
        detail = ", ".join(f"{op} {n / sent:.2f}" for op, n in sorted(operations.items()))
        print(f"  {service:<16} {calls / sent:5.2f}   ({detail})")
    print(
        "  (dynamodbstreams is the local poller reading the stream, as Lambda's own mapping does; not billed per call)"
    )
    print(f"  total excluding stream polling: {total / sent:.2f} requests per paid order, webhook included")
    return 0


def _headers(body: bytes, secret: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "Stripe-Signature": sign(body, secret)}


def _emails(stack: LocalStack) -> int:
    """Emails SES accepted so far, from the endpoint's request counter (cheap: moto's data.json
    serialises every table and would slow down what is being measured)."""
    counts = httpx.get(f"{stack.aws_url}/_caisse/requests", timeout=30).json()
    return counts.get("sesv2", {}).get("SendEmail", 0)


if __name__ == "__main__":
    sys.exit(main())
