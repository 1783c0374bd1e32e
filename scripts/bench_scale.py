#!/usr/bin/env python3
"""The local stack as its data grows (make bench-scale): orders go through the real API over HTTP,
one after the other, each a checkout then its paid Stripe webhook (signed as the sandbox signs
them, so the stream, the notification queue and the email function run for each), and at each
checkpoint the event sources are drained and the figures printed: the emulated AWS process's
resident memory, the checkout's and the webhook's p50 over the last --window orders.

    .venv/bin/python scripts/bench_scale.py [--orders 5000] [--checkpoints 100,1000,2500,5000]

Goal (issue 19): RSS growth under 200 MB and checkout p50 within 1.5x of its value at 100 orders.
The functions' logs go to .bench/scale.log. The run stops early if the AWS process passes
--max-rss-mb (moto used to keep everything it ever made).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import httpx

from caisse_local.server import free_port
from caisse_local.stack import LocalStack, Ports, output_to
from provider_sandbox.signing import checkout_completed, sign

ROOT = Path(__file__).resolve().parent.parent
CART = {"items": [{"sku": "FEST-DONATION-10", "quantity": 1}], "currency": "USD"}  # no brief, no daily capacity


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def aws_pid(stack: LocalStack) -> int:
    return next(child.pid for child in stack.children if "caisse_local.aws" in child.args)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--checkpoints", default="100,1000,2500,5000")
    parser.add_argument("--window", type=int, default=100, help="orders each p50 is taken over")
    parser.add_argument("--max-rss-mb", type=float, default=4000)
    args = parser.parse_args()
    checkpoints = sorted({int(n) for n in args.checkpoints.split(",") if int(n) <= args.orders} | {args.orders})

    log = ROOT / ".bench" / "scale.log"
    log.unlink(missing_ok=True)
    with output_to(log) as console:
        stack = LocalStack(Ports(free_port(), free_port(), free_port()))
        stack.start()
        try:
            run(stack, args, checkpoints, console)
        finally:
            stack.stop()
    print(f"the local stack's log is in {log.relative_to(ROOT)}")
    return 0


def run(stack: LocalStack, args: argparse.Namespace, checkpoints: list[int], console) -> None:
    def say(text: str) -> None:
        console.write(text + "\n")

    api = httpx.Client(base_url=stack.api_url, timeout=60)
    secret = stack.parameter("stripe/webhook_secret")
    pid = aws_pid(stack)
    stack.event_sources.drain(timeout=120)
    start_rss = rss_mb(pid)
    load = "/".join(f"{v:.1f}" for v in os.getloadavg())
    say(f"{args.orders} orders, one at a time; AWS process RSS {start_rss:.0f} MB at the start; load {load}\n")
    say(
        f"{'orders':>7} {'AWS RSS MB':>10} {'growth MB':>9} {'checkout p50 ms':>15} {'x at first':>10} "
        f"{'webhook p50 ms':>14} {'elapsed s':>9} {'load':>14}"
    )
    checkouts: list[float] = []
    webhooks: list[float] = []
    first_p50 = None
    started = time.monotonic()
    for n in range(1, args.orders + 1):
        body = {**CART, "customer": {"name": f"Scale {n}", "email": f"scale{n}@example.test"}}
        t0 = time.perf_counter()
        answer = api.post("/checkouts", json=body)
        t1 = time.perf_counter()
        answer.raise_for_status()
        event = checkout_completed(answer.json(), f"pi_scale_{n}")
        headers = {"Content-Type": "application/json", "Stripe-Signature": sign(event, secret)}
        paid = api.post("/webhooks/stripe", content=event, headers=headers)
        t2 = time.perf_counter()
        paid.raise_for_status()
        checkouts.append((t1 - t0) * 1000)
        webhooks.append((t2 - t1) * 1000)
        if n not in checkpoints:
            continue
        stack.event_sources.drain(timeout=300)
        rss = rss_mb(pid)
        p50 = statistics.median(checkouts[-args.window :])
        first_p50 = first_p50 or p50
        load = "/".join(f"{v:.1f}" for v in os.getloadavg())
        say(
            f"{n:>7} {rss:>10.0f} {rss - start_rss:>9.0f} {p50:>15.0f} {p50 / first_p50:>9.2f}x "
            f"{statistics.median(webhooks[-args.window :]):>14.0f} {time.monotonic() - started:>9.0f} {load:>14}"
        )
        if rss > args.max_rss_mb:
            say(f"stopped: the AWS process passed {args.max_rss_mb:.0f} MB")
            break
    say("\ngoal: growth under 200 MB, checkout p50 within 1.5x of the first checkpoint's")


if __name__ == "__main__":
    sys.exit(main())
