"""Settings read from the function's environment (set by template.yaml, or by the local stack)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Settings:
    stage: str
    catalog_table: str
    orders_table: str
    webhook_events_table: str
    parameter_prefix: str
    shop_url: str
    allowed_origin: str
    stripe_api_base: str | None
    media_table: str = "caisse-media"
    uploads_bucket: str = "caisse-uploads"
    renditions_bucket: str = "caisse-renditions"
    originals_bucket: str = "caisse-originals"
    notifications_table: str = "caisse-notifications"
    notifications_queue_url: str = ""
    sender_email: str = "no-reply@caisse.example"
    email_configuration_set: str | None = None
    public_api_url: str = "http://127.0.0.1:3000"
    deliverables_bucket: str = "caisse-deliverables"
    exports_bucket: str = "caisse-exports"
    email_retry_base_seconds: int = 30
    catalog_cache_seconds: int = 30  # how long a warm GET /catalog function keeps what it read
    campay_api_base: str = "https://www.campay.net"
    paydunya_api_base: str = "https://app.paydunya.com/api/v1"
    paypal_api_base: str = "https://api-m.paypal.com"
    checkout_ttl_minutes: int = 30
    webhook_record_days: int = 90
    alert_email: str | None = None  # the shop's operators: money that arrived for no order
    personal_data_key: str | None = None  # KMS key ARN for field-level encryption (caisse.encryption)


@cache
def settings() -> Settings:
    env = os.environ
    return Settings(
        stage=env.get("STAGE", "dev"),
        catalog_table=env.get("CATALOG_TABLE", "caisse-catalog"),
        orders_table=env.get("ORDERS_TABLE", "caisse-orders"),
        webhook_events_table=env.get("WEBHOOK_EVENTS_TABLE", "caisse-webhook-events"),
        parameter_prefix=env.get("PARAMETER_PREFIX", "/caisse/dev").rstrip("/"),
        shop_url=env.get("SHOP_URL", "http://127.0.0.1:3000").rstrip("/"),
        allowed_origin=env.get("ALLOWED_ORIGIN", "*"),
        stripe_api_base=env.get("STRIPE_API_BASE") or None,
        media_table=env.get("MEDIA_TABLE", "caisse-media"),
        uploads_bucket=env.get("UPLOADS_BUCKET", "caisse-uploads"),
        renditions_bucket=env.get("RENDITIONS_BUCKET", "caisse-renditions"),
        originals_bucket=env.get("ORIGINALS_BUCKET", "caisse-originals"),
        notifications_table=env.get("NOTIFICATIONS_TABLE", "caisse-notifications"),
        notifications_queue_url=env.get("NOTIFICATIONS_QUEUE_URL", ""),
        sender_email=env.get("SENDER_EMAIL", "no-reply@caisse.example"),
        email_configuration_set=env.get("EMAIL_CONFIGURATION_SET") or None,
        public_api_url=env.get("PUBLIC_API_URL", "http://127.0.0.1:3000").rstrip("/"),
        deliverables_bucket=env.get("DELIVERABLES_BUCKET", "caisse-deliverables"),
        exports_bucket=env.get("EXPORTS_BUCKET", "caisse-exports"),
        email_retry_base_seconds=int(env.get("EMAIL_RETRY_BASE_SECONDS", "30")),
        catalog_cache_seconds=int(env.get("CATALOG_CACHE_SECONDS", "30")),
        campay_api_base=env.get("CAMPAY_API_BASE") or "https://www.campay.net",
        paydunya_api_base=env.get("PAYDUNYA_API_BASE") or "https://app.paydunya.com/api/v1",
        paypal_api_base=env.get("PAYPAL_API_BASE") or "https://api-m.paypal.com",
        alert_email=env.get("ALERT_EMAIL") or None,
        personal_data_key=env.get("PERSONAL_DATA_KEY_ARN") or None,
    )
