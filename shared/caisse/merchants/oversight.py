"""What platform staff see of every merchant, and suspending one.

The list is a page of the catalog's by_parent index (parent MERCHANTS, by merchant id) and, for
activity, one Query per merchant on the page of the figures the orders stream keeps
(FIGURES#<merchant>, newest day first): never a Scan of orders, and a page's work stays the same
however many merchants sign up. A suspension, and lifting it, is a change of `Merchant.suspended` recorded
like every change of a merchant's settings (who, when, why: caisse.catalog.merchant_settings, listed
by GET /admin/merchants/{id}/changes). Either way the merchant's staff are emailed: the email is a
MerchantNotice written in the change's own transaction, which the orders stream sends once.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from caisse.catalog.merchant_settings import record_change
from caisse.catalog.models import MERCHANTS, Merchant
from caisse.catalog.platform import check_taking_orders, taking_payments
from caisse.catalog.service import get_merchant, listed_page
from caisse.clock import iso, utcnow
from caisse.errors import CaisseError, Conflict, Forbidden
from caisse.notifications.kinds import Kind
from caisse.orders.figures import DayFigures, partition
from caisse.orders.models import PLAN_CHANGE_SK, MerchantNotice
from caisse.staff import Staff

ACTIVITY_DAYS = 30
PAGE_SIZE = 50
MAX_PAGE_SIZE = 100


class SuspensionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True, str_strip_whitespace=True)
    reason: str = Field(min_length=3, max_length=500, description="Why; the merchant's staff read it")


def _platform_only(staff: Staff) -> None:
    if not staff.platform:
        raise Forbidden("only the platform's staff act on every merchant")


def merchants_overview(staff: Staff, *, limit: int = PAGE_SIZE, cursor: str | None = None) -> dict[str, Any]:
    """A page of the platform's merchants by id, with the cursor of the next page (None: the last)."""
    _platform_only(staff)
    found, next_cursor = listed_page(MERCHANTS, limit=limit, cursor=cursor)
    merchants = [record for record in found if isinstance(record, Merchant)]
    return {"merchants": [_row(merchant) for merchant in merchants], "as_of": iso(utcnow()), "next_cursor": next_cursor}


def _row(merchant: Merchant) -> dict[str, Any]:
    try:
        check_taking_orders(merchant)
        refusal = None
    except CaisseError as error:
        refusal = error.code
    return {
        "merchant": merchant.merchant_id,
        "name": merchant.name,
        "kind": merchant.business_kind,  # None: a shop from the catalog file
        "signed_up_at": merchant.signed_up_at,
        "plan": merchant.plan,
        "plan_status": merchant.plan_status,
        "onboarding": {
            "account": merchant.stripe_account,
            "charges_enabled": bool(merchant.charges_enabled),
            "payouts_enabled": bool(merchant.payouts_enabled),
        },
        "taking_payments": taking_payments(merchant),
        "taking_orders": refusal is None,
        "refusal": refusal,
        "suspended": merchant.suspended.as_dict() if merchant.suspended else None,
        "activity": activity(merchant.merchant_id, merchant.timezone or "UTC"),
    }


def activity(merchant_id: str, timezone: str) -> dict[str, Any]:
    """Orders paid over the last 30 of the merchant's days and the last day one was paid, from the
    figures (newest day first: the Query stops once both are known)."""
    today = utcnow().astimezone(ZoneInfo(timezone)).date()
    since = today - timedelta(days=ACTIVITY_DAYS - 1)
    recent, last = 0, None
    days = DayFigures.query(
        partition(merchant_id), DayFigures.sk.startswith("DAY#"), scan_index_forward=False, page_size=31
    )
    for record in days:
        if not isinstance(record, DayFigures):
            continue
        day = date.fromisoformat(record.day)
        paid = int(record.paid_orders or 0)
        if day >= since:
            recent += paid
        if paid and last is None:
            last = record.day
        if day < since and last is not None:
            break
    return {"orders_last_30_days": recent, "last_order_on": last}


def suspend(merchant_id: str, staff: Staff, reason: str) -> dict[str, Any]:
    _platform_only(staff)
    merchant = get_merchant(merchant_id)
    if merchant.suspended:
        raise Conflict(f"{merchant_id} is already suspended", code="already_suspended")
    now = utcnow()
    suspension = {"at": iso(now), "by": staff.actor_id, "reason": reason}
    record_change(
        merchant,
        staff,
        {"suspended": (None, suspension)},
        [Merchant.suspended.set(suspension)],
        also=_notice(merchant, Kind.MERCHANT_SUSPENDED, now, reason),
    )
    return {"merchant": merchant_id, "suspended": suspension}


def lift(merchant_id: str, staff: Staff) -> dict[str, Any]:
    _platform_only(staff)
    merchant = get_merchant(merchant_id)
    if not merchant.suspended:
        raise Conflict(f"{merchant_id} is not suspended", code="not_suspended")
    record_change(
        merchant,
        staff,
        {"suspended": (merchant.suspended.as_dict(), None)},
        [Merchant.suspended.remove()],
        also=_notice(merchant, Kind.MERCHANT_REINSTATED, utcnow(), None),
    )
    return {"merchant": merchant_id, "suspended": None}


def _notice(merchant: Merchant, kind: Kind, at: datetime, reason: str | None) -> tuple[MerchantNotice, ...]:
    """The email to the merchant's staff, as a record the change's transaction writes (none when
    the merchant gave no address)."""
    if not (merchant.staff_email or merchant.reply_to):
        return ()
    event_id = f"{kind.value}-{at.strftime('%Y%m%dT%H%M%S%fZ')}"
    notice = MerchantNotice(
        MerchantNotice.key(merchant.merchant_id, event_id),
        PLAN_CHANGE_SK,
        merchant=merchant.merchant_id,
        kind=kind.value,
        event_id=event_id,
        created=int(at.timestamp()),
        context={"merchant": {"id": merchant.merchant_id, "name": merchant.name}, "reason": reason},
    )
    return (notice,)
