"""Issue 10, points 1 and 5: a bookable service is booked, never bought through the cart; how long
a checkout holds stock and how much one customer may hold are the merchant's rules."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from e2e_support import client_address, customer_client, made_to_order, order_status, remaining_stock, wait_for

FIXIT = "fixit-plumbing"


def next_tuesday(weeks_ahead: int) -> str:
    today = datetime.now(UTC).date()
    return (today + timedelta(days=(1 - today.weekday()) % 7 + 7 * weeks_ahead)).isoformat()


def test_a_bookable_service_is_booked_with_its_one_id_and_never_bought(api, stack):
    catalog = api.get("/catalog").json()
    assert not [p for p in catalog["products"] if p["merchant"] == FIXIT], "services are not products"
    callout = next(s for s in catalog["services"] if s["merchant"] == FIXIT and s["service"] == "callout")
    assert callout["prices"] == {"AUD": 15000} and callout["deposit"] == {"AUD": 3000}
    assert callout["bookable"] is True
    booking_request = callout["book"]["checkout"]["booking"]
    assert (booking_request["merchant"], booking_request["service"]) == (FIXIT, "callout")

    # The cart refuses what used to charge the platform the full price, with no fee and no slot.
    bought = api.post(
        "/checkouts",
        json={
            "items": [{"sku": "FX-CALLOUT", "quantity": 1}],
            "currency": "AUD",
            "customer": {"name": "Sam", "email": "sam@example.test"},
        },
    )
    assert bought.status_code == 422, bought.text
    assert bought.json()["error"] == "unknown_sku"

    # The catalog's own directions, followed as a widget would: availability, then a booking.
    availability = callout["book"]["availability"].replace("YYYY-MM-DD", next_tuesday(30))
    slots = api.get(availability).json()["slots"]
    assert slots
    booked = api.post(
        "/checkouts",
        json={
            "currency": callout["book"]["checkout"]["currency"],
            "booking": {**booking_request, "start": slots[0]["start"]},
            "customer": {"name": "Sam", "email": f"sam-{uuid.uuid4().hex[:6]}@example.test"},
        },
    )
    assert booked.status_code == 201, booked.text
    assert booked.json()["total"] == {"amount": 3000, "currency": "AUD"}  # the deposit, on the tradie's account
    assert booked.json()["booking"]["start"] == slots[0]["start"]


def vip_checkout(
    client: httpx.Client, email: str | None = None, quantity: int = 1, sku: str = "OL-CONCERT-VIP"
) -> httpx.Response:
    return client.post(
        "/checkouts",
        json={
            "items": [{"sku": sku, "quantity": quantity}],
            "currency": "XOF",
            "customer": {
                "name": "Awa",
                "email": email or f"awa-{uuid.uuid4().hex[:8]}@example.test",
                "phone": "+2267" + str(uuid.uuid4().int)[:7],
            },
        },
    )


def test_one_network_cannot_hold_the_vip_tickets(api, stack):
    """Ouaga Live's rules: at most 6 tickets per order, 3 open checkouts per client address and 2
    per email. Invented phone numbers and emails from one address no longer hold the stock."""
    before = remaining_stock(api, "OL-CONCERT-VIP")
    address = client_address()
    with customer_client(stack, address) as one_network:
        answers = [vip_checkout(one_network, quantity=4) for _ in range(7)]
    codes = [a.status_code for a in answers]
    assert codes == [201] * 3 + [429] * 4, [a.text for a in answers]
    refused = answers[-1].json()
    assert refused["error"] == "too_many_open_checkouts" and refused["maximum"] == 3
    assert remaining_stock(api, "OL-CONCERT-VIP") == before - 12

    # Paying one of them frees a place for that network (paid is no longer open).
    first = answers[0].json()
    httpx.post(f"{first['next_action']['url']}/pay", timeout=10)
    wait_for(lambda: order_status(api, first) in ("paid", "needs_review"), what="the first checkout paid")
    with customer_client(stack, address) as one_network:
        assert vip_checkout(one_network).status_code == 201

    email = f"same-{uuid.uuid4().hex[:8]}@example.test"
    by_email = []
    for _ in range(3):  # each from another network
        with customer_client(stack) as elsewhere:
            by_email.append(vip_checkout(elsewhere, email=email).status_code)
    assert by_email == [201, 201, 429]

    with customer_client(stack) as elsewhere:
        too_many = vip_checkout(elsewhere, quantity=7, sku="OL-CONCERT-STANDARD")
    assert too_many.status_code == 422 and too_many.json()["error"] == "too_many_items"


def test_the_festival_holds_tickets_fifteen_minutes_and_the_sweep_gives_them_back(api, stack):
    from test_refunds_and_reconciliation import run_scheduled

    sku = "FEST-WEEKEND-PASS"
    before = remaining_stock(api, sku)
    with customer_client(stack) as own:
        answer = own.post(
            "/checkouts",
            json={
                "items": [{"sku": sku, "quantity": 1}],
                "currency": "USD",
                "customer": {"name": "Jo", "email": f"jo-{uuid.uuid4().hex[:6]}@example.test"},
            },
        )
    assert answer.status_code == 201, answer.text
    order = answer.json()
    held_for = datetime.fromisoformat(order["expires_at"].replace("Z", "+00:00")) - datetime.now(UTC)
    assert timedelta(minutes=13) < held_for <= timedelta(minutes=15)
    assert remaining_stock(api, sku) == before - 1
    # Stripe's own page lives its 30-minute minimum; the sweep closes it when the hold ends.
    session_id = order["next_action"]["url"].rsplit("/", 1)[1]
    session = httpx.get(order["next_action"]["url"], headers={"Accept": "application/json"}, timeout=10).json()
    assert session["id"] == session_id and session["expires_at"] - session["created"] >= 30 * 60

    song = api.post(
        "/checkouts",
        json={
            "items": [{"sku": "SONG-STANDARD", "quantity": 1}],
            "currency": "USD",
            "customer": {"name": "Jo", "email": "jo@example.test"},
            **made_to_order("SONG-STANDARD"),
        },
    ).json()
    song_hold = datetime.fromisoformat(song["expires_at"].replace("Z", "+00:00")) - datetime.now(UTC)
    assert song_hold > timedelta(minutes=28)  # the shop-wide default elsewhere

    sixteen_minutes_ago = datetime.now(UTC) - timedelta(minutes=16)
    stack.table("OrdersTable").update_item(  # as if it had been started 16 minutes ago
        Key={"pk": f"ORDER#{order['order_id']}", "sk": "ORDER"},
        UpdateExpression="SET expires_at = :expired, created_at = :created",
        ExpressionAttributeValues={
            ":expired": (sixteen_minutes_ago + timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M:%S.%f+0000"),
            ":created": sixteen_minutes_ago.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    )
    report = run_scheduled(stack, "ExpireCheckoutsFunction")
    assert order["order_id"] in report["expired"]
    assert remaining_stock(api, sku) == before
    closed = httpx.get(order["next_action"]["url"], headers={"Accept": "application/json"}, timeout=10)
    assert closed.json()["status"] == "expired"
