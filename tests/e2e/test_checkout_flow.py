"""A customer buys, pays or is declined on the provider's page, and follows the order."""

from __future__ import annotations

import httpx
from e2e_support import order_status, start, wait_for


def test_health(api):
    answer = api.get("/health")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["status"] == "ok"


def test_catalog_covers_the_five_shops_in_minor_units(api):
    catalog = api.get("/catalog").json()
    products, services = catalog["products"], catalog["services"]
    assert {p["merchant"] for p in products + services} >= {
        "songstudio",
        "festival",
        "lumen",
        "ouaga-live",
        "fixit-plumbing",
    }
    for product in products:
        assert {"sku", "name", "merchant", "kind", "prices"} <= product.keys()
        assert all(isinstance(amount, int) for amount in product["prices"].values())
        assert ("remaining" in product) == product["limited"]
    song = next(p for p in products if p["sku"] == "SONG-STANDARD")
    assert song["prices"] == {"USD": 9900, "XAF": 60000}
    assert {p["kind"] for p in products} >= {"song", "ticket", "donation", "print", "album"}
    assert {s["kind"] for s in services} == {"service"}


def test_checkout_answer_and_the_provider_page(api, stack):
    checkout = start(api)
    assert checkout["status"] == "pending_payment"
    assert checkout["total"] == {"amount": 9900, "currency": "USD"}
    assert checkout["provider"] == "stripe"
    assert checkout["order_number"].startswith("SC-")
    assert checkout["next_action"]["type"] == "redirect"
    page = httpx.get(checkout["next_action"]["url"], timeout=10)
    assert page.status_code == 200
    assert "USD 99.00" in page.text
    assert ">Pay<" in page.text and ">Decline<" in page.text


def test_pay_on_the_provider_page_settles_the_order(api):
    checkout = start(api, "FEST-DAY-PASS", quantity=2)
    assert checkout["total"] == {"amount": 9000, "currency": "USD"}
    paid = httpx.post(f"{checkout['next_action']['url']}/pay", timeout=10)
    assert paid.status_code == 303  # back to the shop's success URL
    wait_for(lambda: order_status(api, checkout) == "paid", what="the order to be paid")
    order = api.get(f"/orders/{checkout['order_id']}", headers={"Authorization": f"Bearer {checkout['order_token']}"})
    body = order.json()
    assert [(h["from"], h["to"]) for h in body["history"]] == [(None, "pending_payment"), ("pending_payment", "paid")]
    assert body["items"] == [
        {"sku": "FEST-DAY-PASS", "name": "Festival day pass", "quantity": 2, "unit_amount": 4500, "amount": 9000}
    ]
    assert body["paid_at"]
    assert "customer" not in body and "next_action" not in body


def test_decline_marks_the_payment_failed_and_paying_afterwards_still_settles(api):
    checkout = start(api)
    declined = httpx.post(f"{checkout['next_action']['url']}/decline", timeout=10)
    assert declined.status_code == 200
    assert "declined" in declined.text.lower()
    wait_for(lambda: order_status(api, checkout) == "payment_failed", what="payment_failed")
    httpx.post(f"{checkout['next_action']['url']}/pay", timeout=10)  # the customer tries another card
    wait_for(lambda: order_status(api, checkout) == "paid", what="paid after a retry")


def test_the_order_needs_its_token(api):
    checkout = start(api)
    path = f"/orders/{checkout['order_id']}"
    assert api.get(path).status_code == 401
    wrong = api.get(path, headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 404
    assert "Ada" not in wrong.text and checkout["order_number"] not in wrong.text
    other = start(api)
    assert api.get(path, headers={"Authorization": f"Bearer {other['order_token']}"}).status_code == 404


def test_expired_checkout_releases_the_held_stock(api, stack):
    before = next(p for p in api.get("/catalog").json()["products"] if p["sku"] == "FEST-DAY-PASS")["remaining"]
    checkout = start(api, "FEST-DAY-PASS", currency="EUR", quantity=3)
    assert checkout["total"] == {"amount": 12600, "currency": "EUR"}
    during = next(p for p in api.get("/catalog").json()["products"] if p["sku"] == "FEST-DAY-PASS")["remaining"]
    assert during == before - 3
    session_id = checkout["next_action"]["url"].rsplit("/", 1)[1]
    expired = httpx.post(
        f"{stack.sandbox}/v1/checkout/sessions/{session_id}/expire",
        headers={"Authorization": "Bearer sk_test_local_not_a_real_key"},
        timeout=10,
    )
    assert expired.status_code == 200, expired.text
    wait_for(lambda: order_status(api, checkout) == "expired", what="expired")
    after = next(p for p in api.get("/catalog").json()["products"] if p["sku"] == "FEST-DAY-PASS")["remaining"]
    assert after == before
