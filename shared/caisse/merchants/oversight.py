"""What platform staff see of every merchant, and suspending one.

The list is one Query of the catalog's by_parent index (parent MERCHANTS) and, for activity, one
Query per merchant of the figures the orders stream keeps (FIGURES#<merchant>, newest day first):
never a Scan of orders. A suspension is a conditional write of `Merchant.suspended` together with
a record of who, when and why (SUSPENSION#<merchant>#<when>, listed under SUSPENSIONS#<merchant>);
lifting it writes its own record. Either way the merchant's staff are emailed.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from pynamodb.attributes import UnicodeAttribute

from caisse.catalog.models import MERCHANTS, CatalogRecord, Merchant
from caisse.catalog.platform import check_taking_orders, taking_payments
from caisse.clock import iso, moment, utcnow
from caisse.db import Transaction, TransactionCancelled
from caisse.errors import CaisseError, Conflict, Forbidden, NotFound
from caisse.notifications import outbox
from caisse.notifications.changes import Notification
from caisse.notifications.kinds import Kind
from caisse.orders.figures import DayFigures, partition
from caisse.staff import Staff

ACTIVITY_DAYS = 30


class SuspensionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True, str_strip_whitespace=True)
    reason: str = Field(min_length=3, max_length=500, description="Why; the merchant's staff read it")


class SuspensionRecord(CatalogRecord, discriminator="suspension"):
    """One suspension or lifting of one, as it happened."""

    merchant = UnicodeAttribute()
    action = UnicodeAttribute()  # suspended, lifted
    by = UnicodeAttribute()
    at = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)

    @staticmethod
    def key(merchant_id: str, when: str) -> str:
        return f"SUSPENSION#{merchant_id}#{when}"

    @staticmethod
    def parent_of(merchant_id: str) -> str:
        return f"SUSPENSIONS#{merchant_id}"


def _platform_only(staff: Staff) -> None:
    if not staff.platform:
        raise Forbidden("only the platform's staff act on every merchant")


def merchants_overview(staff: Staff) -> dict[str, Any]:
    _platform_only(staff)
    merchants = [record for record in CatalogRecord.by_parent.query(MERCHANTS) if isinstance(record, Merchant)]
    return {"merchants": [_row(merchant) for merchant in merchants], "as_of": iso(utcnow())}


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
    now = utcnow()
    suspension = {"at": iso(now), "by": staff.actor_id, "reason": reason}
    tx = Transaction()
    tx.update(
        Merchant(Merchant.key(merchant_id)),
        actions=[Merchant.suspended.set(suspension)],
        condition=Merchant.pk.exists() & Merchant.suspended.does_not_exist(),
        label="merchant",
    )
    tx.put(_record(merchant_id, "suspended", suspension, now), label="record")
    _commit(tx, merchant_id, already="already_suspended")
    merchant = Merchant.get(Merchant.key(merchant_id), consistent_read=True)
    _tell_staff(merchant, Kind.MERCHANT_SUSPENDED, suspension["at"], reason)
    return {"merchant": merchant_id, "suspended": suspension}


def lift(merchant_id: str, staff: Staff) -> dict[str, Any]:
    _platform_only(staff)
    now = utcnow()
    tx = Transaction()
    tx.update(
        Merchant(Merchant.key(merchant_id)),
        actions=[Merchant.suspended.remove()],
        condition=Merchant.pk.exists() & Merchant.suspended.exists(),
        label="merchant",
    )
    tx.put(_record(merchant_id, "lifted", {"at": iso(now), "by": staff.actor_id, "reason": None}, now), label="record")
    _commit(tx, merchant_id, already="not_suspended")
    merchant = Merchant.get(Merchant.key(merchant_id), consistent_read=True)
    _tell_staff(merchant, Kind.MERCHANT_REINSTATED, iso(now), None)
    return {"merchant": merchant_id, "suspended": None}


def _record(merchant_id: str, action: str, what: dict[str, Any], now: Any) -> SuspensionRecord:
    return SuspensionRecord(
        SuspensionRecord.key(merchant_id, moment(now)),
        parent=SuspensionRecord.parent_of(merchant_id),
        merchant=merchant_id,
        action=action,
        by=what["by"],
        at=what["at"],
        reason=what["reason"],
    )


def _commit(tx: Transaction, merchant_id: str, already: str) -> None:
    try:
        tx.commit()
    except TransactionCancelled:
        try:
            Merchant.get(Merchant.key(merchant_id), consistent_read=True)
        except Merchant.DoesNotExist:
            raise NotFound("no such merchant") from None
        wording = "is already suspended" if already == "already_suspended" else "is not suspended"
        raise Conflict(f"{merchant_id} {wording}", code=already) from None


def _tell_staff(merchant: Merchant, kind: Kind, at: str, reason: str | None) -> None:
    to = merchant.staff_email or merchant.reply_to
    if not to:
        return
    context = {"merchant": {"id": merchant.merchant_id, "name": merchant.name}, "reason": reason}
    source = f"merchant:{merchant.merchant_id}"
    occasion = at.replace(":", "").replace("-", "")  # the email's id is <source>:<occasion>:<kind>:<recipient>
    outbox.publish([Notification(kind, to, merchant.default_locale or "en", source, 0, context, occasion=occasion)])
