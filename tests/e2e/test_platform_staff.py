"""The platform's staff: the list of every merchant (plan, onboarding, activity) and suspending one.
A suspended merchant's new checkouts answer 409 while its orders already made go on; lifting the
suspension restores them; each time its staff are emailed and the change is recorded."""

from __future__ import annotations

import httpx
from e2e_support import aws_faults, customer, order_status, pay, sent_emails, wait_for
from signup_support import new_merchant

from caisse.db import encode_cursor
from caisse_local.authorizer import issue_token

PLATFORM = {"Authorization": f"Bearer {issue_token()}"}
FESTIVAL_STAFF = {"Authorization": f"Bearer {issue_token(merchant_id='festival')}"}


def day_pass(api: httpx.Client) -> httpx.Response:
    return api.post(
        "/checkouts",
        json={"items": [{"sku": "FEST-DAY-PASS", "quantity": 1}], "currency": "USD", "customer": customer()},
    )


def every_merchant(api: httpx.Client, limit: int | None = None) -> list[list[dict]]:
    """GET /admin/merchants page after page, following the cursors: the pages' rows."""
    pages: list[list[dict]] = []
    cursor = None
    while True:
        params = {"cursor": cursor} if cursor else {}
        listed = api.get("/admin/merchants", params={**params, **({"limit": limit} if limit else {})}, headers=PLATFORM)
        assert listed.status_code == 200, listed.text
        pages.append(listed.json()["merchants"])
        cursor = listed.json()["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100, "the cursors never end"


def row(api: httpx.Client, merchant: str) -> dict:
    return next(r for page in every_merchant(api) for r in page if r["merchant"] == merchant)


def test_the_merchant_list_comes_a_page_at_a_time_each_merchant_once_by_id(stack, api):
    slugs = sorted(new_merchant(stack, api)[0] for _ in range(3))
    pages = every_merchant(api, limit=2)
    ids = [r["merchant"] for page in pages for r in page]
    assert all(len(page) <= 2 for page in pages) and len(pages) == -(-len(ids) // 2)
    assert ids == sorted(set(ids)) and set(slugs) <= set(ids) and {"festival", "fixit-plumbing"} <= set(ids)
    whole = api.get("/admin/merchants", headers=PLATFORM).json()
    assert [r["merchant"] for r in whole["merchants"]] == ids[:50] and (whole["next_cursor"] is None) == (
        len(ids) <= 50
    )

    for bad in ("not-a-cursor", encode_cursor("MERCHANT#festival", "another list")):
        refused = api.get("/admin/merchants", params={"cursor": bad}, headers=PLATFORM)
        assert refused.status_code == 422 and refused.json()["field"] == "cursor", refused.text
    for limit in (0, 101):
        assert api.get("/admin/merchants", params={"limit": limit}, headers=PLATFORM).status_code == 422


def test_platform_staff_list_every_merchant_and_merchant_staff_may_not(stack, api):
    slug, staff = new_merchant(stack, api)
    assert api.get("/admin/merchants", headers=staff).status_code == 403
    assert api.get("/admin/merchants", headers=FESTIVAL_STAFF).status_code == 403

    new = row(api, slug)
    assert new["kind"] == "trades" and new["signed_up_at"] and new["plan"] is None
    assert new["onboarding"] == {"account": None, "charges_enabled": False, "payouts_enabled": False}
    assert (new["taking_orders"], new["refusal"]) == (False, "merchant_plan_inactive")
    assert new["activity"] == {"orders_last_30_days": 0, "last_order_on": None}
    plumber = row(api, "fixit-plumbing")  # a demo merchant: onboarded, no plan needed
    assert plumber["kind"] is None and plumber["onboarding"]["charges_enabled"] is True
    assert plumber["taking_orders"] is True

    # Activity comes from the figures the orders stream keeps: a paid order shows up.
    before = row(api, "festival")["activity"]["orders_last_30_days"]
    order = day_pass(api).json()
    pay(stack, order)
    stack.flush_deliveries()
    wait_for(lambda: row(api, "festival")["activity"]["orders_last_30_days"] == before + 1, what="activity counted")
    assert row(api, "festival")["activity"]["last_order_on"]


def test_a_suspended_merchant_refuses_new_checkouts_until_lifted_and_its_staff_are_told(stack, api):
    earlier = day_pass(api)  # made before the suspension: it goes on
    assert earlier.status_code == 201, earlier.text
    assert (
        api.post("/admin/merchants/festival/suspension", headers=FESTIVAL_STAFF, json={"reason": "x" * 5}).status_code
        == 403
    )
    try:
        suspended = api.post(
            "/admin/merchants/festival/suspension", headers=PLATFORM, json={"reason": "Chargebacks above the limit"}
        )
        assert suspended.status_code == 200, suspended.text
        assert suspended.json()["suspended"]["reason"] == "Chargebacks above the limit"
        again = api.post("/admin/merchants/festival/suspension", headers=PLATFORM, json={"reason": "twice"})
        assert again.status_code == 409 and again.json()["error"] == "already_suspended"

        refused = day_pass(api)
        assert refused.status_code == 409 and refused.json()["error"] == "merchant_suspended"
        assert refused.json()["message"] == "Sunset Festival is not taking orders at the moment"
        assert row(api, "festival")["suspended"]["by"].startswith("staff:")

        pay(stack, earlier.json())  # the order made before is still paid and fulfilled
        stack.flush_deliveries()
        wait_for(lambda: order_status(api, earlier.json()) != "pending_payment", what="the earlier order paid")

        told = wait_for(
            lambda: sent_emails(stack, to="ops@sunsetfestival.example", kind="merchant_suspended"),
            what="suspension email",
        )
        assert "Chargebacks above the limit" in told[-1]["text"]
    finally:
        lifted = api.delete("/admin/merchants/festival/suspension", headers=PLATFORM)
    assert lifted.status_code == 200, lifted.text
    assert api.delete("/admin/merchants/festival/suspension", headers=PLATFORM).json()["error"] == "not_suspended"
    assert day_pass(api).status_code == 201
    assert row(api, "festival")["suspended"] is None
    wait_for(lambda: sent_emails(stack, to="ops@sunsetfestival.example", kind="merchant_reinstated"), what="lift email")

    # Both are in the merchant's change history, with who, when and why.
    history = api.get("/admin/merchants/festival/changes", headers=PLATFORM)
    assert history.status_code == 200, history.text
    lifted_change, suspended_change = history.json()["changes"][:2]
    assert suspended_change["changes"]["suspended"]["new"]["reason"] == "Chargebacks above the limit"
    assert lifted_change["changes"]["suspended"]["new"] is None
    assert lifted_change["by"].startswith("staff:") and lifted_change["at"] >= suspended_change["at"]


def test_suspending_a_merchant_the_platform_does_not_have_is_404(api):
    answer = api.post("/admin/merchants/no-such-shop/suspension", headers=PLATFORM, json={"reason": "testing"})
    assert answer.status_code == 404


def test_a_suspension_while_sqs_refuses_still_tells_the_staff_once(stack, api):
    # The email is written with the suspension (a MerchantNotice the orders stream sends), so a queue
    # refusing at that moment delays it and loses nothing; the answer does not depend on the queue.
    stack.drain()  # nothing else in flight: the one refusal is this email's
    aws_faults(stack, service="sqs", operation="SendMessageBatch", code="ServiceUnavailable", count=1)
    try:
        suspended = api.post(
            "/admin/merchants/lumen/suspension", headers=PLATFORM, json={"reason": "Identity documents to check"}
        )
        assert suspended.status_code == 200, suspended.text
        told = wait_for(
            lambda: sent_emails(stack, to="bookings@lumen.example", kind="merchant_suspended"),
            timeout=90,
            what="the suspension email, once SQS answers again",
        )
        fired = httpx.get(f"{stack.aws}/_caisse/faults", timeout=5).json()["faults"]
        assert [f["fired"] for f in fired] == [1]  # the queue did refuse it first
    finally:
        aws_faults(stack)
        lifted = api.delete("/admin/merchants/lumen/suspension", headers=PLATFORM)
    assert lifted.status_code == 200, lifted.text
    assert "Identity documents to check" in told[-1]["text"]
    wait_for(lambda: sent_emails(stack, to="bookings@lumen.example", kind="merchant_reinstated"), what="lift email")
    stack.drain()
    assert len(sent_emails(stack, to="bookings@lumen.example", kind="merchant_suspended")) == len(told) == 1
