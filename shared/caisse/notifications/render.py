"""Rendering an email: Jinja2 templates per language (templates/<locale>/<kind>.{subject.txt,txt,html}),
autoescaped in HTML so whatever a customer typed shows as text."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context, select_autoescape

from caisse.catalog.plans import fee_percent
from caisse.money import Money, display

LOCALES = ("en", "fr")

STAGE_LABELS = {
    "en": {},
    "fr": {
        "discovery": "découverte",
        "writing": "écriture",
        "production": "production",
        "review": "relecture",
        "delivered": "livré",
        "revision": "révision",
        "tickets_issued": "billets émis",
        "session_scheduled": "séance planifiée",
        "shooting": "prise de vue",
        "editing": "retouches",
        "gallery_ready": "galerie prête",
        "scheduled": "planifié",
        "job_done": "travail terminé",
    },
}


# Every name a template may use, so a template can test for an optional one (the environment is
# strict: a misspelt name fails loudly instead of rendering as nothing).
LINKS = {"order": None, "retry": None, "download": None, "download_expires": None, "gallery": None}
DEFAULTS: dict[str, Any] = {
    "customer_name": None,
    "order_id": None,
    "order_number": None,
    "items": [],
    "total": None,
    "status": None,
    "reason": None,
    "stages": [],
    "stage_number": None,
    "revision": None,
    "download_until": None,
    "refund": None,
    "booking": None,
    "gallery": None,
    "dispute": None,
    "money_state": None,
    "refunded": None,
    "provider": None,
    "event_type": None,
    "provider_ref": None,
    "payment_ref": None,
    "claimed_order_id": None,
    "amount": None,
    "tickets": [],
    "has_tickets": False,
    "reviewed": False,
    "plan": None,
}


# Optional parts of the optional blocks.
NESTED: dict[str, dict[str, Any]] = {
    "booking": {
        "timezone": None,
        "balance": None,
        "balance_expected": None,
        "final_amount": None,
        "address": None,
        "notes": None,
        "phone": None,
        "link": None,
    },
    "refund": {"reason": None, "manual": False, "phone_ending": None, "origin": "caisse", "given_back": False},
    "dispute": {"reason": None, "due_by": None, "outcome": None},
    "merchant": {"reply_to": None},
    "gallery": {"failed": 0, "expires_on": None, "downloads": False, "access_code": None},
    "plan": {"name": None, "status": None, "invoice": None, "next_attempt_on": None},
}


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@pass_context
def _plural(context: Any, count: int, one: str, other: str) -> str:
    """The word for `count` things in the template's language: English says "1 photo, 0 photos",
    French "1 photo, 0 photo" (the singular up to, not including, 2)."""
    if context.get("locale") == "fr":
        return one if count < 2 else other
    return one if count == 1 else other


def _percent(bps: int, locale: str) -> str:
    """Basis points as the reader writes a percentage: "1.5 %" in English, "1,5 %" in French."""
    shown = fee_percent(bps)
    return shown.replace(".", ",") if locale == "fr" else shown


def _stage(name: str | None, locale: str) -> str:
    if not name:
        return ""
    return STAGE_LABELS.get(locale, {}).get(name) or name.replace("_", " ")


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("caisse.notifications", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["money"] = lambda value, locale: display(Money(value["amount"], value["currency"]), locale)
    environment.filters["stage"] = _stage
    environment.filters["plural"] = _plural
    environment.filters["percent"] = _percent
    return environment


def render(kind: str, locale: str, context: dict[str, Any]) -> Rendered:
    locale = locale if locale in LOCALES else "en"
    environment = _environment()
    values = {**DEFAULTS, **context, "links": {**LINKS, **(context.get("links") or {})}, "locale": locale}
    for name, optional in NESTED.items():
        if values.get(name):
            values[name] = {**optional, **values[name]}
    subject = environment.get_template(f"{locale}/{kind}.subject.txt").render(values)
    return Rendered(
        # One line, whatever a name contained: a subject is a header.
        subject=" ".join(subject.split()),
        text=environment.get_template(f"{locale}/{kind}.txt").render(values),
        html=environment.get_template(f"{locale}/{kind}.html").render(values),
    )
