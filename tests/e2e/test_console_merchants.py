"""The console for merchants that sign up themselves, in chromium: a person signed in with no
business names theirs, signs in again as its staff, sets up payments on the sandbox's Connect pages
and opens the Express dashboard; the platform's staff see every merchant and suspend one. On a
laptop and a phone, in English and French, checked with axe-core."""

from __future__ import annotations

import uuid

import pytest
from browser_support import DESKTOP, PHONE, axe_violations, horizontal_overflow, open_page, screenshot
from playwright.sync_api import Page, expect
from signup_support import PASSWORD, emailed_code, new_email, new_merchant, refreshed, signed_up

from caisse_local.authorizer import issue_token

WAIT_MS = 30_000


def paste_token(page: Page, stack, token: str, label: str = "Staff token", button: str = "Sign in") -> None:
    page.goto(f"{stack.api}/console")
    page.get_by_label(label).fill(token)
    page.get_by_role("button", name=button, exact=True).click()


@pytest.fixture
def desk(browser):
    opened = open_page(browser, DESKTOP)
    yield opened
    opened.context.close()


def test_a_person_names_their_business_then_sets_up_payments_and_opens_the_dashboard(stack, desk):
    tokens = signed_up(stack, new_email())
    paste_token(desk, stack, tokens["IdToken"])
    expect(desk.get_by_role("heading", name="Name your business")).to_be_visible(timeout=WAIT_MS)
    assert axe_violations(desk) == []
    screenshot(desk, "console-signup-desktop")

    form = desk.get_by_role("form", name="Name your business")
    form.get_by_label("Business name").fill("Bright Sparks Electrical")
    assert form.get_by_label("Address on the platform").input_value() == "bright-sparks-electrical"
    form.get_by_label("Address on the platform").fill("fixit-plumbing")  # a demo shop's
    form.get_by_label("Time zone").fill("Australia/Brisbane")
    form.get_by_role("button", name="Create my business").click()
    expect(form.get_by_role("alert")).to_contain_text("We suggest fixit-plumbing-2", timeout=WAIT_MS)
    slug = f"sparks-{uuid.uuid4().hex[:6]}"
    form.get_by_label("Address on the platform").fill(slug)
    form.get_by_role("button", name="Create my business").click()
    expect(desk.get_by_role("heading", name="Bright Sparks Electrical is ready")).to_be_visible(timeout=WAIT_MS)

    desk.get_by_role("button", name="Sign in again").click()
    desk.get_by_label("Staff token").fill(refreshed(stack, tokens))
    desk.get_by_role("button", name="Sign in", exact=True).click()
    expect(desk.get_by_text("Bright Sparks Electrical").first).to_be_visible(timeout=WAIT_MS)
    desk.get_by_role("link", name="Getting paid", exact=True).click()
    expect(desk.get_by_role("heading", name="Getting paid")).to_be_visible(timeout=WAIT_MS)
    expect(desk.get_by_role("status").first).to_contain_text("You are not taking payments yet")
    assert axe_violations(desk) == []
    screenshot(desk, "console-payments-desktop")

    desk.get_by_role("button", name="Set up payments").click()
    expect(desk.get_by_role("heading", name="Set up payments for Bright Sparks Electrical")).to_be_visible(
        timeout=WAIT_MS
    )
    desk.get_by_role("button", name="Complete onboarding").click()
    desk.wait_for_url(f"**/merchants/{slug}/onboarding?result=done", timeout=WAIT_MS)
    stack.flush_deliveries()  # account.updated reached Caisse

    desk.goto(f"{stack.api}/console#/merchants")
    expect(desk.get_by_role("status").first).to_contain_text("Stripe accepts payments for you", timeout=WAIT_MS)
    expect(desk.locator("#payouts")).to_have_text("yes")
    desk.get_by_role("button", name="Open Stripe dashboard").click()
    expect(desk.get_by_role("heading", name="Express dashboard")).to_be_visible(timeout=WAIT_MS)
    expect(desk.get_by_text("Payouts: enabled")).to_be_visible()
    assert desk.errors == []


