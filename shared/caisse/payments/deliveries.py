"""The webhook deliveries table: one record per provider event, written before anything else, so a
duplicate delivery is recognised with one conditional write and every event leaves a trace."""

from __future__ import annotations

from datetime import timedelta

from pynamodb.attributes import TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import PutError

from caisse.clock import utcnow
from caisse.config import settings
from caisse.db import CaisseModel, LambdaMeta

RECEIVED = "received"
PROCESSED = "processed"


class WebhookDelivery(CaisseModel):
    class Meta(LambdaMeta):
        table_name = settings().webhook_events_table

    pk = UnicodeAttribute(hash_key=True)  # <provider>#<event id>
    provider = UnicodeAttribute()
    event_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    status = UnicodeAttribute()
    outcome = UnicodeAttribute(null=True)
    order_id = UnicodeAttribute(null=True)
    received_at = UTCDateTimeAttribute()
    processed_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute()

    @staticmethod
    def key(provider: str, event_id: str) -> str:
        return f"{provider}#{event_id}"


def record(provider: str, event_id: str, event_type: str, order_id: str | None) -> WebhookDelivery | None:
    """Record a delivery; None when this event was already processed (a duplicate).

    A delivery seen before but never finished (the function died mid-way) is taken up again:
    everything after this step is conditional, so doing it twice changes nothing twice.
    """
    now = utcnow()
    delivery = WebhookDelivery(
        WebhookDelivery.key(provider, event_id),
        provider=provider,
        event_id=event_id,
        event_type=event_type,
        status=RECEIVED,
        order_id=order_id,
        received_at=now,
        expires_at=now + timedelta(days=settings().webhook_record_days),
    )
    try:
        delivery.save(condition=WebhookDelivery.pk.does_not_exist() | (WebhookDelivery.status == RECEIVED))
    except PutError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return None
        raise
    return delivery


def finish(delivery: WebhookDelivery, outcome: str) -> None:
    """Mark a delivery processed when nothing else was written with it."""
    delivery.update(
        actions=[
            WebhookDelivery.status.set(PROCESSED),
            WebhookDelivery.outcome.set(outcome),
            WebhookDelivery.processed_at.set(utcnow()),
        ]
    )
