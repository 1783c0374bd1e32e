"""Every email, in both languages, with and without its optional parts."""

from __future__ import annotations

import itertools
import re

import pytest

from caisse.money import Money, display
from caisse.notifications.kinds import Kind
from caisse.notifications.render import render

FULL = {
    "order_id": "5b8f0c1e-0000-4000-8000-000000000001",
    "order_number": "SC-2026-0042",
    "merchant": {"id": "songstudio", "name": "Custom Song Studio", "reply_to": "hello@songstudio.example"},
    "customer_name": "Awa Ndiaye",
    "items": [
        {"name": "Custom song", "quantity": 1, "amount": {"amount": 9900, "currency": "USD"}},
        {"name": "Lyric video", "quantity": 2, "amount": {"amount": 5000, "currency": "USD"}},
    ],
    "total": {"amount": 14900, "currency": "USD"},
    "status": "writing",
    "reason": "We loved your story",
    "stages": ["discovery", "writing", "production", "review", "delivered"],
    "stage_number": 2,
    "links": {
        "order": "https://caisse.example/order/1#token=t",
        "retry": "https://pay.example/cs_1",
        "download": "https://api.example/orders/1/download?expires=1&signature=s",
        "download_expires": "2026-12-01T10:00:00Z",
        "gallery": "https://shop.example/galleries/g1",
    },
    "refund": {"amount": {"amount": 4950, "currency": "USD"}, "reason": "half during production", "manual": False},
    "booking": {
        "service": "Hot water service",
        "start": "2026-12-03 09:00",
        "timezone": "Australia/Sydney",
        "balance": {"amount": 25000, "currency": "AUD"},
        "balance_expected": {"amount": 12000, "currency": "AUD"},
        "address": "12 Rue Example",
        "notes": "Dog in the yard",
        "phone": "+61412345678",
        "link": "https://pay.example/cs_balance",
    },
    "gallery": {"name": "Dupont wedding", "count": 48},
    "dispute": {"reason": "fraudulent", "due_by": "2026-12-10", "outcome": "lost"},
    "email_problem": {"kind": "order_confirmed", "reason": "the email service refused it (MessageRejected)"},
    "provider": "campay",
    "event_type": "collect.successful",
    "provider_ref": "8d7c0f3e-campay-ref",
    "amount": {"amount": 60000, "currency": "XAF"},
    "event_change": {
        "before": {
            "name": "Nuit du Jazz",
            "when": "2027-02-14 20:00 to 2027-02-14 23:30",
            "venue": "Maison du Peuple",
            "address": None,
            "timezone": "Africa/Ouagadougou",
        },
        "after": {
            "name": "Nuit du Jazz",
            "when": "2027-02-21 21:00 to 2027-02-22 00:30",
            "venue": "Institut Français",
            "address": "Avenue de la Nation",
            "timezone": "Africa/Ouagadougou",
            "cancelled": "A storm warning closed the Institut for the night",
        },
    },
}
MINIMAL = {
    "order_id": "5b8f0c1e-0000-4000-8000-000000000002",
    "order_number": "SF-2026-0007",
    "merchant": {"id": "festival", "name": "Sunset Festival", "reply_to": None},
    "customer_name": "Jo",
    "items": [{"name": "Day pass", "quantity": 1, "amount": {"amount": 4500, "currency": "USD"}}],
    "total": {"amount": 4500, "currency": "USD"},
    "status": "tickets_issued",
    "stages": ["tickets_issued"],
    "stage_number": 1,
    "booking": {"service": "Call-out", "start": "2026-12-03 09:00", "balance": {"amount": 1000, "currency": "AUD"}},
    "gallery": {"name": "Portraits", "count": 1},
    "event_change": {
        "before": {
            "name": "Sunset Day",
            "when": "2027-07-09 16:00",
            "venue": "Beach",
            "address": None,
            "timezone": "UTC",
        },
        "after": {
            "name": "Sunset Day",
            "when": "2027-07-10 16:00",
            "venue": "Beach",
            "address": None,
            "timezone": "UTC",
            "cancelled": "The beach is closed",
        },
    },
}

