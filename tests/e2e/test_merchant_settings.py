"""A merchant's own staff change its settings through the API (PATCH /admin/merchants/{id}/settings):
the next order's emails and page use the new name, address and time zone; the refund policy stays
within the platform's bounds and the next refund follows it; each change is listed once with who
made it; another merchant's staff are refused; the new-order email can be switched off.

The tests change demo merchants that other tests use, so each puts back what it changed, even
when it fails."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
import jwt
from e2e_support import emails_for, merchant_token, order_status, pay, queues_idle, start, wait_for

LUMEN = "lumen"
FIXIT = "fixit-plumbing"


def staff_headers(merchant: str, token: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token or merchant_token(merchant)}"}


def settings_of(api, merchant: str) -> dict:
    answer = api.get(f"/admin/merchants/{merchant}/settings", headers=staff_headers(merchant))
    assert answer.status_code == 200, answer.text
    return answer.json()


def changes_of(api, merchant: str, **params) -> dict:
    answer = api.get(f"/admin/merchants/{merchant}/changes", params=params, headers=staff_headers(merchant))
    assert answer.status_code == 200, answer.text
    return answer.json()


@contextmanager
def changed(api, merchant: str, changes: dict, token: str | None = None):
    """The settings changed for the block, then put back as they were."""
    before = settings_of(api, merchant)
    answer = api.patch(f"/admin/merchants/{merchant}/settings", json=changes, headers=staff_headers(merchant, token))
    assert answer.status_code == 200, answer.text
    try:
        yield answer.json()
    finally:
        restore = {field: before[field] for field in changes}
        back = api.patch(f"/admin/merchants/{merchant}/settings", json=restore, headers=staff_headers(merchant))
        assert back.status_code == 200, back.text


def paid_order(api, stack) -> dict:
    order = start(api, "PHOTO-PRINT-A3")
    pay(stack, order)
    wait_for(lambda: order_status(api, order) == "paid", what="paid")
    return order


def everything_sent(stack) -> None:
    stack.flush_deliveries()
    wait_for(lambda: queues_idle(stack), timeout=30, what="the notification queue to be idle")


def test_new_details_reach_the_next_orders_emails_and_page_and_are_recorded_once(api, stack):
    token = merchant_token(LUMEN)
    subject = jwt.decode(token, options={"verify_signature": False})["sub"]
    before = changes_of(api, LUMEN, limit=100)["changes"]
    new = {"name": "Lumen Studio & Co", "staff_email": "team@lumen-studio.example", "timezone": "Europe/Paris"}
    with changed(api, LUMEN, new, token) as answer:
        assert {field: answer[field] for field in new} == new
        order = paid_order(api, stack)
        [staff_mail] = wait_for(lambda: emails_for(stack, order["order_id"], "new_order"), what="the new-order email")
        assert staff_mail["to"] == "team@lumen-studio.example"
        [confirmation] = wait_for(
            lambda: emails_for(stack, order["order_id"], "order_confirmed"), what="the confirmation"
        )
        assert "Lumen Studio & Co" in confirmation["text"]
        page = api.get(f"/orders/{order['order_id']}", headers={"Authorization": f"Bearer {order['order_token']}"})
        assert page.json()["shop"] == {"name": "Lumen Studio & Co", "timezone": "Europe/Paris"}

        # The same values again change nothing and record nothing.
        again = api.patch(f"/admin/merchants/{LUMEN}/settings", json=new, headers=staff_headers(LUMEN))
        assert again.status_code == 200
        history = changes_of(api, LUMEN, limit=100)["changes"]
        assert len(history) == len(before) + 1
        [latest] = history[: len(history) - len(before)]
        assert latest["by"] == f"staff:{subject}"
        assert latest["fields"] == ["name", "staff_email", "timezone"]
        assert latest["changes"]["name"] == {"old": "Lumen Photography", "new": "Lumen Studio & Co"}
        assert latest["changes"]["timezone"] == {"old": "America/New_York", "new": "Europe/Paris"}
    # Put back (and recorded as a change of its own, newest first); orders already made keep theirs.
    history = changes_of(api, LUMEN, limit=100)["changes"]
    assert history[0]["changes"]["name"] == {"old": "Lumen Studio & Co", "new": "Lumen Photography"}
    assert len(history) == len(before) + 2
    page = api.get(f"/orders/{order['order_id']}", headers={"Authorization": f"Bearer {order['order_token']}"})
    assert page.json()["shop"]["name"] == "Lumen Studio & Co"
    assert settings_of(api, LUMEN)["name"] == "Lumen Photography"


def test_the_history_pages_newest_first(api):
    for opacity in (0.3, 0.5, 0.4):
        answer = api.patch(
            f"/admin/merchants/{LUMEN}/settings", json={"watermark": {"opacity": opacity}}, headers=staff_headers(LUMEN)
        )
        assert answer.status_code == 200 and answer.json()["watermark"]["opacity"] == opacity
    first = changes_of(api, LUMEN, limit=2)
    assert [c["changes"]["watermark"]["new"]["opacity"] for c in first["changes"]] == [0.4, 0.5]
    assert first["changes"][0]["changes"]["watermark"]["new"]["text"] == "© Lumen Photography"  # the text stays
    second = changes_of(api, LUMEN, limit=2, cursor=first["next_cursor"])
    assert second["changes"][0]["changes"]["watermark"]["new"]["opacity"] == 0.3
    assert second["changes"][0]["at"] < first["changes"][-1]["at"]
    wrong = api.get(
        f"/admin/merchants/{FIXIT}/changes", params={"cursor": first["next_cursor"]}, headers=staff_headers(FIXIT)
    )
    assert wrong.status_code == 422


def test_a_refund_policy_out_of_the_platforms_bounds_is_refused_and_nothing_is_written(api):
    before = settings_of(api, FIXIT)
    history = changes_of(api, FIXIT, limit=100)["changes"]
    assert before["refund_bounds"]["refund_percent_min_before_work"] == 50
    answer = api.patch(
        f"/admin/merchants/{FIXIT}/settings",
        json={"name": "FixIt Plumbing Pty", "refund_policy": {"scheduled": 80, "paid": 40}},
        headers=staff_headers(FIXIT),
    )
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert (body["error"], body["stage"], body["bound"], body["limit"]) == (
        "refund_policy_out_of_bounds",
        "paid",
        "refund_percent_min_before_work",
        50,
    )
    unknown = api.patch(
        f"/admin/merchants/{FIXIT}/settings", json={"refund_policy": {"shooting": 10}}, headers=staff_headers(FIXIT)
    )
    assert unknown.status_code == 400 and unknown.json()["error"] == "unknown_stage"
    for wrong in ({"refund_policy": {"paid": 101}}, {"colour": "red"}, {"timezone": "Mars/Olympus"}):
        refused = api.patch(f"/admin/merchants/{FIXIT}/settings", json=wrong, headers=staff_headers(FIXIT))
        assert refused.status_code == 422, (wrong, refused.text)
    assert settings_of(api, FIXIT) == before
    assert changes_of(api, FIXIT, limit=100)["changes"] == history


def test_a_refund_after_the_change_follows_the_new_policy(api, stack):
    from test_bookings import free, next_weekday

    day = next_weekday(2, 11)
    with changed(api, FIXIT, {"refund_policy": {"paid": 50}}) as answer:
        assert answer["refund_policy"] == {"paid": 50, "scheduled": 100, "job_done": 0}
        start = free(api, day)[0]["start"]
        booked = api.post(
            "/checkouts",
            json={
                "booking": {"merchant": FIXIT, "service": "callout", "start": start},
                "currency": "AUD",
                "customer": {"name": "Sam", "email": f"sam-{uuid.uuid4().hex[:6]}@example.test"},
            },
        )
        assert booked.status_code == 201, booked.text
        booking = booked.json()
        httpx.post(f"{booking['next_action']['url']}/pay", timeout=10)
        wait_for(lambda: order_status(api, booking) == "paid", what="the deposit to be paid")
        cancelled = api.post(
            f"/admin/bookings/{booking['order_id']}/cancel", json={"reason": "moved"}, headers=staff_headers(FIXIT)
        )
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["refund"]["amount"] == {"amount": 1500, "currency": "AUD"}  # half the AUD 30 deposit


def test_another_merchants_staff_are_refused(api):
    other = staff_headers("festival")
    before = changes_of(api, LUMEN, limit=100)["changes"]
    assert api.patch(f"/admin/merchants/{LUMEN}/settings", json={"name": "Mine"}, headers=other).status_code == 403
    assert api.get(f"/admin/merchants/{LUMEN}/settings", headers=other).status_code == 403
    assert api.get(f"/admin/merchants/{LUMEN}/changes", headers=other).status_code == 403
    hours = api.put(f"/admin/merchants/{LUMEN}/hours", json={"weekly": {}}, headers=other)
    assert hours.status_code == 403
    assert settings_of(api, LUMEN)["name"] == "Lumen Photography"
    assert changes_of(api, LUMEN, limit=100)["changes"] == before


def test_hours_and_services_changes_are_recorded_too(api):
    token = staff_headers(FIXIT)
    hours = settings_of(api, FIXIT)["hours"]
    moved = {**hours, "weekly": {**hours["weekly"], "sat": [["09:00", "12:00"]]}}
    assert api.put(f"/admin/merchants/{FIXIT}/hours", json=moved, headers=token).status_code == 200
    try:
        [latest] = changes_of(api, FIXIT, limit=1)["changes"]
        assert latest["fields"] == ["weekly"] and latest["changes"]["weekly"]["new"]["sat"] == [["09:00", "12:00"]]
    finally:
        assert api.put(f"/admin/merchants/{FIXIT}/hours", json=hours, headers=token).status_code == 200
    spec = {
        "name": "Drain clear",
        "duration_minutes": 60,
        "currency": "AUD",
        "full_price": 12000,
        "deposit": {"fixed": 2000},
    }
    assert api.put(f"/admin/merchants/{FIXIT}/services/drain-clear", json=spec, headers=token).status_code == 200
    [latest] = changes_of(api, FIXIT, limit=1)["changes"]
    assert latest["fields"] == ["service:drain-clear"] and latest["changes"]["service:drain-clear"]["old"] is None
    count = len(changes_of(api, FIXIT, limit=100)["changes"])
    assert api.put(f"/admin/merchants/{FIXIT}/services/drain-clear", json=spec, headers=token).status_code == 200
    assert len(changes_of(api, FIXIT, limit=100)["changes"]) == count  # the same again: nothing recorded


def test_switching_the_new_order_email_off_stops_it(api, stack):
    with changed(api, LUMEN, {"new_order_email": False}) as answer:
        assert answer["new_order_email"] is False
        quiet = paid_order(api, stack)
        wait_for(lambda: emails_for(stack, quiet["order_id"], "order_confirmed"), what="the customer's confirmation")
        everything_sent(stack)
        assert emails_for(stack, quiet["order_id"], "new_order") == []
    told = paid_order(api, stack)
    wait_for(lambda: emails_for(stack, told["order_id"], "new_order"), what="the new-order email once on again")


def test_a_new_gallery_takes_the_photographers_defaults_unless_staff_say_otherwise(api):
    def create(**given) -> dict:
        body = {"title": "Smith wedding", "client": {"name": "Awa", "email": "awa@example.test"}, **given}
        answer = api.post("/admin/galleries", json=body, headers=staff_headers(LUMEN))
        assert answer.status_code == 201, answer.text
        return answer.json()

    assert settings_of(api, LUMEN)["gallery_defaults"] == {"expiry_days": 30, "downloads": False}
    with changed(api, LUMEN, {"gallery_defaults": {"expiry_days": 10, "downloads": True}}) as answer:
        assert answer["gallery_defaults"] == {"expiry_days": 10, "downloads": True}
        made = create()
        closes = datetime.fromisoformat(made["expires_at"]) - datetime.now(UTC)
        assert timedelta(days=9, hours=23) < closes <= timedelta(days=10) and made["downloads"] is True
        chosen = create(expires_at=(datetime.now(UTC) + timedelta(days=3)).isoformat(), downloads=False)
        assert datetime.fromisoformat(chosen["expires_at"]) - datetime.now(UTC) < timedelta(days=3)
        assert chosen["downloads"] is False
    for gallery in (made, chosen):
        assert api.delete(f"/admin/galleries/{gallery['gallery_id']}", headers=staff_headers(LUMEN)).is_success
