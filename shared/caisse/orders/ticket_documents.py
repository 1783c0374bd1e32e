"""What a buyer carries to the door: a signed QR payload per ticket, its QR image, and the PDF of an
order's tickets (one page each: event, date, venue, holder, code, QR, order number).

The QR holds `CT1.<payload>.<signature>`: the payload is compact JSON (code, merchant, event, order
number, n of count), base64url; the signature is Ed25519 over `CT1.<payload>`, made with the key in
SSM (`tickets/signing_key`, a base64 32-byte seed). A door scanner that holds the public key
(`public_key_pem`) verifies a ticket offline, like Pretix's signed tickets; online, the door checks
the code (caisse.orders.tickets.check_in). Ed25519 signatures are deterministic: the same ticket
always gives the same QR, in the email, the PDF and the order page.

segno (QR), fpdf2 (PDF) and cryptography are in the tickets layer (requirements/tickets.txt), which
only the functions that show tickets carry; nothing else imports this module.
"""

from __future__ import annotations

import base64
import io
import json
from functools import cache
from typing import Any

import segno
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fpdf import FPDF

from caisse.orders.tickets import normalize, when
from caisse.secrets import secret

PREFIX = "CT1"
SIGNING_KEY = "tickets/signing_key"

LABELS = {
    "en": {
        "ticket": "Ticket {number} of {count}",
        "date": "Date",
        "venue": "Venue",
        "holder": "Holder",
        "code": "Ticket code",
        "order": "Order",
        "note": "Show this page or the QR code in your email at the door. Each ticket admits one person once.",
    },
    "fr": {
        "ticket": "Billet {number} sur {count}",
        "date": "Date",
        "venue": "Lieu",
        "holder": "Titulaire",
        "code": "Code du billet",
        "order": "Commande",
        "note": "Présentez cette page ou le QR code de votre e-mail à l'entrée. "
        "Chaque billet admet une personne, une fois.",
    },
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@cache
def _signing_key(seed: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(seed))


def signing_key() -> Ed25519PrivateKey:
    return _signing_key(secret(SIGNING_KEY))


def public_key_pem(key: Ed25519PrivateKey | None = None) -> str:
    """What a door scanner needs to verify tickets offline."""
    public = (key or signing_key()).public_key()
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def signed_payload(ticket: dict[str, Any], merchant: str, order_number: str, key: Ed25519PrivateKey) -> str:
    """The QR's text for one ticket (a view from caisse.orders.tickets.views)."""
    claims = {
        "c": normalize(ticket["code"]),
        "m": merchant,
        "e": ticket["event"]["id"],
        "o": order_number,
        "n": f"{ticket['number']}/{ticket['count']}",
    }
    head = f"{PREFIX}.{_b64(json.dumps(claims, separators=(',', ':'), sort_keys=True).encode())}"
    return f"{head}.{_b64(key.sign(head.encode()))}"


def verify(text: str, public_key: Ed25519PublicKey) -> dict[str, Any] | None:
    """The claims of a QR's text if its signature is ours, else None (what a scanner does offline)."""
    try:
        prefix, body, signature = text.split(".")
        if prefix != PREFIX:
            return None
        public_key.verify(_unb64(signature), f"{prefix}.{body}".encode())
        claims: dict[str, Any] = json.loads(_unb64(body))
        return claims
    except (ValueError, InvalidSignature):
        return None


def qr_png(text: str, scale: int = 4) -> bytes:
    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def qr_svg(text: str) -> str:
    """An SVG data URI, for a page (the CSP allows data: images)."""
    return segno.make(text, error="m", micro=False).svg_data_uri(scale=4, border=4)


def _locale(locale: str | None) -> str:
    return locale if locale in LABELS else "en"


def _latin1(text: Any) -> str:
    # fpdf2's core fonts are Latin-1 (French included); anything else prints as "?".
    return str(text or "").encode("latin-1", "replace").decode("latin-1")


def pdf(tickets: list[dict[str, Any]], payloads: list[str], *, order_number: str, merchant: str, locale: str) -> bytes:
    """One A6-ish page per ticket, in the buyer's language."""
    labels = LABELS[_locale(locale)]
    document = FPDF(format=(148, 210))  # A5, in mm
    document.set_auto_page_break(False)
    document.set_title(_latin1(f"{merchant} - {order_number}"))
    document.set_creator("Caisse")
    for ticket, payload in zip(tickets, payloads, strict=True):
        event = ticket["event"]
        document.add_page()
        document.set_font("Helvetica", "B", 18)
        document.multi_cell(0, 9, _latin1(event.get("name")), new_x="LMARGIN", new_y="NEXT")
        document.set_font("Helvetica", "", 11)
        document.cell(0, 7, _latin1(f"{merchant} - {ticket['product']}"), new_x="LMARGIN", new_y="NEXT")
        heading = labels["ticket"].format(number=ticket["number"], count=ticket["count"])
        document.cell(0, 7, _latin1(heading), new_x="LMARGIN", new_y="NEXT")
        document.ln(3)
        rows = [
            (labels["date"], f"{when(event, locale)} ({event.get('timezone')})"),
            (labels["venue"], ", ".join(part for part in (event.get("venue"), event.get("address")) if part)),
            (labels["holder"], ticket["holder"]),
            (labels["code"], ticket["code"]),
            (labels["order"], order_number),
        ]
        for label, value in rows:
            document.set_font("Helvetica", "B", 10)
            document.cell(32, 6, _latin1(label))
            document.set_font("Helvetica", "", 10)
            document.multi_cell(0, 6, _latin1(value), new_x="LMARGIN", new_y="NEXT")
        document.image(io.BytesIO(qr_png(payload, scale=8)), x=(document.w - 80) / 2, y=document.get_y() + 4, w=80)
        document.set_y(document.h - 22)
        document.set_font("Helvetica", "", 8)
        document.multi_cell(0, 4, _latin1(labels["note"]), align="C")
    return bytes(document.output())
