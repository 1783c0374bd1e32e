"""Sent email, readable: `GET /_caisse/emails` on the emulated AWS endpoint.

moto keeps every message SES accepted as raw MIME (`/moto-api/data.json` dumps them all, with every
other service's state). This lists them parsed, oldest first, filtered on the server, so a person
or a test finds one email without downloading and parsing the lot:

    GET /_caisse/emails?to=ada@example.test&kind=order_confirmed&source=order:<order_id>

Each email: `to`, `from`, `reply_to`, `subject`, `text`, `html`, `attachments` (filename, type,
size, content_id, and the content in base64), `size` (the whole message in bytes), the
`notification` id Caisse put in `X-Caisse-Notification` and, read from it, `source`, `occasion`
(`v<version>`, or e.g. `refund-<id>`), `version`, `kind` and `recipient`.
"""

from __future__ import annotations

import base64
import email
import re
import weakref
from email import policy
from email.message import EmailMessage
from typing import Any

FILTERS = ("to", "kind", "source", "occasion", "recipient", "notification")

# What the filters read, per message, parsed once: tests poll this endpoint every 0.1 s, and parsing
# every email ever sent on each poll was 40 % of the emulated AWS endpoint's CPU in the e2e run.
# Only these few fields are kept (not bodies or attachments), for as long as moto keeps the message.
_filter_fields: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def sent_messages() -> list[Any]:
    """Every raw message moto's SES (v1 and v2 share it) accepted, in every account and region."""
    from moto.ses.models import ses_backends

    found = []
    for account in list(ses_backends.values()):
        for backend in list(account.values()):
            found.extend(message for message in backend.sent_messages if hasattr(message, "raw_data"))
    return found


def parse(raw: str) -> dict[str, Any]:
    message: EmailMessage = email.message_from_string(raw, policy=policy.default)  # type: ignore[assignment]
    body = {"text/plain": "", "text/html": ""}
    attachments = []
    for part in message.walk():
        if part.is_multipart():
            continue
        if part.get_content_disposition() in ("attachment", "inline") and part.get_filename():
            payload = part.get_payload(decode=True) or b""
            attachments.append(
                {
                    "filename": part.get_filename(),
                    "content_type": part.get_content_type(),
                    "size": len(payload),
                    "content_id": str(part["Content-ID"] or "").strip("<>") or None,
                    "base64": base64.b64encode(payload).decode(),
                }
            )
        elif part.get_content_type() in body and not body[part.get_content_type()]:
            body[part.get_content_type()] = part.get_content()
    notification = " ".join(str(message["X-Caisse-Notification"] or "").split())
    # <source>:<occasion>:<kind>:<recipient>, the occasion being v<version> or e.g. refund-<id>
    parts = notification.rsplit(":", 3)
    source, occasion, kind, recipient = parts if len(parts) == 4 else (None, None, None, None)
    version = re.fullmatch(r"v(\d+)", occasion or "")
    return {
        "to": str(message["To"] or ""),
        "from": str(message["From"] or ""),
        "reply_to": str(message["Reply-To"]) if message["Reply-To"] else None,
        "subject": str(message["Subject"] or ""),
        "text": body["text/plain"],
        "html": body["text/html"],
        "attachments": attachments,
        "size": len(raw.encode()),
        "notification": notification,
        "source": source,
        "occasion": occasion,
        "version": int(version[1]) if version else None,
        "kind": kind,
        "recipient": recipient,
    }


def emails(filters: dict[str, str]) -> list[dict[str, Any]]:
    """The sent emails that match every filter given (`to` ignores case)."""
    wanted = {key: value for key, value in filters.items() if key in FILTERS and value}
    found = []
    for message in sent_messages():
        parsed = None
        fields = _filter_fields.get(message)
        if fields is None:
            parsed = parse(message.raw_data)
            fields = _filter_fields[message] = {key: parsed[key] for key in FILTERS}
        if "to" in wanted and fields["to"].lower() != wanted["to"].lower():
            continue
        if any(str(fields[key]) != value for key, value in wanted.items() if key != "to"):
            continue
        found.append(parsed or parse(message.raw_data))
    return found
