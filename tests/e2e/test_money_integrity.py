"""Issue 10, point 0: no order moves without its money, no money is taken without an order, and
no refund the provider made is left unrecorded. Each test reproduces an attack or a failure
seen on the local stack."""

from __future__ import annotations

import json
import threading
import uuid
import zlib

import httpx
import stripe
from e2e_support import (
    admin_view,
    aws_faults,
    count_orders,
    customer_client,
    emails_for,
    made_to_order,
    merchant_token,
    money_state,
    order_status,
    wait_for,
)

PLATFORM_KEY = "sk_test_local_not_a_real_key"


def checkout(api, sku="FEST-DAY-PASS", currency="USD", quantity=1, provider=None, phone=None) -> dict:
    customer = {"name": "Ada", "email": f"ada-{uuid.uuid4().hex[:8]}@example.test", "locale": "en"}
    if phone:
        customer["phone"] = phone
    body = {"items": [{"sku": sku, "quantity": quantity}], "currency": currency, "customer": customer}
    if provider:
        body["provider"] = provider
    with customer_client(api) as own:
        answer = own.post("/checkouts", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


# ------------------------------------------------------------------------ forged PayPal payments


def structural_slots(text: str) -> list[int]:
    """Offsets just after each ',' and ':' between JSON tokens (never inside a string)."""
    slots, in_string, escaped = [], False, False
    for index, char in enumerate(text):
        if in_string:
            escaped = char == "\\" and not escaped
            if char == '"' and not escaped:
                in_string = False
        elif char == '"':
            in_string = True
        elif char in ",:":
            slots.append(index + 1)
    return slots


def force_crc32(body: bytes, target: int) -> bytes:
    """Add JSON whitespace to `body` (a space or a tab after each ',' and ':') so that its CRC-32 is
    `target`: CRC-32 is affine over GF(2), so choosing the whitespace is a 32-bit linear system."""
    text = body.decode()
    slots = structural_slots(text)[:96]
    assert len(slots) >= 48, "the event is too short to forge"
    pieces = [text[a:b] for a, b in zip([0, *slots], [*slots, len(text)], strict=True)]

    def build(choices: list[int]) -> bytes:
        return (pieces[0] + "".join((" \t"[c]) + p for c, p in zip(choices, pieces[1:], strict=True))).encode()

    base = build([0] * len(slots))
    zero = zlib.crc32(bytes(len(base)))
    columns, offset = [], len(pieces[0])
    for piece in pieces[1:]:
        flipped = bytearray(len(base))
        flipped[offset] = ord(" ") ^ ord("\t")
        columns.append(zlib.crc32(bytes(flipped)) ^ zero)
        offset += 1 + len(piece)
    # Solve sum(choice_i * column_i) = crc(base) ^ target over GF(2), one bit per row.
    rows = [
        [sum(((column >> bit) & 1) << i for i, column in enumerate(columns)), ((zlib.crc32(base) ^ target) >> bit) & 1]
        for bit in range(32)
    ]
    pivot_of: dict[int, int] = {}
    for unknown in range(len(columns)):
        pivot = next((r for r in range(32) if r not in pivot_of.values() and (rows[r][0] >> unknown) & 1), None)
        if pivot is None:
            continue
        pivot_of[unknown] = pivot
        for r in range(32):
            if r != pivot and (rows[r][0] >> unknown) & 1:
                rows[r][0] ^= rows[pivot][0]
                rows[r][1] ^= rows[pivot][1]
    assert all(mask or not bit for mask, bit in rows), "no solution: use more slots"
    choices = [0] * len(columns)
    for unknown, row in pivot_of.items():
        choices[unknown] = rows[row][1]
    forged = build(choices)
    assert zlib.crc32(forged) == target and json.loads(forged)
    return forged


def paypal_token(order: dict) -> str:
    return order["next_action"]["url"].split("token=")[1]


def test_a_crc32_forgery_of_a_genuine_paypal_delivery_pays_nothing(api, stack):
    """PayPal's signature binds a CRC-32 of the body. From one genuine delivery (seen on the wire),
    a body naming another order, with the same CRC-32, verifies at PayPal: it must still settle
    only what PayPal's own API says about the capture it names."""
    genuine = checkout(api, provider="paypal")
    httpx.post(f"{stack.sandbox}/paypal/checkoutnow/{paypal_token(genuine)}/pay", timeout=10)
    wait_for(lambda: order_status(api, genuine) == "paid", what="the genuine order paid")
    victim = checkout(api, provider="paypal")  # waiting for its own payment, never made

    def seen() -> dict | None:
        transmissions = httpx.get(f"{stack.sandbox}/_sandbox/paypal/transmissions", timeout=5).json()
        for transmission in reversed(transmissions):
            event = json.loads(transmission["body"])
            resource = event.get("resource") or {}
            if event["event_type"] == "PAYMENT.CAPTURE.COMPLETED" and resource.get("custom_id") == genuine["order_id"]:
                return transmission
        return None

    wire = wait_for(seen, what="the genuine capture delivery")
    event = json.loads(wire["body"])
    event["id"] = f"WH-FORGED-{uuid.uuid4().hex[:12].upper()}"
    event["resource"]["custom_id"] = victim["order_id"]
    event["resource"]["supplementary_data"]["related_ids"]["order_id"] = paypal_token(victim)
    forged = force_crc32(json.dumps(event, separators=(",", ":")).encode(), zlib.crc32(wire["body"].encode()))

    answer = api.post("/webhooks/paypal", content=forged, headers=wire["headers"])
    assert answer.status_code == 200, answer.text  # PayPal vouches for it: the CRC-32 matches
    assert answer.json()["result"] != "moved"
    assert order_status(api, victim) == "pending_payment"
    assert money_state(api, victim) == "unpaid"


# ------------------------------------------------------------------- another account's events


def account_of(stack, merchant: str) -> str:
    item = stack.table("CatalogTable").get_item(Key={"pk": f"MERCHANT#{merchant}"}, ConsistentRead=True)["Item"]
    return item["stripe_account"]


def test_a_connected_account_cannot_settle_another_shops_order(api, stack):
    """A tradie takes a payment on their own Stripe account naming a festival order: Stripe signs
    the event (it is the tradie's), and it must not pay the festival's order."""
    order = checkout(api)
    tradie = account_of(stack, "fixit-plumbing")
    client = stripe.StripeClient(PLATFORM_KEY, base_addresses={"api": stack.sandbox})
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {"currency": "usd", "unit_amount": 4500, "product_data": {"name": "Anything"}},
                    "quantity": 1,
                }
            ],
            "client_reference_id": order["order_id"],
            "metadata": {"order_id": order["order_id"]},
            "payment_intent_data": {"metadata": {"order_id": order["order_id"]}},
            "success_url": "https://tradie.example/thanks",
        },
        options={"stripe_account": tradie},
    )
    paid = httpx.post(f"{session.url}/pay", headers={"Accept": "application/json"}, timeout=10)
    assert paid.status_code == 200, paid.text

    def delivered() -> list[dict]:
        events = httpx.get(
            f"{stack.sandbox}/_sandbox/events", params={"type": "checkout.session.completed"}, timeout=5
        ).json()
        ids = [e["id"] for e in events if e["data"]["object"]["id"] == session.id]
        return [
            d
            for event_id in ids
            for d in httpx.get(f"{stack.sandbox}/_sandbox/deliveries", params={"event_id": event_id}, timeout=5).json()
            if d["status_code"] == 200
        ]

    wait_for(delivered, what="the tradie's event delivered to the Connect webhook")
    assert order_status(api, order) == "pending_payment"
    assert money_state(api, order) == "unpaid"
    event_id = delivered()[0]["event_id"]
    record = stack.table("WebhookEventsTable").get_item(Key={"pk": f"stripe#{event_id}"}, ConsistentRead=True)
    assert record["Item"]["outcome"] == "foreign_account"


