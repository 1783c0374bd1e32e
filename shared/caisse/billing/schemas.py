"""The shapes of the billing routes' request bodies."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SubscriptionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    plan: str = Field(
        min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$", description="A plan id (GET /platform/plans)"
    )
    currency: str = Field(
        min_length=3, max_length=3, pattern=r"^[A-Za-z]{3}$", description="One of the plan's currencies, e.g. AUD"
    )
