"""A merchant that signed up gets paid: until Stripe Connect onboarding is done its public answers
say it is not taking payments yet; it onboards on the sandbox's Connect pages (account.updated
enables its charges), then opens its Express dashboard through a single-use login link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from signup_support import new_merchant, offers

from caisse_local.authorizer import issue_token


def next_monday() -> str:
    today = datetime.now(UTC).date()
    return (today + timedelta(days=(0 - today.weekday()) % 7 + 14)).isoformat()


def availability(api, slug: str) -> dict:
    answer = api.get(f"/merchants/{slug}/availability", params={"service": "callout", "date": next_monday()})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_new_merchant_says_it_is_not_taking_payments_until_onboarded_then_opens_its_dashboard(stack, api):
    slug, staff = new_merchant(stack, api)
    offers(api, slug, staff)

    before = availability(api, slug)
    assert before["slots"] and before["bookable"] is False
    assert before["notice"] == "Bright Sparks Electrical is not taking payments yet"
    listed = next(s for s in api.get("/catalog").json().get("services", []) if s["merchant"] == slug)
    assert listed["bookable"] is False and listed["notice"] == before["notice"]

    # No dashboard before there is an account, nor before onboarding is submitted.
    none_yet = api.post(f"/admin/merchants/{slug}/stripe/login-link", headers=staff)
    assert none_yet.status_code == 409 and none_yet.json()["error"] == "not_connected"
    onboarding = api.post(f"/admin/merchants/{slug}/stripe/connect", headers=staff)
    assert onboarding.status_code == 200, onboarding.text
    early = api.post(f"/admin/merchants/{slug}/stripe/login-link", headers=staff)
    assert early.status_code == 409 and early.json()["error"] == "onboarding_incomplete"

    page = httpx.get(onboarding.json()["onboarding_url"], timeout=10)
    assert "Bright Sparks Electrical" in page.text and "Complete onboarding" in page.text
    done = httpx.post(f"{onboarding.json()['onboarding_url']}/complete", timeout=10)
    assert done.status_code == 303 and f"/merchants/{slug}/onboarding?result=done" in done.headers["Location"]
    stack.flush_deliveries()  # account.updated reached the Connect webhook

    after = availability(api, slug)
    assert after["bookable"] is True and after["notice"] is None
    settings = api.get(f"/admin/merchants/{slug}", headers=staff).json()
    assert settings["connect"]["charges_enabled"] is True and settings["connect"]["payouts_enabled"] is True

    link = api.post(f"/admin/merchants/{slug}/stripe/login-link", headers=staff)
    assert link.status_code == 200, link.text
    assert link.json()["account_id"] == onboarding.json()["account_id"]
    dashboard = httpx.get(link.json()["url"], timeout=10)
    assert dashboard.status_code == 200 and "Express dashboard" in dashboard.text
    assert "Bright Sparks Electrical" in dashboard.text and "Payouts: enabled" in dashboard.text
    assert httpx.get(link.json()["url"], timeout=10).status_code == 410  # single use


def test_only_the_merchants_own_staff_or_platform_staff_get_its_dashboard_link(stack, api):
    slug, _ = new_merchant(stack, api)
    other = {"Authorization": f"Bearer {issue_token(merchant_id='fixit-plumbing')}"}
    assert api.post(f"/admin/merchants/{slug}/stripe/login-link", headers=other).status_code == 403
    platform = {"Authorization": f"Bearer {issue_token()}"}
    assert api.post(f"/admin/merchants/{slug}/stripe/login-link", headers=platform).json()["error"] == "not_connected"
    assert api.post(f"/admin/merchants/{slug}/stripe/login-link").status_code == 401
