"""A signed-up merchant's plan on the platform (Stripe Billing on the platform's own account):
subscribing (a Stripe Customer once, then a Checkout Session in subscription mode), what the
console shows of it, and Stripe Billing's events applied to the merchant.

Prices: each Checkout line is `price_data` with `recurring.interval=month`, built from the platform
configuration, rather than Prices created in Stripe beforehand: the configuration stays the one
place a plan's price is written, nothing has to be kept in step with the Stripe account, and a new
price applies to the next subscription (Stripe keeps the price each subscription was made with).

Events (settlement records each delivery once, then calls `apply`): each is applied
conditionally on the merchant's `plan_event_at` (an event older than the last applied changes
nothing) and on the subscription being the merchant's own. A change the merchant must hear about
(a payment failed, the plan lapsed, the plan active again) is written as a MerchantNotice record in the
orders table in the same transaction; the table's stream turns it into the email, like incidents.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import stripe

from caisse.catalog.document import Plan
from caisse.catalog.models import Merchant
from caisse.catalog.plans import fee_percent, find_plan
from caisse.catalog.platform import GOOD_STANDING, platform_config
from caisse.catalog.service import get_merchant
from caisse.db import Transaction, TransactionCancelled
from caisse.errors import Conflict, InvalidRequest, ProviderUnavailable
from caisse.money import Money, display
from caisse.orders.models import PLAN_CHANGE_SK, MerchantNotice, OrderRecord
from caisse.payments.base import PlanNotice
from caisse.payments.stripe.client import client
from caisse.staff import Staff

# Statuses with a subscription still running: a second one is refused while one of these holds.
# `incomplete`: its first invoice is being paid (https://docs.stripe.com/billing/subscriptions/overview).
RUNNING = GOOD_STANDING | {"incomplete"}
# Stripe gave up on the subscription: new orders stop (caisse.catalog.platform.check_taking_orders).
LAPSED = frozenset({"canceled", "unpaid", "incomplete_expired", "paused"})


class NotOnPlatform(Conflict):
    code = "not_a_platform_merchant"


class AlreadySubscribed(Conflict):
    code = "already_subscribed"


def _plan(plan_id: str) -> Plan:
    plan = find_plan(plan_id)
    if plan is not None:
        return plan
    known = ", ".join(plan.id for plan in platform_config().plans)
    raise InvalidRequest(f"the platform has no plan {plan_id!r} (plans: {known})", code="unknown_plan", field="plan")


def subscribe(
    merchant_id: str, staff: Staff, plan_id: str, currency: str, success_url: str, cancel_url: str
) -> dict[str, Any]:
    """A Checkout Session for the plan, monthly in `currency`; the merchant's Customer created once."""
    staff.require(merchant_id, "this merchant")
    merchant = get_merchant(merchant_id)
    if not merchant.business_kind:
        raise NotOnPlatform(f"{merchant.name} is not a merchant that signed up on the platform: it has no plan")
    plan = _plan(plan_id)
    currency = currency.upper()
    if currency not in plan.monthly:
        offered = ", ".join(sorted(plan.monthly))
        raise InvalidRequest(
            f"the {plan.name} plan is not sold in {currency} (it is in {offered})",
            code="currency_not_offered",
            field="currency",
        )
    if merchant.stripe_subscription and (merchant.plan_status or "") in RUNNING:
        raise AlreadySubscribed(
            f"{merchant.name} already has the {merchant.plan} plan ({merchant.plan_status}); "
            "changing plan is not available yet"
        )
    metadata = {"merchant": merchant_id, "plan": plan.id, "purpose": "plan"}
    try:
        customer = merchant.stripe_customer
        if customer:
            _expire_open_checkouts(customer)
        else:
            created = client().v1.customers.create(
                params={
                    "name": merchant.name,
                    "email": merchant.staff_email or merchant.reply_to,
                    "metadata": {"merchant": merchant_id},
                },
                options={"idempotency_key": f"billing-customer-{merchant_id}"},
            )
            customer = created.id
            merchant.update(
                actions=[Merchant.stripe_customer.set(customer)],
                condition=Merchant.stripe_customer.does_not_exist() | (Merchant.stripe_customer == customer),
            )
        session = client().v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "customer": customer,
                "line_items": [
                    {
                        "price_data": {
                            "currency": currency.lower(),
                            "unit_amount": plan.monthly[currency],
                            "recurring": {"interval": "month"},
                            "product_data": {"name": f"{plan.name} plan"},
                        },
                        "quantity": 1,
                    }
                ],
                "metadata": metadata,
                "subscription_data": {"metadata": metadata},
                "success_url": success_url,
                "cancel_url": cancel_url,
                "locale": merchant.default_locale if merchant.default_locale in ("en", "fr") else "auto",
            }
        )
    except stripe.StripeError as error:
        raise ProviderUnavailable("Stripe did not answer; try again") from error
    price = Money(plan.monthly[currency], currency)
    return {
        "merchant": merchant_id,
        "plan": plan.id,
        "monthly": {**price.as_dict(), "display": display(price)},
        "checkout_url": session.url,
    }