CASES = list(itertools.product(list(Kind), ("en", "fr"), (FULL, MINIMAL)))


@pytest.mark.parametrize(("kind", "locale", "context"), CASES, ids=lambda v: v if isinstance(v, str) else None)
def test_every_template_renders_a_subject_a_text_and_an_html_part(kind, locale, context):
    email = render(kind, locale, context)
    assert email.subject and "\n" not in email.subject
    assert context["merchant"]["name"] in email.html
    assert email.text.strip() and "<" not in re.sub(r"<[a-z0-9@.]+>", "", email.text)  # plain text, no markup
    assert email.html.startswith("<!doctype html>")
    assert f'lang="{locale}"' in email.html
    if kind not in (
        Kind.NEW_BOOKING,
        Kind.GALLERY_READY,
        Kind.GALLERY_PROCESSED,
        Kind.BALANCE_DUE,
        Kind.PAYMENT_WITHOUT_ORDER,
        Kind.MERCHANT_SUSPENDED,  # about the merchant, not an order
        Kind.MERCHANT_REINSTATED,
        Kind.PLAN_PAYMENT_FAILED,
        Kind.PLAN_LAPSED,
        Kind.PLAN_ACTIVE,
        Kind.PLAN_CHANGED,
        Kind.PLAN_ENDING,
    ):
        assert context["order_number"] in email.subject + email.text


