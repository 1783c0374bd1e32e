"""The platform's plans as the public and the console read them (each monthly price per currency,
shown the way emails show money, the fee as a percentage, the limits), and how many of a limit a
merchant's plan allows. Subscribing and Stripe Billing's events: caisse.payments.plans."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from caisse.catalog.models import Merchant
from caisse.catalog.platform import platform_config
from caisse.money import Money, display

if TYPE_CHECKING:  # the plans come from platform_config(), which loads the schema when it reads them
    from caisse.catalog.document import Plan, PlanLimit


def find_plan(plan_id: str | None) -> Plan | None:
    """The platform's plan of that id; None for none (or one the configuration no longer has)."""
    return next((plan for plan in platform_config().plans if plan.id == plan_id), None) if plan_id else None


def fee_percent(bps: int) -> str:
    """Basis points as people read them: 300 -> "3 %", 150 -> "1.5 %", 125 -> "1.25 %"."""
    whole, rest = divmod(int(bps), 100)
    return f"{whole}.{rest:02d}".rstrip("0").rstrip(".") + " %"


def plan_view(plan: Plan, locale: str = "en") -> dict[str, Any]:
    return {
        "id": plan.id,
        "name": plan.name,
        "monthly": [
            {"amount": amount, "currency": currency, "display": display(Money(amount, currency), locale)}
            for currency, amount in sorted(plan.monthly.items())
        ],
        "fee_bps": plan.fee_bps,
        "fee_percent": fee_percent(plan.fee_bps),
        "limits": dict(plan.limits),
    }


def plan_limit(merchant: Merchant, limit: PlanLimit) -> int | None:
    """How many of `limit` (bookings_per_month, galleries_per_month) the merchant's plan allows;
    None when nothing limits it (a shop from the catalog file, a plan without that limit)."""
    if not merchant.business_kind or not merchant.plan:
        return None
    plan = find_plan(merchant.plan)
    return plan.limits.get(limit) if plan else None


def public_plans(locale: str = "en") -> dict[str, Any]:
    return {"plans": [plan_view(plan, locale) for plan in platform_config().plans]}
