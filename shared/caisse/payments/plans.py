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

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
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
from caisse.payments.stripe.events import invoice_summary, subscription_state
from caisse.staff import Staff

# Statuses with a subscription still running: choosing a plan then moves it, never starts a second one.
# `incomplete`: its first invoice is being paid (https://docs.stripe.com/billing/subscriptions/overview).
RUNNING = GOOD_STANDING | {"incomplete"}
# Stripe gave up on the subscription: new orders stop (caisse.catalog.platform.check_taking_orders).
LAPSED = frozenset({"canceled", "unpaid", "incomplete_expired", "paused"})
# A card's answer to an off-session charge its bank wants confirmed (3D Secure): Stripe's card error code
# (https://docs.stripe.com/declines/codes, https://docs.stripe.com/billing/subscriptions/overview#requires-action).
AUTHENTICATION_REQUIRED = "authentication_required"
APPLY_ATTEMPTS = 3  # reads of the merchant when other events of the same change move it meanwhile
MOVED_MEANWHILE = "moved_meanwhile"


class NotOnPlatform(Conflict):
    code = "not_a_platform_merchant"


class AlreadyOnPlan(Conflict):
    code = "already_on_plan"


class NoRunningPlan(Conflict):
    code = "no_running_plan"


class PlanChangeRefused(Conflict):
    """Stripe refused to change the subscription (it ended there, or a payment is pending)."""

    code = "plan_change_refused"


class PaymentRefused(Conflict):
    """The failed invoice could not be paid now (the card declined again, or Stripe refused)."""

    code = "plan_payment_refused"


class NothingToPay(Conflict):
    code = "nothing_to_pay"


class CardPageRefused(Conflict):
    """Stripe refused to open its page for another card (e.g. the customer portal is not set up)."""

    code = "card_page_refused"


def _plan(plan_id: str) -> Plan:
    plan = find_plan(plan_id)
    if plan is not None:
        return plan
    known = ", ".join(plan.id for plan in platform_config().plans)
    raise InvalidRequest(f"the platform has no plan {plan_id!r} (plans: {known})", code="unknown_plan", field="plan")


def subscribe(
    merchant_id: str, staff: Staff, plan_id: str, currency: str, success_url: str, cancel_url: str
) -> dict[str, Any]:
    """A Checkout Session for the plan, monthly in `currency`; the merchant's Customer created once.
    A merchant whose subscription is running moves to the plan instead (`_change`): no Checkout."""
    merchant = _platform_merchant(merchant_id, staff)
    plan = _plan(plan_id)
    currency = currency.upper()
    if currency not in plan.monthly:
        offered = ", ".join(sorted(plan.monthly))
        raise InvalidRequest(
            f"the {plan.name} plan is not sold in {currency} (it is in {offered})",
            code="currency_not_offered",
            field="currency",
        )
    if _running(merchant):
        return _change(merchant, plan, currency)
    metadata = _metadata(merchant_id, plan)
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
                        "price_data": _monthly_price(plan, currency, product_data={"name": f"{plan.name} plan"}),
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
    return _answer(merchant_id, plan, currency, checkout_url=session.url)


def _platform_merchant(merchant_id: str, staff: Staff) -> Merchant:
    """The merchant, if these staff may act for it and it signed up on the platform (it has a plan)."""
    staff.require(merchant_id, "this merchant")
    merchant = get_merchant(merchant_id)
    if not merchant.business_kind:
        raise NotOnPlatform(f"{merchant.name} is not a merchant that signed up on the platform: it has no plan")
    return merchant


def _running(merchant: Merchant) -> bool:
    return bool(merchant.stripe_subscription) and (merchant.plan_status or "") in RUNNING


def _monthly_price(plan: Plan, currency: str, **product: Any) -> Any:
    """A line's `price_data`: the plan's monthly price in `currency`, for a product by id or inline
    (Any: the SDK types Checkout's and a subscription item's `price_data` apart)."""
    return {
        "currency": currency.lower(),
        "unit_amount": plan.monthly[currency],
        "recurring": {"interval": "month"},
        **product,
    }


