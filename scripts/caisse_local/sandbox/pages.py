"""HTML for the fake hosted Checkout page: plain forms, no JavaScript, so tests and curl can drive it."""

from __future__ import annotations

from html import escape

# docs.stripe.com/currencies#zero-decimal: amounts are already in major units.
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
# docs.stripe.com/currencies#three-decimal
THREE_DECIMAL_CURRENCIES = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 34rem; margin: 2rem auto; color: #1a1f36; }
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


def _document(title: str, body: str, lang: str | None = None) -> str:
    lang_attr = f' lang="{escape(lang)}"' if lang and lang != "auto" else ""
    return (
        f'<!doctype html>\n<html{lang_attr}>\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f'<p><span class="badge">TEST MODE</span> Local Stripe sandbox</p>\n{body}\n</body>\n</html>\n'
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


def message_page(title: str, text: str, link: str | None = None) -> str:
    """A short standalone page (not found, payment done without success_url, ...)."""
    link_html = f'<p><a href="{escape(link)}">Continue</a></p>' if link else ""
    return _document(title, f"<h1>{escape(title)}</h1>\n<p>{escape(text)}</p>\n{link_html}")
