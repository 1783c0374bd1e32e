"""The staff console as a shop's staff use it: in a real browser (Debian's chromium), signed in
with a `make admin-token` token on the local stack, on a laptop and on a phone, in English and
French, checked with axe-core. Everything it shows and does goes through the documented API."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
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
    customer,
    emails_for,
    jpeg,
    made_to_order,
    merchant_token,
    money_state,
    order_status,
    order_view,
    pay,
    remaining_stock,
    sandbox_post,
    start,
    wait_for,
)
from playwright.sync_api import Page, expect

WAIT_MS = 30_000  # API calls and stream-driven emails on a loaded 2-core machine
HOSTILE = "<img src=x onerror=alert(1)>"


def paid_order(api, stack, sku="SONG-STANDARD", currency="USD", name="Awa Ndiaye", phone=None, locale="en") -> dict:
    """A checkout the customer paid: by card on Stripe's page, or on the phone for CamPay."""
    email = f"{uuid.uuid4().hex[:10]}@example.test"
    customer = {"name": name, "email": email, "locale": locale, **({"phone": phone} if phone else {})}
    body = {"items": [{"sku": sku, "quantity": 1}], "currency": currency, "customer": customer, **made_to_order(sku)}
    answer = api.post("/checkouts", json=body)
    assert answer.status_code == 201, answer.text
    order = {**answer.json(), "email": email}
    pay(stack, order)
    wait_for(lambda: order_status(api, order) == "paid", timeout=30, what="the payment to settle")
    return order


def sign_in(page: Page, stack, merchant: str) -> None:
    sign_in_to_console(page, stack.api, merchant_token(merchant), timeout_ms=WAIT_MS)