def _expire_open_checkouts(customer: str) -> None:
    """One plan Checkout open at a time: an older one (another tab, an earlier click) could
    otherwise be paid too and start a second subscription (expiring: docs.stripe.com/api/checkout/sessions/expire)."""
    listed = client().v1.checkout.sessions.list(params={"customer": customer, "status": "open", "limit": 100})
    for session in listed.auto_paging_iter():
        if session.mode == "subscription":
            client().v1.checkout.sessions.expire(session.id)


def billing_view(merchant_id: str, staff: Staff) -> dict[str, Any]:
    """The merchant's plan, its state, and what to do next."""
    staff.require(merchant_id, "this merchant")
    merchant = get_merchant(merchant_id)
    plan = find_plan(merchant.plan)
    status = merchant.plan_status
    billing = _billing(merchant)
    return {
        "merchant": merchant_id,
        "on_platform": bool(merchant.business_kind),
        "plan": plan.id if plan else merchant.plan,
        "plan_name": plan.name if plan else None,
        "status": status,
        "taking_orders": not merchant.suspended and (not merchant.business_kind or (status or "none") in GOOD_STANDING),
        "fee_bps": int(merchant.platform_fee_bps),
        "fee_percent": fee_percent(int(merchant.platform_fee_bps)),
        "limits": dict(plan.limits) if plan else {},
        "current_period_end": billing.get("period_end"),
        "last_invoice": billing.get("last_invoice"),
        "next_step": _next_step(merchant),
    }


def _billing(merchant: Merchant) -> dict[str, Any]:
    return merchant.billing.as_dict() if merchant.billing else {}


def _next_step(merchant: Merchant) -> dict[str, str] | None:
    if not merchant.business_kind:
        return None
    status = merchant.plan_status
    if not merchant.stripe_subscription or status is None:
        return {"action": "choose_plan", "message": "Choose a plan to start taking orders."}
    if status == "past_due":
        return {
            "action": "update_card",
            "message": "Your last payment failed. Stripe will try again; until it gives up you keep taking "
            "orders. Check the card your plan is paid with.",
        }
    if status == "incomplete":
        return {"action": "wait", "message": "Your first payment is being confirmed."}
    if status in LAPSED:
        return {
            "action": "choose_plan",
            "message": "Your plan has ended: new orders are stopped (existing ones continue). "
            "Choose a plan to take orders again.",
        }
    return None


def _day(timestamp: int | None) -> str | None:
    return datetime.fromtimestamp(int(timestamp), UTC).date().isoformat() if timestamp else None


def _merchant_context(merchant: Merchant) -> dict[str, Any]:
    return {"id": merchant.merchant_id, "name": merchant.name, "reply_to": merchant.reply_to}