@pytest.mark.parametrize("kind", list(Kind))
def test_optional_parts_show_only_when_present(kind):
    full, minimal = render(kind, "en", FULL), render(kind, "en", MINIMAL)
    if kind is Kind.DELIVERY:
        assert FULL["links"]["download"] in full.text and "Download" in full.html
        assert "Download" not in minimal.text and "download" not in minimal.html
    if kind is Kind.PAYMENT_FAILED:
        assert "Try again: https://pay.example/cs_1" in full.text
        assert "Try again" not in minimal.text
    if kind is Kind.EVENT_CHANGED:
        told = plain(full.text)
        assert "When: 2027-02-21 21:00 to 2027-02-22 00:30 (Africa/Ouagadougou), was 2027-02-14 20:00" in told
        assert "Where: Institut Français, Avenue de la Nation, was Maison du Peuple" in told
        assert (
            "If you cannot, give them back on your order page before it starts, or reply to this email: "
            "Custom Song Studio refunds them in full, whatever its refund policy"
        ) in told
        assert "If you cannot, reply to this email" in plain(minimal.text)  # no order page to point to
        assert "When: 2027-07-10 16:00" in minimal.text and "Where" not in minimal.text  # the place did not change
        french = plain(render(kind, "fr", FULL).text)
        assert "Quand : 2027-02-21 21:00 to 2027-02-22 00:30 (Africa/Ouagadougou), au lieu du 2027-02-14" in french
        assert "Sinon, rendez-le depuis votre commande avant le début, ou répondez à cet e-mail" in french
    if kind is Kind.TICKETS_GIVEN_BACK:
        owed = {"amount": {"amount": 15000, "currency": "XOF"}, "reason": "Nuit du Jazz", "manual": True}
        told = render(kind, "fr", {**FULL, "refund": {**owed, "phone_ending": "04"}})
        assert told.subject == f"Billets rendus : commande {FULL['order_number']}, 15 000 XOF à rembourser"
        assert "a rendu ses billets pour Nuit du Jazz" in told.text
        assert "Renvoyez l'argent sur son numéro se terminant par 04" in told.text
        card = plain(render(kind, "en", {**FULL, "refund": {**owed, "manual": False}}).text)
        assert "is refunded to their card: nothing to do" in card and "owed" not in card
    if kind is Kind.EVENT_CANCELLED:
        told = plain(full.text)
        assert "has cancelled Nuit du Jazz, planned for 2027-02-21 21:00" in told and "A storm warning" in told
        assert "refunded in full, whatever the shop's refund policy" in told
        french = plain(render(kind, "fr", FULL).text)
        assert "a annulé Nuit du Jazz, prévu du 2027-02-21 21:00 to" in french and "à Institut Français" in french
    if kind in (Kind.STAGE_CHANGED, Kind.DELIVERY):
        assert "We loved your story" in full.text
        assert "Note from" not in minimal.text
    if kind in (Kind.PLAN_PAYMENT_FAILED, Kind.PLAN_LAPSED, Kind.PLAN_ACTIVE, Kind.PLAN_CHANGED, Kind.PLAN_ENDING):
        plan = {"name": "Starter", "invoice": {"amount": 2900, "currency": "AUD"}, "next_attempt_on": "2026-12-04"}
        told = plain(render(kind, "en", {**FULL, "plan": plan}).text)
        assert "Starter plan" in told and "Starter" not in minimal.text
        if kind is Kind.PLAN_ENDING:
            ending = plain(render(kind, "fr", {**FULL, "plan": {**plan, "ends_on": "2027-01-02"}}).text)
            assert "prend fin avec la période payée, le 2027-01-02" in ending and "Choisissez de nouveau" in ending
            assert "ends with the period you paid for" in told and "on 20" not in told
        if kind is Kind.PLAN_CHANGED:
            moved = {**plan, "name": "Pro", "previous": "Starter", "fee_bps": 150}
            english = plain(render(kind, "en", {**FULL, "plan": moved}).text)
            french = plain(render(kind, "fr", {**FULL, "plan": moved}).text)
            assert "moved from the Starter plan to the Pro plan" in english and "takes 1.5 % of each payment" in english
            assert "de la formule Starter à la formule Pro" in french and "prend 1,5 % de chaque paiement" in french
        if kind is Kind.PLAN_PAYMENT_FAILED:
            assert "AUD 29.00" in told and "next try on 2026-12-04" in told and "keep taking orders" in told
            assert "Stripe's page" not in told  # no invoice page known: no link
            page = "https://invoice.stripe.com/i/acct_1/test_in_1"
            linked = render(kind, "fr", {**FULL, "plan": {**plan, "invoice": {**plan["invoice"], "page": page}}})
            assert f"votre banque peut vous demander de confirmer le paiement : {page}" in plain(linked.text)
            assert f'href="{page}"' in linked.html
        if kind is Kind.PLAN_LAPSED:
            assert "no new orders" in told and "already taken continue" in told
        return
    if kind is Kind.PAYMENT_WITHOUT_ORDER:  # to the shop's operators, about no order: no merchant footer
        assert "XAF" in full.text and "60" in full.text and "8d7c0f3e-campay-ref" in full.text
        assert "reference unknown" in minimal.text
        return
    if kind is Kind.NEW_BOOKING:  # the job's details, decrypted for the tradie's email only
        assert "12 Rue Example" in full.text and "Dog in the yard" in full.text and "+61412345678" in full.text
        assert 'href="tel:+61412345678"' in full.html and "phone" not in minimal.text
    if kind is Kind.ORDER_CONFIRMED:  # a booking's confirmation: when, and the balance to expect
        assert "Your appointment: Hot water service on 2026-12-03 09:00 (Australia/Sydney)" in full.text
        assert "balance of AUD" in plain(full.text) and "120.00" in full.text
        assert "balance of" not in minimal.text
    if kind is Kind.EMAIL_UNDELIVERABLE:
        assert "order confirmed email was not delivered: the email service refused it (MessageRejected)" in full.text
    if kind is Kind.DISPUTE_CLOSED:
        assert "went back to the card holder" in full.text and "fraudulent" in full.text
        assert "in your favour" in render(kind, "en", {**FULL, "dispute": {"outcome": "won"}}).text
    assert ("hello@songstudio.example" in full.text) and ("write to" not in minimal.text)


def test_customer_supplied_text_is_escaped_in_html_and_plain_in_text():
    hostile = {**FULL, "customer_name": '<script>alert("x")</script>', "reason": "<b>bold</b> & co"}
    email = render(Kind.STAGE_CHANGED, "en", hostile)
    assert "<script>" not in email.html and "&lt;script&gt;" in email.html
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in email.html
    assert '<script>alert("x")</script>' in email.text


def test_a_name_cannot_break_the_subject_line():
    email = render(Kind.ORDER_CONFIRMED, "en", {**FULL, "merchant": {**FULL["merchant"], "name": "A\r\nBcc: x@y"}})
    assert "\n" not in email.subject and "\r" not in email.subject


def plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\u00a0", " ")


@pytest.mark.parametrize(
    ("money", "en", "fr"),
    [
        (Money(9900, "USD"), "USD 99.00", "99,00 USD"),
        (Money(60000, "XAF"), "XAF 60 000", "60 000 XAF"),
        (Money(1500000, "XOF"), "XOF 1 500 000", "1 500 000 XOF"),
        (Money(123456, "EUR"), "EUR 1 234.56", "1 234,56 EUR"),
        (Money(5, "USD"), "USD 0.05", "0,05 USD"),
    ],
)
def test_amounts_are_formatted_per_currency_and_language(money, en, fr):
    assert plain(display(money, "en")) == en
    assert plain(display(money, "fr")) == fr


def test_french_customers_read_french():
    email = render(Kind.ORDER_CONFIRMED, "fr", {**FULL, "total": {"amount": 60000, "currency": "XAF"}})
    assert email.subject.startswith("Commande SC-2026-0042 confirmée")
    assert "Merci, Awa Ndiaye" in email.text
    assert "60\u202f000\u00a0XAF" in email.text
    assert "Suivre votre commande" in email.html


def test_stage_names_are_translated():
    email = render(Kind.STAGE_CHANGED, "fr", FULL)
    assert "écriture" in email.subject
    assert "étape 2 sur 5" in email.text


def test_an_unknown_language_falls_back_to_english():
    assert render(Kind.ORDER_CONFIRMED, "de", FULL).subject.startswith("Order SC-2026-0042 confirmed")


GALLERY = {
    "merchant": {"id": "lumen", "name": "Lumen Photography", "reply_to": "hello@lumen.example"},
    "customer_name": "Awa Ndiaye",
    "links": {"gallery": "https://shop.example/galleries/g1?signature=abc"},
}


def gallery_email(kind: Kind, locale: str, count: int, **more) -> str:
    context = {**GALLERY, "gallery": {"id": "g1", "name": "Dupont wedding", "count": count, **more}}
    email = render(kind, locale, context)
    return plain(email.text) + plain(re.sub(r"<[^>]+>", "", email.html))


@pytest.mark.parametrize(
    ("locale", "count", "wording"),
    [
        ("en", 1, "1 photo is ready"),
        ("en", 12, "12 photos are ready"),
        ("fr", 1, "1 photo est prête"),
        ("fr", 12, "12 photos sont prêtes"),
    ],
)
def test_the_gallery_email_counts_photos_in_the_clients_language(locale, count, wording):
    both = gallery_email(Kind.GALLERY_READY, locale, count)
    assert both.count(wording) == 2  # in the text and the HTML part
    wrong = {"en": ["1 photos", "photo are", "photos is"], "fr": ["1 photos", "photo sont", "photos est"]}[locale]
    assert not any(bad in both for bad in wrong)


def test_the_clients_email_has_the_link_the_access_code_and_the_expiry():
    text = gallery_email(Kind.GALLERY_READY, "fr", 3, access_code="K7QM-3XTP", expires_on="2027-01-31")
    assert "https://shop.example/galleries/g1?signature=abc" in text
    assert "Code d'accès : K7QM-3XTP" in text
    assert "jusqu'au 2027-01-31" in text
    without = gallery_email(Kind.GALLERY_READY, "en", 3)
    assert "Access code" not in without and "open until" not in without


@pytest.mark.parametrize(
    ("locale", "failed", "wording"),
    [
        ("en", 1, "1 photo could not be used"),
        ("en", 2, "2 photos could not be used"),
        ("fr", 1, "1 photo n'a pas pu être utilisée"),
        ("fr", 2, "2 photos n'ont pas pu être utilisées"),
    ],
)
def test_the_photographer_hears_what_failed_in_their_language(locale, failed, wording):
    assert wording in gallery_email(Kind.GALLERY_PROCESSED, locale, 12, failed=failed)
    assert "could not" not in gallery_email(Kind.GALLERY_PROCESSED, "en", 12, failed=0)
