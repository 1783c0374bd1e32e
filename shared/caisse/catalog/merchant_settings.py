"""The settings a merchant's own staff change (business details, languages and time zone, the
new-order email, the refund policy within the platform's bounds, gallery defaults), and the one
way every such change is written: with a MerchantChange record of who changed which fields from
what to what, in the same transaction.

Products carry copies of their merchant's contact and checkout rules (so pricing a cart is one
BatchGetItem): a change of name, addresses, language, time zone or refund policy rewrites those
copies in the same transaction, so the next order's emails, page and refunds use the new values.
Orders already made keep what they were sold with.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from pynamodb.expressions.update import Action
from pynamodb.models import Model

from caisse.catalog.admin import catalog_records
from caisse.catalog.models import CatalogRecord, Merchant, MerchantChange, Product
from caisse.catalog.platform import platform_config
from caisse.catalog.schemas import MerchantSettingsUpdate
from caisse.catalog.service import get_merchant, listed_page, merchant_rules
from caisse.clock import moment, utcnow
from caisse.db import Transaction, TransactionCancelled
from caisse.errors import CaisseError, Conflict, InvalidRequest
from caisse.staff import Staff

CHANGES_PAGE = 20
# A transaction holds at most 100 items: the merchant, its change record, and its products' copies.
MAX_PRODUCTS = 98
BEFORE_WORK = "paid"  # the order's status before any work is done (the bound's stage)


class RefundPolicyOutOfBounds(CaisseError):
    status = 400
    code = "refund_policy_out_of_bounds"


def refund_policy(merchant: Merchant) -> dict[str, int]:
    """The merchant's refund policy: a booking merchant's (booking_rules), else its products' rules."""
    for rules in (merchant.booking_rules, merchant.checkout_rules):
        policy = (rules.as_dict() if rules else {}).get("refund_policy")
        if policy:
            return {stage: int(percent) for stage, percent in policy.items()}
    return {}


def _watermark(merchant: Merchant) -> dict[str, Any]:
    mark = merchant.watermark.as_dict() if merchant.watermark else {}
    return {
        "text": mark.get("text"),
        "opacity": float(mark["opacity"]) if mark.get("opacity") is not None else None,
    }


def current(merchant: Merchant) -> dict[str, Any]:
    """The editable settings as they are (the shape PATCH takes)."""
    return {
        "name": merchant.name,
        "reply_to": merchant.reply_to,
        "staff_email": merchant.staff_email or merchant.reply_to,
        "timezone": merchant.timezone,
        "languages": list(merchant.languages or [merchant.default_locale or "en"]),
        "default_locale": merchant.default_locale or "en",
        "new_order_email": merchant.new_order_email is not False,
        "refund_policy": refund_policy(merchant),
        "watermark": _watermark(merchant),
        "gallery_defaults": merchant.new_gallery(),
    }


def bounds() -> dict[str, Any]:
    config = platform_config()
    return {
        "refund_percent_max": config.refund_percent_max,
        "refund_percent_min_before_work": config.refund_percent_min_before_work,
        "before_work_stage": BEFORE_WORK,
    }


def view(merchant: Merchant) -> dict[str, Any]:
    """The settings with what the console needs to edit them: the stages a policy names, the
    platform's bounds, and whether the merchant makes galleries (gallery defaults)."""
    return {
        **current(merchant),
        "business_kind": merchant.business_kind,
        "refund_stages": refund_stages(merchant),
        "refund_bounds": bounds(),
        "galleries": merchant.business_kind == "photography" or merchant.watermark is not None,
        "bookings": bool(merchant.business_kind or merchant.booking_rules or merchant.weekly_hours),
        "currency": _currency(merchant),
    }


def _currency(merchant: Merchant) -> str | None:
    """The currency a signed-up merchant's services are priced in (its kind's); None for a shop from the file."""
    kind = platform_config().signup_kinds.get(merchant.business_kind or "")
    return kind.currency if kind else None


def refund_stages(merchant: Merchant) -> list[str]:
    """The statuses a refund policy may name: paid, the merchant's stages, and any its policy has."""
    stages = [BEFORE_WORK, *(merchant.stages or [])]
    return stages + [stage for stage in refund_policy(merchant) if stage not in stages]


