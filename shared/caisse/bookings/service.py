"""Booking a merchant's time: availability, the deposit checkout on the merchant's own Stripe
account, the balance after the job, and cancelling.

A booking is an order with a `booking` part. Its time is held by one Slot record per step of the
merchant's grid it covers, written with the order in one transaction on condition that none
exists: two customers can never hold the same time. Slots go when the order expires or is
cancelled, like stock holds.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, cast
from zoneinfo import ZoneInfo

from pynamodb.exceptions import DeleteError

from caisse.bookings import calendar, pricing
from caisse.catalog.models import Merchant, Service
from caisse.catalog.plans import plan_limit
from caisse.catalog.platform import (
    check_taking_orders,
    check_taking_payments,
    payments_notice,
    platform_fee,
    taking_payments,
)
from caisse.catalog.service import CartLine
from caisse.clock import iso, utcnow
from caisse.config import settings
from caisse.db import TransactionCancelled, batch_get
from caisse.errors import CaisseError, Conflict, InvalidRequest, NotFound
from caisse.money import Money, check_maximum
from caisse.orders import capacity, personal, states
from caisse.orders.checkout import BookingRequest, CheckoutRequest, new_order_transaction, next_order_number
from caisse.orders.models import ORDER_SK, LineItem, Order, OrderRecord, Slot, order_pk
from caisse.orders.refunds import most_in_one_refund
from caisse.orders.service import change_status_by_staff, load, record_action
from caisse.payments.checkout import Draft, spec_for
from caisse.payments.refunds import request_refund
from caisse.payments.registry import load as load_provider
from caisse.phones import international
from caisse.staff import Staff

if TYPE_CHECKING:
    from caisse.payments.stripe.provider import Stripe

BOOKINGS_PER_MONTH: Final = "bookings_per_month"  # the plan's limit a booking counts against


class SlotTaken(Conflict):
    code = "slot_taken"


def hours_of(merchant: Merchant) -> calendar.Hours:
    weekly = merchant.weekly_hours.as_dict() if merchant.weekly_hours else {}
    return calendar.Hours(
        merchant.timezone or "UTC", weekly, frozenset(merchant.blocked_dates or []), int(merchant.slot_minutes or 30)
    )


def _merchant_and_service(merchant_id: str, service_id: str) -> tuple[Merchant, Service]:
    found = {
        type(r): r
        for r in batch_get(
            [(Merchant, Merchant.key(merchant_id), None), (Service, Service.key(merchant_id, service_id), None)]
        )
    }
    if Merchant not in found:
        raise NotFound("no such merchant")
    if Service not in found or not found[Service].active:
        raise NotFound("no such service", code="unknown_service")
    return found[Merchant], found[Service]


def _taken(merchant_id: str, day: date) -> list[datetime]:
    return [
        datetime.fromisoformat(record.sk)
        for record in OrderRecord.query(Slot.partition(merchant_id, day.isoformat()), consistent_read=True)
        if isinstance(record, Slot)
    ]


def availability(merchant_id: str, service_id: str, day: date, now: datetime | None = None) -> dict[str, Any]:
    merchant, service = _merchant_and_service(merchant_id, service_id)
    hours = hours_of(merchant)
    free = calendar.starts(hours, day, int(service.duration_minutes), _taken(merchant_id, day), now or utcnow())
    zone = ZoneInfo(hours.timezone)
    return {
        "merchant": merchant_id,
        "service": {"id": service.service_id, "name": service.name, "duration_minutes": int(service.duration_minutes)},
        "date": day.isoformat(),
        "timezone": hours.timezone,
        "bookable": taking_payments(merchant),
        "notice": payments_notice(merchant),
        "slots": [{"start": start.astimezone(zone).isoformat(), "start_utc": iso(start)} for start in free],
    }


def _fixed_start(start: datetime) -> datetime:
    if start.tzinfo is None:
        raise InvalidRequest("give the start with its UTC offset, e.g. 2026-12-03T09:00:00+11:00", code="invalid_start")
    return start


class Booking:
    """A merchant's time, sold through the one checkout pipeline (caisse.payments.checkout): the
    deposit is the order's total, the slots are held in the order's transaction, and the checkout
    is opened on the merchant's connected Stripe account with the platform's fee."""

    def reads(self, request: CheckoutRequest) -> list[tuple[Any, Any, Any]]:
        asked = _asked(request)
        return [
            (Merchant, Merchant.key(asked.merchant), None),
            (Service, Service.key(asked.merchant, asked.service), None),
        ]

    def fingerprint(self, request: CheckoutRequest, token_key: str) -> str:
        return request.fingerprint(token_key) + _fixed_start(_asked(request).start).isoformat()

    def draft(
        self, found: list[Any], request: CheckoutRequest, order_id: str, now: datetime, fingerprint: str
    ) -> Draft:
        asked = _asked(request)
        start = _fixed_start(asked.start)
        records = {type(record): record for record in found}
        merchant, service = records.get(Merchant), records.get(Service)
        if merchant is None:
            raise NotFound("no such merchant")
        if service is None or not service.active:
            raise NotFound("no such service", code="unknown_service")
        check_taking_orders(merchant)
        check_taking_payments(merchant)
        if request.currency != service.currency:
            raise InvalidRequest(f"{service.name} is priced in {service.currency}", code="currency_not_offered")
        if start <= now:
            raise InvalidRequest("that time has passed", code="start_in_the_past")
        hours = hours_of(merchant)
        day = calendar.local_day(start, hours.timezone)
        if start.astimezone(ZoneInfo("UTC")) not in calendar.starts(hours, day, int(service.duration_minutes), [], now):
            raise InvalidRequest(
                f"{merchant.name} does not start a {service.name} at that time; "
                f"see GET /merchants/{merchant.merchant_id}/availability",
                code="not_bookable",
            )
        phone = international(request.customer_phone, merchant.country) if request.customer_phone else None
        order = _pending_booking(order_id, request, phone, merchant, service, start, hours, now, fingerprint)
        transaction = new_order_transaction(order, now)
        for partition, step in order.booking.as_dict()["slots"]:
            transaction.put(
                Slot(partition, step, merchant=merchant.merchant_id, order_id=order_id, start=step),
                condition=OrderRecord.sk.does_not_exist(),
                label=f"slot:{step}",
            )
        allowed = plan_limit(merchant, BOOKINGS_PER_MONTH)
        if allowed is not None:  # counted in the merchant's month, given back if the checkout lapses
            month = now.astimezone(ZoneInfo(hours.timezone)).strftime("%Y-%m")
            capacity.take_monthly(transaction, order, BOOKINGS_PER_MONTH, int(allowed), month)

        def refusal(cancelled: TransactionCancelled) -> CaisseError | None:
            if "plan_limit" in cancelled.failed:
                return capacity.PlanLimitReached(
                    f"{merchant.name} has taken {allowed} bookings this month, the most its plan allows; "
                    "try again next month",
                    limit=BOOKINGS_PER_MONTH,
                    allowed=allowed,
                )
            return _slot_taken(cancelled)

        return Draft(order, transaction, spec_for(order), load_provider("stripe", merchant.stripe_account), refusal)

    def view(self, order: Order) -> dict[str, Any]:
        return _booking_view(order)


BOOKING = Booking()


def _asked(request: CheckoutRequest) -> BookingRequest:
    assert request.booking is not None, "a booking checkout names the merchant's time"
    return request.booking


def _slot_taken(cancelled: TransactionCancelled) -> SlotTaken | None:
    if any(label.startswith("slot:") for label in cancelled.failed):
        return SlotTaken("someone booked that time a moment ago; pick another")
    return None


def _pending_booking(
    order_id: str,
    request: CheckoutRequest,
    phone: str | None,
    merchant: Merchant,
    service: Service,
    start: datetime,
    hours: calendar.Hours,
    now: datetime,
    fingerprint: str,
) -> Order:
    """The pending order of a booking: the deposit as its one line, the time it holds, and the
    merchant's connected account it is paid on. The phone, address and notes are sealed here,
    before anything is written (caisse.orders.personal)."""
    full = Money(int(service.full_price), service.currency)
    deposit = check_maximum(pricing.deposit(full, service.deposit_percent, service.deposit_fixed), "stripe")
    fee = platform_fee(deposit, int(merchant.platform_fee_bps))
    steps = calendar.covered(start, int(service.duration_minutes), hours.step_minutes)
    zone = ZoneInfo(hours.timezone)
    slots = [
        (Slot.partition(merchant.merchant_id, step.astimezone(zone).date().isoformat()), iso(step)) for step in steps
    ]
    booking = {
        "service_id": service.service_id,
        "service": service.name,
        "start": iso(start),
        "end": iso(start + timedelta(minutes=int(service.duration_minutes))),
        "local_start": start.astimezone(zone).isoformat(),
        "timezone": hours.timezone,
        "full_price": full.as_dict(),
        "deposit": deposit.as_dict(),
        "platform_fee": fee.as_dict(),
        "platform_fee_bps": int(merchant.platform_fee_bps),
        "slots": [list(slot) for slot in slots],
    }
    rules = merchant.booking_rules.as_dict() if merchant.booking_rules else {}
    return Order(
        order_pk(order_id),
        ORDER_SK,
        order_id=order_id,
        order_number=next_order_number(merchant.order_prefix, now.year),
        merchant=merchant.merchant_id,
        merchant_contact=merchant.contact(),
        status=states.PENDING_PAYMENT,
        money_state=states.UNPAID,
        version=1,
        currency=deposit.currency,
        total_amount=deposit.amount,
        items=[
            LineItem(sku=service.service_id, name=f"Deposit: {service.name}", quantity=1, unit_amount=deposit.amount)  # type: ignore[no-untyped-call]  # pynamodb's constructor
        ],
        customer=personal.customer(
            order_id,
            request.customer_name,
            request.customer_email,
            request.locale or merchant.default_locale or "en",
            phone,
        ),
        job_sealed=personal.seal_job(order_id, _asked(request).job),
        stages=list(merchant.stages or []),
        provider="stripe",
        request_fingerprint=fingerprint,
        created_at=iso(now),
        updated_at=now,
        expires_at=now + timedelta(minutes=settings().checkout_ttl_minutes),
        connect_account=merchant.stripe_account,
        booking=booking,
        refund_policy=rules.get("refund_policy"),
    )


def _booking_view(order: Order) -> dict[str, Any]:
    booking = order.booking.as_dict() if order.booking else {}
    return {
        "booking": {
            "booking_id": order.order_id,
            "service": booking.get("service"),
            "start": booking.get("local_start"),
            "timezone": booking.get("timezone"),
            "full_price": booking.get("full_price"),
            "deposit": booking.get("deposit"),
            "card_saved_for_balance": True,
            "terms": "Your card is kept by the merchant's payment provider to charge the balance after the job.",
        }
    }


def _paid_booking(order_id: str, staff: Staff) -> tuple[Any, dict[str, Any]]:
    bundle = load(order_id)
    if bundle is None or not bundle.order.booking:
        raise NotFound("no such booking")
    staff.require(bundle.order.merchant, "this booking")
    return bundle, bundle.order.booking.as_dict()


def charge_balance(order_id: str, staff: Staff, final_amount: int) -> dict[str, Any]:
    """Charge what is left after the job on the card saved at booking, once per booking."""
    bundle, booking = _paid_booking(order_id, staff)
    order = bundle.order
    balance = order.balance.as_dict() if order.balance else {}
    if balance.get("status") == "paid":
        return {"booking_id": order_id, **balance, "replayed": True}
    if (order.money_state or states.UNPAID) not in states.REFUNDABLE or order.status in states.CLOSED:
        raise Conflict(
            f"the deposit of this booking is not paid ({order.status}, money {order.money_state})",
            current=order.status,
        )
    deposit = Money(int(booking["deposit"]["amount"]), booking["deposit"]["currency"])
    due = pricing.balance(check_maximum(Money(final_amount, deposit.currency), "stripe"), deposit)
    fee = platform_fee(due, int(booking.get("platform_fee_bps", 250)))
    saved = order.saved_payment.as_dict() if order.saved_payment else {}
    provider = cast("Stripe", load_provider("stripe", order.connect_account))  # saved cards: Stripe's
    if due.amount and saved.get("customer") and not saved.get("payment_method") and order.payment_ref:
        # The deposit's Checkout Session named the customer; the card is on its PaymentIntent.
        saved["payment_method"] = provider.payment_method_of(order.payment_ref)
    result: dict[str, Any]
    if due.amount == 0:
        result = {"status": "paid", "amount": due.as_dict(), "payment_ref": None}
    elif not (saved.get("customer") and saved.get("payment_method")):
        raise Conflict("no card was saved with this booking's deposit", code="no_saved_card")
    else:
        charge = provider.charge_saved_card(
            due,
            fee,
            saved["customer"],
            saved["payment_method"],
            idempotency_key=f"balance-{order_id}",
            metadata={"order_id": order_id, "purpose": "balance"},
        )
        if charge.status == "succeeded":
            result = {
                "status": "paid",
                "amount": due.as_dict(),
                "fee": fee.as_dict(),
                "payment_ref": charge.payment_ref,
            }
        else:
            link = _balance_link(order, provider, due, fee)
            result = {
                "status": "due",
                "amount": due.as_dict(),
                "fee": fee.as_dict(),
                "reason": charge.code,
                "link": link,
                "attempt": int(balance.get("attempt", 0)) + 1,
            }
    charged = result["status"] == "paid" and result.get("payment_ref")
    record_action(
        order_id,
        staff,
        "balance_charged",
        changes={"status": result["status"], "amount": result["amount"], "final_amount": final_amount},
        writes=lambda bundle, tx: [Order.balance.set(result)],
        balance={**result, "final_amount": final_amount, "paid_at": iso(utcnow())} if charged else None,
    )
    return {"booking_id": order_id, **result, "replayed": False}


def _balance_link(order: Order, provider: Any, due: Money, fee: Money) -> str:
    """A payment page for the balance, on the merchant's account, for the customer to pay."""
    booking = order.booking.as_dict()
    opened = provider.open_checkout(
        spec_for(
            order,
            [CartLine(booking["service_id"], f"Balance: {booking['service']}", 1, due, False)],
            total=due,
            expires_at=utcnow() + timedelta(hours=23),
            idempotency_key=f"balance-link-{order.order_id}-{due.amount}",
            application_fee=fee,
            save_card=False,
            purpose="balance",
        )
    )
    return str(opened.next_action["url"])