# ----------------------------------------------------------------- mobile money with no order


def prompts_for(stack, phone: str) -> list[dict]:
    prompts = httpx.get(f"{stack.sandbox}/handset", headers={"Accept": "application/json"}, timeout=10).json()
    return [p for p in prompts if p["phone_number"] == phone]


def unique_mtn_phone() -> str:
    return "23767" + str(uuid.uuid4().int)[:7]


def test_a_campay_collect_answered_after_a_14_second_stall_still_pays_its_order(api, stack):
    """CamPay sends the USSD push, then answers 14 s later, after we stopped waiting: the order
    was saved before the call, so approving the prompt pays it (nobody is told "nothing was
    charged" while the prompt is on their phone)."""
    stack.sandbox_config(answer_delays={"/campay/api/collect/": 14})
    phone = unique_mtn_phone()
    body = {
        "items": [{"sku": "SONG-STANDARD", "quantity": 1}],
        "currency": "XAF",
        "customer": {"name": "Awa", "email": f"awa-{uuid.uuid4().hex[:6]}@example.test", "phone": phone},
        **made_to_order("SONG-STANDARD"),
    }
    with customer_client(api, timeout=60) as own:
        answer = own.post("/checkouts", json=body)
    assert answer.status_code == 201, answer.text
    order = answer.json()
    assert order["status"] == "pending_payment"
    assert order["next_action"]["type"] == "ussd_prompt" and order["next_action"]["confirmed"] is False
    [prompt] = wait_for(lambda: prompts_for(stack, phone), what="the prompt on the phone")
    approved = httpx.post(
        f"{stack.sandbox}/handset/{prompt['reference']}/approve", headers={"Accept": "application/json"}, timeout=10
    )
    assert approved.status_code == 200, approved.text
    wait_for(lambda: order_status(api, order) == "paid", timeout=30, what="the order paid by the late prompt")
    assert money_state(api, order) == "paid"


