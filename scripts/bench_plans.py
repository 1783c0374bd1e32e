#!/usr/bin/env python3
"""What the platform plans cost (make bench-plans), on a local stack of its own: signed-up tradies
(written into the catalog table, onboarded on the sandbox's Connect pages) each subscribe on the
sandbox's Checkout, then a failed renewal and a cancellation reach them through the platform's
webhook. Prints the time from Pay to the plan read back active, the AWS requests each billing
event costs (counted by the local AWS endpoint, by service and operation), and a booking
checkout's requests for a tradie on a plan (its monthly counter rides in the order's transaction)
against the demo tradie's (no plan).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx

from caisse_local.authorizer import issue_token
from caisse_local.aws import client
from caisse_local.server import free_port
from caisse_local.stack import LocalStack, Ports

PLATFORM_KEY = {"Authorization": "Bearer sk_test_local_not_a_real_key"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10, help="tradies that subscribe")
    args = parser.parse_args()

    stack = LocalStack(Ports(free_port(), free_port(), free_port()), max_concurrency=1)
    stack.start()
    try:
        api = httpx.Client(base_url=stack.api_url, timeout=30)
        to_active, per_event, bookings = [], {"subscribed": [], "renewal failed": [], "canceled": []}, []
        demo = []
        for round_ in range(args.rounds):
            tradie = _tradie(stack, api)
            staff = {"Authorization": f"Bearer {issue_token(merchant_id=tradie)}"}
            answer = api.post(
                f"/admin/merchants/{tradie}/subscription", headers=staff, json={"plan": "starter", "currency": "AUD"}
            )
            answer.raise_for_status()
            url = answer.json()["checkout_url"]
            elapsed, counts, events = _settled(
                stack, lambda url=url: httpx.post(f"{url}/pay", headers={"Accept": "application/json"}, timeout=10)
            )
            plan = api.get(f"/admin/merchants/{tradie}/billing", headers=staff).json()
            if plan["status"] != "active":
                raise RuntimeError(plan)
            to_active.append(elapsed)
            per_event["subscribed"].append((counts, events))
            subscription = _merchant(stack, tradie)["stripe_subscription"]["S"]
            renew = f"{stack.sandbox_url}/_sandbox/stripe/subscriptions/{subscription}/renew"
            per_event["renewal failed"].append(
                _settled(stack, lambda renew=renew: httpx.post(renew, json={"payment": "fails"}, timeout=10))[1:]
            )
            cancel = f"{stack.sandbox_url}/v1/subscriptions/{subscription}"
            per_event["canceled"].append(
                _settled(stack, lambda cancel=cancel: httpx.delete(cancel, headers=PLATFORM_KEY, timeout=10))[1:]
            )
            if round_ == 0:
                continue  # the first booking of each kind warms its function
            bookings.append(_booking(stack, api, tradie, round_, subscribe_again=True))
            demo.append(_booking(stack, api, "fixit-plumbing", round_))
    finally:
        stack.stop()

    print(f"{args.rounds} signed-up tradies, one function container each (local stack):")
    times = sorted(to_active)
    print(f"Pay on Checkout -> plan active: median {statistics.median(times):.0f} ms, max {times[-1]:.0f} ms")
    print(f"{'':16} {'events':>7}   AWS requests per event delivered to /webhooks/stripe")
    for name, runs in per_event.items():
        events = sum(n for _, n in runs)
        total = Counter()
        for counts, _ in runs:
            total.update(counts)
        print(f"{name:16} {events / len(runs):7.1f}   {_per(total, events)}")
    for name, runs in (("tradie on a plan", bookings), ("demo tradie", demo)):
        total = Counter()
        for counts in runs:
            total.update(counts)
        print(f"booking checkout, {name}: {_per(total, len(runs))}")
    return 0


def _merchant(stack: LocalStack, merchant: str) -> dict:
    table = client("dynamodb", stack.aws_url)
    name = stack.template.ref("CatalogTable", stack.ctx)
    return table.get_item(TableName=name, Key={"pk": {"S": f"MERCHANT#{merchant}"}}, ConsistentRead=True)["Item"]


def _tradie(stack: LocalStack, api: httpx.Client) -> str:
    """A copy of the demo tradie under a new id, signed up (business_kind), onboarded, with a service."""
    merchant = f"bench-tradie-{uuid.uuid4().hex[:8]}"
    table = client("dynamodb", stack.aws_url)
    name = stack.template.ref("CatalogTable", stack.ctx)
    demo = _merchant(stack, "fixit-plumbing")
    item = {k: v for k, v in demo.items() if k in ("parent", "order_prefix", "stages", "timezone", "country")}
    item |= {
        "pk": {"S": f"MERCHANT#{merchant}"},
        "type": {"S": "merchant"},
        "merchant_id": {"S": merchant},
        "name": {"S": "Bench tradie"},
        "staff_email": {"S": f"office@{merchant}.example"},
        "business_kind": {"S": "trades"},
    }
    table.put_item(TableName=name, Item=item)
    staff = {"Authorization": f"Bearer {issue_token(merchant_id=merchant)}"}
    link = api.post(f"/admin/merchants/{merchant}/stripe/connect", headers=staff).json()["onboarding_url"]
    httpx.post(f"{link}/complete", headers={"Accept": "application/json"}, timeout=10).raise_for_status()
    stack_flush(stack)
    api.put(
        f"/admin/merchants/{merchant}/services/callout",
        headers=staff,
        json={
            "name": "Call-out",
            "duration_minutes": 60,
            "currency": "AUD",
            "full_price": 15000,
            "deposit": {"percent": 20},
        },
    ).raise_for_status()
    week = {day: [["08:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    api.put(
        f"/admin/merchants/{merchant}/hours",
        headers=staff,
        json={"timezone": "Australia/Sydney", "weekly": week, "blocked_dates": [], "slot_minutes": 60},
    ).raise_for_status()
    return merchant


def stack_flush(stack: LocalStack) -> None:
    httpx.post(f"{stack.sandbox_url}/_sandbox/deliveries/flush", params={"timeout": 30}, timeout=35).raise_for_status()


def _settled(stack: LocalStack, act) -> tuple[float, Counter, int]:
    """Run a provider-side action and wait until every webhook it caused was answered: the time, the
    AWS requests the webhooks made (not the stream's emails), and how many reached /webhooks/stripe."""
    stack.event_sources.drain(timeout=30)
    before = len(httpx.get(f"{stack.sandbox_url}/_sandbox/deliveries", timeout=10).json())
    httpx.delete(f"{stack.aws_url}/_caisse/requests", timeout=5)
    started = time.perf_counter()
    act().raise_for_status()
    stack_flush(stack)
    elapsed = (time.perf_counter() - started) * 1000
    counts = httpx.get(f"{stack.aws_url}/_caisse/requests", timeout=5).json()
    deliveries = httpx.get(f"{stack.sandbox_url}/_sandbox/deliveries", timeout=10).json()[before:]
    events = sum(1 for d in deliveries if d["url"].endswith("/webhooks/stripe") and d["attempt"] == 1)
    return elapsed, _flat(counts), events


def _flat(counts: dict) -> Counter:
    flat = Counter()
    for service in ("dynamodb", "ssm"):
        for operation, n in counts.get(service, {}).items():
            flat[f"{service}:{operation}"] += n
    return flat


def _booking(
    stack: LocalStack, api: httpx.Client, merchant: str, round_: int, subscribe_again: bool = False
) -> Counter:
    """One booking checkout's AWS requests (a plan must be running for the signed-up tradie)."""
    if subscribe_again:  # its plan was canceled above: a fresh one for the booking
        staff = {"Authorization": f"Bearer {issue_token(merchant_id=merchant)}"}
        url = api.post(
            f"/admin/merchants/{merchant}/subscription", headers=staff, json={"plan": "starter", "currency": "AUD"}
        ).json()["checkout_url"]
        httpx.post(f"{url}/pay", headers={"Accept": "application/json"}, timeout=10).raise_for_status()
        stack_flush(stack)
    today = datetime.now(UTC).date()
    day = today + timedelta(days=(1 - today.weekday()) % 7 + 7 * (round_ + 2))
    slots = api.get(f"/merchants/{merchant}/availability", params={"service": "callout", "date": day.isoformat()})
    body = {
        "booking": {"merchant": merchant, "service": "callout", "start": slots.json()["slots"][0]["start"]},
        "currency": "AUD",
        "customer": {"name": "Bench", "email": f"bench-{uuid.uuid4().hex[:8]}@example.test"},
    }
    stack.event_sources.drain(timeout=30)
    httpx.delete(f"{stack.aws_url}/_caisse/requests", timeout=5)
    answer = api.post("/checkouts", json=body)
    if answer.status_code != 201:
        raise RuntimeError(answer.text)
    return _flat(httpx.get(f"{stack.aws_url}/_caisse/requests", timeout=5).json())


def _per(total: Counter, n: int) -> str:
    return ", ".join(f"{key} {count / n:.2f}".rstrip("0").rstrip(".") for key, count in sorted(total.items()))


if __name__ == "__main__":
    sys.exit(main())
