"""The hosted order page, as a customer uses it: in a real browser (Debian's chromium), reached
from the provider's page after paying and from the link in the emails, in their language, on a
laptop and a phone, checked with axe-core."""

from __future__ import annotations

import re
import uuid

import httpx
from browser_support import (
    DESKTOP,
    PHONE,
    axe_violations,
    horizontal_overflow,
    open_page,
    screenshot,
    sign_in_to_console,
)
from e2e_support import (
    admin_view,
    check_in,
    emails_for,
    merchant_token,
    order_status,
    order_view,
    plain,
    start,
    wait_for,
)
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


def test_a_buyer_gives_back_their_tickets_for_a_night_that_moved_from_the_order_page(api, browser, stack):
    """A night put back a week and moved after its tickets were sold: the buyer's page offers them
    back in full until it starts; they say yes on their phone (a first try meets Stripe down and
    keeps the tickets), the tickets show as refunded, the offer goes, and staff see who did it."""
    from test_tickets import buy, night_on_sale

    night = f"Rooftop set {uuid.uuid4().hex[:4]}"
    event_id, sku, staff = night_on_sale(
        api, "festival", night, "2027-07-16T21:00", "2027-07-17T01:00", "Le Trabendo", {"USD": 3000}
    )
    order = buy(api, [(sku, 2)])
    codes = [ticket["code"] for ticket in order_view(api, order)["tickets"]]
    moved = api.patch(
        f"/admin/merchants/festival/events/{event_id}",
        json={"start": "2027-07-23T22:00", "end": "2027-07-24T02:00", "venue": "Le Zénith", "tell_holders": True},
        headers=staff,
    )
    assert moved.status_code == 200, moved.text
    [offer] = wait_for(lambda: order_view(api, order)["ticket_returns"], timeout=30, what="the tickets offered back")
    assert offer["event"]["id"] == event_id and offer["tickets"] == codes
    assert offer["amount"] == {"amount": 6000, "currency": "USD"}

    # On a laptop, in French: the offer and its second step, then kept.
    desk = open_page(browser, DESKTOP)
    try:
        desk.goto(page_link(stack, order))
        expect(desk.get_by_role("region", name=f"{night} has changed")).to_be_visible(timeout=PAGE_WAIT_MS)
        desk.get_by_role("button", name="Français").click()
        card = desk.get_by_role("region", name=f"Changement pour {night}")
        expect(card).to_contain_text("Désormais : 23 juil. 2027, 22:00 UTC+2, Le Zénith.")
        expect(card).to_contain_text("Vous ne pouvez pas venir ? Rendez vos 2 billets : la boutique vous rembourse")
        assert "60,00\u00a0$US en totalité" in card.inner_text()
        card.get_by_role("button", name="Rendre mes billets").click()
        expect(card.get_by_role("button", name="Oui, rendre mes 2 billets pour 60,00\u00a0$US")).to_be_focused()
        expect(card).to_contain_text(f"Les billets {codes[0]}, {codes[1]} n’admettront plus personne.")
        assert axe_violations(desk) == [] and horizontal_overflow(desk) == 0
        screenshot(desk, "order-page-give-back-desktop-fr")
        card.get_by_role("button", name="Garder mes billets").click()
        expect(card.get_by_role("button", name="Rendre mes billets")).to_be_focused()
        assert desk.errors == []
    finally:
        desk.context.close()

    phone = open_page(browser, PHONE)
    try:
        phone.goto(page_link(stack, order))
        card = phone.get_by_role("region", name=f"{night} has changed")
        expect(card).to_contain_text("Now Jul 23, 2027, 10:00 PM GMT+2, Le Zénith.", timeout=PAGE_WAIT_MS)
        expect(card).to_contain_text("Can’t make it? Give back your 2 tickets and get $60.00 back in full.")
        assert horizontal_overflow(phone) == 0 and axe_violations(phone) == []
        screenshot(phone, "order-page-give-back-phone")

        # Stripe does not answer the first time: said, and the tickets are set aside until it does.
        stack.sandbox_config(provider_faults=[{"path": "/v1/refunds", "status": 503, "count": 100}])
        card.get_by_role("button", name="Give back my tickets").press("Enter")  # from the keyboard
        confirm = card.get_by_role("button", name="Yes, give back my 2 tickets for $60.00")
        expect(confirm).to_be_focused()
        confirm.press("Enter")
        expect(confirm).to_be_disabled()  # no second refund from a second press while it goes
        expect(card.get_by_role("button", name="Keep my tickets")).to_be_disabled()
        alert = card.get_by_role("alert")
        expect(alert).to_have_text(
            "The payment service did not answer, so your refund is not finished yet. Your tickets are set aside "
            "and no longer admit anyone: try again in a few minutes.",
            timeout=PAGE_WAIT_MS,
        )
        expect(confirm).to_be_enabled()
        assert [ticket["state"] for ticket in order_view(api, order)["tickets"]] == ["returning", "returning"]
        assert check_in(api, codes[0]).json()["error"] == "ticket_voided"  # set aside, as the page says
        phone.reload()  # read again, the tickets say so too
        expect(phone.locator("ul.tickets .ticket-returning")).to_have_count(2, timeout=PAGE_WAIT_MS)
        expect(phone.locator("ul.tickets")).to_contain_text("Being given back: no longer valid")
        card = phone.get_by_role("region", name=f"{night} has changed")
        card.get_by_role("button", name="Give back my tickets").click()
        confirm = card.get_by_role("button", name="Yes, give back my 2 tickets for $60.00")
        confirm.click()
        alert = card.get_by_role("alert")
        expect(alert).to_contain_text("Your tickets are set aside", timeout=PAGE_WAIT_MS)
        screenshot(phone, "order-page-give-back-unanswered-phone")
        phone.get_by_role("button", name="Français").click()
        expect(phone.get_by_role("alert")).to_contain_text(
            "Le service de paiement n’a pas répondu : votre remboursement n’est pas encore terminé."
        )
        phone.get_by_role("button", name="English").click()
        confirm = card.get_by_role("button", name="Yes, give back my 2 tickets for $60.00")
        expect(phone.locator("ul.tickets .ticket-voided")).to_have_count(0)
        assert horizontal_overflow(phone) == 0 and axe_violations(phone) == []

        stack.sandbox_config()  # Stripe is back: the same request again
        confirm.click()
        said = phone.get_by_role("status").filter(has_text="are given back")
        expect(said).to_have_text(
            f"Your tickets for {night} are given back: $60.00 is refunded to your card. "
            "Your bank may take a few days to show it.",
            timeout=PAGE_WAIT_MS,
        )
        expect(said).to_be_focused()
        expect(card).to_have_count(0)
        expect(phone.locator("ul.tickets .ticket-voided")).to_have_count(2)
        expect(phone.locator("ul.tickets")).to_contain_text("Refunded: no longer valid")
        expect(phone.locator("section.status")).to_contain_text("Your tickets were given back and refunded")
        expect(phone.locator("table.items tfoot")).to_contain_text("Refunded")
        assert horizontal_overflow(phone) == 0 and axe_violations(phone) == []
        screenshot(phone, "order-page-given-back-phone")
        phone.get_by_role("button", name="Français").click()
        expect(phone.get_by_role("status").filter(has_text="sont rendus")).to_contain_text(
            "60,00\u00a0$US vous sont remboursés sur votre carte"
        )
        assert phone.errors == []
    finally:
        phone.context.close()

    view = order_view(api, order)
    assert view["money_state"] == "refunded" and view["refunded"] == {"amount": 6000, "currency": "USD"}
    assert view["ticket_returns"] == [] and [t["state"] for t in view["tickets"]] == ["voided", "voided"]
    [refund] = view["refunds"]
    assert refund["tickets"] == codes and refund["amount"] == {"amount": 6000, "currency": "USD"}
    history = admin_view(api, order["order_id"], "festival")["history"]
    [given] = [entry for entry in history if entry.get("by") == "customer"]
    assert given["money"]["to"] == "refunded" and given["money"]["amount"] == 6000
    [mail] = wait_for(lambda: emails_for(stack, order["order_id"], "refund_processed"), what="the refund email")
    assert f"We refunded USD 60.00 for order {order['order_number']} ({night})" in plain(mail["text"])

    # Staff read who gave the tickets back.
    console = open_page(browser, DESKTOP)
    try:
        sign_in_to_console(console, stack.api, merchant_token("festival"))
        console.goto(f"{stack.api}/console#/orders/{order['order_id']}")
        entry = console.locator(".timeline li", has_text="by the customer")
        expect(entry).to_contain_text("$60.00", timeout=PAGE_WAIT_MS)
        assert console.errors == []
    finally:
        console.context.close()
