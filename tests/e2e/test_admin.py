"""Staff move orders through their shop's stages; the API Gateway authorizer and merchant scoping
keep everyone to their own orders."""

from __future__ import annotations

import httpx
from e2e_support import merchant_token, order_status, platform_token, start, upload_deliverable, wait_for


def paid_song_order(api) -> dict:
    checkout = start(api)
    httpx.post(f"{checkout['next_action']['url']}/pay", timeout=10)
    wait_for(lambda: order_status(api, checkout) == "paid", what="paid")
    return checkout


def move(api, order_id: str, status: str, token: str | None, note: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"status": status} if note is None else {"status": status, "note": note}
    return api.post(f"/admin/orders/{order_id}/status", json=body, headers=headers)


def test_without_a_token_the_gateway_answers_401(api):
    checkout = start(api)
    assert move(api, checkout["order_id"], "discovery", None).status_code == 401
    assert move(api, checkout["order_id"], "discovery", "not-a-jwt").status_code == 401
    assert api.get(f"/admin/orders/{checkout['order_id']}").status_code == 401


def test_another_merchants_staff_get_403(api):
    checkout = paid_song_order(api)
    festival = merchant_token("festival")
    assert move(api, checkout["order_id"], "discovery", festival).status_code == 403
    assert (
        api.get(f"/admin/orders/{checkout['order_id']}", headers={"Authorization": f"Bearer {festival}"}).status_code
        == 403
    )
    assert order_status(api, checkout) == "paid"


def test_song_studio_stages_with_history_of_who_and_when(api):
    checkout = paid_song_order(api)
    token = merchant_token("songstudio")
    for stage in ("discovery", "writing", "production", "review", "delivered"):
        if stage == "delivered":
            upload_deliverable(api, checkout["order_id"], token)
        answer = move(api, checkout["order_id"], stage, token, note=f"now {stage}")
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == stage
    order = api.get(f"/admin/orders/{checkout['order_id']}", headers={"Authorization": f"Bearer {token}"}).json()
    stages = [h for h in order["history"][2:] if h["from"] != h["to"]]
    assert [h["to"] for h in stages] == ["discovery", "writing", "production", "review", "delivered"]
    # Attaching the file moved nothing, and is in the history too (who, when, which file).
    [attached] = [h for h in order["history"] if h["action"] == "deliverable"]
    assert attached["by"].startswith("staff:") and attached["changes"]["deliverable"].startswith("orders/")
    assert all(h["by"].startswith("staff:") and h["at"] for h in stages)
    assert stages[0]["note"] == "now discovery"
    assert order["customer"]["email"] == "ada@example.test"  # staff see who to deliver to


def test_an_illegal_move_is_409_naming_the_allowed_ones(api):
    checkout = paid_song_order(api)
    answer = move(api, checkout["order_id"], "delivered", platform_token())
    assert answer.status_code == 409
    body = answer.json()
    assert body["error"] == "illegal_transition"
    assert body["allowed"] == ["discovery", "cancelled"]
    unpaid = start(api)
    answer = move(api, unpaid["order_id"], "paid", platform_token())
    assert answer.status_code == 409
    assert answer.json()["allowed"] == ["cancelled"]


def test_platform_staff_act_on_every_merchant(api):
    checkout = paid_song_order(api)
    assert move(api, checkout["order_id"], "discovery", platform_token()).status_code == 200


def test_cancelling_an_unpaid_order_gives_its_stock_back(api):
    before = next(p for p in api.get("/catalog").json()["products"] if p["sku"] == "FEST-WEEKEND-PASS")["remaining"]
    checkout = start(api, "FEST-WEEKEND-PASS", quantity=2)
    answer = move(api, checkout["order_id"], "cancelled", merchant_token("festival"), note="customer asked")
    assert answer.status_code == 200
    after = next(p for p in api.get("/catalog").json()["products"] if p["sku"] == "FEST-WEEKEND-PASS")["remaining"]
    assert after == before


def test_unknown_order_is_404_for_staff(api):
    answer = api.get(
        "/admin/orders/00000000-0000-4000-8000-000000000000", headers={"Authorization": f"Bearer {platform_token()}"}
    )
    assert answer.status_code == 404
