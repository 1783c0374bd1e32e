"""Tickets (issue 14): issued by the payment itself, carried in the confirmation email (a QR per
ticket inline, a PDF with a page per ticket) and on the order, checked once at the door."""

from __future__ import annotations

import base64
import csv
import io
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pypdf
import zxingcpp
from browser_support import PHONE, axe_violations, horizontal_overflow, open_page, screenshot, sign_in_to_console
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from e2e_support import (
    check_in,
    customer,
    customer_client,
    emails_for,
    merchant_token,
    money_state,
    order_status,
    order_view,
    plain,
    remaining_stock,
    wait_for,
)
from PIL import Image
from playwright.sync_api import expect

from caisse.orders.ticket_documents import verify
from caisse_local.authorizer import issue_token
from caisse_local.stack import LOCAL_SECRETS

# What a door scanner holds: the public half of the local stack's (obviously fake) signing key.
PUBLIC_KEY = Ed25519PrivateKey.from_private_bytes(base64.b64decode(LOCAL_SECRETS["tickets/signing_key"])).public_key()


def buy(api, items, currency="USD", locale="en", phone=None) -> dict:
    person = {"name": "Awa Ndiaye", "email": f"fan-{uuid.uuid4().hex[:8]}@example.test"}
    if locale:
        person["locale"] = locale
    if phone:
        person["phone"] = phone
    body = {"items": [{"sku": sku, "quantity": n} for sku, n in items], "currency": currency, "customer": person}
    with customer_client(api) as own:  # each buyer on their own network (per-IP caps)
        answer = own.post("/checkouts", json=body)
    assert answer.status_code == 201, answer.text
    order = answer.json()
    httpx.post(f"{order['next_action']['url']}/pay", timeout=10)
    wait_for(lambda: order_status(api, order) == "paid", what="the payment")
    return order


def confirmation(stack, order) -> dict:
    [mail] = wait_for(lambda: emails_for(stack, order["order_id"], "order_confirmed"), what="the confirmation")
    return mail


def pdf_of(mail) -> pypdf.PdfReader:
    [attached] = [a for a in mail["attachments"] if a["content_type"] == "application/pdf"]
    return pypdf.PdfReader(io.BytesIO(base64.b64decode(attached["base64"])))


