"""Request shapes of the booking routes (pydantic, validated by the Event Handler)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from caisse.date_input import Day
from caisse.money import AMOUNT_LIMITS, LARGEST_AMOUNT

_STRICT = ConfigDict(extra="forbid", defer_build=True, str_strip_whitespace=True)
HHMM = r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$"


class DepositIn(BaseModel):
    model_config = _STRICT
    percent: int | None = Field(default=None, ge=1, le=100)
    fixed: int | None = Field(default=None, ge=1, le=LARGEST_AMOUNT, strict=True, description="Minor units")

    @model_validator(mode="after")
    def one_of(self) -> DepositIn:
        if (self.percent is None) == (self.fixed is None):
            raise ValueError("give either percent or fixed")
        return self


class ServiceIn(BaseModel):
    model_config = _STRICT
    name: str = Field(min_length=1, max_length=120)
    duration_minutes: int = Field(ge=15, le=24 * 60)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    full_price: int = Field(ge=1, le=LARGEST_AMOUNT, strict=True, description=AMOUNT_LIMITS)
    deposit: DepositIn
    active: bool = True


class HoursIn(BaseModel):
    model_config = _STRICT
    timezone: str | None = Field(default=None, max_length=64, examples=["Australia/Sydney"])
    weekly: dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], list[tuple[str, str]]]
    blocked_dates: list[Day] = Field(default_factory=list, max_length=366)
    slot_minutes: int | None = Field(default=None, ge=5, le=240)

    @model_validator(mode="after")
    def times(self) -> HoursIn:
        import re

        for spans in self.weekly.values():
            for opening, closing in spans:
                if not (re.match(HHMM, opening) and re.match(HHMM, closing)):
                    raise ValueError("times are HH:MM")
        return self

    def as_spec(self) -> dict[str, Any]:
        return {
            "timezone": self.timezone,
            "weekly": self.weekly,
            "blocked_dates": [day.isoformat() for day in self.blocked_dates],
            "slot_minutes": self.slot_minutes,
        }


class BalanceIn(BaseModel):
    model_config = _STRICT
    final_amount: int = Field(
        ge=0, le=LARGEST_AMOUNT, strict=True, description=f"The job's final price. {AMOUNT_LIMITS}"
    )


class CancelIn(BaseModel):
    model_config = _STRICT
    reason: str | None = Field(default=None, max_length=300)
