"""The hosted order page, as a customer uses it: in a real browser (Debian's chromium), reached
from the provider's page after paying and from the link in the emails, in their language, on a
laptop and a phone, checked with axe-core."""

from __future__ import annotations

import re

import httpx
from browser_support import DESKTOP, PHONE, axe_violations, horizontal_overflow, open_page, screenshot
from e2e_support import emails_for, merchant_token, order_status, order_view, start, wait_for
from playwright.sync_api import expect

PAGE_WAIT_MS = 30_000  # the page polls the API; the webhook lands in a second or two


def page_link(stack, checkout: dict) -> str:
    return f"{stack.api}/order/{checkout['order_id']}#token={checkout['order_token']}"


def test_paying_on_the_providers_page_lands_on_the_order_page_which_shows_it_paid(api, browser, stack):
    checkout = start(api, "SONG-STANDARD", "USD")
    page = open_page(browser, DESKTOP)
    try:
        page.goto(checkout["next_action"]["url"])
        page.get_by_role("button", name="Pay").click()
        # Back through the return route to the hosted page; the token came along in the fragment.
        page.wait_for_url(re.compile(rf"/order/{checkout['order_id']}\?result=success#token="))
        expect(page.get_by_role("heading", name="Paid, thank you")).to_be_visible(timeout=PAGE_WAIT_MS)
        expect(page.get_by_text(checkout["order_number"])).to_be_visible()
        assert "$99.00" in page.locator("table.items").inner_text()
        assert axe_violations(page) == []
        screenshot(page, "order-page-paid-desktop")
        assert page.errors == []
    finally:
        page.context.close()


def test_a_pending_order_turns_paid_without_a_reload(api, browser, stack):
    checkout = start(api, "FEST-DAY-PASS", "USD", quantity=2)
    page = open_page(browser, PHONE)
    try:
        page.goto(page_link(stack, checkout))
        expect(page.get_by_role("heading", name="Waiting for your payment")).to_be_visible()
        assert page.get_by_role("link", name="Pay now").get_attribute("href") == checkout["next_action"]["url"]
        assert horizontal_overflow(page) == 0
        assert axe_violations(page) == []
        screenshot(page, "order-page-pending-phone")
        page.evaluate("window.__sameDocument = true")  # gone if the page reloads
        httpx.post(f"{checkout['next_action']['url']}/pay", timeout=10)  # the customer pays in another tab
        expect(page.get_by_role("heading", name="Paid, thank you")).to_be_visible(timeout=PAGE_WAIT_MS)
        assert page.evaluate("window.__sameDocument") is True
        assert page.errors == []
    finally:
        page.context.close()


def test_a_french_customer_follows_the_emails_link_in_french_through_the_stages(api, browser, stack):
    customer = {"name": "Fatou", "email": "fatou@example.test", "locale": "fr"}
    checkout = start(api, "SONG-STANDARD", "USD", customer=customer)
    httpx.post(f"{checkout['next_action']['url']}/pay", timeout=10)
    wait_for(lambda: order_status(api, checkout) == "paid", what="paid")
    staff = {"Authorization": f"Bearer {merchant_token('songstudio')}"}
    for stage in ("discovery", "writing"):
        moved = api.post(f"/admin/orders/{checkout['order_id']}/status", json={"status": stage}, headers=staff)
        assert moved.status_code == 200, moved.text
    [mail] = wait_for(lambda: emails_for(stack, checkout["order_id"], "order_confirmed"), what="the confirmation")
    link = re.search(r"https?://\S+/order/\S+#token=\S+", mail["text"])
    assert link, mail["text"]
    page = open_page(browser, PHONE, locale="fr-FR")
    try:
        page.goto(link.group(0))
        expect(page.get_by_role("heading", name="Écriture")).to_be_visible()
        text = page.locator("main").inner_text()
        assert "Commande " + checkout["order_number"] in text and "Étape 2 sur 5" in text
        assert "99,00\u00a0$US" in text  # French writes the amount before the currency
        assert horizontal_overflow(page) == 0
        assert axe_violations(page) == []
        screenshot(page, "order-page-stages-phone-fr")
        page.get_by_role("button", name="English").click()
        expect(page.get_by_role("heading", name="Writing")).to_be_visible()
        assert page.errors == []
    finally:
        page.context.close()


