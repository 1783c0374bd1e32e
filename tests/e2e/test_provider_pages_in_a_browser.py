"""The provider sandbox's pages, as a customer uses them: in a real browser (Debian's chromium),
on a laptop and on a phone, checked with axe-core. A customer who pays on the hosted page ends up
with a paid order."""

from __future__ import annotations

from browser_support import DESKTOP, PHONE, axe_violations, horizontal_overflow, open_page, screenshot
from e2e_support import order_status, start, wait_for


def test_paying_on_the_card_page_in_a_browser_pays_the_order(api, browser):
    checkout = start(api, "SONG-STANDARD", "USD")
    page = open_page(browser, DESKTOP)
    try:
        page.goto(checkout["next_action"]["url"])
        assert page.locator("#total").inner_text() == "USD 99.00"
        assert "Custom song" in page.locator("table").inner_text()
        assert axe_violations(page) == []
        screenshot(page, "sandbox-card-checkout-desktop")
        page.get_by_role("button", name="Pay").click()
        page.wait_for_url("**result=success**")  # the provider sends the browser back to the shop
        assert page.errors == []
    finally:
        page.context.close()
    wait_for(lambda: order_status(api, checkout) == "paid", what="the order to be paid")


def test_the_phone_prompt_page_fits_a_phone_and_approving_pays(api, browser, stack):
    customer = {"name": "Awa", "email": "awa@example.test", "phone": "237677777777"}
    checkout = start(api, "SONG-STANDARD", "XAF", customer=customer)
    page = open_page(browser, PHONE)
    try:
        page.goto(f"{stack.sandbox}/handset")
        prompt = page.locator("section.prompt", has_text=checkout["order_number"])
        assert "XAF 60000" in prompt.inner_text()
        assert horizontal_overflow(page) == 0
        assert axe_violations(page) == []
        screenshot(page, "sandbox-handset-phone")
        prompt.get_by_role("button", name="Approve").click()
        page.wait_for_load_state()
    finally:
        page.context.close()
    wait_for(lambda: order_status(api, checkout) == "paid", what="the order to be paid")
