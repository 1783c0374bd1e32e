"""Staff find their orders: 60 orders across three shops and several states, made through the API
the way customers, providers and staff make them, then listed, filtered, searched, paged and
exported through /admin/orders as each kind of staff would. A shop's staff never see another
shop's order, whichever route they take."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from e2e_support import made_to_order, merchant_token, order_status, platform_token, wait_for

MERCHANTS = ("songstudio", "festival", "lumen")
SHARED_EMAIL = "Shared.Buyer@Example.test"  # one customer buying from two shops, in two spellings


@dataclass
class Made:
    index: int
    order_id: str
    number: str
    merchant: str
    sku: str
    currency: str
    total: int
    provider: str
    email: str
    name: str
    status: str = "pending_payment"
    money: str = "unpaid"
    refunded: int = 0
    created_after: datetime | None = None  # a moment between this order and the one before
    checkout: dict = field(default_factory=dict)


def spec(i: int) -> tuple[str, str, str, dict]:
    """Order number i: its shop, product, currency and customer."""
    merchant = MERCHANTS[i % 3]
    name = f"Zoë Ndiaye {i}" if i % 5 == 0 else f"Customer {i:02d}"
    customer = {"name": name, "email": f"buyer{i:02d}@staff-orders.example", "locale": "en"}
    if merchant == "songstudio":
        sku, currency = ("SONG-PREMIUM" if i % 2 else "SONG-STANDARD"), "USD"
        if i % 4 == 0:
            currency, customer["phone"] = "XAF", "237677777777"  # CamPay: the prompt stays on the phone
    elif merchant == "festival":
        sku, currency = ("FEST-DONATION-10" if i % 2 else "FEST-DAY-PASS"), ("EUR" if i % 7 == 0 else "USD")
    else:
        sku, currency = ("PHOTO-ALBUM" if i % 2 else "PHOTO-PRINT-A3"), "USD"
    if i in (10, 11):
        customer["email"] = SHARED_EMAIL if i == 10 else SHARED_EMAIL.lower()
    return merchant, sku, currency, customer


def staff(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def sixty(stack):
    """60 orders, made one after another (so their order is known), then moved by the customer
    (pay, decline), the provider (webhooks) and staff (stages, cancellations, a refund)."""
    started = datetime.now(UTC)
    made: list[Made] = []
    with stack.client() as api:
        for i in range(60):
            merchant, sku, currency, customer = spec(i)
            between = datetime.now(UTC)
            answer = api.post(
                "/checkouts",
                json={
                    "items": [{"sku": sku, "quantity": 1}],
                    "currency": currency,
                    "customer": customer,
                    **made_to_order(sku),
                },
            )
            assert answer.status_code == 201, answer.text
            body = answer.json()
            made.append(
                Made(
                    i,
                    body["order_id"],
                    body["order_number"],
                    merchant,
                    sku,
                    currency,
                    body["total"]["amount"],
                    body["provider"],
                    customer["email"],
                    customer["name"],
                    created_after=between,
                    checkout=body,
                )
            )
        cards = [m for m in made if m.provider == "stripe"]
        for m in cards:
            if m.index % 3 == 0 or m.index % 5 == 1:  # the customer pays
                httpx.post(f"{m.checkout['next_action']['url']}/pay", timeout=10)
                m.status, m.money = "paid", "paid"
            elif m.index % 11 == 2:  # the card is declined
                httpx.post(f"{m.checkout['next_action']['url']}/decline", timeout=10)
                m.status = "payment_failed"
        for m in made:
            if m.status != "pending_payment":
                wait_for(
                    lambda m=m: order_status(api, m.checkout) == m.status, timeout=30, what=f"{m.number} {m.status}"
                )
        for m in made:
            token = staff(merchant_token(m.merchant))
            if m.merchant == "songstudio" and m.status == "paid" and m.index % 2 == 0:
                moved = api.post(f"/admin/orders/{m.order_id}/status", json={"status": "discovery"}, headers=token)
                assert moved.status_code == 200, moved.text
                m.status = "discovery"
            elif m.status == "pending_payment" and m.provider == "stripe" and m.index % 4 == 1:
                moved = api.post(f"/admin/orders/{m.order_id}/status", json={"status": "cancelled"}, headers=token)
                assert moved.status_code == 200, moved.text
                m.status = "cancelled"
        refunded = next(m for m in made if m.merchant == "festival" and m.money == "paid" and m.sku == "FEST-DAY-PASS")
        answer = api.post(
            f"/admin/orders/{refunded.order_id}/refunds",
            json={"amount": 1000, "reason": "one ticket back"},
            headers={**staff(merchant_token("festival")), "Idempotency-Key": f"refund-{refunded.order_id}"},
        )
        assert answer.status_code == 201, answer.text
        refunded.money, refunded.refunded = "partially_refunded", 1000
    return started, made


def listed(api, token: str, **query) -> list[dict]:
    """Every row of a list, page by page (each page `limit` long), checking that the pages hold
    each order once."""
    rows, cursor, pages = [], None, 0
    while True:
        params = {**query, **({"cursor": cursor} if cursor else {})}
        answer = api.get("/admin/orders", params=params, headers=staff(token))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        rows.extend(body["orders"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert pages < 100
    ids = [row["order_id"] for row in rows]
    assert len(ids) == len(set(ids)), "an order was shown twice"
    return rows


def newest_first(orders: list[Made]) -> list[str]:
    return [m.order_id for m in sorted(orders, key=lambda m: m.index, reverse=True)]


def test_every_filter_and_search_returns_exactly_the_expected_orders_newest_first(sixty, api):
    started, made = sixty
    since = {"created_from": started.isoformat()}
    for merchant in MERCHANTS:
        token = merchant_token(merchant)
        mine = [m for m in made if m.merchant == merchant]
        assert [r["order_id"] for r in listed(api, token, **since)] == newest_first(mine)
        for status in ("paid", "pending_payment", "payment_failed", "cancelled", "discovery"):
            expected = newest_first([m for m in mine if m.status == status])
            assert [r["order_id"] for r in listed(api, token, status=status, **since)] == expected, (merchant, status)
        for money in ("paid", "unpaid", "partially_refunded"):
            expected = newest_first([m for m in mine if m.money == money])
            assert [r["order_id"] for r in listed(api, token, money_state=money, **since)] == expected, (
                merchant,
                money,
            )
        for provider in ("stripe", "campay"):
            expected = newest_first([m for m in mine if m.provider == provider])
            assert [r["order_id"] for r in listed(api, token, provider=provider, **since)] == expected
        for sku in {m.sku for m in mine}:
            expected = newest_first([m for m in mine if m.sku == sku])
            assert [r["order_id"] for r in listed(api, token, product=sku, **since)] == expected, sku

    platform = platform_token()
    assert [r["order_id"] for r in listed(api, platform, **since)] == newest_first(made)  # every shop, merged
    assert [r["order_id"] for r in listed(api, platform, status="paid", **since)] == newest_first(
        [m for m in made if m.status == "paid"]
    )
    window = {"created_from": made[20].created_after.isoformat(), "created_to": made[40].created_after.isoformat()}
    assert [r["order_id"] for r in listed(api, platform, **window)] == newest_first(made[20:40])

    # Searches: an order number, an email in any case, the start of a name without its accents.
    target = made[33]
    [found] = listed(api, platform, q=target.number.lower())
    assert found["order_id"] == target.order_id and found["order_number"] == target.number
    shared = [m for m in made if m.email.lower() == SHARED_EMAIL.lower()]
    assert [r["order_id"] for r in listed(api, platform, q="  SHARED.buyer@example.TEST ")] == newest_first(shared)
    zoes = [m for m in made if m.name.startswith("Zoë")]
    rows = listed(api, platform, q="zoe ndi", **since)
    assert [r["order_id"] for r in rows] == [m.order_id for m in sorted(zoes, key=lambda m: m.name)]
    assert listed(api, platform, q="zoe ndiaye 5", **since)[0]["customer"]["name"] == "Zoë Ndiaye 5"


def test_a_row_says_what_staff_need_at_a_glance(sixty, api):
    started, made = sixty
    refunded = next(m for m in made if m.refunded)
    [row] = listed(api, merchant_token("festival"), q=refunded.number)
    assert row["customer"] == {"name": refunded.name, "email": refunded.email}
    assert row["items"] == "1 × Festival day pass" and row["item_count"] == 1
    assert row["total"] == {"amount": refunded.total, "currency": refunded.currency}
    assert row["refunded"] == {"amount": 1000, "currency": refunded.currency}
    assert (row["status"], row["money_state"], row["provider"]) == ("paid", "partially_refunded", "stripe")
    assert row["created_at"].startswith(str(started.year)) and row["paid_at"]
    declined = next(m for m in made if m.status == "payment_failed")
    [row] = listed(api, merchant_token(declined.merchant), q=declined.number)
    assert row["flags"] == ["payment_failed"]


def test_pages_visit_each_order_once_in_order(sixty, api):
    started, made = sixty
    token = merchant_token("songstudio")
    mine = newest_first([m for m in made if m.merchant == "songstudio"])
    seen, cursor, sizes = [], None, []
    while True:
        params = {"created_from": started.isoformat(), "limit": 7, **({"cursor": cursor} if cursor else {})}
        body = api.get("/admin/orders", params=params, headers=staff(token)).json()
        seen += [row["order_id"] for row in body["orders"]]
        sizes.append(len(body["orders"]))
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == mine and sizes == [7, 7, 6]
    # A cursor belongs to its list: reused with other filters it is refused, not misread.
    first = api.get("/admin/orders", params={"limit": 7}, headers=staff(token)).json()
    other = api.get("/admin/orders", params={"cursor": first["next_cursor"], "status": "paid"}, headers=staff(token))
    assert other.status_code == 422 and other.json()["error"] == "invalid_request"


def test_a_shops_staff_never_see_another_shops_orders(sixty, api):
    started, made = sixty
    festival = merchant_token("festival")
    since = {"created_from": started.isoformat()}
    rows = listed(api, festival, **since)
    assert {row["merchant"] for row in rows} == {"festival"}
    assert len(rows) == 20
    # Naming another shop is refused; searching finds only their own shop's orders.
    answer = api.get("/admin/orders", params={"merchant": "songstudio"}, headers=staff(festival))
    assert answer.status_code == 403 and answer.json()["error"] == "forbidden"
    song = next(m for m in made if m.merchant == "songstudio")
    assert listed(api, festival, q=song.number) == []
    assert listed(api, festival, q=song.order_id) == []
    assert [r["merchant"] for r in listed(api, festival, q=SHARED_EMAIL)] == ["festival"]
    zoes = [r["order_id"] for r in listed(api, festival, q="zoe", **since)]
    assert sorted(zoes) == sorted(m.order_id for m in made if m.merchant == "festival" and m.name.startswith("Zoë"))
    # ...and through the export.
    text = api.get("/admin/orders/export", params=since, headers=staff(festival)).content.decode("utf-8-sig")
    exported = list(csv.DictReader(io.StringIO(text)))
    assert {row["merchant"] for row in exported} == {"festival"} and len(exported) == 20
    exported = api.get("/admin/orders/export", params={"q": song.number}, headers=staff(festival)).text
    assert song.number not in exported
    assert api.get("/admin/orders/export", params={"merchant": "lumen"}, headers=staff(festival)).status_code == 403
    # Platform staff see every shop, and may narrow to one.
    platform = listed(api, platform_token(), merchant="lumen", **since)
    assert {row["merchant"] for row in platform} == {"lumen"} and len(platform) == 20


def test_the_export_parses_and_its_totals_are_the_orders_totals(sixty, api):
    started, made = sixty
    answer = api.get(
        "/admin/orders/export", params={"created_from": started.isoformat()}, headers=staff(platform_token())
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith('attachment; filename="orders-all-')
    assert answer.content.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte-order mark
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert [row["order_id"] for row in rows] == newest_first(made)
    exponents = {"USD": 2, "EUR": 2, "XAF": 0}
    totals, refunds = defaultdict(int), defaultdict(int)
    for row in rows:
        exponent = exponents[row["currency"]]
        total = row["total"]
        assert (len(total.partition(".")[2]) if "." in total else 0) == exponent  # major units, per currency
        totals[row["currency"]] += int(Decimal(total).scaleb(exponent))
        refunds[row["currency"]] += int(Decimal(row["refunded"]).scaleb(exponent))
    expected, refunded = defaultdict(int), defaultdict(int)
    for m in made:
        expected[m.currency] += m.total
        refunded[m.currency] += m.refunded
    assert totals == expected and refunds == refunded
    zoe = next(row for row in rows if row["customer_name"].startswith("Zoë"))  # accents survive
    assert zoe["items"].startswith("1 × ")

    # Asked as a link (or when large), the same file is at a 15-minute presigned URL.
    link = api.get(
        "/admin/orders/export",
        params={"created_from": started.isoformat(), "link": "true"},
        headers=staff(platform_token()),
    )
    assert link.status_code == 303 and link.json()["rows"] == 60
    downloaded = httpx.get(link.headers["location"], timeout=10)
    assert downloaded.status_code == 200
    assert [row["order_id"] for row in csv.DictReader(io.StringIO(downloaded.content.decode("utf-8-sig")))] == [
        row["order_id"] for row in rows
    ]


def test_bad_list_queries_are_4xx_with_a_reason(api):
    token = staff(platform_token())
    for params in ({"money_state": "rich"}, {"limit": 0}, {"limit": 101}, {"cursor": "not-a-cursor"}, {"q": "!!"}):
        answer = api.get("/admin/orders", params=params, headers=token)
        assert answer.status_code == 422, (params, answer.text)
        assert answer.json()["error"] == "invalid_request"
    assert api.get("/admin/orders").status_code == 401


def test_an_order_is_listed_the_moment_it_is_created(api):
    answer = api.post(
        "/checkouts",
        json={
            "items": [{"sku": "FEST-DONATION-10", "quantity": 2}],
            "currency": "USD",
            "customer": {"name": "Just Now", "email": "just.now@staff-orders.example"},
        },
    )
    order = answer.json()
    [row] = listed(api, merchant_token("festival"), q="just.now@staff-orders.example")
    assert row["order_id"] == order["order_id"] and row["items"] == "2 × Donation to the festival fund"