def test_locally_a_person_creates_an_account_with_the_emailed_code_then_names_their_business(stack, desk):
    email = new_email()
    desk.goto(f"{stack.api}/console")
    create = desk.get_by_role("form", name="Create an account")
    expect(create).to_be_visible(timeout=WAIT_MS)
    assert axe_violations(desk) == []
    screenshot(desk, "console-account-desktop")
    create.get_by_label("Email").fill(email)
    create.get_by_label("Password").fill(PASSWORD)
    create.get_by_role("button", name="Create an account").click()
    confirm = desk.get_by_role("form", name="Confirm and sign in")
    expect(confirm).to_contain_text(f"We sent a code to {email}", timeout=WAIT_MS)
    code = emailed_code(stack, email)
    confirm.get_by_label("Code from the email").fill(f"{(int(code) + 1) % 1_000_000:06d}")
    confirm.get_by_role("button", name="Confirm and sign in").click()
    expect(confirm.get_by_role("alert")).to_contain_text("Invalid verification code", timeout=WAIT_MS)
    confirm.get_by_label("Code from the email").fill(code)
    confirm.get_by_role("button", name="Confirm and sign in").click()
    expect(desk.get_by_role("heading", name="Name your business")).to_be_visible(timeout=WAIT_MS)

    form = desk.get_by_role("form", name="Name your business")
    form.get_by_label("Business name").fill("Lumen Two Studio")
    form.get_by_label("Address on the platform").fill(f"lumen-two-{uuid.uuid4().hex[:6]}")
    form.get_by_label("Kind of business").select_option("photography")
    form.get_by_role("button", name="Create my business").click()
    desk.get_by_role("button", name="Sign in again").click()  # the refresh token's new ID token
    expect(desk.locator(".shop-name")).to_have_text("Lumen Two Studio", timeout=WAIT_MS)
    expect(desk.get_by_role("link", name="Getting paid", exact=True)).to_be_visible()
    assert axe_violations(desk) == [] and desk.errors == []


def test_platform_staff_suspend_and_lift_a_merchant_on_a_phone_in_french(stack, api, browser):
    slug, _ = new_merchant(stack, api, name="Atelier Lumière")
    phone = open_page(browser, PHONE, locale="fr-FR")
    try:
        paste_token(phone, stack, issue_token(), label="Jeton du personnel", button="Se connecter")
        expect(phone.get_by_role("button", name="Se déconnecter")).to_be_visible(timeout=WAIT_MS)
        phone.get_by_role("link", name="Commerçants", exact=True).click()
        expect(phone.get_by_role("heading", name="Commerçants de la plateforme")).to_be_visible(timeout=WAIT_MS)
        row = phone.locator("table.data tbody tr", has_text=slug)
        expect(row).to_contain_text("Aucune formule active")
        assert horizontal_overflow(phone) == 0 and axe_violations(phone) == []
        screenshot(phone, "console-merchants-phone-fr")

        suspend = row.get_by_role("form", name="Suspendre Atelier Lumière")
        suspend.get_by_label("Motif").fill("Pièces d’identité à vérifier")
        suspend.get_by_role("button", name="Suspendre").click()
        expect(row).to_contain_text("Suspendu : Pièces d’identité à vérifier", timeout=WAIT_MS)
        row.get_by_role("button", name="Lever la suspension").click()
        expect(row.get_by_role("button", name="Suspendre")).to_be_visible(timeout=WAIT_MS)

        # Page after page (two merchants a page here; 50 by default): each merchant once, in order.
        phone.goto(f"{stack.api}/console#/merchants?limit=2")
        seen: list[str] = []
        for _ in range(100):
            rows = phone.locator("table.data tbody tr code")
            expect(rows.first).to_be_visible(timeout=WAIT_MS)
            seen += rows.all_inner_texts()
            following = phone.get_by_role("link", name="Page suivante")
            if following.count() == 0:
                break
            following.click()
            expect(phone.get_by_role("link", name="Première page")).to_be_visible(timeout=WAIT_MS)
            expect(phone.locator("table.data tbody tr code").first).not_to_have_text(seen[-2], timeout=WAIT_MS)
        assert slug in seen and seen == sorted(set(seen)) and len(seen) > 2
        assert phone.errors == []
    finally:
        phone.context.close()


def test_on_a_phone_in_french_the_signup_and_payments_pages_fit_and_pass_axe(stack, api, browser):
    tokens = signed_up(stack, new_email())
    phone = open_page(browser, PHONE, locale="fr-FR")
    try:
        paste_token(phone, stack, tokens["IdToken"], label="Jeton du personnel", button="Se connecter")
        expect(phone.get_by_role("heading", name="Nommez votre activité")).to_be_visible(timeout=WAIT_MS)
        assert horizontal_overflow(phone) == 0 and axe_violations(phone) == []
        screenshot(phone, "console-signup-phone-fr")
        form = phone.get_by_role("form", name="Nommez votre activité")
        form.get_by_label("Nom de l’activité").fill("Atelier Photo Lumière")
        form.get_by_label("Adresse sur la plateforme").fill(f"atelier-{uuid.uuid4().hex[:6]}")
        form.get_by_label("Type d’activité").select_option("photography")
        form.get_by_role("button", name="Créer mon activité").click()
        expect(phone.get_by_role("heading", name="Atelier Photo Lumière est prête")).to_be_visible(timeout=WAIT_MS)
        phone.get_by_role("button", name="Se reconnecter").click()
        phone.get_by_label("Jeton du personnel").fill(refreshed(stack, tokens))
        phone.get_by_role("button", name="Se connecter", exact=True).click()
        phone.get_by_role("link", name="Être payé", exact=True).click()
        expect(phone.get_by_role("button", name="Configurer les paiements")).to_be_visible(timeout=WAIT_MS)
        assert horizontal_overflow(phone) == 0 and axe_violations(phone) == []
        screenshot(phone, "console-payments-phone-fr")
        assert phone.errors == []
    finally:
        phone.context.close()