def decoded(image: Image.Image) -> list[str]:
    """Read the image as a door scanner set to QR codes does: with every format enabled, zxing
    now and then also reads a stray ITF barcode in a QR's modules (3 in 3 000 random tickets)."""
    return [barcode.text for barcode in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


def test_two_weekend_passes_and_a_donation_are_two_tickets_in_the_email_and_its_pdf(api, stack):
    order = buy(api, [("FEST-WEEKEND-PASS", 2), ("FEST-DONATION-10", 1)])
    tickets = order_view(api, order)["tickets"]
    assert [(t["number"], t["count"], t["sku"], t["state"]) for t in tickets] == [
        (1, 2, "FEST-WEEKEND-PASS", "valid"),
        (2, 2, "FEST-WEEKEND-PASS", "valid"),
    ]
    assert tickets[0]["event"]["name"] == "Sunset Festival 2027"
    assert tickets[0]["event"]["start"] == "2027-07-09T16:00:00+02:00"  # the merchant's local time, Paris
    codes = [t["code"] for t in tickets]
    assert len(set(codes)) == 2 and all(len(code.replace("-", "")) == 16 for code in codes)

    mail = confirmation(stack, order)
    for code in codes:
        assert code in mail["text"] and code in mail["html"]
    assert "we start with" not in mail["text"]
    images = [a for a in mail["attachments"] if a["content_type"] == "image/png"]
    assert len(images) == 2
    for image in images:
        assert f"cid:{image['content_id']}" in mail["html"]  # shown inline, in the HTML
        [text] = decoded(Image.open(io.BytesIO(base64.b64decode(image["base64"]))))
        claims = verify(text, PUBLIC_KEY)
        assert claims is not None and claims["m"] == "festival" and claims["o"] == order["order_number"]
        assert claims["c"] in {code.replace("-", "") for code in codes}

    document = pdf_of(mail)
    assert len(document.pages) == 2
    for page, code in zip(document.pages, codes, strict=True):
        text = page.extract_text()
        assert code in text and order["order_number"] in text and "Awa Ndiaye" in text
        assert "Sunset Festival 2027" in text and "Parc de la Villette" in text and "2027-07-09 16:00" in text
        [qr] = decoded(page.images[0].image)  # the QR printed on the page, read back by a scanner
        claims = verify(qr, PUBLIC_KEY)
        assert claims is not None and claims["c"] == code.replace("-", "")
    tampered = qr.replace(qr.split(".")[1], qr.split(".")[1][::-1])
    assert verify(tampered, PUBLIC_KEY) is None  # a forged payload does not verify


def test_an_ouaga_live_buyer_without_a_locale_gets_french(api, stack):
    order = buy(api, [("OL-CONCERT-STANDARD", 1)], currency="XOF", locale=None, phone="+22670000002")
    mail = confirmation(stack, order)
    assert mail["subject"].startswith(f"Commande {order['order_number']} confirmée")
    assert "Billet 1 sur 1" in mail["text"] and "Stade du 4-Août" in mail["text"]
    [page] = pdf_of(mail).pages
    text = page.extract_text()
    assert "Billet 1 sur 1" in text and "Titulaire" in text and "Lieu" in text and "2027-03-20 20:00" in text


def test_ten_doors_scanning_one_ticket_at_once_admit_exactly_one(api, stack):
    order = buy(api, [("FEST-DAY-PASS", 1)])
    [ticket] = order_view(api, order)["tickets"]
    with ThreadPoolExecutor(max_workers=10) as doors:
        answers = list(doors.map(lambda n: check_in(api, ticket["code"], email=f"door{n}@fest.example"), range(10)))
    assert sorted(a.status_code for a in answers) == [200] + [409] * 9
    [admitted] = [a.json() for a in answers if a.status_code == 200]
    assert admitted["result"] == "admitted" and admitted["ticket"]["holder"] == "Awa Ndiaye"
    refusals = [a.json() for a in answers if a.status_code == 409]
    assert {r["error"] for r in refusals} == {"already_checked_in"}
    used_by = admitted["ticket"]["checked_in_by"]
    assert all(
        r["message"].startswith("already used at ") and r["message"].endswith(f" by {used_by}") for r in refusals
    )
    again = check_in(api, ticket["code"].lower().replace("-", ""))  # typed by hand, later
    assert again.status_code == 409 and again.json()["ticket"]["checked_in_by"] == used_by


def test_another_merchants_staff_cannot_check_a_ticket_in(api, stack):
    order = buy(api, [("FEST-DAY-PASS", 1)])
    [ticket] = order_view(api, order)["tickets"]
    refused = check_in(api, ticket["code"], merchant="ouaga-live", email="door@ouagalive.example")
    assert refused.status_code == 403 and refused.json()["error"] == "other_merchant"
    assert check_in(api, ticket["code"]).status_code == 200  # untouched: its own staff still admit it
    unknown = check_in(api, "0000-0000-0000-0000")
    assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_ticket"


def test_a_refunded_ticket_is_refused_at_the_door_and_its_admission_goes_back_to_stock(api, stack):
    order = buy(api, [("FEST-WEEKEND-PASS", 2)])
    first, second = order_view(api, order)["tickets"]
    before = remaining_stock(api, "FEST-WEEKEND-PASS")
    refund = api.post(
        f"/admin/orders/{order['order_id']}/refunds",
        json={"tickets": [second["code"]], "reason": "a friend cannot come"},
        headers={"Authorization": f"Bearer {merchant_token('festival')}", "Idempotency-Key": str(uuid.uuid4())},
    )
    assert refund.status_code == 201, refund.text
    assert refund.json()["amount"] == {"amount": 12000, "currency": "USD"}  # one weekend pass
    assert refund.json()["tickets"] == [second["code"]]
    assert remaining_stock(api, "FEST-WEEKEND-PASS") == before + 1
    assert [t["state"] for t in order_view(api, order)["tickets"]] == ["valid", "voided"]

    refused = check_in(api, second["code"])
    assert refused.status_code == 409 and refused.json()["error"] == "ticket_voided"
    assert "refunded" in refused.json()["message"] and "a friend cannot come" in refused.json()["message"]
    assert check_in(api, first["code"]).status_code == 200  # the other ticket still admits

    # The door's list for when the network is down: both tickets, as the door last saw them.
    listed = api.get(
        "/admin/events/sunset-2027/attendees", headers={"Authorization": f"Bearer {merchant_token('festival')}"}
    )
    assert listed.status_code == 200 and listed.headers["content-type"].startswith("text/csv")
    rows = {row["code"]: row for row in csv.DictReader(io.StringIO(listed.text))}
    assert rows[first["code"]]["state"] == "valid" and rows[first["code"]]["checked_in_by"]
    assert rows[first["code"]]["holder"] == "Awa Ndiaye" and rows[first["code"]]["ticket"] == "1/2"
    assert rows[second["code"]]["state"] == "voided" and "refunded" in rows[second["code"]]["void_reason"]
    elsewhere = api.get(
        "/admin/events/sunset-2027/attendees", headers={"Authorization": f"Bearer {merchant_token('ouaga-live')}"}
    )
    assert elsewhere.status_code == 200 and first["code"] not in elsewhere.text  # only its own merchant's

    again = api.post(  # the same ticket cannot be given back twice
        f"/admin/orders/{order['order_id']}/refunds",
        json={"tickets": [second["code"]]},
        headers={"Authorization": f"Bearer {merchant_token('festival')}", "Idempotency-Key": str(uuid.uuid4())},
    )
    assert again.status_code == 422 and again.json()["error"] == "ticket_voided"
    assert remaining_stock(api, "FEST-WEEKEND-PASS") == before + 1


def test_the_order_page_shows_the_tickets_and_the_door_page_admits_a_typed_code_once_and_a_scanned_qr(
    api, browser, stack
):
    order = buy(api, [("FEST-DAY-PASS", 2)])
    first, second = order_view(api, order)["tickets"]
    images = [a for a in confirmation(stack, order)["attachments"] if a["content_type"] == "image/png"]
    scanned = {}  # code -> what its QR holds
    for image in images:
        [text] = decoded(Image.open(io.BytesIO(base64.b64decode(image["base64"]))))
        scanned[verify(text, PUBLIC_KEY)["c"]] = text
    token = issue_token(merchant_id="festival", email="door@sunsetfestival.example")

    page = open_page(browser, PHONE)
    try:
        # The buyer's order page lists the tickets too.
        page.goto(f"{stack.api}/order/{order['order_id']}#token={order['order_token']}")
        expect(page.get_by_role("heading", name="Your tickets")).to_be_visible()
        expect(page.get_by_text(first["code"])).to_be_visible()
        expect(page.get_by_text("Ticket 2 of 2")).to_be_visible()
        assert axe_violations(page) == []
        screenshot(page, "order-page-tickets-phone")

        # The door, a section of the staff console, on a browser that cannot read QR codes.
        page.add_init_script("delete window.BarcodeDetector")
        sign_in_to_console(page, stack.api, token)
        page.get_by_role("link", name="Door").click()
        expect(page.get_by_role("heading", name="Door check-in")).to_be_visible()
        expect(page.get_by_text("This browser cannot read QR codes")).to_be_visible()
        verdict = page.locator(".verdict")
        page.get_by_label("Ticket code").fill(first["code"].lower())
        page.get_by_label("Ticket code").press("Enter")
        expect(verdict.get_by_role("heading", name="Admitted")).to_be_visible()
        expect(verdict).to_contain_text("Awa Ndiaye")
        assert axe_violations(page) == []
        assert horizontal_overflow(page) == 0
        screenshot(page, "door-check-in-admitted-phone")
        page.get_by_label("Ticket code").fill(first["code"])
        page.get_by_role("button", name="Check in").click()
        expect(verdict.get_by_role("heading", name="Refused")).to_be_visible()
        expect(verdict).to_contain_text("Already used at")
        expect(verdict).to_contain_text("by door@sunsetfestival.example")
        screenshot(page, "door-check-in-refused-phone")
        # The list for when the network goes down says the first ticket was used, the second not yet.
        with page.expect_download() as downloading:
            page.get_by_role("button", name="Download the list for Sunset Festival").click()
        listed = {row["code"]: row for row in csv.DictReader(open(downloading.value.path(), encoding="utf-8"))}
        assert listed[first["code"]]["checked_in_by"] == "door@sunsetfestival.example"
        assert listed[second["code"]]["state"] == "valid" and not listed[second["code"]]["checked_in_at"]
        assert page.errors == []
    finally:
        page.context.close()

    # A phone whose browser reads QR codes: the browser's BarcodeDetector and camera are stood in
    # for (headless chromium on Linux has neither), handing the page what the QR really holds.
    camera = open_page(browser, PHONE)
    try:
        camera.add_init_script(
            """
            window.__detections = 0;
            window.BarcodeDetector = class {
              async detect() { window.__detections += 1; return [{ rawValue: SCANNED }]; }
            };
            navigator.mediaDevices.getUserMedia = async () => {
              const canvas = document.createElement('canvas');
              canvas.getContext('2d').fillRect(0, 0, 10, 10);
              window.__stream = canvas.captureStream(5);
              return window.__stream;
            };
            """.replace("SCANNED", json.dumps(scanned[second["code"].replace("-", "")]))
        )
        checks = []
        camera.on("request", lambda request: checks.append(request.url) if "/admin/tickets/" in request.url else None)
        sign_in_to_console(camera, stack.api, token)
        camera.get_by_role("link", name="Door").click()
        camera.get_by_role("button", name="Scan with the camera").click()
        verdict = camera.locator(".verdict")
        expect(verdict.get_by_role("heading", name="Admitted")).to_be_visible()
        expect(verdict).to_contain_text(second["code"])
        # Held in front of the camera, the same QR is read again and again but checked once.
        wait_for(lambda: camera.evaluate("window.__detections") >= 6, what="the camera's QR read again and again")
        expect(verdict.get_by_role("heading", name="Admitted")).to_be_visible()
        assert checks == [f"{stack.api}/admin/tickets/{second['code'].replace('-', '')}/check-in"]
        # Leaving the door turns the camera off: no more reading.
        camera.get_by_role("link", name="Orders").click()
        ended = "window.__stream.getTracks().every((track) => track.readyState === 'ended')"
        wait_for(lambda: camera.evaluate(ended), what="the camera to stop")
        assert camera.errors == []
    finally:
        camera.context.close()
    assert check_in(api, second["code"]).json()["error"] == "already_checked_in"


def review(api, order, status) -> None:
    answer = api.post(
        f"/admin/orders/{order['order_id']}/status",
        json={"status": status, "note": "checked with the buyer"},
        headers={"Authorization": f"Bearer {merchant_token('ouaga-live')}"},
    )
    assert answer.status_code == 200, answer.text


def test_a_buyer_under_review_is_told_and_gets_tickets_only_once_staff_approve(api, stack):
    def flagged_order(phone):
        person = {"name": "Awa Ndiaye", "email": f"vip-{uuid.uuid4().hex[:8]}@example.test", "phone": phone}
        body = {"items": [{"sku": "OL-CONCERT-VIP", "quantity": 1}], "currency": "XOF", "customer": person}
        with customer_client(api) as own:
            order = own.post("/checkouts", json=body).json()
        httpx.post(f"{order['next_action']['url']}/pay", timeout=10)  # above the shop's review threshold
        wait_for(lambda: order_status(api, order) == "needs_review", what="the payment flagged for review")
        return order

    approved, refused = flagged_order("+22670000003"), flagged_order("+22670000004")
    for order in (approved, refused):
        [told] = wait_for(lambda o=order: emails_for(stack, o["order_id"], "payment_under_review"), what="told")
        assert told["subject"].startswith(f"Nous vérifions le paiement de la commande {order['order_number']}")
        assert "avec vos billets" in told["text"] and not told["attachments"]
        assert "tickets" not in order_view(api, order)  # nothing to show at the door yet

    review(api, approved, "paid")
    mail = confirmation(stack, approved)
    assert "Nous avons vérifié votre paiement" in mail["text"]
    [ticket] = order_view(api, approved)["tickets"]
    assert ticket["code"] in mail["text"] and len(pdf_of(mail).pages) == 1

    review(api, refused, "cancelled")
    [no] = wait_for(lambda: emails_for(stack, refused["order_id"], "payment_refused"), what="the refusal")
    assert "n'a pas pu être acceptée" in no["subject"] and "aucun billet n'a été émis" in no["text"]
    assert "tickets" not in order_view(api, refused)


def test_erasing_a_buyer_erases_their_name_from_the_door_list_and_keeps_the_tickets(api, stack):
    order = buy(api, [("FEST-DAY-PASS", 1)])
    [ticket] = order_view(api, order)["tickets"]
    staff = {"Authorization": f"Bearer {merchant_token('festival')}"}
    email = api.get(f"/admin/orders/{order['order_id']}", headers=staff).json()["customer"]["email"]
    erased = api.post("/admin/customers/erase", json={"email": email}, headers=staff)
    assert erased.status_code == 200, erased.text  # a paid ticket order has nothing more to do: erasable
    row = door_list_row(api, "sunset-2027", ticket["code"], staff)
    assert row["holder"] != "Awa Ndiaye" and row["state"] == "valid"
    admitted = check_in(api, ticket["code"])
    assert admitted.status_code == 200 and "Awa Ndiaye" not in admitted.text  # still admits, naming nobody


def door_list_row(api, event_id: str, code: str, staff: dict) -> dict:
    """A ticket's row in the event's attendee list, the door's copy for when the network is down."""
    listed = api.get(f"/admin/events/{event_id}/attendees", headers=staff)
    assert listed.status_code == 200, listed.text
    [row] = [row for row in csv.DictReader(io.StringIO(listed.text)) if row["code"] == code]
    return row


def night_on_sale(api, merchant: str, name: str, start: str, end: str, venue: str, price: dict, **product) -> tuple:
    """An event added by the merchant's staff and a ticket type for it, as staff do in the console:
    (its id, the ticket's SKU, the staff's headers)."""
    staff = {"Authorization": f"Bearer {merchant_token(merchant)}"}
    night = {"name": name, "start": start, "end": end, "venue": venue}
    added = api.post(f"/admin/merchants/{merchant}/events", json=night, headers=staff)
    assert added.status_code == 201, added.text
    sku = f"NIGHT-{uuid.uuid4().hex[:8].upper()}"
    ticket = {"sku": sku, "name": f"{name} pass", "kind": "ticket", "prices": price, "event": added.json()["id"]}
    created = api.post("/admin/products", json={**ticket, **product}, headers=staff)
    assert created.status_code == 201, created.text
    return added.json()["id"], sku, staff


def test_a_night_moved_once_its_tickets_are_out_is_told_to_every_holder_once_with_tickets_that_still_admit(api, stack):
    """A concert put back a week and moved to a bigger room after tickets were sold: staff must say
    the holders are to be told; each paid order is emailed once (in its language, the new and the
    old details, its tickets again with the same codes), its order and tickets carry the change,
    a checkout still waiting for payment gets tickets with the new details, and saving again tells
    nobody twice."""
    tag = uuid.uuid4().hex[:6]
    event_id, sku, staff = night_on_sale(
        api, "festival", f"Late set {tag}", "2027-07-14T21:00", "2027-07-15T01:00", "Le Trabendo", {"USD": 3000}
    )

    english = buy(api, [(sku, 2)])
    french = buy(api, [(sku, 1)], locale="fr")
    codes = {order["order_id"]: [t["code"] for t in order_view(api, order)["tickets"]] for order in (english, french)}
    with customer_client(api) as own:  # a buyer still on the payment page when the night moves
        waiting = own.post(
            "/checkouts", json={"items": [{"sku": sku, "quantity": 1}], "currency": "USD", "customer": customer()}
        ).json()
    url = f"/admin/merchants/festival/events/{event_id}"
    moved = {"start": "2027-07-21T22:00", "end": "2027-07-22T02:00", "venue": "Le Zénith"}

    refused = api.patch(url, json=moved, headers=staff)
    assert refused.status_code == 409 and refused.json()["error"] == "tickets_issued", refused.text
    listed = api.get("/admin/products", headers=staff).json()["events"]
    assert next(e for e in listed if e["id"] == event_id)["venue"] == "Le Trabendo"  # nothing written

    changed = api.patch(url, json={**moved, "tell_holders": True}, headers=staff)
    assert changed.status_code == 200, changed.text
    assert changed.json()["revision"] == 1 and changed.json()["venue"] == "Le Zénith"

    for order in (english, french):
        [mail] = wait_for(
            lambda order=order: emails_for(stack, order["order_id"], "event_changed"), what="the holder's email"
        )
        text = plain(mail["text"])
        if order is english:
            assert mail["subject"].startswith(f"Late set {tag} has changed")
            assert "When: 2027-07-21 22:00 to 2027-07-22 02:00 (Europe/Paris), was 2027-07-14 21:00" in text
            assert "Where: Le Zénith, was Le Trabendo" in text and "tickets stay valid" in text
        else:
            assert "Quand : 2027-07-21 22:00 au 2027-07-22 02:00 (Europe/Paris), au lieu du 2027-07-14" in text
            assert "Où : Le Zénith, au lieu de Le Trabendo" in text and "Votre billet reste valable" in text
            assert "vous le rembourse en totalité" in text
        assert all(code in text for code in codes[order["order_id"]])  # the same tickets: they still admit
        pages = pdf_of(mail).pages
        assert len(pages) == len(codes[order["order_id"]])
        assert all("2027-07-21 22:00" in page.extract_text() and "Le Zénith" in page.extract_text() for page in pages)
        view = order_view(api, order)
        assert {t["event"]["venue"] for t in view["tickets"]} == {"Le Zénith"}
        assert view["tickets"][0]["event"]["start"] == "2027-07-21T22:00:00+02:00"
        [told] = [entry for entry in view["history"] if entry.get("event")]
        assert told["event"]["venue"] == "Le Zénith" and told["event"]["start"] == "2027-07-21T22:00:00+02:00"

    wait_for(
        lambda: (
            not next(e for e in api.get("/admin/products", headers=staff).json()["events"] if e["id"] == event_id)[
                "telling_holders"
            ]
        ),
        what="every holder told",
    )
    admitted = check_in(api, codes[english["order_id"]][0])
    assert admitted.status_code == 200 and admitted.json()["ticket"]["event"]["venue"] == "Le Zénith"

    # The English holder's friend came in early; the holder cannot come on the new date and gives
    # their own ticket back on the order page: refunded in full, once, the admitted one kept.
    [offer] = order_view(api, english)["ticket_returns"]  # the ticket used at the door is not offered
    assert offer["event"]["id"] == event_id and offer["amount"] == {"amount": 3000, "currency": "USD"}
    assert offer["tickets"] == [codes[english["order_id"]][1]] and offer["event"]["venue"] == "Le Zénith"
    returns = f"/orders/{english['order_id']}/ticket-returns"
    own = {"Authorization": f"Bearer {english['order_token']}"}
    stranger = api.post(
        returns, json={"event_id": event_id}, headers={"Authorization": f"Bearer {french['order_token']}"}
    )
    assert stranger.status_code == 404  # another order's token learns nothing
    given = api.post(returns, json={"event_id": event_id}, headers=own)
    assert given.status_code == 201, given.text
    assert given.json()["amount"] == {"amount": 3000, "currency": "USD"} and given.json()["status"] == "succeeded"
    assert given.json()["tickets"] == [codes[english["order_id"]][1]] and "provider_refund_id" not in given.json()
    again = api.post(returns, json={"event_id": event_id}, headers=own)  # a second click: the same refund
    assert again.status_code == 201 and again.json()["replayed"] is True
    assert again.json()["refund_id"] == given.json()["refund_id"]
    view = order_view(api, english)
    assert view["ticket_returns"] == [] and view["money_state"] == "partially_refunded"
    assert [t["state"] for t in view["tickets"]] == ["valid", "voided"]
    assert check_in(api, codes[english["order_id"]][1]).status_code == 409  # no longer admits
    [refunded] = wait_for(lambda: emails_for(stack, english["order_id"], "refund_processed"), what="the refund email")
    [shop] = wait_for(lambda: emails_for(stack, english["order_id"], "tickets_given_back"), what="the shop's email")
    assert shop["subject"] == f"Tickets given back: order {english['order_number']}, USD 30.00"
    assert f"gave back their tickets for Late set {tag}" in plain(shop["text"]) and "nothing to do" in shop["text"]
    assert f"We refunded USD 30.00 for order {english['order_number']} (Late set {tag})." in plain(refunded["text"])
    staff_view = api.get(f"/admin/orders/{english['order_id']}", headers=staff).json()
    assert [e["by"] for e in staff_view["history"] if e.get("money", {}).get("to") == "partially_refunded"] == [
        "customer"
    ]
    nothing = api.post(returns, json={"event_id": "no-such-night"}, headers=own)
    assert nothing.status_code == 409 and nothing.json()["error"] == "nothing_to_give_back"

    # The French holder cannot come on the new date and replies: staff see the ticket offered back
    # in full (the policy set aside: the night they paid for is not the one that will happen).
    seen = api.get(f"/admin/orders/{french['order_id']}", headers=staff).json()["refund_terms"]
    assert seen["changed_event_tickets"] == {
        "tickets": codes[french["order_id"]],
        "amount": {"amount": 3000, "currency": "USD"},
    }
    given_back = api.post(
        f"/admin/orders/{french['order_id']}/refunds",
        json={"tickets": codes[french["order_id"]], "reason": "cannot come on the new date"},
        headers={**staff, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert given_back.status_code == 201 and given_back.json()["amount"] == {"amount": 3000, "currency": "USD"}
    assert (
        "changed_event_tickets"
        not in api.get(f"/admin/orders/{french['order_id']}", headers=staff).json()["refund_terms"]
    )

    httpx.post(f"{waiting['next_action']['url']}/pay", timeout=10)  # paid after the move: its tickets say so
    mail = confirmation(stack, waiting)
    assert "2027-07-21 22:00" in mail["text"] and "Le Zénith" in mail["text"] and "Le Trabendo" not in mail["text"]

    again = api.patch(url, json={**moved, "tell_holders": True}, headers=staff)  # saved again: nothing new
    assert again.status_code == 200 and again.json()["revision"] == 1
    stack.drain()
    for order in (english, french, waiting):
        assert len(emails_for(stack, order["order_id"], "event_changed")) == (0 if order is waiting else 1)


def test_a_cancelled_night_refunds_every_holder_in_full_voids_their_tickets_and_closes_open_checkouts(api, stack):
    """A storm warning cancels an open-air night: staff say why; its tickets go off sale; each
    holder is told (in their language) and refunded everything they paid for it, whatever the
    refund policy; their tickets are refused at the door; a buyer still on the payment page can no
    longer pay; the event changes no more."""
    tag = uuid.uuid4().hex[:6]
    event_id, sku, staff = night_on_sale(
        api,
        "festival",
        f"Open-air set {tag}",
        "2027-07-13T21:00",
        "2027-07-14T00:30",
        "Prairie",
        {"USD": 2500},
        stock=20,
    )
    english = buy(api, [(sku, 2), ("FEST-DONATION-10", 1)])  # the donation is not part of the night
    french = buy(api, [(sku, 1)], locale="fr")
    with customer_client(api) as own:
        waiting = own.post(
            "/checkouts", json={"items": [{"sku": sku, "quantity": 1}], "currency": "USD", "customer": customer()}
        ).json()

    url = f"/admin/merchants/festival/events/{event_id}"
    reason = "A storm warning: the prefecture closed the park for the night."
    cancelled = api.patch(url, json={"cancelled": reason}, headers=staff)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["cancelled"] == reason and cancelled.json()["revision"] == 1
    with customer_client(api) as own:  # off sale at once
        refused = own.post(
            "/checkouts", json={"items": [{"sku": sku, "quantity": 1}], "currency": "USD", "customer": customer()}
        )
    assert refused.status_code == 422 and refused.json()["error"] == "unknown_sku", refused.text

    for order, paid in ((english, 5000), (french, 2500)):
        wait_for(
            lambda order=order: money_state(api, order) == ("partially_refunded" if order is english else "refunded"),
            what="the holder's refund",
        )
        view = order_view(api, order)
        assert [t["state"] for t in view["tickets"]] == ["voided"] * len(view["tickets"])
        [refund] = view["refunds"]
        assert refund["amount"] == {"amount": paid, "currency": "USD"} and refund["status"] == "succeeded"
        [told] = wait_for(lambda order=order: emails_for(stack, order["order_id"], "event_cancelled"), what="the email")
        [refunded] = wait_for(lambda order=order: emails_for(stack, order["order_id"], "refund_processed"), what="it")
        text = plain(told["text"])
        if order is english:
            assert told["subject"].startswith(f"Open-air set {tag} is cancelled: your tickets are refunded")
            assert reason in text and "refunded in full, whatever the shop's refund policy" in text
            assert "We refunded USD 50.00" in plain(refunded["text"])
        else:
            assert told["subject"].startswith(f"Open-air set {tag} est annulé")
            assert "vous est remboursé en totalité" in text and "prévu du 2027-07-13 21:00 au 2027-07-14 00:30" in text
        refused_at_door = check_in(api, view["tickets"][0]["code"])
        assert refused_at_door.status_code == 409 and refused_at_door.json()["error"] == "ticket_voided"
        assert "cancelled" in refused_at_door.json()["message"]

    wait_for(lambda: order_status(api, waiting) == "expired", what="the open checkout closed")
    stock = api.get(f"/admin/products/{sku}", headers=staff).json()
    assert stock["stock"] == 20 and stock["active"] is False  # every admission back, nothing on sale
    events = api.get("/admin/products", headers=staff).json()["events"]
    assert next(e for e in events if e["id"] == event_id)["cancelled"] == reason
    wait_for(
        lambda: (
            not next(e for e in api.get("/admin/products", headers=staff).json()["events"] if e["id"] == event_id)[
                "telling_holders"
            ]
        ),
        what="every holder told",
    )
    again = api.patch(url, json={"venue": "Somewhere dry"}, headers=staff)
    assert again.status_code == 409 and again.json()["error"] == "event_cancelled"
    restarted = api.patch(url, json={}, headers=staff)  # what the runbook does for a telling stuck in the DLQ
    assert restarted.status_code == 200 and restarted.json()["cancelled"] == reason
    stack.drain()
    assert len(emails_for(stack, english["order_id"], "event_cancelled")) == 1
    assert len(emails_for(stack, english["order_id"], "refund_processed")) == 1


def test_a_cancelled_concert_paid_by_mobile_money_is_owed_back_to_the_phone_and_told_in_french(api, stack):
    """Ouaga Live's buyers pay by mobile money, which has no refund API: the cancellation owes
    each of them their money, listed for staff with the phone to pay back to."""
    tag = uuid.uuid4().hex[:6]
    event_id, sku, staff = night_on_sale(
        api, "ouaga-live", f"Nuit {tag}", "2027-04-03T20:00", "2027-04-04T01:00", "Stade du 4-Août", {"XOF": 5000}
    )
    order = buy(api, [(sku, 2)], currency="XOF", locale=None, phone="+22670000002")
    with customer_client(api) as own:  # a buyer whose mobile-money payment is still on its way
        late = own.post(
            "/checkouts",
            json={
                "items": [{"sku": sku, "quantity": 1}],
                "currency": "XOF",
                "customer": customer("fr") | {"phone": "+22670000003"},
            },
        ).json()

    reason = "Le stade est fermé par la mairie."
    assert api.patch(
        f"/admin/merchants/ouaga-live/events/{event_id}", json={"cancelled": reason}, headers=staff
    ).is_success
    [told] = wait_for(lambda: emails_for(stack, order["order_id"], "event_cancelled"), what="the email")
    assert told["subject"].startswith(f"Nuit {tag} est annulé") and reason in plain(told["text"])
    owed = wait_for(
        lambda: [
            r
            for r in api.get("/admin/refunds/owed", headers=staff).json()["refunds"]
            if r["order"]["order_number"] == order["order_number"]
        ],
        what="the refund owed",
    )
    [row] = owed
    assert row["amount"] == {"amount": 10000, "currency": "XOF"} and row["pay_to"]["phone"].endswith("70000002")
    assert {t["state"] for t in order_view(api, order)["tickets"]} == {"voided"}

    # Its collection cannot be stopped: paid after the cancellation was told, it gets a ticket,
    # which the cancellation's sweep gives back (the local stack sweeps 3 s after, not 15 min).
    httpx.post(f"{late['next_action']['url']}/pay", timeout=10)
    wait_for(lambda: order_status(api, late) == "paid", what="the late payment")
    wait_for(lambda: [t["state"] for t in order_view(api, late)["tickets"]] == ["voided"], timeout=60, what="the sweep")
    [swept] = [
        r
        for r in api.get("/admin/refunds/owed", headers=staff).json()["refunds"]
        if r["order"]["order_number"] == late["order_number"]
    ]
    assert swept["amount"] == {"amount": 5000, "currency": "XOF"} and reason in swept["reason"]
    [told_late] = wait_for(
        lambda: emails_for(stack, late["order_id"], "event_cancelled"), what="the late buyer's email"
    )
    assert reason in plain(told_late["text"])
    assert emails_for(stack, late["order_id"], "order_confirmed") == []  # no tickets sent for a cancelled night


def test_a_moved_concert_paid_by_mobile_money_is_given_back_by_its_holder_and_owed_to_the_phone(api, stack):
    """Ouaga Live moves a concert; a holder who paid by mobile money gives their tickets back on
    the order page: mobile money has no refund API, so the shop owes it to the phone, which staff
    see listed, and the holder is told it comes back to their number."""
    tag = uuid.uuid4().hex[:6]
    event_id, sku, staff = night_on_sale(
        api, "ouaga-live", f"Concert {tag}", "2027-05-08T20:00", "2027-05-09T01:00", "Maison du Peuple", {"XOF": 7500}
    )
    order = buy(api, [(sku, 2)], currency="XOF", locale=None, phone="+22670000004")
    moved = {"start": "2027-05-15T20:00", "end": "2027-05-16T01:00", "tell_holders": True}
    assert api.patch(f"/admin/merchants/ouaga-live/events/{event_id}", json=moved, headers=staff).is_success
    [offer] = wait_for(lambda: order_view(api, order)["ticket_returns"], what="the tickets offered back")
    assert offer["amount"] == {"amount": 15000, "currency": "XOF"} and len(offer["tickets"]) == 2

    given = give_back(api, order, event_id)
    assert given.status_code == 201, given.text
    assert given.json()["status"] == "owed" and given.json()["amount"] == {"amount": 15000, "currency": "XOF"}
    assert "pay_to" not in given.json()  # the phone is for staff, who pay it back
    [row] = [
        r
        for r in api.get("/admin/refunds/owed", headers=staff).json()["refunds"]
        if r["order"]["order_number"] == order["order_number"]
    ]
    assert row["amount"] == {"amount": 15000, "currency": "XOF"} and row["pay_to"]["phone"].endswith("70000004")
    assert {t["state"] for t in order_view(api, order)["tickets"]} == {"voided"}
    [mail] = wait_for(lambda: emails_for(stack, order["order_id"], "refund_processed"), what="the refund email")
    assert "sur votre numéro mobile money se terminant par 04 nous-mêmes" in plain(mail["text"])  # French by default
    [shop] = wait_for(lambda: emails_for(stack, order["order_id"], "tickets_given_back"), what="the shop's email")
    assert shop["subject"].endswith("15 000 XOF à rembourser")
    assert "Renvoyez l'argent sur son numéro se terminant par 04" in plain(shop["text"])


def give_back(client: httpx.Client, order: dict, event_id: str) -> httpx.Response:
    """The holder's click on the order page: give back their tickets for a changed event."""
    return client.post(
        f"/orders/{order['order_id']}/ticket-returns",
        json={"event_id": event_id},
        headers={"Authorization": f"Bearer {order['order_token']}"},
    )


def one_ticket_of_a_moved_night(api, name: str, start: str, price: int) -> tuple[str, dict, dict, dict]:
    """A festival night (four hours from `start`) with one ticket sold, then put back a week with its
    holders told: its id, staff's headers, the order and the give-back it is offered."""
    begins = datetime.fromisoformat(start)
    event_id, sku, staff = night_on_sale(
        api,
        "festival",
        f"{name} {uuid.uuid4().hex[:6]}",
        start,
        (begins + timedelta(hours=4)).isoformat(timespec="minutes"),
        "La Cigale",
        {"USD": price},
    )
    order = buy(api, [(sku, 1)])
    week_later = {
        "start": (begins + timedelta(days=7)).isoformat(timespec="minutes"),
        "end": (begins + timedelta(days=7, hours=4)).isoformat(timespec="minutes"),
        "tell_holders": True,
    }
    assert api.patch(f"/admin/merchants/festival/events/{event_id}", json=week_later, headers=staff).is_success
    [offer] = wait_for(lambda: order_view(api, order)["ticket_returns"], what="the ticket offered back")
    return event_id, staff, order, offer


def test_a_ticket_being_given_back_is_refused_at_the_door_until_its_refund_ends_and_then_for_good(api, stack):
    """A holder gives back their ticket for a moved night while a friend tries to get in on it:
    from the holder's click the door refuses it ("being given back"), even while the provider is
    still answering the refund, so one ticket is never both admitted and refunded."""
    event_id, staff, order, offer = one_ticket_of_a_moved_night(api, "Early set", "2027-08-01T19:00", 2500)
    [code] = offer["tickets"]
    # Stripe makes the refund; its answer is late, and so is its webhook (sent before the answer, it
    # would void the ticket first and the door would say "refunded").
    stack.sandbox_config(answer_delays={"/v1/refunds": 8}, delay_seconds=8)
    answers: list[httpx.Response] = []

    def in_background() -> None:
        with httpx.Client(base_url=stack.api, timeout=60) as client:
            answers.append(give_back(client, order, event_id))

    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(in_background)
        wait_for(
            lambda: (
                [r["status"] for r in api.get(f"/admin/orders/{order['order_id']}", headers=staff).json()["refunds"]]
                == ["requested"]
            ),
            what="the holder's refund under way",
        )
        at_door = check_in(api, code)
        offline = door_list_row(api, event_id, code, staff)
        pending.result(timeout=60)
    assert at_door.status_code == 409 and at_door.json()["error"] == "ticket_voided", at_door.text
    assert "giving it back" in at_door.json()["message"]
    assert (offline["state"], offline["void_reason"]) == ("returning", "its holder is giving it back")
    [given] = answers
    assert given.status_code == 201 and given.json()["status"] == "succeeded", given.text
    assert order_view(api, order)["tickets"][0]["state"] == "voided"
    later = check_in(api, code)
    assert later.status_code == 409 and later.json()["error"] == "ticket_voided"
    assert "giving it back" not in later.json()["message"]  # voided now, for good
    assert door_list_row(api, event_id, code, staff)["state"] == "voided"


def test_a_ticket_whose_give_back_the_provider_refuses_admits_again(api, stack):
    """Stripe refuses the holder's refund for good: nothing was refunded, so the ticket the door
    refused meanwhile admits again."""
    event_id, staff, order, offer = one_ticket_of_a_moved_night(api, "Matinee", "2027-08-02T15:00", 1500)
    stack.sandbox_config(
        provider_faults=[{"path": "/v1/refunds", "status": 400, "count": 1, "code": "amount_too_large"}]
    )
    refused = give_back(api, order, event_id)
    assert refused.status_code in (400, 422), refused.text
    assert [r["status"] for r in api.get(f"/admin/orders/{order['order_id']}", headers=staff).json()["refunds"]] == [
        "failed"
    ]
    admitted = check_in(api, offer["tickets"][0])
    assert admitted.status_code == 200, admitted.text


def test_a_mobile_money_payment_approved_after_the_cancellations_sweep_is_refunded_too(api, stack):
    """Two buyers of a cancelled concert still have their mobile-money collections open: one
    approves before the cancellation's sweep, the other only after it. Both are refunded in full
    and owed back to their phones; the later one by the sweep's next look at the checkouts that
    could still be paid."""
    tag = uuid.uuid4().hex[:6]
    event_id, sku, staff = night_on_sale(
        api, "ouaga-live", f"Gala {tag}", "2027-06-05T20:00", "2027-06-06T01:00", "CENASA", {"XOF": 4000}
    )
    late: list[dict] = []
    for phone in ("+22670000005", "+22670000006"):
        with customer_client(api) as own:
            late.append(
                own.post(
                    "/checkouts",
                    json={
                        "items": [{"sku": sku, "quantity": 1}],
                        "currency": "XOF",
                        "customer": customer("fr") | {"phone": phone},
                    },
                ).json()
            )
    sooner, later = late
    reason = "La salle est en travaux."
    assert api.patch(
        f"/admin/merchants/ouaga-live/events/{event_id}", json={"cancelled": reason}, headers=staff
    ).is_success

    def voided(order) -> bool:
        found = order_view(api, order).get("tickets")  # none before it is paid
        return bool(found) and {t["state"] for t in found} == {"voided"}

    wait_for(
        lambda: (
            not next(e for e in api.get("/admin/products", headers=staff).json()["events"] if e["id"] == event_id)[
                "telling_holders"
            ]
        ),
        what="every holder told",
    )
    httpx.post(f"{sooner['next_action']['url']}/pay", timeout=10)  # only a later look can refund it
    wait_for(lambda: voided(sooner), timeout=60, what="the sweep refunding the sooner payment")
    httpx.post(f"{later['next_action']['url']}/pay", timeout=10)  # after the sweep looked
    wait_for(lambda: order_status(api, later) == "paid", what="the later payment")
    wait_for(lambda: voided(later), timeout=60, what="the next look refunding the later payment")
    owed = {
        r["order"]["order_number"]: r
        for r in api.get("/admin/refunds/owed", headers=staff).json()["refunds"]
        if r["order"]["order_number"] in (sooner["order_number"], later["order_number"])
    }
    assert owed[later["order_number"]]["amount"] == {"amount": 4000, "currency": "XOF"}
    assert (
        owed[later["order_number"]]["pay_to"]["phone"].endswith("70000006")
        and reason in owed[later["order_number"]]["reason"]
    )
    assert set(owed) == {sooner["order_number"], later["order_number"]}
    [told] = wait_for(lambda: emails_for(stack, later["order_id"], "event_cancelled"), what="the later buyer's email")
    assert reason in plain(told["text"])
    assert emails_for(stack, later["order_id"], "order_confirmed") == []


def test_the_door_says_why_it_refuses_in_french(api, browser, stack):
    """Ouaga Live's door staff read the console in French: a ticket used already (at what time, in
    the concert's zone, and by whom), one refunded (and why), a code that is nobody's, all in
    French, not the API's English."""
    tag = uuid.uuid4().hex[:6]
    event_id, sku, staff = night_on_sale(
        api, "ouaga-live", f"Soirée {tag}", "2027-09-04T20:00", "2027-09-05T01:00", "Maison du Peuple", {"XOF": 3000}
    )
    order = buy(api, [(sku, 2)], currency="XOF", locale="fr", phone="+22670000007")
    used, refunded = (t["code"] for t in order_view(api, order)["tickets"])
    door = {"merchant": "ouaga-live", "email": "porte@ouagalive.example"}
    assert check_in(api, used, **door).status_code == 200
    given = api.post(
        f"/admin/orders/{order['order_id']}/refunds",
        json={"tickets": [refunded], "reason": "un ami ne vient pas"},
        headers={**staff, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert given.status_code == 201, given.text
    scanned_at = check_in(api, used, **door).json()["ticket"]["checked_in_at"]
    local = datetime.fromisoformat(scanned_at).astimezone(ZoneInfo("Africa/Ouagadougou")).strftime("%H:%M")

    page = open_page(browser, PHONE, locale="fr-FR")
    try:
        page.add_init_script("delete window.BarcodeDetector")
        page.goto(f"{stack.api}/console")
        page.get_by_label("Jeton du personnel").fill(issue_token(merchant_id="ouaga-live", email=door["email"]))
        page.get_by_role("button", name="Se connecter").click()
        page.get_by_role("link", name="Entrée").click()
        verdict = page.locator(".verdict")
        for code, said in (
            (used, f"Déjà utilisé à {local} par porte@ouagalive.example."),
            (refunded, "Remboursé (un ami ne vient pas) : ce billet ne donne plus accès."),
            ("ZZZZ-ZZZZ-ZZZZ-ZZZZ", "Aucun billet n’a ce code : vérifiez la saisie."),
        ):
            page.get_by_label("Code du billet").fill(code)
            page.get_by_role("button", name="Valider").click()
            expect(verdict.get_by_role("heading", name="Refusé")).to_be_visible()
            expect(verdict).to_contain_text(said)
            if code == used:
                screenshot(page, "door-check-in-refused-phone-fr")
        assert axe_violations(page) == [] and horizontal_overflow(page) == 0
        assert page.errors == []
    finally:
        page.context.close()
