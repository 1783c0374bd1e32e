"""HTML for the fake hosted pages: Stripe's Checkout and Connect onboarding pages, PayPal's approval page,
PayDunya's invoice page and the customer's phone (CamPay's USSD prompts). Plain forms, no JavaScript, so tests and curl
can drive them; each action also answers JSON when asked with ``Accept: application/json``."""

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


def _document(title: str, body: str, lang: str | None = None, label: str = "Local Stripe sandbox") -> str:
    # The page's language (Stripe shows Checkout in the session's locale; English otherwise), and a
    # viewport so a phone shows it at its own width, as the providers' real pages do.
    lang = lang if lang and lang != "auto" else "en"
    return (
        f'<!doctype html>\n<html lang="{escape(lang)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n<main>\n"
        f'<p><span class="badge">TEST MODE</span> {escape(label)}</p>\n{body}\n</main>\n</body>\n</html>\n'
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