@contextmanager
def _asking_stripe(what: str, refused: type[Conflict] = PlanChangeRefused) -> Iterator[None]:
    """Stripe's refusal of a request, or of the card it charges, is the merchant's 409; Stripe not
    answering, a 503."""
    try:
        yield
    except stripe.CardError as error:
        if error.code == AUTHENTICATION_REQUIRED:  # 3D Secure: only the card holder, on a page, can answer
            raise refused(
                f"the bank of the card your plan is paid with asks to confirm the payment, "
                f"so {what} was not made and your plan is unchanged",
                reason=AUTHENTICATION_REQUIRED,
            ) from error
        raise refused(
            f"the card your plan is paid with was declined ({error.user_message or error.code}), "
            f"so {what} was not made and your plan is unchanged",
            reason="card_declined",  # the console says it in the merchant's language
        ) from error
    except stripe.InvalidRequestError as error:
        raise refused(f"Stripe refused {what}: {error.user_message or error}") from error
    except stripe.StripeError as error:
        raise ProviderUnavailable("Stripe did not answer; try again") from error


def _metadata(merchant_id: str, plan: Plan) -> dict[str, str]:
    """What Caisse reads back from every billing event: whose plan, and which."""
    return {"merchant": merchant_id, "plan": plan.id, "purpose": "plan"}


def _answer(merchant_id: str, plan: Plan, currency: str, **more: Any) -> dict[str, Any]:
    price = Money(plan.monthly[currency], currency)
    return {"merchant": merchant_id, "plan": plan.id, "monthly": {**price.as_dict(), "display": display(price)}, **more}


def _change(merchant: Merchant, plan: Plan, currency: str) -> dict[str, Any]:
    """Move a running subscription to `plan` at once. Stripe prorates what is left of the period and
    invoices the difference now, charging the card it already has (a lower price leaves a credit
    for the next invoices): proration_behavior=always_invoice
    (https://docs.stripe.com/billing/subscriptions/change-price, /billing/subscriptions/prorations).
    The subscription's metadata names the new plan, so the merchant's plan and fee follow when
    `customer.subscription.updated` arrives (`apply`), as every other change of the plan does.
    A subscription keeps its currency (Stripe refuses another), so the plan must be paid in it.
    The move stands only if its difference is paid: payment_behavior=error_if_incomplete makes Stripe
    refuse the whole update with the card's 402 when the card declines or asks for authentication
    (https://docs.stripe.com/api/subscriptions/update#update_subscription-payment_behavior), where
    its default would keep the dearer plan with the subscription past_due, its lower fee taken
    meanwhile. A move to a cheaper plan charges nothing, so no card stands in its way."""
    ending = bool(_billing(merchant).get("ends_at"))
    if merchant.plan == plan.id and ending:
        return _answer(
            merchant.merchant_id, plan, currency, checkout_url=None, kept=True, **_end_at_period_end(merchant, False)
        )
    if merchant.plan == plan.id:
        raise AlreadyOnPlan(f"{merchant.name} already has the {plan.name} plan")
    if merchant.plan_status == "incomplete":
        raise PlanChangeRefused(
            f"{merchant.name}'s first payment for its plan is still being confirmed; try again after"
        )
    subscription_id = merchant.stripe_subscription
    with _asking_stripe("the change of plan"):
        subscription = client().v1.subscriptions.retrieve(subscription_id)
        paid_in = subscription.currency.upper()
        if currency != paid_in:
            raise InvalidRequest(
                f"{merchant.name}'s plan is paid in {paid_in}; a change of plan keeps that currency",
                code="currency_not_changeable",
                field="currency",
            )
        item = subscription["items"].data[0]  # `items` alone is the dict method
        # A retried click repeats the key, a new change does not; nor does a try after a declined card,
        # as Stripe keeps a declined charge's answer for its key (docs.stripe.com/api/idempotent_requests).
        declined = int(merchant.plan_moves_declined or 0)
        transition = f"{subscription_id}-{item.price.id}-{plan.id}-{declined}"
        product = client().v1.products.create(
            params={"name": f"{plan.name} plan", "metadata": {"plan": plan.id}},
            options={"idempotency_key": f"plan-product-{transition}"},
        )
        try:
            updated = client().v1.subscriptions.update(
                subscription_id,
                params={
                    "items": [
                        {"id": item.id, "price_data": _monthly_price(plan, currency, product=product.id), "quantity": 1}
                    ],
                    "metadata": _metadata(merchant.merchant_id, plan),
                    "proration_behavior": "always_invoice",
                    "payment_behavior": "error_if_incomplete",
                    # A merchant that picks another plan means to go on: an end it asked for is undone.
                    "cancel_at_period_end": False,
                },
                options={"idempotency_key": f"plan-change-{transition}"},
            )
        except stripe.CardError:
            merchant.update(actions=[Merchant.plan_moves_declined.add(1)])  # the next try gets a key of its own
            raise
    return _answer(
        merchant.merchant_id,
        plan,
        currency,
        checkout_url=None,
        changing_from=merchant.plan,
        invoice=updated.latest_invoice if isinstance(updated.latest_invoice, str) else None,
    )


