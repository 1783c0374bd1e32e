"""HTML for the fake hosted pages: Stripe's Checkout, customer portal, hosted invoice and Connect onboarding
pages, PayPal's approval page, PayDunya's invoice page and the customer's phone (CamPay's USSD prompts). Plain
forms, no JavaScript, so tests and curl can drive them; each action also answers JSON when asked with
``Accept: application/json``."""

from __future__ import annotations

import json
from html import escape
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from werkzeug.wrappers import Request, Response

# docs.stripe.com/currencies#zero-decimal: amounts are already in major units.
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
# docs.stripe.com/currencies#three-decimal
THREE_DECIMAL_CURRENCIES = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 34rem; margin: 2rem auto; padding: 0 1rem; color: #1a1f36; }
.badge { background: #ffde92; padding: .1rem .4rem; border-radius: .3rem; font-size: .8rem; }
table { width: 100%; border-collapse: collapse; margin: 1rem 0; }
td { padding: .3rem 0; border-bottom: 1px solid #e3e8ee; }
.total { font-size: 1.4rem; font-weight: bold; }
.notice { background: #fde2e1; padding: .6rem; border-radius: .3rem; }
form { display: inline-block; margin-right: .5rem; }
button { font-size: 1rem; padding: .5rem 1.5rem; }
form.block { display: block; margin-right: 0; }
fieldset { border: 1px solid #e3e8ee; border-radius: .3rem; margin: 1rem 0; padding: .5rem 1rem; }
legend { font-weight: bold; padding: 0 .3rem; }
.choice { display: flex; align-items: center; gap: .6rem; padding: .4rem 0; }
.choice input { width: 1.25rem; height: 1.25rem; margin: 0; flex: none; }
.choice label { flex: 1; }
.number { font-family: ui-monospace, monospace; white-space: nowrap; }
h1, p { overflow-wrap: anywhere; }
"""


def decimals(currency: str) -> int:
    """Number of minor-unit digits Stripe uses for ``currency``."""
    currency = currency.lower()
    if currency in ZERO_DECIMAL_CURRENCIES:
        return 0
    if currency in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def format_amount(amount: int, currency: str) -> str:
    """Minor units to what a customer reads: ``format_amount(9900, "usd") == "USD 99.00"``."""
    digits = decimals(currency)
    sign = "-" if amount < 0 else ""
    if digits == 0:
        return f"{currency.upper()} {sign}{abs(amount)}"
    major, minor = divmod(abs(amount), 10**digits)
    return f"{currency.upper()} {sign}{major}.{minor:0{digits}d}"


def _document(
    title: str, body: str, lang: str | None = None, label: str = "Local Stripe sandbox", badge: str = "TEST MODE"
) -> str:
    # The page's language (Stripe shows Checkout in the session's locale; English otherwise), and a
    # viewport so a phone shows it at its own width, as the providers' real pages do.
    lang = lang if lang and lang != "auto" else "en"
    return (
        f'<!doctype html>\n<html lang="{escape(lang)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n<main>\n"
        f'<p><span class="badge">{escape(badge)}</span> {escape(label)}</p>\n{body}\n</main>\n</body>\n</html>\n'
    )


def _buttons(session: dict) -> str:
    session_id = escape(session["id"])
    email_field = ""
    if not session.get("customer_email"):
        email_field = '<p><label>Email <input type="email" name="email" value="customer@example.com"></label></p>'
    return (
        f'<form method="post" action="/pay/{session_id}/pay">{email_field}'
        '<button type="submit" name="action" value="pay">Pay</button></form>\n'
        f'<form method="post" action="/pay/{session_id}/decline">'
        '<button type="submit" name="action" value="decline">Decline</button></form>'
    )


def checkout_page(session: dict, line_items: list[dict], notice: str | None = None) -> str:
    """The hosted Checkout page: items, total and Pay/Decline while open; the final state otherwise."""
    rows = "\n".join(
        f"<tr><td>{escape(item['description'])}</td><td>&times; {item['quantity']}</td>"
        f'<td style="text-align:right">{escape(format_amount(item["amount_total"], item["currency"]))}</td></tr>'
        for item in line_items
    )
    total = escape(format_amount(session["amount_total"], session["currency"]))
    parts = [
        f"<h1>Checkout</h1>\n<table>\n{rows}\n</table>",
        f'<p class="total">Total: <span id="total">{total}</span></p>',
    ]
    if session.get("mode") == "subscription":
        parts.append('<p id="recurring">A subscription: charged now, then every month until cancelled.</p>')
    if session.get("customer_email"):
        parts.append(f"<p>Email: {escape(session['customer_email'])}</p>")
    if notice:
        parts.append(f'<p class="notice" role="alert">{escape(notice)}</p>')
    status = session["status"]
    if status == "open":
        parts.append(_buttons(session))
        if session.get("cancel_url"):
            parts.append(f'<p><a href="{escape(session["cancel_url"])}">Cancel and go back</a></p>')
    elif status == "complete":
        parts.append('<p id="state">This checkout session is complete: the payment was received.</p>')
    else:
        parts.append('<p id="state">This checkout session has expired.</p>')
    return _document(f"Checkout {total}", "\n".join(parts), session.get("locale"))


# ---------------------------------------------------------------------------------------------------
# Stripe's customer portal: updating the card a subscription is paid with

# The portal's words, in the languages its page speaks (others are shown in English); French with
# its non-breaking space before a colon.
PORTAL_TEXT = {
    "en": {
        "badge": "TEST MODE",
        "label": "Local Stripe sandbox: customer portal",
        "title": "Update your payment method",
        "customer": "Customer: {name}",
        "current": "Current card: {brand} ending in {last4}",
        "no_current": "No default payment method yet.",
        "legend": "Choose a test card",
        "hint": "Test mode: no real card is needed. Each card behaves as Stripe's test card of that number.",
        "choice": "{brand} {number}: {outcome}",
        "succeeds": "pays",
        "card_declined": "saved, then its charges are declined",
        "authentication_required": "saved, then its charges need authentication",
        "save": "Save",
        "invalid_card": "Choose one of the test cards below.",
        "return_to": "Return to {name}",
        "return": "Return",
        "updated": "Your payment method was updated",
        "updated_text": "{brand} ending in {last4} is now the default payment method for your invoices.",
        "expired": "This link has expired",
        "expired_text": "For your security, customer portal links only work for a short time. "
        "Go back and open the portal again.",
    },
    "fr": {
        "badge": "MODE TEST",
        "label": "Bac à sable Stripe local\u00a0: portail client",
        "title": "Mettre à jour votre moyen de paiement",
        "customer": "Client\u00a0: {name}",
        "current": "Carte actuelle\u00a0: {brand} se terminant par {last4}",
        "no_current": "Aucun moyen de paiement par défaut pour l’instant.",
        "legend": "Choisissez une carte de test",
        "hint": "Mode test\u00a0: aucune vraie carte n’est nécessaire. Chaque carte se comporte comme "
        "la carte de test Stripe de ce numéro.",
        "choice": "{brand} {number}\u00a0: {outcome}",
        "succeeds": "paiement accepté",
        "card_declined": "enregistrée, puis ses paiements sont refusés",
        "authentication_required": "enregistrée, puis ses paiements demandent une authentification",
        "save": "Enregistrer",
        "invalid_card": "Choisissez l’une des cartes de test ci-dessous.",
        "return_to": "Retour à {name}",
        "return": "Retour",
        "updated": "Votre moyen de paiement a été mis à jour",
        "updated_text": "La carte {brand} se terminant par {last4} est désormais le moyen de paiement par défaut "
        "de vos factures.",
        "expired": "Ce lien a expiré",
        "expired_text": "Pour votre sécurité, les liens du portail client ne restent valables que peu de temps. "
        "Revenez en arrière et ouvrez de nouveau le portail.",
    },
}
BRAND_NAMES = {"visa": "Visa", "mastercard": "Mastercard", "amex": "American Express", "discover": "Discover"}


def page_language(locale: str | None, texts: dict[str, dict[str, str]]) -> tuple[str, dict[str, str]]:
    """A Stripe page's ``lang`` and words (``texts``, by language) for the locale it is shown in (the
    app resolves "auto"): French for fr, fr-FR, fr-CA..., English for everything else."""
    if locale and locale.split("-")[0] == "fr":
        return locale, texts["fr"]
    return "en", texts["en"]


def portal_language(locale: str | None) -> tuple[str, dict[str, str]]:
    """The portal page's ``lang`` and words (see page_language)."""
    return page_language(locale, PORTAL_TEXT)


def _brand(brand: str) -> str:
    return BRAND_NAMES.get(brand, brand.capitalize())


def _portal_return(session: dict, business: str | None, words: dict[str, str]) -> str:
    """The link back to the session's return_url, if it has one ("Return to <business name>")."""
    if not session.get("return_url"):
        return ""
    text = words["return_to"].format(name=business) if business else words["return"]
    return f'<p><a id="return" href="{escape(session["return_url"])}">{escape(text)}</a></p>'


def _portal_document(title: str, body: str, lang: str, words: dict[str, str]) -> str:
    return _document(title, body, lang, label=words["label"], badge=words["badge"])


def portal_page(
    session: dict,
    customer: dict,
    card: dict | None,
    business: str | None,
    cards: list[tuple[str, str, str]],
    locale: str | None = None,
    notice: str | None = None,
) -> str:
    """The portal's payment method page, in ``locale`` (see portal_language): who it is for, their
    current default card, and a form saving one of the test cards (radio ``card``, 4242... checked)
    as the new default."""
    lang, words = portal_language(locale)
    name = customer.get("name") or customer.get("email") or customer["id"]
    if card:
        current = words["current"].format(brand=_brand(card["brand"]), last4=card["last4"])
    else:
        current = words["no_current"]
    choices = []
    for index, (number, brand, outcome) in enumerate(cards):
        spaced = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
        text = words["choice"].format(  # the template is ours; what fills it is escaped
            brand=escape(_brand(brand)),
            number=f'<span class="number">{escape(spaced)}</span>',
            outcome=escape(words[outcome]),
        )
        checked = " checked" if index == 0 else ""
        choices.append(
            f'<div class="choice"><input type="radio" id="card-{escape(number)}" name="card" '
            f'value="{escape(number)}"{checked}>'
            f'<label for="card-{escape(number)}">{text}</label></div>'
        )
    parts = [
        f"<h1>{escape(words['title'])}</h1>",
        f'<p id="customer">{escape(words["customer"].format(name=name))}</p>',
        f'<p id="current-card">{escape(current)}</p>',
        _notice(notice),
        f'<form class="block" method="post" action="/billing_portal/{escape(session["id"])}/payment_method">\n'
        f"<fieldset>\n<legend>{escape(words['legend'])}</legend>\n" + "\n".join(choices) + "\n"
        f"<p><small>{escape(words['hint'])}</small></p>\n</fieldset>\n"
        f'<button type="submit">{escape(words["save"])}</button>\n</form>',
        _portal_return(session, business, words),
    ]
    return _portal_document(words["title"], "\n".join(p for p in parts if p), lang, words)


def portal_invalid_card_notice(locale: str | None) -> str:
    """What the page says when the form named no test card it offers."""
    return portal_language(locale)[1]["invalid_card"]


def portal_updated_page(session: dict, card: dict, business: str | None, locale: str | None = None) -> str:
    """After Save, unless the flow redirects: the new default card, the flow's hosted_confirmation
    custom_message if any, and the way back."""
    lang, words = portal_language(locale)
    after = (session.get("flow") or {}).get("after_completion") or {}
    custom = (after.get("hosted_confirmation") or {}).get("custom_message")
    text = words["updated_text"].format(brand=_brand(card["brand"]), last4=card["last4"])
    parts = [
        f"<h1>{escape(words['updated'])}</h1>",
        f'<p id="state" role="status">{escape(text)}</p>',
        f'<p id="custom-message">{escape(custom)}</p>' if custom else "",
        _portal_return(session, business, words),
    ]
    return _portal_document(words["updated"], "\n".join(p for p in parts if p), lang, words)


def portal_expired_page(session: dict, business: str | None, locale: str | None = None) -> str:
    """A session past its lifetime (answered with 410)."""
    lang, words = portal_language(locale)
    parts = [
        f"<h1>{escape(words['expired'])}</h1>",
        f'<p id="state">{escape(words["expired_text"])}</p>',
        _portal_return(session, business, words),
    ]
    return _portal_document(words["expired"], "\n".join(p for p in parts if p), lang, words)


# ---------------------------------------------------------------------------------------------------
# Stripe's hosted invoice page: paying an open invoice, with 3D Secure when the card asks for it

# The hosted invoice page's words, as the portal's (PORTAL_TEXT); draft, open, paid, uncollectible and
# void name an invoice's status.
INVOICE_TEXT = {
    "en": {
        "badge": "TEST MODE",
        "label": "Local Stripe sandbox: invoice",
        "title": "Invoice {number}",
        "from": "From {name}",
        "amount_due": "Amount due: {amount}",
        "amount_paid": "Amount paid: {amount}",
        "status": "Status: {status}",
        "draft": "draft",
        "open": "open",
        "paid": "paid",
        "uncollectible": "uncollectible",
        "void": "void",
        "card": "Card: {brand} ending in {last4}",
        "no_card": "There is no card to pay this invoice with yet.",
        "pay": "Pay {amount}",
        "is_paid": "This invoice is paid",
        "not_payable": "This invoice cannot be paid.",
        "declined": "Your card was declined.",
        "authentication_failed": "Authentication failed: the payment was not made.",
        "authenticate": "Confirm this payment with your bank",
        "authenticate_text": "Your bank asks you to confirm the payment of {amount} with {brand} ending in {last4}.",
        "authenticate_to": "Payment to {name}.",
        "authenticate_hint": "Test mode: this page stands for your bank's 3D Secure check. Complete it to pay, "
        "or fail it to see the payment refused.",
        "complete": "Complete authentication",
        "fail": "Fail authentication",
    },
    "fr": {
        "badge": "MODE TEST",
        "label": "Bac à sable Stripe local\u00a0: facture",
        "title": "Facture {number}",
        "from": "Émise par {name}",
        "amount_due": "Montant dû\u00a0: {amount}",
        "amount_paid": "Montant payé\u00a0: {amount}",
        "status": "Statut\u00a0: {status}",
        "draft": "brouillon",
        "open": "ouverte",
        "paid": "payée",
        "uncollectible": "irrécouvrable",
        "void": "annulée",
        "card": "Carte\u00a0: {brand} se terminant par {last4}",
        "no_card": "Aucune carte ne permet encore de payer cette facture.",
        "pay": "Payer {amount}",
        "is_paid": "Cette facture est payée",
        "not_payable": "Cette facture ne peut pas être payée.",
        "declined": "Votre carte a été refusée.",
        "authentication_failed": "L’authentification a échoué\u00a0: le paiement n’a pas été effectué.",
        "authenticate": "Confirmez ce paiement auprès de votre banque",
        "authenticate_text": "Votre banque vous demande de confirmer le paiement de {amount} avec la carte {brand} "
        "se terminant par {last4}.",
        "authenticate_to": "Paiement à {name}.",
        "authenticate_hint": "Mode test\u00a0: cette page tient lieu du contrôle 3D Secure de votre banque. "
        "Validez-le pour payer, ou refusez-le pour voir le paiement refusé.",
        "complete": "Valider l’authentification",
        "fail": "Refuser l’authentification",
    },
}
# The page's own words for the errors a payment may end with, by the error's code (others are shown
# as the error's message): Stripe's hosted pages show a decline in the customer's language.
INVOICE_NOTICES = {"card_declined": "declined", "payment_intent_authentication_failure": "authentication_failed"}


def invoice_notice(code: str | None, message: str, locale: str | None = None) -> str:
    """What the invoice page says of an error a payment ended with (its ``code`` and ``message``)."""
    words = page_language(locale, INVOICE_TEXT)[1]
    key = INVOICE_NOTICES.get(code or "")
    return words[key] if key else message


def _invoice_document(title: str, body: str, lang: str, words: dict[str, str]) -> str:
    return _document(title, body, lang, label=words["label"], badge=words["badge"])


def _card_name(card: dict, words: dict[str, str]) -> str:
    return words["card"].format(brand=_brand(card["brand"]), last4=card["last4"])


def invoice_page(
    invoice: dict, card: dict | None, business: str | None, locale: str | None = None, notice: str | None = None
) -> str:
    """The hosted invoice page, in ``locale`` (see page_language): who bills it, its number, amount
    and status; while it is open, the card it is paid with and a Pay button for what remains; once
    paid, "This invoice is paid"."""
    lang, words = page_language(locale, INVOICE_TEXT)
    title = words["title"].format(number=invoice.get("number") or invoice["id"])
    status = invoice["status"]
    currency = invoice["currency"]
    if status == "paid":
        amount = words["amount_paid"].format(amount=format_amount(invoice["amount_paid"], currency))
    else:
        amount = words["amount_due"].format(amount=format_amount(invoice["amount_due"], currency))
    parts = [
        f"<h1>{escape(title)}</h1>",
        f'<p id="business">{escape(words["from"].format(name=business))}</p>' if business else "",
        f'<p class="total" id="amount">{escape(amount)}</p>',
        f'<p id="status">{escape(words["status"].format(status=words.get(status, status)))}</p>',
        _notice(notice),
    ]
    if status == "paid":
        parts.append(f'<p id="state" role="status">{escape(words["is_paid"])}</p>')
    elif status != "open":
        parts.append(f'<p id="state">{escape(words["not_payable"])}</p>')
    elif card is None:
        parts.append(f'<p id="card">{escape(words["no_card"])}</p>')
    else:
        pay = words["pay"].format(amount=format_amount(invoice["amount_remaining"], currency))
        parts.append(f'<p id="card">{escape(_card_name(card, words))}</p>')
        parts.append(
            f'<form class="block" method="post" action="/invoices/{escape(invoice["id"])}/pay">'
            f'<button type="submit">{escape(pay)}</button></form>'
        )
    return _invoice_document(title, "\n".join(p for p in parts if p), lang, words)


def invoice_authentication_page(invoice: dict, card: dict, business: str | None, locale: str | None = None) -> str:
    """The bank's 3D Secure challenge the page's Pay leads to when the card asks for it, as Stripe's
    test page offers it (https://docs.stripe.com/testing#regulatory-cards): the payment to confirm and
    two forms posting ``outcome`` complete or fail to /invoices/{id}/authenticate."""
    lang, words = page_language(locale, INVOICE_TEXT)
    amount = format_amount(invoice["amount_remaining"], invoice["currency"])
    text = words["authenticate_text"].format(amount=amount, brand=_brand(card["brand"]), last4=card["last4"])
    action = f"/invoices/{escape(invoice['id'])}/authenticate"
    buttons = "\n".join(
        f'<form method="post" action="{action}"><input type="hidden" name="outcome" value="{outcome}">'
        f'<button type="submit">{escape(words[outcome])}</button></form>'
        for outcome in ("complete", "fail")
    )
    parts = [
        f"<h1>{escape(words['authenticate'])}</h1>",
        f'<p id="payment">{escape(text)}</p>',
        f'<p id="business">{escape(words["authenticate_to"].format(name=business))}</p>' if business else "",
        f"<p><small>{escape(words['authenticate_hint'])}</small></p>",
        buttons,
    ]
    return _invoice_document(words["authenticate"], "\n".join(p for p in parts if p), lang, words)


CONNECT_LABEL = "Local Stripe sandbox: Connect onboarding"


def onboarding_page(account: dict, token: str) -> str:
    """Stripe's hosted Connect onboarding, reduced to one button: it submits every requirement at once."""
    profile = account.get("business_profile") or {}
    name = profile.get("name") or account.get("email") or account["id"]
    due = account["requirements"]["currently_due"]
    due_html = (
        "<p>Stripe needs:</p>\n<ul>" + "".join(f"<li><code>{escape(item)}</code></li>" for item in due) + "</ul>"
        if due
        else "<p>Nothing is due on this account.</p>"
    )
    body = (
        f'<h1>Set up payments for <span id="business-name">{escape(name)}</span></h1>\n'
        f"<p>Account <code>{escape(account['id'])}</code> ({escape(account['type'])}, {escape(account['country'])})"
        + (f" &middot; {escape(account['email'])}" if account.get("email") else "")
        + "</p>\n"
        + due_html
        + f'\n<form method="post" action="/connect/onboarding/{escape(token)}/complete">'
        '<button type="submit" name="action" value="complete">Complete onboarding</button></form>'
    )
    return _document(f"Onboarding {name}", body, label=CONNECT_LABEL)


def express_dashboard_page(account: dict) -> str:
    """The Express dashboard a login link opens, reduced to what its owner checks: payments and payouts."""
    profile = account.get("business_profile") or {}
    name = profile.get("name") or account.get("email") or account["id"]
    state = {True: "enabled", False: "not enabled yet"}
    body = (
        f'<h1>Express dashboard</h1>\n<p id="business-name">{escape(name)}</p>\n'
        f"<p>Account <code>{escape(account['id'])}</code> ({escape(account['country'])})</p>\n"
        f'<p id="charges">Payments: {state[bool(account["charges_enabled"])]}</p>\n'
        f'<p id="payouts">Payouts: {state[bool(account["payouts_enabled"])]}</p>'
    )
    return _document(f"Express dashboard {name}", body, label="Local Stripe sandbox: Express dashboard")


def onboarding_gone_page(reason: str, refresh_url: str) -> str:
    """An expired or used Account Link: the platform's refresh_url makes a new one."""
    body = (
        f'<h1>Link no longer valid</h1>\n<p id="state">{escape(reason)}</p>\n'
        f'<p><a id="refresh" href="{escape(refresh_url)}">Get a new onboarding link</a></p>'
    )
    return _document("Onboarding link no longer valid", body, label=CONNECT_LABEL)


def message_page(title: str, text: str, link: str | None = None, label: str = "Local Stripe sandbox") -> str:
    """A short standalone page (not found, payment done without success_url, ...)."""
    link_html = f'<p><a href="{escape(link)}">Continue</a></p>' if link else ""
    return _document(title, f"<h1>{escape(title)}</h1>\n<p>{escape(text)}</p>\n{link_html}", label=label)


# ---------------------------------------------------------------------------------------------------
# Responses shared by the providers' pages and APIs (Stripe's keep their own helpers in app.py)


def json_response(body: object, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(body) + "\n", status, headers, content_type="application/json")


def html_response(body: str, status: int = 200) -> Response:
    return Response(body, status, content_type="text/html; charset=utf-8")


def redirect(location: str) -> Response:
    return Response(status=303, headers={"Location": location})


def wants_json(request: Request) -> bool:
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def with_query(url: str, **params: str) -> str:
    """``url`` with ``params`` added to its query string (kept parameters first)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def _notice(notice: str | None) -> str:
    return f'<p class="notice" role="alert">{escape(notice)}</p>' if notice else ""


def _field(label: str, name: str, value: str, kind: str = "text") -> str:
    return f'<p><label>{escape(label)} <input type="{kind}" name="{name}" value="{escape(value)}"></label></p>'


# ---------------------------------------------------------------------------------------------------
# CamPay: the customer's phone


HANDSET_LABEL = "Local sandbox: the customer's phone (CamPay mobile money prompts)"


def handset_page(prompts: list[dict], notice: str | None = None) -> str:
    """Pending mobile-money prompts, as the customer's handset shows them after the USSD push."""
    parts = ["<h1>Phone</h1>", _notice(notice)]
    if not prompts:
        parts.append('<p id="empty">No pending payment prompt.</p>')
    for prompt in prompts:
        reference = escape(prompt["reference"])
        amount = escape(f"{prompt['currency']} {prompt['amount']}")
        parts.append(
            f'<section class="prompt" id="prompt-{reference}">\n'
            f"<h2>{escape(prompt['operator_name'])} Mobile Money</h2>\n"
            f'<p>Pay <span class="total">{amount}</span> to {escape(prompt["merchant"])}?</p>\n'
            + (f"<p>{escape(prompt['description'])}</p>\n" if prompt["description"] else "")
            + f"<p>Phone: {escape(prompt['phone_number'])} &middot; USSD code: "
            f"<code>{escape(prompt['ussd_code'])}</code> &middot; ref. {reference}</p>\n"
            f'<form method="post" action="/handset/{reference}/approve">'
            '<button type="submit" name="action" value="approve">Approve</button></form>\n'
            f'<form method="post" action="/handset/{reference}/reject">'
            '<button type="submit" name="action" value="reject">Reject</button></form>\n'
            "</section>"
        )
    return _document("Phone", "\n".join(p for p in parts if p), label=HANDSET_LABEL)


# ---------------------------------------------------------------------------------------------------
# PayDunya: the invoice page


PAYDUNYA_LABEL = "Local PayDunya sandbox"


def paydunya_invoice_page(invoice: dict, notice: str | None = None) -> str:
    """PayDunya's checkout page for one invoice: items, total and Pay/Decline while pending."""
    token = escape(invoice["token"])
    rows = "\n".join(
        f"<tr><td>{escape(str(item.get('name', '')))}</td><td>&times; {escape(str(item.get('quantity', 1)))}</td>"
        f'<td style="text-align:right">XOF {escape(str(item.get("total_price", item.get("unit_price", ""))))}</td></tr>'
        for item in invoice["items"]
    )
    total = escape(f"XOF {invoice['total_amount']}")
    parts = [
        f"<h1>{escape(invoice['store_name'])}</h1>",
        f"<p>{escape(invoice['description'])}</p>" if invoice["description"] else "",
        f"<table>\n{rows}\n</table>" if rows else "",
        f'<p class="total">Total: <span id="total">{total}</span></p>',
        _notice(notice),
    ]
    status = invoice["status"]
    if status == "pending":
        parts.append(
            f'<form method="post" action="/paydunya/checkout/invoice/{token}/pay">'
            + _field("Name", "name", "Awa Diop")
            + _field("Phone", "phone", "770000000", "tel")
            + _field("Email", "email", "awa@example.com", "email")
            + '<button type="submit" name="action" value="pay">Pay</button></form>\n'
            f'<form method="post" action="/paydunya/checkout/invoice/{token}/decline">'
            '<button type="submit" name="action" value="decline">Decline</button></form>'
        )
    elif status == "completed":
        parts.append('<p id="state">This invoice is paid.</p>')
    else:
        parts.append(f'<p id="state">This invoice is {escape(status)}.</p>')
    return _document(f"PayDunya {total}", "\n".join(p for p in parts if p), label=PAYDUNYA_LABEL)


# ---------------------------------------------------------------------------------------------------
# PayPal: the buyer's approval page


PAYPAL_LABEL = "Local PayPal sandbox"


def paypal_approve_page(order: dict, brand_name: str | None, cancel_url: str | None, notice: str | None = None) -> str:
    """PayPal's page where the buyer approves an order: amount, Pay/Decline, and a way back."""
    order_id = escape(order["id"])
    unit = order["purchase_units"][0]
    amount = unit["amount"]
    total = escape(f"{amount['currency_code']} {amount['value']}")
    parts = [
        f"<h1>{escape(brand_name or 'PayPal checkout')}</h1>",
        f"<p>{escape(unit['description'])}</p>" if unit.get("description") else "",
        f'<p class="total">Total: <span id="total">{total}</span></p>',
        _notice(notice),
    ]
    if order["status"] in ("CREATED", "PAYER_ACTION_REQUIRED"):
        parts.append(
            f'<form method="post" action="/paypal/checkoutnow/{order_id}/pay">'
            '<button type="submit" name="action" value="pay">Pay</button></form>\n'
            f'<form method="post" action="/paypal/checkoutnow/{order_id}/decline">'
            '<button type="submit" name="action" value="decline">Decline</button></form>\n'
            "<p><small>Decline approves the order with a funding source that will fail: "
            "the capture is declined.</small></p>"
        )
        if cancel_url:
            parts.append(f'<p><a id="cancel" href="{escape(cancel_url)}">Cancel and return</a></p>')
    else:
        parts.append(f'<p id="state">This order is {escape(order["status"].lower())}.</p>')
    return _document(f"PayPal {total}", "\n".join(p for p in parts if p), label=PAYPAL_LABEL)
