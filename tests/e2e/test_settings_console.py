"""The console's Settings page as a tradie's staff use it, in Debian's chromium: a refund policy
below the platform's minimum is refused at its field and nothing changes; a new business name is
saved, shows in the header and in the list of changes with the time in the shop's zone; on a
phone in French nothing scrolls sideways and axe finds nothing serious."""

from __future__ import annotations

import re

from browser_support import (
    DESKTOP,
    PHONE,
    axe_violations,
    horizontal_overflow,
    open_page,
    screenshot,
    sign_in_to_console,
)
from e2e_support import merchant_token
from playwright.sync_api import expect

FIXIT = "fixit-plumbing"
WAIT_MS = 30_000


def settings_of(api) -> dict:
    answer = api.get(f"/admin/merchants/{FIXIT}/settings", headers={"Authorization": f"Bearer {merchant_token(FIXIT)}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_staff_change_their_business_and_see_a_refused_refund_policy_at_its_field(api, stack, browser):
    before = settings_of(api)
    page = open_page(browser, DESKTOP)
    try:
        sign_in_to_console(page, stack.api, merchant_token(FIXIT), timeout_ms=WAIT_MS)
        page.get_by_role("link", name="Settings", exact=True).click()
        expect(page.get_by_role("heading", name="Settings", exact=True)).to_be_visible(timeout=WAIT_MS)
        refunds = page.get_by_role("form", name="Refund policy")
        expect(refunds).to_contain_text("at least 50 %")
        paid = refunds.get_by_label("Paid, before any work (%)")
        paid.fill("40")
        refunds.get_by_role("button", name="Save").click()
        expect(refunds.get_by_role("alert")).to_contain_text("at least 50 %", timeout=WAIT_MS)
        expect(paid).to_have_attribute("aria-invalid", "true")
        assert settings_of(api)["refund_policy"] == before["refund_policy"]
        assert axe_violations(page) == []
        screenshot(page, "console-settings-refused-desktop")

        business = page.get_by_role("form", name="Business")
        business.get_by_label("Business name").fill("FixIt Plumbing & Gas")
        business.get_by_role("button", name="Save").click()
        expect(page.locator(".shop-name")).to_have_text("FixIt Plumbing & Gas", timeout=WAIT_MS)
        changes = page.get_by_role("table").filter(has_text="What changed")
        first = changes.locator("tbody tr").first
        expect(first).to_contain_text("Name: FixIt Plumbing → FixIt Plumbing & Gas", timeout=WAIT_MS)
        expect(first.locator("td").first).to_have_text(re.compile(r"GMT\+1[01]$"))  # in Sydney, the shop's zone
        assert settings_of(api)["name"] == "FixIt Plumbing & Gas"

        hours = page.get_by_role("form", name="Working hours")
        hours.get_by_label("Saturday").fill("8:00-12:00")
        hours.get_by_role("button", name="Save").click()
        expect(changes.locator("tbody tr").first).to_contain_text("Hours: sat — → 08:00-12:00", timeout=WAIT_MS)
        assert settings_of(api)["hours"]["weekly"]["sat"] == [["08:00", "12:00"]]
        hours = page.get_by_role("form", name="Working hours")
        hours.get_by_label("Sunday").fill("9 to 12")
        hours.get_by_role("button", name="Save").click()
        expect(hours.get_by_role("alert")).to_contain_text("“9 to 12” is not a span like 08:00-12:00")

        page.get_by_role("button", name="Change Plumbing call-out (1 hour)").click()
        service = page.get_by_role("form", name="Add or change a service")
        expect(service.get_by_label("Full price (AUD)")).to_have_value("150.00")
        service.get_by_label("Full price (AUD)").fill("160.00")
        service.get_by_role("button", name="Save").click()
        expect(changes.locator("tbody tr").first).to_contain_text(
            "Service callout: full_price A$150.00 → A$160.00", timeout=WAIT_MS
        )
        [callout] = [s for s in settings_of(api)["services"] if s["service_id"] == "callout"]
        assert callout["full_price"] == {"amount": 16000, "currency": "AUD"} and callout["deposit"] == {"percent": 20}
        assert axe_violations(page) == []
        screenshot(page, "console-settings-desktop")
        assert page.errors == []
    finally:
        page.context.close()
        token = {"Authorization": f"Bearer {merchant_token(FIXIT)}"}
        api.patch(f"/admin/merchants/{FIXIT}/settings", json={"name": before["name"]}, headers=token)
        api.put(f"/admin/merchants/{FIXIT}/hours", json=before["hours"], headers=token)
        [callout] = [s for s in before["services"] if s["service_id"] == "callout"]
        original = {
            "name": callout["name"],
            "duration_minutes": callout["duration_minutes"],
            "currency": "AUD",
            "full_price": callout["full_price"]["amount"],
            "deposit": callout["deposit"],
        }
        api.put(f"/admin/merchants/{FIXIT}/services/callout", json=original, headers=token)


def test_settings_on_a_phone_in_french(api, stack, browser):
    phone = open_page(browser, PHONE, locale="fr-FR")
    try:
        phone.goto(f"{stack.api}/console")
        phone.get_by_label("Jeton du personnel").fill(merchant_token("lumen"))
        phone.get_by_role("button", name="Se connecter").click()
        phone.get_by_role("link", name="Réglages", exact=True).click()
        expect(phone.get_by_role("heading", name="Réglages", exact=True)).to_be_visible(timeout=WAIT_MS)
        expect(phone.get_by_role("form", name="Galeries par défaut")).to_be_visible()
        expect(phone.get_by_role("form", name="Politique de remboursement")).to_contain_text("Séance réservée")
        assert horizontal_overflow(phone) == 0
        assert (
            "null" not in phone.locator("main").inner_text() and "undefined" not in phone.locator("main").inner_text()
        )
        assert axe_violations(phone) == []
        screenshot(phone, "console-settings-phone-fr")
        assert phone.errors == []
    finally:
        phone.context.close()
