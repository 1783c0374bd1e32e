#!/usr/bin/env python3
"""Tickets on the local stack (make bench-tickets): orders of 10 admissions (five festival day
passes for two) are paid one after the other through a signed Stripe webhook, and each is timed
from the webhook to its tickets (issued in the payment's own write) and to its confirmation email
(stream → queue → email function: 10 signed QR codes inline, a 10-page PDF, SES). Prints the
median and worst times, the email's size and, measured in this process, what rendering the QR
codes and the PDF costs alone.

Then (--holders N, default 40) the holders of one night: N orders of a pass for two are paid, the
night is moved once its tickets are out (PATCH ... tell_holders) and then cancelled, and each is
timed from staff's answer until every holder has their email (and, cancelled, their refund), with
the DynamoDB requests the telling made, counted by the local AWS endpoint.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid

import httpx

from caisse_local.server import free_port
from caisse_local.stack import LOCAL_SECRETS, LocalStack, Ports
from provider_sandbox.signing import checkout_completed, sign

ORDER = [{"sku": "FEST-DUO-DAY-PASS", "quantity": 5}]  # 5 passes for two: 10 admissions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=5)
    parser.add_argument("--holders", type=int, default=40)
    args = parser.parse_args()

    stack = LocalStack(Ports(free_port(), free_port(), free_port()))
    stack.start()
    issued, emailed, sizes, pdfs = [], [], [], []
    try:
        api = httpx.Client(base_url=stack.api_url, timeout=30)
        secret = stack.parameter("stripe/webhook_secret")
        for n in range(args.orders):
            person = {"name": f"Bench {n}", "email": f"bench-tickets-{uuid.uuid4().hex[:8]}@example.test"}
            order = api.post("/checkouts", json={"items": ORDER, "currency": "USD", "customer": person}).json()
            event = checkout_completed(order, f"pi_{uuid.uuid4().hex[:12]}")
            started = time.perf_counter()
            answer = api.post("/webhooks/stripe", content=event, headers=_headers(event, secret))
            answer.raise_for_status()
            view = api.get(f"/orders/{order['order_id']}", headers={"Authorization": f"Bearer {order['order_token']}"})
            if len(view.json().get("tickets", [])) != 10:
                raise RuntimeError(f"the paid order has {len(view.json().get('tickets', []))} tickets, not 10")
            issued.append(time.perf_counter() - started)
            mail = _wait_for_email(stack, order["order_id"])
            emailed.append(time.perf_counter() - started)
            sizes.append(mail["size"])
            pdfs.append(next(a["size"] for a in mail["attachments"] if a["content_type"] == "application/pdf"))
        told = _holders(stack, api, args.holders) if args.holders else []
    finally:
        stack.stop()
    rendering = _rendering()

    print(f"{args.orders} orders of 10 admissions, paid one at a time (signed Stripe webhook):")
    print(f"  webhook answered, order paid with its 10 tickets: median {_ms(issued)}, worst {_ms([max(issued)])}")
    print(f"  confirmation email accepted by SES:               median {_ms(emailed)}, worst {_ms([max(emailed)])}")
    size, pdf = statistics.median(sizes) / 1024, statistics.median(pdfs) / 1024
    print(f"  email size: {size:.0f} KB (the PDF attached: {pdf:.0f} KB)")
    for line in told:
        print(line)
    print("rendering alone, in this process (median of 5):")
    for what, seconds in rendering.items():
        print(f"  {what:<40} {seconds * 1000:7.1f} ms")
    return 0


def _holders(stack: LocalStack, api: httpx.Client, count: int) -> list[str]:
    """A night with `count` paid orders of 2 tickets, moved then cancelled: how long until every
    holder is told (and refunded), and the DynamoDB requests the telling made."""
    from caisse_local.authorizer import issue_token

    staff = {"Authorization": f"Bearer {issue_token(merchant_id='festival')}"}
    night = {"name": f"Bench night {uuid.uuid4().hex[:4]}", "start": "2027-07-16T21:00", "end": "2027-07-17T02:00"}
    event_id = api.post(
        "/admin/merchants/festival/events", json={**night, "venue": "Bench hall"}, headers=staff
    ).json()["id"]
    sku = f"BENCH-NIGHT-{uuid.uuid4().hex[:6].upper()}"
    pass_ = {"sku": sku, "name": "Bench pass for two", "kind": "ticket", "prices": {"USD": 4000}, "event": event_id}
    api.post("/admin/products", json={**pass_, "admissions": 2, "max_per_order": 1}, headers=staff).raise_for_status()
    orders = []
    for n in range(count):
        person = {"name": f"Holder {n}", "email": f"bench-holder-{uuid.uuid4().hex[:8]}@example.test"}
        order = api.post(
            "/checkouts", json={"items": [{"sku": sku, "quantity": 1}], "currency": "USD", "customer": person}
        ).json()
        httpx.post(f"{order['next_action']['url']}/pay", timeout=30)  # paid at the sandbox: refundable there
        orders.append(order)
    stack.settle(timeout=300)
    lines = [f"{count} orders of a pass for two (2 tickets each) for one night, then:"]
    changes = {
        "moved (tell_holders)": ({"venue": "Bigger hall", "tell_holders": True}, "event_changed"),
        "cancelled": ({"cancelled": "Bench: the hall is closed"}, "event_cancelled"),
    }
    for what, (body, kind) in changes.items():
        stack.settle(timeout=120)
        httpx.delete(f"{stack.aws_url}/_caisse/requests", timeout=5)
        started = time.perf_counter()
        api.patch(f"/admin/merchants/festival/events/{event_id}", json=body, headers=staff).raise_for_status()
        stack.settle(timeout=600)
        took = time.perf_counter() - started
        sent = httpx.get(f"{stack.aws_url}/_caisse/emails", params={"kind": kind}, timeout=30).json()
        told = {mail["source"] for mail in sent} & {f"order:{order['order_id']}" for order in orders}
        requests = httpx.get(f"{stack.aws_url}/_caisse/requests", timeout=5).json().get("dynamodb", {})
        total = sum(requests.values())
        by_kind = ", ".join(f"{name} {n}" for name, n in sorted(requests.items()))
        lines.append(f"  {what}: {len(told)} of {count} holders emailed in {took:.1f} s (staff's answer to the last")
        lines.append(f"    email); DynamoDB requests {total}, {total / count:.1f} per holder: {by_kind}")
    refunded = sum(1 for o in orders if _money_state(api, o) == "refunded")
    lines.append(f"  refunded in full after the cancellation: {refunded} of {count}")
    return lines


def _money_state(api: httpx.Client, order: dict) -> str:
    view = api.get(f"/orders/{order['order_id']}", headers={"Authorization": f"Bearer {order['order_token']}"})
    return str(view.json().get("money_state"))


def _rendering() -> dict[str, float]:
    """Signing 10 payloads, their 10 QR PNGs and the 10-page PDF, without AWS around them (imported
    once the stack has stopped: the stack configures the caisse package for its own tables)."""
    from caisse.orders import ticket_documents

    key = ticket_documents._signing_key(LOCAL_SECRETS["tickets/signing_key"])
    event = {
        "id": "sunset-2027",
        "name": "Sunset Festival 2027",
        "start": "2027-07-09T16:00:00+02:00",
        "end": "2027-07-11T23:30:00+02:00",
        "timezone": "Europe/Paris",
        "venue": "Parc de la Villette",
        "address": "211 avenue Jean-Jaurès, 75019 Paris, France",
    }
    tickets = [
        {"code": "7K2M-Q9XD-3TPA-H4RB", "number": n, "count": 10, "holder": "Bench", "product": "Pass", "event": event}
        for n in range(1, 11)
    ]
    timings: dict[str, list[float]] = {"sign 10 payloads": [], "10 QR codes (PNG)": [], "the 10-page PDF": []}
    for _ in range(5):
        started = time.perf_counter()
        payloads = [ticket_documents.signed_payload(t, "festival", "FEST-1", key) for t in tickets]
        signed = time.perf_counter()
        for payload in payloads:
            ticket_documents.qr_png(payload)
        drawn = time.perf_counter()
        ticket_documents.pdf(tickets, payloads, order_number="FEST-1", merchant="Sunset", locale="en")
        done = time.perf_counter()
        timings["sign 10 payloads"].append(signed - started)
        timings["10 QR codes (PNG)"].append(drawn - signed)
        timings["the 10-page PDF"].append(done - drawn)
    return {what: statistics.median(values) for what, values in timings.items()}


def _wait_for_email(stack: LocalStack, order_id: str) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = httpx.get(
            f"{stack.aws_url}/_caisse/emails",
            params={"source": f"order:{order_id}", "kind": "order_confirmed"},
            timeout=30,
        ).json()
        if found:
            return found[0]
        time.sleep(0.05)
    raise TimeoutError(f"no confirmation for {order_id} after 120 s")


def _headers(body: bytes, secret: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "Stripe-Signature": sign(body, secret)}


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f} ms"


if __name__ == "__main__":
    sys.exit(main())