def email_for(old: str | None, new: str | None, notice: PlanNotice) -> str | None:
    """Which email (a Kind value) this change calls for, if any."""
    if notice.event_type == "invoice.payment_failed":
        return "plan_payment_failed"
    if new in LAPSED and old not in LAPSED:
        return "plan_lapsed"
    if new in ("active", "trialing") and old not in ("active", "trialing"):
        return "plan_active"
    return None


def apply(notice: PlanNotice, processed: Callable[[Transaction, str], None]) -> str:
    """Apply one billing event to its merchant; the result for the delivery record (`processed`
    adds the delivery's own write to the transaction; without a transaction the caller finishes it).
    Results: plan_updated, stale, unknown_merchant, foreign_customer, other_subscription,
    unknown_plan."""
    if not notice.merchant:
        return "unknown_merchant"
    try:
        merchant = Merchant.get(Merchant.key(notice.merchant), consistent_read=True)
    except Merchant.DoesNotExist:
        return "unknown_merchant"
    if notice.customer and merchant.stripe_customer and notice.customer != merchant.stripe_customer:
        return "foreign_customer"
    current = merchant.stripe_subscription
    linking = not current or (merchant.plan_status or "") not in RUNNING
    if notice.subscription and current and notice.subscription != current and not linking:
        return "other_subscription"  # an older subscription's late news: the running one decides
    if notice.created and merchant.plan_event_at is not None and notice.created < int(merchant.plan_event_at):
        return "stale"
    plan = find_plan(notice.plan)
    if notice.plan and plan is None:
        return "unknown_plan"
    old_status = merchant.plan_status
    status = notice.status or old_status
    billing = _billing(merchant)
    if notice.period_end:
        billing["period_end"] = notice.period_end
    if notice.invoice:
        billing["last_invoice"] = notice.invoice
    actions = [
        Merchant.plan_status.set(status),
        Merchant.plan_event_at.set(notice.created),
        Merchant.billing.set(billing),
    ]
    if notice.subscription:
        actions.append(Merchant.stripe_subscription.set(notice.subscription))
    if notice.customer and not merchant.stripe_customer:
        actions.append(Merchant.stripe_customer.set(notice.customer))
    if plan is not None:
        # The plan's fee is the application fee of every payment taken for this merchant from now.
        actions += [Merchant.plan.set(plan.id), Merchant.platform_fee_bps.set(plan.fee_bps)]
    condition = Merchant.plan_event_at.does_not_exist() | (Merchant.plan_event_at <= notice.created)
    condition &= (
        Merchant.stripe_subscription.does_not_exist() | (Merchant.stripe_subscription == current)
        if current
        else Merchant.stripe_subscription.does_not_exist()
    )
    tx = Transaction()
    tx.update(merchant, actions=actions, condition=condition, label="merchant")
    kind = email_for(old_status, status, notice)
    if kind and (merchant.staff_email or merchant.reply_to):
        plan_name = plan.name if plan else merchant.plan
        context = {
            "merchant": _merchant_context(merchant),
            "plan": {
                "name": plan_name,
                "status": status,
                "invoice": notice.invoice,
                "next_attempt_on": _day(notice.invoice.get("next_attempt")) if notice.invoice else None,
            },
        }
        tx.put(
            MerchantNotice(
                MerchantNotice.key(merchant.merchant_id, notice.event_id),
                PLAN_CHANGE_SK,
                merchant=merchant.merchant_id,
                kind=kind,
                event_id=notice.event_id,
                created=notice.created,
                context=context,
            ),
            condition=OrderRecord.pk.does_not_exist(),
            label="email",
        )
    processed(tx, "plan_updated")
    try:
        tx.commit()
    except TransactionCancelled as cancelled:
        if "delivery" in cancelled.failed:
            return "duplicate"
        if "merchant" in cancelled.failed:
            return "stale"  # another event moved the merchant first: a newer one, or another subscription
        raise
    return "plan_updated"