def test_when_the_order_cannot_be_saved_no_prompt_is_ever_sent(api, stack):
    """The pending order and its holds are written before CamPay is asked: when the write fails,
    the customer is told to try again and no USSD push reaches their phone."""
    phone = unique_mtn_phone()
    before = count_orders(stack)
    aws_faults(stack, service="dynamodb", operation="TransactWriteItems", count=None)
    try:
        with customer_client(api) as own:
            answer = own.post(
                "/checkouts",
                json={
                    "items": [{"sku": "SONG-STANDARD", "quantity": 1}],
                    "currency": "XAF",
                    "customer": {"name": "Awa", "email": "awa@example.test", "phone": phone},
                    **made_to_order("SONG-STANDARD"),
                },
            )
    finally:
        aws_faults(stack)
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"] == "service_unavailable"
    assert prompts_for(stack, phone) == []
    assert count_orders(stack) == before


# ---------------------------------------------------------------------------------- refund race


def test_a_refund_racing_another_is_never_left_requested(api, stack):
    """Two refunds of one order overlap: the second is reserved while Stripe is still answering
    the first (its answer is slow; its refund.created webhook may come first). Both end in Stripe's
    state, both are counted, and each is mailed once."""
    order = checkout(api, quantity=2)
    httpx.post(f"{order['next_action']['url']}/pay", timeout=10)
    wait_for(lambda: order_status(api, order) == "paid", what="paid")
    stack.sandbox_config(answer_delays={"/v1/refunds": 4})
    headers = {"Authorization": f"Bearer {merchant_token('festival')}"}
    answers: dict[str, httpx.Response] = {}

    def refund(name: str, amount: int) -> None:
        with httpx.Client(base_url=stack.api, timeout=30) as client:
            answers[name] = client.post(
                f"/admin/orders/{order['order_id']}/refunds",
                json={"amount": amount, "reason": f"goodwill {name}"},
                headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
            )

    def made_at_stripe() -> list[dict]:
        events = httpx.get(f"{stack.sandbox}/_sandbox/events", params={"type": "refund.created"}, timeout=5).json()
        return [
            e["data"]["object"] for e in events if e["data"]["object"]["metadata"].get("order_id") == order["order_id"]
        ]

    first = threading.Thread(target=refund, args=("first", 3000))
    first.start()
    # Stripe has made the first refund; its answer is still on its way (4 s).
    wait_for(made_at_stripe, what="the first refund made at Stripe")
    second = threading.Thread(target=refund, args=("second", 2000))
    second.start()
    first.join(60)
    second.join(60)
    assert {name: a.status_code for name, a in answers.items()} == {"first": 201, "second": 201}
    view = admin_view(api, order["order_id"], "festival")
    assert sorted((r["amount"]["amount"], r["status"]) for r in view["refunds"]) == [
        (2000, "succeeded"),
        (3000, "succeeded"),
    ]
    assert view["refunded"] == {"amount": 5000, "currency": "USD"}
    assert view["refund_in_progress"]["amount"] == 0
    assert view["money_state"] == "partially_refunded" and view["status"] == "paid"
    at_stripe = httpx.get(f"{stack.sandbox}/_sandbox/events", params={"type": "refund.created"}, timeout=5).json()
    ours = [
        e["data"]["object"] for e in at_stripe if e["data"]["object"]["metadata"].get("order_id") == order["order_id"]
    ]
    assert sorted(r["amount"] for r in ours) == [2000, 3000]
    wait_for(lambda: len(emails_for(stack, order["order_id"], "refund_processed")) == 2, what="two refund emails")