def cancel_booking(order_id: str, staff: Staff, reason: str | None, idempotency_key: str | None) -> dict[str, Any]:
    """Free the time; refund what the merchant's rule allows (the platform fee in proportion); the
    order is cancelled (a refund moves the money, the cancellation the lifecycle)."""
    bundle, booking = _paid_booking(order_id, staff)
    order = bundle.order
    refunds: list[dict[str, Any]] = []
    if order.status in states.HOLDING:
        change_status_by_staff(order_id, states.CANCELLED, staff, message=reason)  # releases the slots too
    else:
        refunds = _refund_allowed(order_id, staff, reason or "booking cancelled", idempotency_key)
        release_slots(order_id, booking.get("slots", []))
        booking["cancelled_at"] = iso(utcnow())
        order.update(actions=[Order.booking.set(booking)], condition=Order.pk.exists())
        reloaded = load(order_id)
        if reloaded is not None and bundle.workflow.can(reloaded.order.status, states.CANCELLED, states.Actor.STAFF):
            change_status_by_staff(order_id, states.CANCELLED, staff, message=reason or "booking cancelled")
    reloaded = load(order_id)
    return {
        "booking_id": order_id,
        "status": reloaded.order.status if reloaded else None,
        "money_state": reloaded.order.money_state if reloaded else None,
        "refund": refunds[0] if refunds else None,
        "refunds": refunds,  # two when the balance was paid: each payment is refunded on its own
        "slots_freed": True,
    }


def _refund_allowed(order_id: str, staff: Staff, reason: str, idempotency_key: str | None) -> list[dict[str, Any]]:
    """What the merchant's rule lets go back, one refund per payment it takes (a deposit, then a
    balance already paid); the first keeps the request's idempotency key, so a retry replays it."""
    done = []
    for part in range(2):
        bundle = load(order_id)
        amount = most_in_one_refund(bundle).amount if bundle is not None else 0
        if amount <= 0:
            break
        key = f"{idempotency_key}:{part}" if idempotency_key and part else idempotency_key
        done.append(request_refund(order_id, staff, amount, reason, key))
    return done


def release_slots(order_id: str, slots: list[list[str]]) -> None:
    """Delete the booking's slot records (each only if it is still this order's)."""
    for partition, step in slots:
        try:
            Slot(partition, step).delete(condition=Slot.order_id == order_id)
        except DeleteError:
            pass  # already freed, or someone else's now
