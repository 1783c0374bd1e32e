"""Sending one rendered email through SES (v2 API, a raw MIME message so the text and HTML parts,
Reply-To and our own headers travel exactly as built)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from caisse.config import settings
from caisse.db import aws_client
from caisse.notifications.render import Rendered

# SES refuses this message or this address: sending it again cannot work.
PERMANENT_CODES = {"MessageRejected", "BadRequestException", "InvalidParameterValue"}


class TransientSendError(Exception):
    """SES could not take the message now (throttling, an outage, a setup problem): retry later."""


class PermanentSendError(Exception):
    """SES refused this message for good."""


_client = None


@dataclass(frozen=True)
class Part:
    """An image the HTML shows inline (by `cid`), or an attachment (no cid)."""

    filename: str
    content_type: str
    data: bytes
    cid: str | None = None


def _ses():
    global _client
    if _client is None:
        # Three quick tries inside one delivery; longer waits are the queue's visibility backoff.
        _client = aws_client("sesv2", Config(retries={"mode": "standard", "total_max_attempts": 3}))
    return _client


def build(
    rendered: Rendered,
    *,
    to: str,
    sender_name: str,
    reply_to: str | None,
    notification_id: str,
    images: Sequence[Part] = (),
    attachments: Sequence[Part] = (),
) -> bytes:
    # Headers stay on one line up to RFC 5322's 998 characters (no folding into encoded words).
    message = EmailMessage(policy=policy.default.clone(max_line_length=998))
    message["Subject"] = rendered.subject
    message["From"] = formataddr((sender_name, settings().sender_email))
    message["To"] = to
    if reply_to:
        message["Reply-To"] = reply_to
    message["Message-ID"] = make_msgid(domain=settings().sender_email.rsplit("@", 1)[-1])
    # Lets support staff and the mail logs tie a message to the change that caused it.
    message["X-Caisse-Notification"] = notification_id
    # Quoted-printable keeps the message 7-bit clean whatever the language or the spaces in amounts.
    message.set_content(rendered.text, cte="quoted-printable")
    message.add_alternative(rendered.html, subtype="html", cte="quoted-printable")
    if images:
        html = message.get_payload()[1]  # type: ignore[index]  # the alternative added just above
        for image in images:
            maintype, subtype = image.content_type.split("/")
            html.add_related(
                image.data, maintype, subtype, cid=f"<{image.cid}>", filename=image.filename, disposition="inline"
            )
    for attachment in attachments:
        maintype, subtype = attachment.content_type.split("/")
        message.add_attachment(attachment.data, maintype, subtype, filename=attachment.filename)
    return message.as_bytes()


def send(raw: bytes, *, to: str, kind: str) -> str:
    """Hand the message to SES; the SES message id on success."""
    params: dict[str, Any] = {
        "FromEmailAddress": settings().sender_email,
        "Destination": {"ToAddresses": [to]},
        "Content": {"Raw": {"Data": raw}},
        "EmailTags": [{"Name": "kind", "Value": kind}],
    }
    if settings().email_configuration_set:
        params["ConfigurationSetName"] = settings().email_configuration_set
    try:
        return _ses().send_email(**params)["MessageId"]
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in PERMANENT_CODES:
            raise PermanentSendError(code) from error
        raise TransientSendError(code or "ClientError") from error
    except BotoCoreError as error:
        raise TransientSendError(type(error).__name__) from error
