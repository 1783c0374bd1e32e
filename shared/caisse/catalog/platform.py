"""The platform above the merchants that sign up themselves (photographers, tradies): its
configuration (which kinds of business may sign up, the plans, the refund-policy bounds), and the
one rule every new order passes: is this merchant taking orders?

A merchant from the catalog file (a demo shop, `business_kind` None) has no plan and is never refused for
one; a signed-up merchant takes new orders only while its plan is in good standing. Existing orders
are never touched: a booking's balance is still charged after the plan lapsed.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from caisse.catalog.models import Merchant, PlatformSettings
from caisse.config import settings
from caisse.errors import Conflict, NotFound
from caisse.money import Money

if TYPE_CHECKING:  # the schema is read where the configuration is: checkout and bookings never need it
    from caisse.catalog.document import Platform

# Stripe subscription statuses in which the merchant keeps selling. `past_due` is Stripe's retry
# window after a failed invoice (https://docs.stripe.com/billing/subscriptions/overview#subscription-statuses):
# the merchant is warned by email and keeps taking orders until Stripe gives up (canceled, unpaid).
GOOD_STANDING = frozenset({"active", "trialing", "past_due"})

_cached: tuple[float, Platform] | None = None


class NotTakingOrders(Conflict):
    code = "merchant_not_taking_orders"


def platform_config() -> Platform:
    """The platform section the seed wrote (an empty one if none), kept per warm function for the
    catalog's cache time."""
    global _cached
    if _cached is not None and time.monotonic() - _cached[0] < settings().catalog_cache_seconds:
        return _cached[1]
    from caisse.catalog.document import Platform  # 30-50 ms of pydantic models, only to read the configuration

    try:
        record = PlatformSettings.get(PlatformSettings.KEY)
        config = Platform.model_validate(json.loads(record.document))
    except PlatformSettings.DoesNotExist:
        config = Platform()
    _cached = (time.monotonic(), config)
    return config


def check_taking_orders(merchant: Merchant) -> None:
    """Refuse a new order (409, with the reason a customer can read) from a merchant the platform
    suspended, or a signed-up merchant without a plan in good standing."""
    if merchant.suspended:
        raise NotTakingOrders(f"{merchant.name} is not taking orders at the moment", code="merchant_suspended")
    if merchant.business_kind and (merchant.plan_status or "none") not in GOOD_STANDING:
        raise NotTakingOrders(
            f"{merchant.name} is not taking new orders: its plan on the platform is not active",
            code="merchant_plan_inactive",
        )


def taking_orders_condition() -> Any:
    """`check_taking_orders` as a DynamoDB condition on the merchant's record, for a checkout that
    does not read its merchant (a cart): not suspended, and a catalog shop or a plan in good standing."""
    return Merchant.suspended.does_not_exist() & (
        Merchant.business_kind.does_not_exist() | Merchant.plan_status.is_in(*sorted(GOOD_STANDING))
    )


def taking_orders_refusal(merchant_id: str) -> NotTakingOrders | None:
    """Why a checkout whose `taking_orders_condition` failed is refused (one read, on refusal only)."""
    try:
        check_taking_orders(Merchant.get(Merchant.key(merchant_id), consistent_read=True))
    except NotTakingOrders as refused:
        return refused
    except Merchant.DoesNotExist:
        return None
    return None


def platform_fee(charge: Money, bps: int) -> Money:
    """The platform's fee on one charge of a signed-up merchant (its plan's `platform_fee_bps`, 250 =
    2.5 %), rounded half up to the minor unit (XOF 1 001 pays XOF 25, USD 10.01 pays USD 0.25),
    never more than the charge: a cart's total, a booking's deposit or its balance."""
    fee = charge.fraction(int(bps), 10_000)
    return fee if fee <= charge else charge


def taking_payments(merchant: Merchant) -> bool:
    """Whether the merchant's own Stripe account takes charges yet (Connect onboarding done, kept in
    step by `account.updated`)."""
    return bool(merchant.stripe_account and merchant.charges_enabled)


def payments_notice(merchant: Merchant) -> str | None:
    """What the public pages and answers say of a merchant that cannot be paid yet; None once it can."""
    return None if taking_payments(merchant) else f"{merchant.name} is not taking payments yet"


def cart_payee(merchant_id: str) -> Merchant:
    """The signed-up merchant a cart is paid to (its connected account, its plan's current fee), read
    once, and refused (409) if it takes no orders or no payments yet. Only signed-up merchants' carts
    read it (Product.platform_merchant): the catalog file's shops read nothing more."""
    try:
        merchant = Merchant.get(Merchant.key(merchant_id), consistent_read=True)
    except Merchant.DoesNotExist:
        raise NotFound("no such merchant") from None
    check_taking_orders(merchant)
    check_taking_payments(merchant)
    return merchant


def check_taking_payments(merchant: Merchant) -> None:
    """Refuse a checkout (409) of a signed-up merchant whose own Stripe account takes no charges yet."""
    if not taking_payments(merchant):
        raise Conflict(payments_notice(merchant) or "", code="merchant_not_onboarded")