def end_plan(merchant_id: str, staff: Staff) -> dict[str, Any]:
    """End the merchant's plan when the period it paid for ends: Stripe's `cancel_at_period_end`
    (https://docs.stripe.com/billing/subscriptions/cancel). Orders go on until then; choosing the
    plan again before then keeps it. Asking twice ends it once."""
    merchant = _platform_merchant(merchant_id, staff)
    if not _running(merchant):
        raise NoRunningPlan(f"{merchant.name} has no running plan to end")
    return {"merchant": merchant_id, "plan": merchant.plan, **_end_at_period_end(merchant, True)}


def _end_at_period_end(merchant: Merchant, end: bool) -> dict[str, Any]:
    """Ask Stripe to end the subscription at its period's end (or no longer); when it ends."""
    with _asking_stripe("the end" if end else "to keep the plan"):
        # No idempotency key of ours: asking twice sets the same value, which Stripe does once.
        updated = client().v1.subscriptions.update(merchant.stripe_subscription, params={"cancel_at_period_end": end})
    return {"ends_at": updated.cancel_at if updated.cancel_at_period_end else None}


def card_page(merchant_id: str, staff: Staff, done_url: str, back_url: str) -> dict[str, Any]:
    """Where the merchant's staff give Stripe another card for the plan: Stripe's customer portal,
    opened at its payment-method update (the `payment_method_update` flow,
    https://docs.stripe.com/customer-management/portal-deep-links), which comes back to `done_url`
    once the card is saved; `back_url` is its way back without one. The portal sets the card as
    the Customer's invoice default, so the subscription is first made to pay with that default
    (`_follow_customer_card`). The card then pays the next charge: a renewal, a move to a dearer
    plan, or Stripe's next retry of a failed invoice. Each click opens a new session: Stripe's are
    short-lived and for one visit."""
    merchant = _platform_merchant(merchant_id, staff)
    if not merchant.stripe_customer:
        raise NoRunningPlan(f"{merchant.name} has no card with Stripe yet: choose a plan first")
    with _asking_stripe("to open its card page", refused=CardPageRefused):
        if _running(merchant):  # an ended subscription takes no changes, and charges nothing more
            _follow_customer_card(merchant.stripe_customer, merchant.stripe_subscription)
        session = client().v1.billing_portal.sessions.create(
            params={
                "customer": merchant.stripe_customer,
                "return_url": back_url,
                "locale": "auto",  # the staff's browser's language, as the console uses
                "flow_data": {
                    "type": "payment_method_update",
                    "after_completion": {"type": "redirect", "redirect": {"return_url": done_url}},
                },
            }
        )
    return {"merchant": merchant_id, "url": session.url}


def pay_now(merchant_id: str, staff: Staff) -> dict[str, Any]:
    """Pay the plan's failed invoice now rather than at Stripe's next retry, typically just after
    giving another card (https://docs.stripe.com/api/invoices/pay: the card the invoice would use).
    The plan is active again when Stripe's `invoice.paid` arrives, as after any payment. Clicked
    twice, the second finds the invoice paid: Stripe refuses to pay it again, and the answer is the
    same. A card whose bank asks to confirm the payment (3D Secure) cannot be charged from here:
    the refusal carries the invoice's page at Stripe (`confirm_url`), where the card holder pays it
    and confirms."""
    merchant = _platform_merchant(merchant_id, staff)
    invoice = _billing(merchant).get("last_invoice") or {}
    if merchant.plan_status != "past_due" or invoice.get("paid") or not invoice.get("id"):
        raise NothingToPay(f"{merchant.name}'s plan has no failed payment to make again")
    try:
        with _asking_stripe("the payment", refused=PaymentRefused):
            try:
                paid = client().v1.invoices.pay(invoice["id"])
            except stripe.InvalidRequestError:
                paid = client().v1.invoices.retrieve(invoice["id"])
                if paid.status != "paid":
                    raise
    except PaymentRefused as refused:
        if refused.details.get("reason") == AUTHENTICATION_REQUIRED:  # the card holder confirms on Stripe's page
            refused.details["confirm_url"] = invoice.get("page") or _invoice_page(invoice["id"])
        raise
    return {"merchant": merchant_id, "invoice": invoice_summary(paid.to_dict(), True, invoice["at"])}