def open_order(page: Page, stack, order: dict) -> None:
    page.goto(f"{stack.api}/console#/orders/{order['order_id']}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(order["order_number"], timeout=WAIT_MS)


def move(page: Page, stage_label: str) -> None:
    panel = page.get_by_role("form", name="Move to the next stage")
    panel.get_by_label("New stage").select_option(label=stage_label)
    panel.get_by_role("button", name="Move").click()
    expect(page.get_by_role("heading", level=1).locator(".badge").first).to_have_text(stage_label, timeout=WAIT_MS)


def offered_moves(page: Page) -> list[str]:
    select = page.get_by_role("form", name="Move to the next stage").get_by_label("New stage")
    return select.locator("option").evaluate_all("options => options.map(o => o.value)")


@pytest.fixture
def desk(browser):
    opened = open_page(browser, DESKTOP)
    yield opened
    opened.context.close()


def test_staff_sign_in_and_find_an_order_by_the_customers_email(api, stack, desk):
    wanted = paid_order(api, stack)
    other = paid_order(api, stack, name="Jean Mbarga")
    desk.goto(f"{stack.api}/console")
    expect(desk.get_by_role("heading", name="Sign in to the console")).to_be_visible(timeout=WAIT_MS)
    assert axe_violations(desk) == []
    desk.get_by_label("Staff token").fill("not-a-token")
    desk.get_by_role("button", name="Sign in").click()
    expect(desk.get_by_role("alert")).to_contain_text("not a valid staff token")
    sign_in(desk, stack, "songstudio")

    desk.get_by_label("Search").fill(wanted["email"])
    desk.get_by_role("button", name="Show").click()
    rows = desk.locator("table.data tbody tr")
    expect(rows).to_have_count(1, timeout=WAIT_MS)
    assert wanted["order_number"] in rows.first.inner_text() and other["order_number"] not in rows.first.inner_text()
    assert "$99.00" in rows.first.inner_text()
    assert axe_violations(desk) == []
    screenshot(desk, "console-orders-desktop")
    with desk.expect_download() as exported:  # the list's filters, as a file for the accountant
        desk.get_by_role("button", name="Export CSV").click()
    lines = Path(exported.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 2 and lines[0].startswith("order_number,") and wanted["order_number"] in lines[1]
    rows.first.get_by_role("link", name=wanted["order_number"]).click()
    expect(desk.get_by_role("heading", level=1)).to_contain_text(wanted["order_number"], timeout=WAIT_MS)
    expect(desk.get_by_text(wanted["email"])).to_be_visible()
    expect(desk.get_by_text("We met at the Douala market")).to_be_visible()  # the brief, decrypted for staff
    assert axe_violations(desk) == []
    screenshot(desk, "console-order-desktop")
    desk.go_back()
    expect(desk.get_by_label("Search")).to_have_value(wanted["email"], timeout=WAIT_MS)
    assert desk.errors == []


def test_a_song_moves_through_its_stages_with_only_allowed_moves_and_is_refunded_by_the_policy(api, stack, desk):
    order = paid_order(api, stack)
    desk.on("dialog", lambda dialog: dialog.accept())  # "Refund $49.50 to the customer?"
    sign_in(desk, stack, "songstudio")
    open_order(desk, stack, order)
    for stage_label in ("Getting to know your story", "Writing", "Production"):
        allowed = admin_view(api, order["order_id"], "songstudio")["next_statuses"]
        assert offered_moves(desk) == allowed and "delivered" not in allowed
        move(desk, stage_label)
    assert admin_view(api, order["order_id"], "songstudio")["status"] == "production"

    refund = desk.get_by_role("form", name="Refund")
    expect(refund).to_contain_text("allows $49.50 now (50 %")  # half, in production
    refund.get_by_label("Amount to refund (USD)").fill("49.50")
    refund.get_by_role("button", name="Refund $49.50").click()
    expect(desk.locator("section", has_text="Refunds").locator("tbody")).to_contain_text("$49.50", timeout=WAIT_MS)
    refund = desk.get_by_role("form", name="Refund")
    expect(refund).to_contain_text("allows no refund at this stage")
    refund.get_by_label("Amount to refund (USD)").fill("49.50")
    refund.get_by_role("button", name="Refund $49.50").click()
    expect(refund.get_by_role("alert")).to_have_text(  # the API refuses the other half
        "Nothing can be refunded on this order now.", timeout=WAIT_MS
    )
    assert admin_view(api, order["order_id"], "songstudio")["refunded"] == {"amount": 4950, "currency": "USD"}

    move(desk, "Your review")
    deliver = desk.get_by_role("form", name="Deliverable")
    deliver.get_by_label("File for the customer").set_input_files(
        {"name": "awa-wedding-song.mp3", "mimeType": "audio/mpeg", "buffer": b"ID3 the song"}
    )
    deliver.get_by_role("button", name="Upload").click()
    expect(desk.get_by_text("awa-wedding-song.mp3 uploaded")).to_be_visible(timeout=WAIT_MS)
    move(desk, "Delivered")
    assert offered_moves(desk) == admin_view(api, order["order_id"], "songstudio")["next_statuses"]

    customer = open_page(desk.context.browser, PHONE)
    try:
        customer.goto(f"{stack.api}/order/{order['order_id']}#token={order['order_token']}")
        download = customer.get_by_role("link", name="Download your file")
        expect(download).to_be_visible(timeout=WAIT_MS)
        fetched = httpx.get(download.get_attribute("href"), follow_redirects=True, timeout=10)
        assert fetched.status_code == 200 and fetched.content == b"ID3 the song"
    finally:
        customer.context.close()
    assert desk.errors == []


def test_staff_confirm_a_campay_payout_owed_from_the_work_list(api, stack, desk):
    order = paid_order(api, stack, currency="XAF", phone="237677123456")
    refunded = api.post(
        f"/admin/orders/{order['order_id']}/refunds",
        json={"reason": "wedding cancelled"},
        headers={"Authorization": f"Bearer {merchant_token('songstudio')}"},
    )
    assert refunded.status_code == 201 and refunded.json()["status"] == "owed", refunded.text
    sign_in(desk, stack, "songstudio")
    desk.get_by_role("link", name="Work to do").click()
    owed = desk.locator("section", has=desk.get_by_role("heading", name="Payouts owed"))
    expect(owed).to_contain_text(order["order_number"], timeout=WAIT_MS)
    expect(owed).to_contain_text("60,000")  # XAF has no minor unit
    assert axe_violations(desk) == []
    owed.get_by_role("link", name=order["order_number"]).click()
    payout = desk.get_by_role("form", name="Paid by hand")
    expect(payout).to_contain_text("237677123456", timeout=WAIT_MS)
    payout.get_by_label("Transfer reference").fill("CP-OUT-778")
    payout.get_by_role("button", name="Confirm the payout").click()
    expect(desk.locator("section", has_text="Refunds").locator("tbody")).to_contain_text(
        "Paid by hand", timeout=WAIT_MS
    )
    [refund] = admin_view(api, order["order_id"], "songstudio")["refunds"]
    assert refund["status"] == "paid_out" and refund["provider_refund_id"] == "CP-OUT-778"
    desk.get_by_role("link", name="Work to do").click()
    expect(desk.locator("section", has=desk.get_by_role("heading", name="Payouts owed"))).not_to_contain_text(
        order["order_number"], timeout=WAIT_MS
    )
    assert desk.errors == []


def test_what_customers_type_shows_as_text_everywhere(api, stack, desk):
    order = paid_order(api, stack, name=HOSTILE)
    note = api.post(
        f"/admin/orders/{order['order_id']}/notes",
        json={"note": f"called back {HOSTILE}"},
        headers={"Authorization": f"Bearer {merchant_token('songstudio')}"},
    )
    assert note.status_code in (200, 201), note.text
    dialogs: list[str] = []
    desk.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(desk, stack, "songstudio")
    desk.get_by_label("Search").fill(order["email"])
    desk.get_by_role("button", name="Show").click()
    expect(desk.locator("table.data tbody")).to_contain_text(HOSTILE, timeout=WAIT_MS)
    open_order(desk, stack, order)
    expect(desk.get_by_text(HOSTILE, exact=True).first).to_be_visible()
    expect(desk.locator(".notes").get_by_text(f"called back {HOSTILE}")).to_be_visible()
    assert desk.locator("main img").count() == 0 and dialogs == []
    assert desk.errors == []


def test_on_a_phone_in_french_nothing_scrolls_sideways_and_every_section_passes_axe(api, stack, browser):
    order = paid_order(api, stack, currency="XAF", phone="237677000111", locale="fr")
    phone = open_page(browser, PHONE, locale="fr-FR")
    try:
        phone.goto(f"{stack.api}/console")
        expect(phone.get_by_role("heading", name="Se connecter à la console")).to_be_visible(timeout=WAIT_MS)
        phone.get_by_label("Jeton du personnel").fill(merchant_token("songstudio"))
        phone.get_by_role("button", name="Se connecter").click()
        expect(phone.get_by_role("heading", name="Commandes", exact=True)).to_be_visible(timeout=WAIT_MS)
        expect(phone.locator("table.data")).to_contain_text("60\u202f000\u00a0FCFA", timeout=WAIT_MS)
        assert horizontal_overflow(phone) == 0 and axe_violations(phone) == []
        screenshot(phone, "console-orders-phone-fr")
        open_order(phone, stack, order)
        expect(phone.get_by_role("heading", name="Passer à l’étape suivante")).to_be_visible()
        assert horizontal_overflow(phone) == 0 and axe_violations(phone) == []
        screenshot(phone, "console-order-phone-fr")
        for section, heading in (
            ("work", "À traiter"),
            ("catalog", "Catalogue et stock"),
            ("figures", "Chiffres par jour"),
            ("check-in", "Contrôle à l’entrée"),
        ):
            links = {"work": "À traiter", "catalog": "Catalogue", "figures": "Chiffres", "check-in": "Entrée"}
            phone.get_by_role("link", name=links[section], exact=True).click()
            expect(phone.get_by_role("heading", name=heading, exact=True)).to_be_visible(timeout=WAIT_MS)
            assert horizontal_overflow(phone) == 0, section
            assert "null" not in phone.locator("main").inner_text(), section  # nothing left unrendered
            assert axe_violations(phone) == [], section
            screenshot(phone, f"console-{section}-phone-fr")
        phone.get_by_role("button", name="English").click()
        expect(phone.get_by_role("heading", name="Door check-in")).to_be_visible()
        assert phone.errors == []
    finally:
        phone.context.close()


def test_a_refund_the_api_refuses_is_explained_in_the_consoles_french(api, stack, browser):
    """Staff of a French-speaking shop type more than the policy allows: the API's refusal (in
    English, with its code and the amount allowed) is said in French with the amount in francs CFA."""
    order = paid_order(api, stack, currency="XAF", phone="237677000112", locale="fr")
    allowed = admin_view(api, order["order_id"], "songstudio")["refund_terms"]["refundable"]
    assert allowed["currency"] == "XAF" and 0 < allowed["amount"] < 70_000
    with french_phone(browser, stack, "songstudio") as phone:
        phone.on("dialog", lambda dialog: dialog.accept())  # "Rembourser 70 000 FCFA au client ?"
        open_order(phone, stack, order)
        refund = phone.get_by_role("form", name="Remboursement")
        refund.get_by_label("Montant à rembourser (XAF)").fill("70000")
        refund.get_by_role("button", name="Rembourser 70\u202f000\u00a0FCFA").click()
        francs = f"{allowed['amount']:,}".replace(",", "\u202f") + "\u00a0FCFA"
        expect(refund.get_by_role("alert")).to_have_text(
            f"Au plus {francs} peuvent être remboursés maintenant.", timeout=WAIT_MS
        )
        assert horizontal_overflow(phone) == 0 and axe_violations(phone) == []
        screenshot(phone, "console-refund-refused-phone-fr")
        assert admin_view(api, order["order_id"], "songstudio")["refunds"] == []  # nothing written
        assert phone.errors == []


def test_a_tradie_sees_the_days_bookings_in_their_own_time(api, stack, browser):
    day = (datetime.now(UTC).date() + timedelta(days=75)).isoformat()
    slots = api.get("/merchants/fixit-plumbing/availability", params={"service": "callout", "date": day}).json()
    start = slots["slots"][-1]["start"]  # the day's last slot: the other booking tests take the first ones
    booked = api.post(
        "/checkouts",
        json={
            "booking": {"merchant": "fixit-plumbing", "service": "callout", "start": start},
            "currency": "AUD",
            "customer": {"name": "Sam Taylor", "email": f"sam-{uuid.uuid4().hex[:6]}@example.test"},
        },
    )
    assert booked.status_code == 201, booked.text
    httpx.post(f"{booked.json()['next_action']['url']}/pay", timeout=10)
    wait_for(lambda: order_status(api, booked.json()) == "paid", timeout=30, what="the deposit")
    desk = open_page(browser, DESKTOP)
    try:
        sign_in(desk, stack, "fixit-plumbing")
        desk.goto(f"{stack.api}/console#/bookings?date={day}&span=day")
        row = desk.locator("table.data tbody tr", has_text="Sam Taylor")
        expect(row).to_be_visible(timeout=WAIT_MS)
        # Sydney's time as the English console writes it (12-hour clock): 16:00 is "04:00 PM".
        hour, minute = int(start[11:13]), start[14:16]
        shown = rf"{(hour - 1) % 12 + 1:02d}:{minute}\s?{'PM' if hour >= 12 else 'AM'}"
        assert re.search(shown, row.inner_text()), (start, row.inner_text())
        desk.get_by_role("link", name="Week").click()
        expect(desk.locator("table.data tbody tr", has_text="Sam Taylor")).to_be_visible(timeout=WAIT_MS)
        assert axe_violations(desk) == []
        screenshot(desk, "console-bookings-desktop")
        assert desk.errors == []
    finally:
        desk.context.close()


def test_a_photographer_uploads_a_gallery_from_the_console_and_sees_the_clients_favourite(api, stack, browser, desk):
    title = f"Okafor wedding {uuid.uuid4().hex[:6]}"
    client_email = f"ngozi-{uuid.uuid4().hex[:8]}@example.test"
    closing_day = datetime.now(ZoneInfo("America/New_York")).date() + timedelta(days=45)
    desk.context.grant_permissions(["clipboard-read", "clipboard-write"])
    dialogs: list[str] = []
    desk.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    sign_in(desk, stack, "lumen")
    desk.get_by_role("link", name="Galleries").click()
    expect(desk.get_by_role("heading", name="Galleries", exact=True)).to_be_visible(timeout=WAIT_MS)
    new = desk.get_by_role("form", name="New gallery")
    new.get_by_label("Title").fill(title)
    new.get_by_label("Client’s name").fill("Ngozi Okafor")
    new.get_by_label("Client’s email", exact=True).fill(client_email)
    new.get_by_label("Open until (included)").fill(closing_day.isoformat())
    new.get_by_label("Protect the gallery with an access code").check()
    new.get_by_role("button", name="Create the gallery").click()
    expect(desk.get_by_role("heading", level=1)).to_contain_text(title, timeout=WAIT_MS)
    gallery_id = desk.evaluate("location.hash").rsplit("/", 1)[1]
    staff = {"Authorization": f"Bearer {merchant_token('lumen')}"}
    created = api.get(f"/admin/galleries/{gallery_id}", headers=staff).json()
    assert created["client"]["email"] == client_email and created["access_code_required"] is True
    # "Until 45 days from now" is the end of that day on the photographer's clocks (New York).
    closing = datetime.combine(closing_day, time(23, 59, 59), ZoneInfo("America/New_York"))
    assert datetime.fromisoformat(created["expires_at"]) == closing

    upload = desk.get_by_role("form", name="Upload photos")
    upload.get_by_label("Photos (JPEG, PNG or WebP)").set_input_files(
        [{"name": f"DSC_{n}.jpg", "mimeType": "image/jpeg", "buffer": jpeg(1600, 1067, shade=90 * n)} for n in (1, 2)]
    )
    upload.get_by_role("button", name="Upload").click()
    expect(upload).to_contain_text("Photos sent: 2", timeout=WAIT_MS)
    thumbnails = desk.locator(".photos img")
    expect(thumbnails).to_have_count(2, timeout=90_000)  # the page refreshes itself until both are processed
    wait_for(
        lambda: thumbnails.evaluate_all("images => images.every(i => i.complete && i.naturalWidth > 0)"),
        timeout=30,
        what="both thumbnails to load from storage",
    )
    assert sorted(thumbnails.evaluate_all("images => images.map(i => i.alt)")) == ["DSC_1.jpg", "DSC_2.jpg"]

    # The client, from the link and code staff pass on, marks the second photo.
    link = desk.get_by_label("Link").input_value()
    code = desk.locator(".code").inner_text()
    desk.get_by_role("button", name="Copy the link").click()
    expect(desk.get_by_text("Link copied.")).to_be_visible()
    assert desk.evaluate("navigator.clipboard.readText()") == link
    chosen = desk.locator(".photo", has_text="DSC_2.jpg").get_attribute("data-media-id")
    signature = parse_qs(urlsplit(link).query)["signature"][0]
    marked = api.post(
        f"/galleries/{gallery_id}/favourites",
        params={"signature": signature},
        headers={"X-Access-Code": code},
        json={"media_id": chosen, "favourite": True},
    )
    assert marked.status_code == 200, marked.text
    desk.reload()
    expect(desk.get_by_role("status").filter(has_text="Client’s favourites: 1")).to_be_visible(timeout=WAIT_MS)
    favourite = desk.locator(".photo.favourite")
    expect(favourite).to_have_count(1)
    expect(favourite).to_contain_text("DSC_2.jpg")
    expect(favourite).to_contain_text("★ Favourite")
    expect(desk.locator(".photo", has_text="DSC_1.jpg")).not_to_contain_text("Favourite")
    assert "null" not in desk.locator("main").inner_text()  # nothing left unrendered
    assert axe_violations(desk) == []
    screenshot(desk, "console-gallery-desktop")
    desk.get_by_role("link", name="Only the favourites").click()
    expect(desk.locator(".photo")).to_have_count(1, timeout=WAIT_MS)
    expect(desk.locator(".photo")).to_contain_text("DSC_2.jpg")

    change = desk.get_by_role("form", name="Expiry and downloads")
    change.get_by_label("The client may download the full-size photos").check()
    change.get_by_role("button", name="Save").click()
    expect(desk.get_by_text("Gallery changed.")).to_be_visible(timeout=WAIT_MS)
    assert api.get(f"/admin/galleries/{gallery_id}", headers=staff).json()["downloads"] is True

    desk.get_by_role("link", name="Back to galleries").click()
    row = desk.locator("table.data tbody tr", has_text=title)
    expect(row).to_be_visible(timeout=WAIT_MS)
    assert "Ngozi Okafor" in row.inner_text() and "Ready" in row.inner_text()
    assert [cell.strip() for cell in row.locator("td").all_inner_texts()[2:4]] == ["2", "1"]  # photos, favourites
    assert axe_violations(desk) == []
    screenshot(desk, "console-galleries-desktop")

    phone = open_page(browser, PHONE, locale="fr-FR")
    try:
        phone.goto(f"{stack.api}/console")
        phone.get_by_label("Jeton du personnel").fill(merchant_token("lumen"))
        phone.get_by_role("button", name="Se connecter").click()
        phone.get_by_role("link", name="Galeries", exact=True).click()
        expect(phone.get_by_role("heading", name="Galeries", exact=True)).to_be_visible(timeout=WAIT_MS)
        expect(phone.locator("table.data")).to_contain_text(title, timeout=WAIT_MS)
        expect(phone.get_by_role("form", name="Nouvelle galerie")).to_contain_text("Nom du client")
        assert horizontal_overflow(phone) == 0 and axe_violations(phone) == []
        phone.get_by_role("link", name=title).click()
        expect(phone.locator(".photo.favourite")).to_contain_text("★ Favori", timeout=WAIT_MS)
        expect(phone.get_by_role("status").filter(has_text="Favoris du client : 1")).to_be_visible()
        expect(phone.get_by_role("heading", name="Envoyer des photos")).to_be_visible()
        assert horizontal_overflow(phone) == 0 and axe_violations(phone) == []
        assert "null" not in phone.locator("main").inner_text()
        screenshot(phone, "console-gallery-phone-fr")
        assert phone.errors == []
    finally:
        phone.context.close()

    desk.get_by_role("link", name=title).click()
    desk.get_by_role("form", name="Delete the gallery").get_by_role("button", name="Delete the gallery").click()
    expect(desk.get_by_text(f"Gallery “{title}” deleted.")).to_be_visible(timeout=WAIT_MS)
    assert dialogs == [f"Delete “{title}” and its photos (2)? The client’s link stops working. This cannot be undone."]
    assert api.get(f"/admin/galleries/{gallery_id}", headers=staff).status_code == 404
    expect(desk.locator("table.data")).not_to_contain_text(title)
    assert desk.errors == []


@contextmanager
def french_phone(browser, stack, merchant: str) -> Iterator[Page]:
    """A phone signed in to the console as the merchant's staff, switched to French; closed after."""
    phone = open_page(browser, PHONE)
    try:
        sign_in(phone, stack, merchant)
        phone.get_by_role("button", name="Français").click()
        yield phone
    finally:
        phone.context.close()


def public_product(api, sku: str) -> dict | None:
    """The product as GET /catalog shows it to customers, or None when it is not on sale."""
    return next((p for p in api.get("/catalog").json()["products"] if p["sku"] == sku), None)


def test_staff_add_a_product_change_its_prices_count_its_stock_and_take_it_off_sale_from_the_console(
    api, stack, desk, browser
):
    sku = f"PRINT-A2-{uuid.uuid4().hex[:6].upper()}"
    sign_in(desk, stack, "lumen")
    desk.goto(f"{stack.api}/console#/catalog")
    desk.get_by_role("link", name="New product").click()
    form = desk.get_by_role("form", name="New product")
    form.get_by_label("Product").fill("Fine-art print, A2")
    form.get_by_label("SKU").fill(sku)
    form.get_by_label("Kind").fill("print")
    form.get_by_label("Price in USD").fill("80")
    form.get_by_label("Price in EUR").fill("72,50")  # typed the French way: still 72.50
    form.get_by_label("Stock").fill("5")
    form.get_by_label("Most in one order").fill("3")
    form.get_by_role("button", name="Create the product").click()
    expect(desk.get_by_role("heading", level=1)).to_contain_text("Fine-art print, A2", timeout=WAIT_MS)
    expect(desk.get_by_text("Fine-art print, A2 is in the catalog.")).to_be_visible()
    expect(desk.get_by_text("5 left")).to_be_visible()
    expect(desk.get_by_role("table", name="Stock changes")).to_contain_text("initial stock")
    assert public_product(api, sku)["prices"] == {"USD": 8000, "EUR": 7250}

    # A price that is not money in its currency is refused in the form; nothing is sent.
    details = desk.get_by_role("form", name="What it is and its price")
    details.get_by_label("Price in USD").fill("85.005")
    details.get_by_role("button", name="Save").click()
    expect(details.get_by_role("alert")).to_contain_text("USD: “85.005” is not a price")
    assert public_product(api, sku)["prices"] == {"USD": 8000, "EUR": 7250}

    # The new price, and no longer sold in euros: what the next checkout charges.
    details.get_by_label("Price in USD").fill("85.00")
    details.get_by_label("Price in EUR").fill("")
    details.get_by_role("button", name="Save").click()
    expect(desk.get_by_text("Saved: customers see the change at once.")).to_be_visible(timeout=WAIT_MS)
    assert public_product(api, sku)["prices"] == {"USD": 8500}
    order = start(api, sku=sku, quantity=2)
    assert order["total"] == {"amount": 17000, "currency": "USD"}
    euros = api.post(
        "/checkouts", json={"items": [{"sku": sku, "quantity": 1}], "currency": "EUR", "customer": customer()}
    )
    assert euros.status_code == 422 and euros.json()["error"] == "currency_not_offered", euros.text

    # Two held by that checkout; one damaged, counted out with its reason.
    desk.reload()
    expect(desk.get_by_text("3 left")).to_be_visible(timeout=WAIT_MS)
    adjust = desk.get_by_role("form", name="Adjust Fine-art print, A2")
    adjust.get_by_label("Change (+ or −)").fill("-1")
    adjust.get_by_label("Reason").fill("corner bent in the frame shop")
    adjust.get_by_role("button", name="Adjust").click()
    expect(desk.get_by_text("2 left")).to_be_visible(timeout=WAIT_MS)
    changes = desk.get_by_role("table", name="Stock changes")
    expect(changes.get_by_role("row", name=re.compile("corner bent in the frame shop"))).to_contain_text("you")
    assert remaining_stock(api, sku) == 2

    # Off sale: customers no longer see it or buy it; back on sale, they do again.
    desk.get_by_role("button", name="Take off sale").click()
    expect(desk.get_by_role("heading", level=1)).to_contain_text("Off sale", timeout=WAIT_MS)
    assert public_product(api, sku) is None
    refused = api.post(
        "/checkouts", json={"items": [{"sku": sku, "quantity": 1}], "currency": "USD", "customer": customer()}
    )
    assert refused.status_code == 422 and refused.json()["error"] == "unknown_sku", refused.text
    desk.get_by_role("link", name="Back to the catalog").click()
    expect(desk.get_by_role("row", name=re.compile(sku))).to_contain_text("Off sale", timeout=WAIT_MS)
    desk.get_by_role("link", name="Fine-art print, A2").click()
    desk.get_by_role("button", name="Put back on sale").click()
    expect(desk.get_by_text("Back on sale.")).to_be_visible(timeout=WAIT_MS)
    assert public_product(api, sku)["prices"] == {"USD": 8500}
    assert desk.errors == []

    with french_phone(browser, stack, "lumen") as phone:
        phone.goto(f"{stack.api}/console#/catalog/{sku}")
        expect(phone.get_by_role("heading", name="Mouvements de stock")).to_be_visible(timeout=WAIT_MS)
        row = phone.get_by_role("table", name="Mouvements de stock").get_by_role("row", name=re.compile("corner bent"))
        expect(row).to_contain_text("staff:")  # signed in with another token: another member of staff
        expect(row).not_to_contain_text("vous")
        assert horizontal_overflow(phone) == 0 and axe_violations(phone) == []
        screenshot(phone, "console-product-phone-fr")
        phone.get_by_role("link", name="Retour au catalogue").click()
        phone.get_by_role("link", name="Nouveau produit").click()
        expect(phone.get_by_label("Prix en USD")).to_be_visible(timeout=WAIT_MS)
        assert horizontal_overflow(phone) == 0 and axe_violations(phone) == []
        screenshot(phone, "console-new-product-phone-fr")
        assert phone.errors == []
    desk.goto(f"{stack.api}/console#/catalog/{sku}")
    expect(desk.get_by_text("2 left")).to_be_visible(timeout=WAIT_MS)
    screenshot(desk, "console-product-desktop")


def test_song_studio_staff_change_a_songs_questions_at_checkout_without_writing_json(api, stack, desk, browser):
    from test_song_studio import checkout

    staff = {"Authorization": f"Bearer {merchant_token('songstudio')}"}
    sku = f"SONG-LULLABY-{uuid.uuid4().hex[:6].upper()}"  # its own product: the demo's songs stay as they are
    for_whom = {
        "name": "for_whom",
        "type": "text",
        "required": True,
        "max_length": 120,
        "label": {"en": "Who is the song for?", "fr": "Pour qui est la chanson ?"},
    }
    tempo = {
        "name": "tempo",
        "type": "choice",
        "choices": ["slow", "lively"],
        "label": {"en": "Tempo", "fr": "Tempo"},
        "choice_labels": {"en": {"slow": "Slow", "lively": "Lively"}, "fr": {"slow": "Lent", "lively": "Enjoué"}},
    }
    story = {
        "name": "story",
        "type": "long_text",
        "max_length": 2000,
        "label": {"en": "Your story", "fr": "Votre histoire"},
    }
    product = {"sku": sku, "name": "Lullaby", "kind": "song", "prices": {"USD": 4900}, "max_per_order": 1}
    created = api.post("/admin/products", json={**product, "questionnaire": [for_whom, tempo, story]}, headers=staff)
    assert created.status_code == 201, created.text
    # An order made before the questions change keeps the words its customer answered.
    earlier = checkout(api, sku, answers={"for_whom": "Léa", "tempo": "lively", "story": "Born in May"})
    assert earlier.status_code == 201, earlier.text
    earlier = earlier.json()

    def stored() -> list[dict]:
        answer = api.get(f"/admin/products/{sku}", headers=staff)
        assert answer.status_code == 200, answer.text
        return answer.json()["questionnaire"]

    sign_in(desk, stack, "songstudio")
    desk.goto(f"{stack.api}/console#/catalog/{sku}")
    section = desk.locator("section", has=desk.get_by_role("heading", name="Questions at checkout"))
    listed = section.locator("ol.questions > li")
    expect(listed).to_have_count(3, timeout=WAIT_MS)
    expect(listed.nth(1)).to_contain_text("Choice from a list · optional")
    expect(listed.nth(1)).to_contain_text("Choices: Slow, Lively")
    section.get_by_text("Change the questions", exact=True).click()
    form = desk.get_by_role("form", name="Change the questions")
    boxes = form.locator("fieldset.question")
    expect(boxes).to_have_count(3)

    # A required choice question, its words in English and French; its key made from the English.
    form.get_by_label("Type of the new question").select_option(label="Choice from a list")
    form.get_by_role("button", name="Add a question").click()
    mood = boxes.nth(3)
    expect(mood.locator("legend").first).to_have_text("Question 4 (new)")
    expect(mood.get_by_label("Question in English")).to_be_focused()  # the keyboard is where the words go
    mood.get_by_label("Question in English").fill("Mood")
    mood.get_by_label("Question in French").fill("Ambiance")
    mood.get_by_label("Required: the customer must answer").check()
    expect(mood.locator("legend").first).to_have_text("Question 4: Mood")
    expect(mood).to_contain_text("Answer stored as: mood (made from the English question)")
    expect(boxes.nth(0)).to_contain_text("Answer stored as: for_whom (kept: orders already made use it)")

    # Saved before it has any choice: the API refuses it, the form says which question and keeps it.
    form.get_by_role("button", name="Save the questions").click()
    alert = form.get_by_role("alert")
    expect(alert).to_contain_text("Question 4: Mood (Choices): List should have at least 1 item", timeout=WAIT_MS)
    expect(mood.get_by_label("Question in French")).to_have_value("Ambiance")
    expect(mood.get_by_label("Required: the customer must answer")).to_be_checked()
    assert stored() == [for_whom, tempo, story]
    assert axe_violations(desk) == [] and horizontal_overflow(desk) == 0

    choices = mood.get_by_role("group", name="Choices")
    for n, (english, french) in enumerate((("Joyful", "Joyeuse"), ("Tender", "Tendre")), start=1):
        choices.get_by_role("button", name="Add a choice").click()
        choice = choices.get_by_role("group", name=f"Choice {n}", exact=True)
        expect(choice.get_by_label("In English")).to_be_focused()
        choice.get_by_label("In English").fill(english)
        choice.get_by_label("In French").fill(french)
    expect(choices).to_contain_text("Stored as: tender")

    # A label changed, a question removed (the focus goes to the next one), the new one moved up
    # from the keyboard (the focus stays on its button).
    boxes.nth(1).get_by_label("Question in French").fill("Rythme")
    boxes.nth(2).get_by_role("button", name="Remove the question").click()
    expect(boxes).to_have_count(3)
    expect(boxes.nth(2).get_by_label("Question in English")).to_be_focused()
    expect(boxes.nth(2).locator("legend").first).to_have_text("Question 3: Mood")
    boxes.nth(2).get_by_role("button", name="Move the question up").focus()
    desk.keyboard.press("Enter")
    expect(boxes.nth(1).locator("legend").first).to_have_text("Question 2: Mood")
    expect(boxes.nth(1).get_by_role("button", name="Move the question up")).to_be_focused()
    expect(boxes.nth(0).get_by_role("button", name="Move the question up")).to_be_hidden()  # the first goes no higher

    form.get_by_role("button", name="Save the questions").click()
    expect(section.get_by_role("status")).to_have_text("Questions saved: the next checkout asks them.", timeout=WAIT_MS)
    mood_asked = {
        "name": "mood",
        "type": "choice",
        "required": True,
        "label": {"en": "Mood", "fr": "Ambiance"},
        "choices": ["joyful", "tender"],
        "choice_labels": {
            "en": {"joyful": "Joyful", "tender": "Tender"},
            "fr": {"joyful": "Joyeuse", "tender": "Tendre"},
        },
    }
    asked = [for_whom, mood_asked, {**tempo, "label": {"en": "Tempo", "fr": "Rythme"}}]
    assert stored() == asked
    # Drawn again from the API's answer: the list, and the form with the keys now kept.
    expect(listed).to_have_count(3)
    assert [item.split("\n")[0] for item in listed.all_inner_texts()] == ["Who is the song for?", "Mood", "Tempo"]
    expect(listed.nth(1)).to_contain_text("Choice from a list · required")
    expect(listed.nth(1)).to_contain_text("Choices: Joyful, Tender")
    expect(form.locator("fieldset.question").nth(1)).to_contain_text("Answer stored as: mood (kept")
    assert axe_violations(desk) == [] and horizontal_overflow(desk) == 0
    screenshot(desk, "console-questions-desktop")
    assert desk.errors == []

    # Customers are asked the new questions: the shop's catalog publishes them (a warm function
    # keeps the catalog up to 30 s), and a checkout without the new required answer is refused.
    wait_for(
        lambda: (public_product(api, sku) or {}).get("questionnaire") == asked,
        timeout=40,
        interval=0.5,
        what="GET /catalog to publish the new questions",
    )
    refused = checkout(api, sku, answers={"for_whom": "Mia"})
    assert refused.status_code == 422 and refused.json()["error"] == "invalid_answers", refused.text
    assert [d["field"] for d in refused.json()["details"]] == ["answers.mood"]
    accepted = checkout(api, sku, answers={"for_whom": "Mia", "mood": "tender", "tempo": "slow"})
    assert accepted.status_code == 201, accepted.text

    with french_phone(browser, stack, "songstudio") as phone:
        phone.goto(f"{stack.api}/console#/catalog/{sku}")
        section = phone.locator("section", has=phone.get_by_role("heading", name="Questions posées à la commande"))
        listed = section.locator("ol.questions > li")
        expect(listed.nth(1)).to_contain_text("Ambiance", timeout=WAIT_MS)
        expect(listed.nth(1)).to_contain_text("Choix : Joyeuse, Tendre")
        expect(listed.nth(2)).to_contain_text("Rythme")
        section.get_by_text("Modifier les questions", exact=True).click()
        mood = phone.get_by_role("form", name="Modifier les questions").locator("fieldset.question").nth(1)
        expect(mood.locator("legend").first).to_have_text("Question 2 : Ambiance")
        expect(mood.get_by_role("group", name="Choix 2", exact=True).get_by_label("En français")).to_have_value(
            "Tendre"
        )
        assert horizontal_overflow(phone) == 0 and axe_violations(phone) == []
        screenshot(phone, "console-questions-phone-fr")
        # The earlier order reads as it was asked: the question since removed, the old French label.
        open_order(phone, stack, earlier)
        brief = phone.locator("section", has=phone.get_by_role("heading", name="Le brief du client"))
        expect(brief).to_contain_text("Votre histoire", timeout=WAIT_MS)
        expect(brief).to_contain_text("Born in May")
        expect(brief).to_contain_text("Tempo")
        expect(brief).not_to_contain_text("Rythme")
        expect(brief).to_contain_text("Enjoué")
        assert phone.errors == []
    seen = admin_view(api, earlier["order_id"], "songstudio")
    assert seen["questions"] == [for_whom, tempo, story]  # kept with its answers


def test_a_jobs_balance_and_its_dashboard_refund_read_plainly_on_the_order(api, stack, desk):
    from test_bookings import FIXIT, paid_booking, staff

    booking = paid_booking(api, stack, weeks_ahead=17)
    order_id = booking["order_id"]
    charged = api.post(f"/admin/bookings/{order_id}/charge-balance", json={"final_amount": 18000}, headers=staff(FIXIT))
    assert charged.status_code == 200, charged.text
    sandbox_post(stack, "/_sandbox/stripe/refunds", {"payment_intent": charged.json()["payment_ref"], "amount": 5000})
    wait_for(lambda: admin_view(api, order_id, FIXIT)["refunds"], what="the dashboard refund recorded")

    sign_in(desk, stack, FIXIT)
    open_order(desk, stack, booking)

    def panel(title: str):
        return desk.locator("section.panel").filter(has=desk.get_by_role("heading", name=title, exact=True))

    amounts = panel("Amount")
    expect(amounts).to_contain_text("BalanceA$150.00 · paid")
    expect(amounts).to_contain_text("RefundedA$50.00")
    refunds = panel("Refunds")
    expect(refunds).to_contain_text("Refunded in the payment provider’s dashboard (of the balance)")
    history = panel("History")
    expect(history).to_contain_text("Balance charged · A$150.00")
    expect(history).to_contain_text("Partly refunded · A$50.00")  # a refund, not another "Paid"

    # A$130.00 is left to refund, in two payments: the form offers what one refund can give back.
    refund = desk.get_by_role("form", name="Refund")
    expect(refund).to_contain_text("The refund policy allows A$130.00 now")
    expect(refund).to_contain_text("At most A$100.00 in one refund")
    expect(refund.get_by_label("Amount to refund (AUD)")).to_have_value("100.00")
    refund.get_by_label("Reason").fill("a pipe fitted twice")
    desk.on("dialog", lambda dialog: dialog.accept())  # "Refund A$100.00 to the customer?"
    refund.get_by_role("button", name="Refund A$100.00").click()
    expect(panel("Amount")).to_contain_text("RefundedA$150.00", timeout=WAIT_MS)
    expect(panel("Refunds").get_by_role("row", name=re.compile("a pipe fitted twice"))).to_contain_text(
        "of the balance"
    )
    expect(desk.get_by_role("form", name="Refund")).to_contain_text("The refund policy allows A$30.00 now")

    # The tradie's day: the job with its balance, paid.
    day = admin_view(api, order_id, FIXIT)["booking"]["start"][:10]
    desk.goto(f"{stack.api}/console#/bookings?date={day}&span=day")
    row = desk.locator("tr", has=desk.locator(f"a[href='#/orders/{order_id}']"))
    expect(row).to_contain_text("A$150.00 · paid", timeout=WAIT_MS)
    assert desk.errors == []


def test_a_festival_adds_an_event_then_its_ticket_type_from_the_console_and_its_buyers_get_tickets(
    api, stack, desk, browser
):
    from test_tickets import buy

    night = f"Closing night {uuid.uuid4().hex[:4]}"
    sku = f"FEST-CLOSING-DUO-{uuid.uuid4().hex[:6].upper()}"
    sign_in(desk, stack, "festival")
    desk.goto(f"{stack.api}/console#/catalog")
    event_form = desk.get_by_role("form", name="New event")
    event_form.get_by_label("Event").fill(night)
    event_form.get_by_label("Starts").fill("2027-07-12T20:00")
    event_form.get_by_label("Ends").fill("2027-07-12T18:00")  # before it starts: refused, nothing written
    event_form.get_by_label("Venue").fill("La Rotonde")
    event_form.get_by_role("button", name="Add the event").click()
    expect(event_form.get_by_role("alert")).to_contain_text("an event ends after it starts", timeout=WAIT_MS)
    event_form.get_by_label("Ends").fill("2027-07-13T02:00")
    event_form.get_by_role("button", name="Add the event").click()
    expect(desk.get_by_text(f"{night} is added")).to_be_visible(timeout=WAIT_MS)
    events = desk.get_by_role("table", name="Events")
    expect(events.get_by_role("row", name=re.compile(night))).to_contain_text("20:00 – ")
    expect(events.get_by_role("row", name=re.compile(night))).to_contain_text("02:00")
    event_id = f"{night.lower().replace(' ', '-')}-2027-07-12"

    # Corrected before any ticket is out: an hour later, the venue's full name.
    events.get_by_role("link", name=f"Correct {night}").click()
    correction = desk.get_by_role("form", name=f"Correct {night}")
    expect(correction.get_by_label("Venue")).to_have_value("La Rotonde", timeout=WAIT_MS)
    screenshot(desk, "console-event-correction-desktop")
    correction.get_by_label("Venue").fill("La Rotonde Stalingrad")
    correction.get_by_label("Starts").fill("2027-07-12T21:00")
    correction.get_by_role("button", name="Save").click()
    expect(desk.get_by_text(f"{night} is corrected")).to_be_visible(timeout=WAIT_MS)
    expect(events.get_by_role("row", name=re.compile(night))).to_contain_text("La Rotonde Stalingrad")
    expect(events.get_by_role("row", name=re.compile(night))).to_contain_text("21:00 – ")

    desk.get_by_role("link", name="New product").click()
    form = desk.get_by_role("form", name="New product")
    form.get_by_label("Product").fill("Closing night for two")
    form.get_by_label("SKU").fill(sku)
    form.get_by_label("Ticket for").select_option(value=event_id)
    form.get_by_label("People per ticket").fill("2")
    form.get_by_label("Price in USD").fill("150")
    form.get_by_label("Stock").fill("10")
    expect(form.get_by_label("Ticket for")).to_contain_text(f"{night} · ")  # with its day
    screenshot(desk, "console-new-ticket-desktop")
    form.get_by_role("button", name="Create the product").click()
    expect(desk.get_by_role("heading", level=1)).to_contain_text("Closing night for two", timeout=WAIT_MS)
    expect(desk.locator(".facts")).to_contain_text(night)
    expect(desk.locator(".facts")).to_contain_text("admits 2")
    assert desk.errors == []

    order = buy(api, [(sku, 1)])
    tickets = order_view(api, order)["tickets"]
    assert [(t["count"], t["sku"], t["state"]) for t in tickets] == [(2, sku, "valid"), (2, sku, "valid")]
    assert tickets[0]["event"]["name"] == night
    assert tickets[0]["event"]["start"] == "2027-07-12T21:00:00+02:00"  # as corrected, the festival's local time
    assert tickets[0]["event"]["venue"] == "La Rotonde Stalingrad"

    # Its tickets are out with these details: a change now tells every holder, once staff say so.
    def listed_event() -> dict:
        listed = api.get("/admin/products", headers={"Authorization": f"Bearer {merchant_token('festival')}"}).json()
        return next(e for e in listed["events"] if e["id"] == event_id)

    desk.goto(f"{stack.api}/console#/catalog?event={event_id}")
    correction = desk.get_by_role("form", name=f"Correct {night}")
    correction.get_by_label("Venue").fill("Le Trabendo")
    correction.get_by_label("Starts").fill("2027-07-12T21:30")  # and half an hour later
    correction.get_by_role("button", name="Save", exact=True).click()
    warning = correction.get_by_role("alert")
    expect(warning).to_contain_text(f"Tickets for {night} are out", timeout=WAIT_MS)
    expect(warning).to_contain_text("Changing it emails every ticket holder the new details and their tickets")
    expect(warning).not_to_contain_text("can no longer be changed")
    assert listed_event()["venue"] == "La Rotonde Stalingrad"  # nothing written
    assert axe_violations(desk) == [] and horizontal_overflow(desk) == 0
    screenshot(desk, "console-event-tell-holders-desktop")
    warning.get_by_role("button", name="Save and tell every holder").click()
    expect(desk.get_by_text(f"{night} is changed; its ticket holders are being emailed")).to_be_visible(timeout=WAIT_MS)
    expect(events.get_by_role("row", name=re.compile(night))).to_contain_text("Le Trabendo")
    wait_for(
        lambda: order_view(api, order)["tickets"][0]["event"]["venue"] == "Le Trabendo",
        timeout=30,
        what="the new venue on the buyer's tickets",
    )
    assert order_view(api, order)["tickets"][1]["event"]["start"] == "2027-07-12T21:30:00+02:00"
    [told] = wait_for(lambda: emails_for(stack, order["order_id"], "event_changed"), timeout=30, what="the email")
    assert "Le Trabendo" in told["text"]
    wait_for(lambda: not listed_event()["telling_holders"], timeout=30, what="every holder told")
    assert listed_event()["revision"] == 1
    desk.reload()
    expect(events.get_by_role("row", name=re.compile(night))).to_contain_text("Holders told", timeout=WAIT_MS)
    assert len(emails_for(stack, order["order_id"], "event_changed")) == 1  # told once

    # The order's history says what changed; the buyer's page says what it is now.
    open_order(desk, stack, order)
    changed = desk.locator(".timeline li", has_text=f"Event changed: {night}")
    expect(changed).to_contain_text("Venue: La Rotonde Stalingrad → Le Trabendo")
    expect(changed).to_contain_text(re.compile(r"When: Mon, Jul 12, 2027, 21:00 – .* → Mon, Jul 12, 2027, 21:30 – "))
    expect(changed).to_contain_text("emailed to the customer")
    assert axe_violations(desk) == [] and horizontal_overflow(desk) == 0
    assert desk.errors == []
    buyer = open_page(browser, PHONE)
    try:
        buyer.goto(f"{stack.api}/order/{order['order_id']}#token={order['order_token']}")
        history = buyer.locator("ol.timeline")
        expect(history).to_contain_text(f"{night} changed: now ", timeout=WAIT_MS)
        expect(history).to_contain_text("Le Trabendo")
        expect(buyer.locator("ul.tickets")).to_contain_text("Le Trabendo")
        assert axe_violations(buyer) == [] and horizontal_overflow(buyer) == 0
        screenshot(buyer, "order-page-event-changed-phone")
        buyer.get_by_role("button", name="Français").click()
        expect(history).to_contain_text(f"Changement pour {night} : désormais 12 juil. 2027, 21:30")
        assert buyer.errors == []
    finally:
        buyer.context.close()

    # The buyer cannot come on the new date and replies: staff give the tickets back in full.
    open_order(desk, stack, order)
    offered = desk.get_by_role("form", name="Give back the tickets for the changed event")
    expect(offered).to_contain_text("Tickets for an event that changed after they were bought: 2", timeout=WAIT_MS)
    assert axe_violations(desk) == [] and horizontal_overflow(desk) == 0
    screenshot(desk, "console-changed-event-refund-desktop")
    desk.on("dialog", lambda dialog: dialog.accept())  # "Refund $150.00 to the customer?"
    offered.get_by_role("button", name="Refund these tickets in full: $150.00").click()
    wait_for(lambda: [t["state"] for t in order_view(api, order)["tickets"]] == ["voided", "voided"], what="voided")
    expect(desk.get_by_role("form", name="Give back the tickets for the changed event")).to_have_count(
        0, timeout=WAIT_MS
    )
    assert desk.errors == []

    # An event that is not the festival's is refused, naming the field; nothing is written.
    unknown = api.post(
        "/admin/products",
        json={"sku": f"{sku}-X", "name": "A pass", "kind": "ticket", "prices": {"USD": 100}, "event": "no-such-event"},
        headers={"Authorization": f"Bearer {merchant_token('festival')}"},
    )
    assert unknown.status_code == 422 and unknown.json()["error"] == "unknown_event", unknown.text
    assert public_product(api, f"{sku}-X") is None

    with french_phone(browser, stack, "ouaga-live") as phone:
        phone.goto(f"{stack.api}/console#/catalog")
        expect(phone.get_by_role("heading", name="Événements")).to_be_visible(timeout=WAIT_MS)
        expect(phone.get_by_role("table", name="Événements")).to_contain_text("Stade du 4-Août")
        assert horizontal_overflow(phone) == 0 and axe_violations(phone) == []
        screenshot(phone, "console-events-phone-fr")
        assert phone.errors == []


def test_staff_cancel_a_night_from_the_console_and_its_holder_is_refunded_and_told(api, stack, desk, browser):
    from test_tickets import buy

    staff = {"Authorization": f"Bearer {merchant_token('festival')}"}
    night = f"Garden party {uuid.uuid4().hex[:4]}"
    added = api.post(
        "/admin/merchants/festival/events",
        json={"name": night, "start": "2027-07-15T18:00", "end": "2027-07-15T23:00", "venue": "Jardin du Luxembourg"},
        headers=staff,
    )
    assert added.status_code == 201, added.text
    event_id = added.json()["id"]
    sku = f"FEST-GARDEN-{uuid.uuid4().hex[:6].upper()}"
    ticket = {"sku": sku, "name": "Garden party pass", "kind": "ticket", "prices": {"USD": 4000}, "event": event_id}
    assert api.post("/admin/products", json={**ticket, "stock": 50}, headers=staff).status_code == 201
    order = buy(api, [(sku, 1)])

    def listed_event() -> dict:
        return next(e for e in api.get("/admin/products", headers=staff).json()["events"] if e["id"] == event_id)

    dialogs: list[str] = []
    desk.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    sign_in(desk, stack, "festival")
    desk.goto(f"{stack.api}/console#/catalog?event={event_id}")
    expect(desk.get_by_role("form", name=f"Correct {night}")).to_be_visible(timeout=WAIT_MS)
    cancelling = desk.get_by_role("form", name="Cancel this event")
    cancel = cancelling.get_by_role("button", name="Cancel the event and refund every holder")
    cancel.click()  # no reason given: the form says so, nothing is sent
    expect(cancelling.get_by_role("alert")).to_contain_text("Say why the event is cancelled", timeout=WAIT_MS)
    assert dialogs == [] and "cancelled" not in listed_event()

    reason = "The park is closed for a storm warning."
    cancelling.get_by_label("Why (told to every holder)").fill(reason)
    expect(cancelling.get_by_role("alert")).to_have_count(0)  # said while it was missing, gone once given
    assert axe_violations(desk) == [] and horizontal_overflow(desk) == 0
    screenshot(desk, "console-event-cancel-desktop")
    cancel.click()
    expect(desk.get_by_text(f"{night} is cancelled; its holders are being refunded and told.")).to_be_visible(
        timeout=WAIT_MS
    )
    assert dialogs == [
        f"Cancel {night}? Its tickets go off sale, and every holder is refunded in full and emailed why."
        " This cannot be undone."
    ]
    assert listed_event()["cancelled"] == reason
    events = desk.get_by_role("table", name="Events")
    row = events.get_by_role("row", name=re.compile(night))
    expect(row).to_contain_text("Cancelled")
    expect(row).to_contain_text(reason)
    expect(row.get_by_role("link", name=f"Correct {night}")).to_have_count(0)  # it changes no more

    wait_for(lambda: money_state(api, order) == "refunded", timeout=30, what="the holder's refund")
    wait_for(lambda: emails_for(stack, order["order_id"], "event_cancelled"), timeout=30, what="the email")
    wait_for(lambda: not listed_event()["telling_holders"], timeout=30, what="every holder told")
    assert len(emails_for(stack, order["order_id"], "event_cancelled")) == 1

    open_order(desk, stack, order)
    entry = desk.locator(".timeline li", has_text=f"Event cancelled: {night}")
    expect(entry).to_contain_text(reason)
    expect(entry).not_to_contain_text("→")
    assert axe_violations(desk) == [] and horizontal_overflow(desk) == 0
    desk.goto(f"{stack.api}/order/{order['order_id']}#token={order['order_token']}")  # the buyer's page
    expect(desk.locator("ol.timeline")).to_contain_text(f"{night} cancelled: {reason}", timeout=WAIT_MS)
    expect(desk.locator("ul.tickets")).to_contain_text("no longer valid")
    assert desk.errors == []
    buyer = open_page(browser, PHONE)
    try:
        buyer.goto(f"{stack.api}/order/{order['order_id']}#token={order['order_token']}")
        expect(buyer.locator("ol.timeline")).to_contain_text(f"{night} cancelled: {reason}", timeout=WAIT_MS)
        status = buyer.locator("section.status")
        expect(status).to_contain_text(f"{night} is cancelled. “{reason}” Your tickets no longer admit anyone")
        expect(status).not_to_contain_text("Your tickets are below")
        assert axe_violations(buyer) == [] and horizontal_overflow(buyer) == 0
        screenshot(buyer, "order-page-event-cancelled-phone")
    finally:
        buyer.context.close()

    with french_phone(browser, stack, "festival") as phone:
        phone.goto(f"{stack.api}/console#/catalog")
        row = phone.get_by_role("table", name="Événements").get_by_role("row", name=re.compile(night))
        expect(row).to_contain_text("Annulé", timeout=WAIT_MS)
        expect(row).to_contain_text(reason)
        assert horizontal_overflow(phone) == 0 and axe_violations(phone) == []
        screenshot(phone, "console-event-cancelled-phone-fr")
        assert phone.errors == []