def _check_refund_policy(merchant: Merchant, policy: dict[str, int]) -> None:
    known = refund_stages(merchant)
    limits = bounds()
    for stage, percent in policy.items():
        if stage not in known:
            raise CaisseError(
                f"refund_policy.{stage}: not a stage of {merchant.name} ({', '.join(known)})",
                code="unknown_stage",
                field=f"refund_policy.{stage}",
                stage=stage,
                stages=known,
            )
        if percent > limits["refund_percent_max"]:
            raise RefundPolicyOutOfBounds(
                f"refund_policy.{stage}: at most {limits['refund_percent_max']} % (the platform's maximum)",
                field=f"refund_policy.{stage}",
                stage=stage,
                bound="refund_percent_max",
                limit=limits["refund_percent_max"],
            )
        if stage == BEFORE_WORK and percent < limits["refund_percent_min_before_work"]:
            raise RefundPolicyOutOfBounds(
                f"refund_policy.{stage}: at least {limits['refund_percent_min_before_work']} % before any work "
                "(the platform's minimum)",
                field=f"refund_policy.{stage}",
                stage=stage,
                bound="refund_percent_min_before_work",
                limit=limits["refund_percent_min_before_work"],
            )


def change_settings(merchant_id: str, staff: Staff, update: MerchantSettingsUpdate) -> dict[str, Any]:
    """Apply the fields sent, each checked before anything is written; a change that alters
    nothing writes and records nothing. Answers the settings as they now are."""
    staff.require(merchant_id, "this merchant")
    merchant = get_merchant(merchant_id)
    before = current(merchant)
    wanted = update.model_dump(exclude_unset=True, exclude_none=True)
    if "refund_policy" in wanted:
        _check_refund_policy(merchant, wanted["refund_policy"])
        wanted["refund_policy"] = {**before["refund_policy"], **wanted["refund_policy"]}
    for field in ("watermark", "gallery_defaults"):  # only the parts sent change
        if field in wanted:
            wanted[field] = {**before[field], **wanted[field]}
    languages = wanted.get("languages", before["languages"])
    default = wanted.get("default_locale", before["default_locale"])
    if default not in languages:
        raise InvalidRequest(
            f"default_locale: {default} is not one of the languages ({', '.join(languages)})",
            code="default_not_a_language",
            field="default_locale",
        )
    changes = {field: value for field, value in wanted.items() if value != before[field]}
    if not changes:
        return view(merchant)

    actions: list[Action] = []
    for field in ("name", "reply_to", "staff_email", "timezone", "languages", "default_locale", "new_order_email"):
        if field in changes:
            attribute = getattr(Merchant, field)
            actions.append(attribute.set(changes[field]))
            setattr(merchant, field, changes[field])
    if "refund_policy" in changes:
        actions.extend(_set_refund_policy(merchant, changes["refund_policy"]))
    if "watermark" in changes:
        kept = merchant.watermark.as_dict() if merchant.watermark else {}  # a logo stays
        mark = {**kept, **{key: value for key, value in changes["watermark"].items() if value is not None}}
        for key in [key for key, value in changes["watermark"].items() if value is None]:
            mark.pop(key, None)
        actions.append(Merchant.watermark.set(mark))
        merchant.watermark = mark
    if "gallery_defaults" in changes:
        actions.append(Merchant.gallery_defaults.set(changes["gallery_defaults"]))
    record_change(
        merchant,
        staff,
        {field: (before[field], value) for field, value in changes.items()},
        actions,
        copies=bool(changes.keys() - {"new_order_email", "watermark", "gallery_defaults"}),
    )
    return view(merchant)