def test_what_the_shop_writes_shows_as_text_and_a_wrong_token_shows_nothing(api, browser, stack):
    checkout = start(api, "SONG-STANDARD", "USD")
    httpx.post(f"{checkout['next_action']['url']}/pay", timeout=10)
    wait_for(lambda: order_status(api, checkout) == "paid", what="paid")
    hostile = "<img src=x onerror=alert(1)>"
    staff = {"Authorization": f"Bearer {merchant_token('songstudio')}"}
    moved = api.post(
        f"/admin/orders/{checkout['order_id']}/status", json={"status": "discovery", "message": hostile}, headers=staff
    )
    assert moved.status_code == 200, moved.text
    page = open_page(browser, DESKTOP)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        page.goto(page_link(stack, checkout))
        expect(page.get_by_text(hostile)).to_be_visible()
        assert page.locator("main img").count() == 0 and dialogs == []
        page.goto(f"{stack.api}/order/{checkout['order_id']}#token=not-the-token")
        page.reload()
        expect(page.get_by_text("We could not find this order")).to_be_visible()
        assert checkout["order_number"] not in page.locator("main").inner_text()
    finally:
        page.context.close()


def test_a_jobs_customer_sees_the_balance_due_with_where_to_pay_it_then_paid(api, browser, stack):
    from signup_support import sandbox_get
    from test_bookings import FIXIT, account_of, paid_booking, staff

    booking = paid_booking(api, stack, weeks_ahead=19)
    account = account_of(stack)
    session = sandbox_get(stack, f"/v1/checkout/sessions/{booking['next_action']['url'].rsplit('/', 1)[1]}", account)
    card = sandbox_get(stack, f"/v1/payment_intents/{session['payment_intent']}", account)["payment_method"]
    httpx.post(
        f"{stack.sandbox}/_sandbox/stripe/payment_methods/{card}/behaviour",
        json={"off_session": "authentication_required"},  # the bank wants the customer: the balance stays due
        timeout=10,
    ).raise_for_status()
    due = api.post(
        f"/admin/bookings/{booking['order_id']}/charge-balance", json={"final_amount": 18000}, headers=staff(FIXIT)
    )
    assert due.status_code == 200 and due.json()["status"] == "due", due.text

    page = open_page(browser, PHONE)
    try:
        page.goto(page_link(stack, booking))
        sums = page.locator("table.items tfoot")
        expect(sums).to_contain_text("Balance due", timeout=PAGE_WAIT_MS)
        expect(sums).to_contain_text("A$150.00")
        expect(page.get_by_role("link", name="Pay the balance")).to_have_attribute("href", due.json()["link"])
        expect(page.locator("section.status")).to_contain_text("The balance of A$150.00 is due")
        assert horizontal_overflow(page) == 0 and axe_violations(page) == []
        screenshot(page, "order-page-balance-due-phone")
        httpx.post(f"{due.json()['link']}/pay", timeout=10)  # the customer pays on Stripe's page
        wait_for(lambda: order_view(api, booking).get("balance", {}).get("status") == "paid", what="the balance paid")
        page.reload()  # back from Stripe's page, as the customer comes back
        expect(sums).to_contain_text("Balance paid", timeout=PAGE_WAIT_MS)
        expect(page.get_by_role("link", name="Pay the balance")).to_have_count(0)
        expect(page.locator("ol.timeline")).to_contain_text("Balance of A$150.00 paid")
        assert page.errors == []
    finally:
        page.context.close()
