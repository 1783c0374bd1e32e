"""The notifications table: one record per email we meant to send (claimed before sending, so a
redelivered message is never mailed twice) and one per address that must not be mailed again."""

from __future__ import annotations

import hashlib
from typing import Any

from pynamodb.attributes import (
    DiscriminatorAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from caisse.config import settings
from caisse.db import CaisseModel, LambdaMeta

SENDING = "sending"  # claimed; SES not yet known to have it
SENT = "sent"
RETRY = "retry"  # SES failed in a way that passes; the next delivery may claim it again
FAILED = "failed"  # SES refused this message for good (e.g. a rejected address)
SKIPPED = "skipped"  # the address is suppressed
UNKNOWN = "unknown"  # a claim whose sender died mid-send: not resent, reported instead


class ByCustomer(GlobalSecondaryIndex[Any]):
    """The emails sent to one customer of one merchant (caisse.orders.personal.customer_ref): what
    an export lists and an erasure anonymises, without a Scan."""

    class Meta:
        index_name = "by_customer"
        projection = AllProjection()

    customer_ref = UnicodeAttribute(hash_key=True)


class NotificationRecord(CaisseModel):
    class Meta(LambdaMeta):
        table_name = settings().notifications_table

    pk = UnicodeAttribute(hash_key=True)
    record_type = DiscriminatorAttribute(attr_name="type")
    customer_ref = UnicodeAttribute(null=True)  # emails to a merchant's customer; removed by erasure
    by_customer = ByCustomer()


class EmailRecord(NotificationRecord, discriminator="email"):
    notification_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    to = UnicodeAttribute()
    status = UnicodeAttribute()
    attempts = NumberAttribute(default=0)
    claimed_at = UTCDateTimeAttribute()
    sent_at = UTCDateTimeAttribute(null=True)
    ses_message_id = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)
    merchant = UnicodeAttribute(null=True)  # whose email it is (the platform's alerts: "platform")
    order_id = UnicodeAttribute(null=True)
    order_number = UnicodeAttribute(null=True)
    # On the merchant's list of emails that did not go (the email_problems index) while failed,
    # retrying, skipped or unknown; removed once sent.
    problem_list = UnicodeAttribute(null=True)
    problem_at = UnicodeAttribute(null=True)

    @staticmethod
    def key(notification_id: str) -> str:
        return f"EMAIL#{notification_id}"


class Suppression(NotificationRecord, discriminator="suppression"):
    email = UnicodeAttribute()
    reason = UnicodeAttribute()  # bounce | complaint
    detail = UnicodeAttribute(null=True)
    at = UTCDateTimeAttribute()

    @staticmethod
    def key(email: str) -> str:
        return f"SUPPRESSED#{email.strip().lower()}"

    @staticmethod
    def erased_key(email: str) -> str:
        """An address whose owner had their personal data erased stays suppressed under a digest."""
        return f"SUPPRESSED#sha256:{hashlib.sha256(email.strip().lower().encode()).hexdigest()}"