def _invoice_page(invoice_id: str) -> str | None:
    """The invoice's own page at Stripe (`hosted_invoice_url`), where the card holder pays it and
    confirms with the bank when it asks (https://docs.stripe.com/invoicing/hosted-invoice-page)."""
    try:
        return client().v1.invoices.retrieve(invoice_id).hosted_invoice_url
    except stripe.StripeError:
        return None  # the refusal is told anyway, without the link


def _follow_customer_card(customer_id: str, subscription_id: str) -> None:
    """Checkout keeps the card it took on the subscription (`default_payment_method`), and that card
    wins over the Customer's invoice default, the one the portal changes
    (https://docs.stripe.com/api/invoices/object#invoice_object-default_payment_method). The
    subscription's own is unset (an empty string, docs.stripe.com/api/subscriptions/update), after
    making that same card the Customer's default if it has none: the same card pays until another
    is saved. Done once; later calls find nothing kept on the subscription."""
    kept = client().v1.subscriptions.retrieve(subscription_id).default_payment_method
    if not kept:
        return
    kept_id = kept if isinstance(kept, str) else kept.id
    customer = client().v1.customers.retrieve(customer_id)
    if not (customer.invoice_settings and customer.invoice_settings.default_payment_method):
        client().v1.customers.update(customer_id, params={"invoice_settings": {"default_payment_method": kept_id}})
    client().v1.subscriptions.update(subscription_id, params={"default_payment_method": ""})


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
        "ends_at": billing.get("ends_at"),
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
            "orders. If the card no longer works, give Stripe another.",
        }
    if status == "incomplete":
        return {"action": "wait", "message": "Your first payment is being confirmed."}
    ends_at = _billing(merchant).get("ends_at")
    if ends_at and status in RUNNING:
        return {
            "action": "keep_plan",
            "message": f"Your plan ends on {_day(ends_at)}: until then you keep taking orders. "
            "Choose it again to keep it.",
        }
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


def email_for(
    old: str | None,
    new: str | None,
    notice: PlanNotice,
    *,
    other_plan: bool = False,
    ending: bool = False,
    told: dict[str, Any] | None = None,
) -> str | None:
    """Which email (a Kind value) this change calls for, if any. `other_plan`: the event moves a
    running subscription to another plan; `ending`: the subscription is now set to end; `told`:
    the last invoice the merchant's billing kept before this event."""
    invoice = notice.invoice or {}
    if notice.event_type == "invoice.payment_failed" and not invoice.get("paid"):  # paid since: as_stripe_has_it
        if told and told.get("id") == invoice.get("id") and not told.get("paid"):
            return None  # told when it first failed: Stripe's retries and a declined Pay now fail it again
        return "plan_payment_failed"
    if new in LAPSED and old not in LAPSED:
        return "plan_lapsed"
    if new in ("active", "trialing") and old not in ("active", "trialing"):
        return "plan_active"
    if other_plan and new in RUNNING:
        return "plan_changed"
    if ending and new in RUNNING:
        return "plan_ending"
    return None


