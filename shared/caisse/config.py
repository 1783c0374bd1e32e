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
    xray_sdk: bool
    checkout_ttl_minutes: int = 30
    webhook_record_days: int = 90


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
        xray_sdk=env.get("CAISSE_XRAY_SDK", "false").lower() == "true",
    )
