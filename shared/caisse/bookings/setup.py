"""What staff set up for bookings: the services a merchant offers and its working hours."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from caisse.bookings import pricing
from caisse.bookings.calendar import WEEKDAYS
from caisse.catalog.admin import catalog_records, service_view
from caisse.catalog.merchant_settings import record_change
from caisse.catalog.merchant_settings import view as settings_view
from caisse.catalog.models import Merchant, Service, merchant_parent
from caisse.catalog.platform import payments_notice, taking_payments
from caisse.catalog.service import get_merchant
from caisse.errors import InvalidRequest
from caisse.money import AmountTooLarge, Money, MoneyError, check_maximum
from caisse.staff import Staff


def catalog_entry(service: Service, merchant: Merchant | None) -> dict[str, Any]:
    """A bookable service as the catalog lists it: its one id, its price and deposit, and how to
    book it (the availability route, then a booking checkout with that id)."""
    full = Money(int(service.full_price), service.currency)
    deposit = pricing.deposit(full, service.deposit_percent, service.deposit_fixed)
    merchant_id = service.merchant
    return {
        "service": service.service_id,
        "merchant": merchant_id,
        "name": service.name,
        "kind": "service",
        "duration_minutes": int(service.duration_minutes),
        "prices": {service.currency: full.amount},
        "deposit": {service.currency: deposit.amount},
        "bookable": bool(merchant and taking_payments(merchant)),
        "notice": payments_notice(merchant) if merchant else None,
        "book": {
            "availability": f"/merchants/{merchant_id}/availability?service={service.service_id}&date=YYYY-MM-DD",
            "checkout": {
                "currency": service.currency,
                "booking": {
                    "merchant": merchant_id,
                    "service": service.service_id,
                    "start": "<a start from availability>",
                },
            },
        },
    }


def put_service(merchant_id: str, service_id: str, staff: Staff, spec: dict[str, Any]) -> dict[str, Any]:
    staff.require(merchant_id, "this merchant")
    merchant = get_merchant(merchant_id)
    try:
        check_maximum(Money(spec["full_price"], spec["currency"]), "stripe")  # bookings are paid by card
        if spec["deposit"].get("fixed") is not None:
            check_maximum(Money(spec["deposit"]["fixed"], spec["currency"]), "stripe")
    except AmountTooLarge:
        raise
    except MoneyError as error:
        raise InvalidRequest(str(error), code="invalid_price") from error
    if spec["duration_minutes"] % int(merchant.slot_minutes or 30):
        raise InvalidRequest(
            f"durations are multiples of {int(merchant.slot_minutes or 30)} minutes for {merchant.name}",
            code="invalid_duration",
        )
    deposit = spec["deposit"]
    service = Service(
        Service.key(merchant_id, service_id),
        parent=merchant_parent(merchant_id),
        merchant=merchant_id,
        service_id=service_id,
        name=spec["name"],
        duration_minutes=spec["duration_minutes"],
        currency=spec["currency"],
        full_price=spec["full_price"],
        deposit_percent=deposit.get("percent"),
        deposit_fixed=deposit.get("fixed"),
        active=spec.get("active", True),
    )
    before = _service(merchant_id, service_id)
    after = service_view(service)
    if before != after:
        record_change(merchant, staff, {f"service:{service_id}": (before, after)}, [], also=(service,))
    return after


def put_hours(merchant_id: str, staff: Staff, spec: dict[str, Any]) -> dict[str, Any]:
    staff.require(merchant_id, "this merchant")
    merchant = get_merchant(merchant_id)
    timezone = spec.get("timezone") or merchant.timezone
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidRequest(f"unknown time zone {timezone!r}", code="invalid_timezone") from None
    weekly = {day: [list(span) for span in spans] for day, spans in spec["weekly"].items()}
    unknown = set(weekly) - set(WEEKDAYS)
    if unknown:
        raise InvalidRequest(f"weekdays are {', '.join(WEEKDAYS)}", code="invalid_hours")
    for spans in weekly.values():
        for opening, closing in spans:
            if not opening < closing:
                raise InvalidRequest(f"{opening}-{closing}: a span ends after it starts", code="invalid_hours")
    after = {
        "timezone": timezone,
        "weekly": weekly,
        "blocked_dates": sorted(spec.get("blocked_dates", [])),
        "slot_minutes": int(spec.get("slot_minutes") or merchant.slot_minutes or 30),
    }
    before = _hours(merchant)
    changes = {field: (before[field], value) for field, value in after.items() if before[field] != value}
    if changes:
        attributes: dict[str, Any] = {
            "timezone": Merchant.timezone,
            "weekly": Merchant.weekly_hours,
            "blocked_dates": Merchant.blocked_dates,
            "slot_minutes": Merchant.slot_minutes,
        }
        actions = [attributes[field].set(new) for field, (_, new) in changes.items()]
        merchant.timezone = timezone  # the products' copies carry the time zone
        record_change(merchant, staff, changes, actions, copies="timezone" in changes)
    return {"merchant": merchant_id, **after}


def _hours(merchant: Merchant) -> dict[str, Any]:
    return {
        "timezone": merchant.timezone,
        "weekly": merchant.weekly_hours.as_dict() if merchant.weekly_hours else {},
        "blocked_dates": list(merchant.blocked_dates or []),
        "slot_minutes": int(merchant.slot_minutes or 30),
    }


def _service(merchant_id: str, service_id: str) -> dict[str, Any] | None:
    try:
        return service_view(Service.get(Service.key(merchant_id, service_id), consistent_read=True))
    except Service.DoesNotExist:
        return None


def merchant_settings(merchant_id: str, staff: Staff) -> dict[str, Any]:
    """What a merchant is set up with, read back: the settings its staff edit (contact, languages,
    time zone, new-order email, refund policy and the platform's bounds, gallery defaults), Stripe
    onboarding, working hours and dates off, and its services."""
    staff.require(merchant_id, "this merchant")
    merchant = get_merchant(merchant_id)
    services = catalog_records(merchant_id).services
    return {
        "merchant": merchant_id,
        **settings_view(merchant),
        "order_prefix": merchant.order_prefix,
        "stages": list(merchant.stages or []),
        "connect": {
            "account": merchant.stripe_account,
            "type": merchant.connect_type,
            "charges_enabled": bool(merchant.charges_enabled),
            "payouts_enabled": bool(merchant.payouts_enabled),
            "platform_fee_bps": int(merchant.platform_fee_bps),
        },
        "hours": _hours(merchant),
        "services": [service_view(s) for s in sorted(services, key=lambda s: s.service_id)],
    }