def as_stripe_has_it(notice: PlanNotice) -> PlanNotice:
    """The event's subscription (and invoice) as Stripe has them now, rather than as the event
    showed them. Stripe does not deliver events in order (https://docs.stripe.com/webhooks#event-ordering)
    and `created` is to the second, so two changes in one second cannot be told apart by it: with
    each event applying the latest state, the last one applied leaves the merchant as Stripe has
    it, whatever the order. Stripe's own advice for ordering is this read. A subscription's event
    gets the subscription's latest invoice once it is paid, so "active again" says what was paid
    even when it is applied before that invoice's own event. A subscription Stripe does not know (a
    test's own event) is taken as the event shows it; Stripe not answering is a 503, and Stripe
    delivers the event again."""
    if not notice.subscription:
        return notice
    invoice_id = (notice.invoice or {}).get("id")
    try:
        current = client().v1.subscriptions.retrieve(notice.subscription, params={"expand": ["latest_invoice"]})
        latest = current.latest_invoice if not isinstance(current.latest_invoice, str) else None
        if invoice_id and (latest is None or latest.id != invoice_id):
            latest = client().v1.invoices.retrieve(invoice_id)
        invoice = latest if invoice_id or (latest is not None and latest.status == "paid") else None
    except stripe.InvalidRequestError as error:
        if error.code == "resource_missing":
            return notice
        raise ProviderUnavailable("Stripe refused to show the event's subscription; try again") from error
    except stripe.StripeError as error:
        raise ProviderUnavailable(
            "Stripe did not answer; its event is applied when Stripe delivers it again"
        ) from error
    status, metadata, period_end = subscription_state(current.to_dict())
    fresh = replace(
        notice,
        status=status,
        plan=metadata.get("plan") or notice.plan,
        period_end=int(period_end) if period_end else notice.period_end,
        tells_end=True,
        ends_at=None if status in LAPSED else current.cancel_at,
    )
    if invoice is None:
        return fresh
    at = notice.invoice["at"] if notice.invoice else notice.created
    return replace(fresh, invoice=invoice_summary(invoice.to_dict(), invoice.status == "paid", at))


def apply(notice: PlanNotice, processed: Callable[[Transaction, str], None]) -> str:
    """Apply one billing event to its merchant; the result for the delivery record (`processed`
    adds the delivery's own write to the transaction; without a transaction the caller finishes it).
    Results: plan_updated, stale, unknown_merchant, foreign_customer, other_subscription,
    unknown_plan, duplicate.

    Two events of one change (the subscription's update and its invoice) may be applied at once:
    the write is conditional on the merchant as read, and the one that finds it moved reads it
    again, so each event's news is kept and the change's email is written once."""
    if not notice.merchant:
        return "unknown_merchant"
    for _ in range(APPLY_ATTEMPTS):
        result = _apply_once(notice.merchant, notice, processed)
        if result != MOVED_MEANWHILE:
            return result
    return "stale"


def _apply_once(merchant_id: str, notice: PlanNotice, processed: Callable[[Transaction, str], None]) -> str:
    try:
        merchant = Merchant.get(Merchant.key(merchant_id), consistent_read=True)
    except Merchant.DoesNotExist:
        return "unknown_merchant"
    if notice.customer and merchant.stripe_customer and notice.customer != merchant.stripe_customer:
        return "foreign_customer"
    current = merchant.stripe_subscription
    linking = not _running(merchant)
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
    told = billing.get("last_invoice") or {}
    if notice.period_end:
        billing["period_end"] = notice.period_end
    if notice.invoice:
        billing["last_invoice"] = notice.invoice
    was_ending = bool(billing.get("ends_at"))
    if notice.tells_end:
        billing["ends_at"] = notice.ends_at
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
    other_plan = plan is not None and merchant.plan is not None and plan.id != merchant.plan
    condition = Merchant.plan_event_at.does_not_exist() | (Merchant.plan_event_at <= notice.created)
    if other_plan:
        condition &= Merchant.plan == merchant.plan
    condition &= (
        Merchant.stripe_subscription.does_not_exist() | (Merchant.stripe_subscription == current)
        if current
        else Merchant.stripe_subscription.does_not_exist()
    )
    tx = Transaction()
    tx.update(merchant, actions=actions, condition=condition, label="merchant")
    ending = bool(billing.get("ends_at")) and not was_ending
    kind = email_for(old_status, status, notice, other_plan=other_plan, ending=ending, told=told)
    if kind and (merchant.staff_email or merchant.reply_to):
        plan_name = plan.name if plan else merchant.plan
        before = find_plan(merchant.plan) if other_plan else None
        context = {
            "merchant": _merchant_context(merchant),
            "plan": {
                "name": plan_name,
                "previous": before.name if before else None,
                "fee_bps": plan.fee_bps if plan else None,
                "status": status,
                "invoice": notice.invoice,
                "next_attempt_on": _day(notice.invoice.get("next_attempt")) if notice.invoice else None,
                "ends_on": _day(billing.get("ends_at")),
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
            return MOVED_MEANWHILE  # another event moved the merchant first: read it again
        raise
    return "plan_updated"
