"""Settings read from the function's environment (set by template.yaml, or by the local stack)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from functools import cache


@dataclass(frozen=True)
class Settings:
    """What a function is configured with. Each field is read once per cold start from the
    environment variable of its name in upper case (or `env` in its metadata); an empty or missing
    variable leaves the default written here, the one place it is written.

    A dataclass rather than pydantic-settings on purpose: importing pydantic-settings took 0.42 to
    0.47 s here (`python -X importtime -c "import pydantic_settings"`, machine loaded), a cost every
    function would pay at cold start, the webhooks included, which import no pydantic at all.
    """

    stage: str = "dev"
    catalog_table: str = "caisse-catalog"
    orders_table: str = "caisse-orders"
    webhook_events_table: str = "caisse-webhook-events"
    parameter_prefix: str = "/caisse/dev"
    shop_url: str = "http://127.0.0.1:3000"
    allowed_origin: str = "*"
    stripe_api_base: str | None = None  # the local stack points the Stripe calls at its sandbox
    media_table: str = "caisse-media"
    uploads_bucket: str = "caisse-uploads"
    renditions_bucket: str = "caisse-renditions"
    originals_bucket: str = "caisse-originals"
    notifications_table: str = "caisse-notifications"
    notifications_queue_url: str = ""
    ticket_holders_queue_url: str = ""  # an event's changes on their way to its ticket holders
    sender_email: str = "no-reply@caisse.example"
    email_configuration_set: str | None = None
    public_api_url: str = "http://127.0.0.1:3000"
    deliverables_bucket: str = "caisse-deliverables"
    exports_bucket: str = "caisse-exports"
    email_retry_base_seconds: int = 30
    catalog_cache_seconds: int = 30  # how long a warm GET /catalog function keeps what it read
    cancellation_sweep_seconds: int = 900  # a cancelled event's tickets swept again this much later
    campay_api_base: str = "https://www.campay.net"
    paydunya_api_base: str = "https://app.paydunya.com/api/v1"
    paypal_api_base: str = "https://api-m.paypal.com"
    checkout_ttl_minutes: int = 30
    webhook_record_days: int = 90
    alert_email: str | None = None  # the shop's operators: money that arrived for no order
    # KMS key ARN for field-level encryption (caisse.encryption)
    personal_data_key: str | None = field(default=None, metadata={"env": "PERSONAL_DATA_KEY_ARN"})
    staff_user_pool_id: str | None = None  # the Cognito pool merchants sign up in


_WITHOUT_TRAILING_SLASH = ("parameter_prefix", "shop_url", "public_api_url")  # joined with paths


@cache
def settings() -> Settings:
    values: dict[str, object] = {}
    for setting in fields(Settings):
        raw = os.environ.get(setting.metadata.get("env", setting.name.upper()))
        if not raw:
            continue
        if setting.name in _WITHOUT_TRAILING_SLASH:
            raw = raw.rstrip("/")
        values[setting.name] = int(raw) if setting.type == "int" else raw
    return Settings(**values)  # type: ignore[arg-type]
