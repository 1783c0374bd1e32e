"""What staff set up for bookings: the services a merchant offers and its working hours."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from caisse.bookings import pricing
from caisse.bookings.calendar import WEEKDAYS
from caisse.catalog.admin import catalog_records, service_view
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
    service.save()
    return service_view(service)


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
    merchant.update(
        actions=[
            Merchant.timezone.set(timezone),
            Merchant.weekly_hours.set(weekly),
            Merchant.blocked_dates.set(sorted(spec.get("blocked_dates", []))),
            Merchant.slot_minutes.set(spec.get("slot_minutes") or int(merchant.slot_minutes or 30)),
        ]
    )
    return {
        "merchant": merchant_id,
        "timezone": timezone,
        "weekly": weekly,
        "blocked_dates": sorted(spec.get("blocked_dates", [])),
        "slot_minutes": int(spec.get("slot_minutes") or merchant.slot_minutes or 30),
    }


def merchant_settings(merchant_id: str, staff: Staff) -> dict[str, Any]:
    """What a merchant is set up with, read back: contact and language, whether staff get the
    new-order email, Stripe onboarding, working hours and dates off, and its services."""
    staff.require(merchant_id, "this merchant")
    merchant = get_merchant(merchant_id)
    _, services = catalog_records(merchant_id)
    return {
        "merchant": merchant_id,
        "name": merchant.name,
        "order_prefix": merchant.order_prefix,
        "stages": list(merchant.stages or []),
        "default_locale": merchant.default_locale,
        "timezone": merchant.timezone,
        "reply_to": merchant.reply_to,
        "staff_email": merchant.staff_email or merchant.reply_to,
        "new_order_email": merchant.new_order_email is not False,
        "connect": {
            "account": merchant.stripe_account,
            "type": merchant.connect_type,
            "charges_enabled": bool(merchant.charges_enabled),
            "payouts_enabled": bool(merchant.payouts_enabled),
            "platform_fee_bps": int(merchant.platform_fee_bps),
        },
        "hours": {
            "timezone": merchant.timezone,
            "weekly": merchant.weekly_hours.as_dict() if merchant.weekly_hours else {},
            "blocked_dates": list(merchant.blocked_dates or []),
            "slot_minutes": int(merchant.slot_minutes or 30),
        },
        "services": [service_view(s) for s in sorted(services, key=lambda s: s.service_id)],
    }
