"""Bounces and complaints SES reports (through SNS), reduced to the addresses never to mail again.

Reads both shapes SES publishes: configuration-set event publishing ("eventType") and identity
notifications ("notificationType"). Only permanent bounces and complaints suppress an address: a
full mailbox (transient bounce) may work tomorrow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Feedback:
    email: str
    reason: str  # bounce | complaint
    detail: str | None


def read(message: str | dict[str, Any]) -> list[Feedback]:
    body = json.loads(message) if isinstance(message, str) else message
    kind = body.get("eventType") or body.get("notificationType")
    if kind == "Bounce":
        bounce = body.get("bounce") or {}
        if bounce.get("bounceType") != "Permanent":
            return []
        return [
            Feedback(
                r["emailAddress"].strip().lower(), "bounce", r.get("diagnosticCode") or bounce.get("bounceSubType")
            )
            for r in bounce.get("bouncedRecipients", [])
            if r.get("emailAddress")
        ]
    if kind == "Complaint":
        complaint = body.get("complaint") or {}
        return [
            Feedback(r["emailAddress"].strip().lower(), "complaint", complaint.get("complaintFeedbackType"))
            for r in complaint.get("complainedRecipients", [])
            if r.get("emailAddress")
        ]
    return []