def _set_refund_policy(merchant: Merchant, policy: dict[str, int]) -> list[Action]:
    """The policy written where the merchant keeps it: its bookings' rules, its products' rules
    (a merchant with neither gets bookings' rules)."""
    actions: list[Action] = []
    booking = merchant.booking_rules.as_dict() if merchant.booking_rules else None
    checkout = merchant.checkout_rules.as_dict() if merchant.checkout_rules else None
    if booking is not None or checkout is None:
        merchant.booking_rules = {**(booking or {}), "refund_policy": policy}
        actions.append(Merchant.booking_rules.set(merchant.booking_rules))
    if checkout is not None:
        merchant.checkout_rules = {**checkout, "refund_policy": policy}
        actions.append(Merchant.checkout_rules.set(merchant.checkout_rules))
    return actions


def record_change(
    merchant: Merchant,
    staff: Staff,
    changes: dict[str, tuple[Any, Any]],
    actions: list[Action],
    *,
    copies: bool = False,
    also: tuple[Model, ...] = (),
    updates: tuple[tuple[CatalogRecord, list[Action]], ...] = (),
) -> None:
    """One transaction: the merchant updated with `actions`, the records in `also` put (in their
    own tables: a suspension's email notice goes to the orders table), the records in `updates`
    updated with their actions (each must still exist), its
    products' copies rewritten (`copies`: from the merchant as changed in memory), and the change
    recorded with who and when. The merchant's settings version must still be the one read (else
    409: another change came in between, and the old values recorded would not be true)."""
    at = moment(utcnow())
    tx = Transaction()
    read = merchant.settings_version
    unchanged = Merchant.settings_version.does_not_exist() if read is None else Merchant.settings_version == read
    tx.update(
        Merchant(merchant.pk),
        actions=[*actions, Merchant.settings_version.add(1)],
        condition=Merchant.pk.exists() & unchanged,
        label="merchant",
    )
    for record in also:
        tx.put(record, label="record")
    for record, changed in updates:
        tx.update(record, actions=changed, condition=type(record).pk.exists(), label="record")
    if copies:
        products = catalog_records(merchant.merchant_id).products
        if len(products) > MAX_PRODUCTS:
            raise Conflict(
                f"{merchant.name} has more than {MAX_PRODUCTS} products: their copies cannot change in one step",
                code="too_many_products",
            )
        contact = merchant.contact()
        rules = merchant_rules(
            merchant.checkout_rules.as_dict() if merchant.checkout_rules else None, merchant.timezone or "UTC"
        )
        for product in products:
            tx.update(
                Product(product.pk),
                actions=[
                    Product.merchant_contact.set(contact),
                    Product.merchant_rules.set(rules) if rules else Product.merchant_rules.remove(),
                ],
                condition=Product.pk.exists(),
                label="product",
            )
    tx.put(
        MerchantChange(
            MerchantChange.key(merchant.merchant_id, at, uuid.uuid4().hex[:8]),
            parent=MerchantChange.listed_under(merchant.merchant_id),
            merchant=merchant.merchant_id,
            by=staff.actor_id,
            at=at,
            fields=sorted(changes),
            changes=json.dumps(
                {field: {"old": old, "new": new} for field, (old, new) in changes.items()}, ensure_ascii=False
            ),
        ),
        condition=MerchantChange.pk.does_not_exist(),
        label="change",
    )
    try:
        tx.commit()
    except TransactionCancelled as cancelled:
        if "merchant" in cancelled.failed:
            get_merchant(merchant.merchant_id)  # a 404 if it is gone
            raise Conflict(
                f"{merchant.name}'s settings changed in the meantime: read them again and retry",
                code="settings_changed",
            ) from cancelled
        raise


def list_changes(
    merchant_id: str, staff: Staff, *, limit: int = CHANGES_PAGE, cursor: str | None = None
) -> dict[str, Any]:
    """The merchant's recorded changes, newest first, a page at a time (one Query of by_parent)."""
    staff.require(merchant_id, "this merchant")
    found, next_cursor = listed_page(
        MerchantChange.listed_under(merchant_id), limit=limit, cursor=cursor, newest_first=True
    )
    changes = [
        {
            "at": record.at,
            "by": record.by,
            "fields": list(record.fields or []),
            "changes": json.loads(record.changes),
        }
        for record in found
        if isinstance(record, MerchantChange)
    ]
    return {"merchant": merchant_id, "changes": changes, "next_cursor": next_cursor}
