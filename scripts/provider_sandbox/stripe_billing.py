"""Stripe Billing for the sandbox: Customers and Products created by API, Checkout in subscription mode,
the Subscriptions and Invoices it makes, and price changes with their prorations, with the events
Stripe sends for them.

Behaviour, each as Stripe documents it:
- A subscription-mode Checkout Session, once paid, has created a Customer (or used the one passed),
  an active Subscription and its first Invoice (billing_reason subscription_create), paid; it emits
  checkout.session.completed (mode subscription, with `subscription` and `customer`),
  customer.subscription.created and invoice.paid
  (https://docs.stripe.com/billing/subscriptions/build-subscriptions?ui=stripe-hosted#provision-and-monitor).
- The subscription's metadata is Checkout's `subscription_data[metadata]`; each invoice carries it
  under `parent.subscription_details` (API 2025-03-31 and later; stripe/openapi fixtures3.json).
  The period is on the subscription's items (`current_period_start/end`, same versions).
- A renewal whose payment fails leaves the invoice open with `next_payment_attempt` (Smart Retries)
  and the subscription `past_due`: invoice.payment_failed, customer.subscription.updated
  (https://docs.stripe.com/billing/subscriptions/overview#failed-payments). Stripe's own way to
  reach a renewal in test mode is a test clock and a declining card
  (https://docs.stripe.com/billing/testing/test-clocks); the sandbox's control
  `POST /_sandbox/stripe/subscriptions/{id}/renew` {"payment": "fails" | "succeeds"} renews now (without
  `payment`, the card the invoice charges decides: see "Which card an invoice charges" below).
- POST /v1/products makes a Product (`name` required; `description`, `active`, `metadata`) and emits
  product.created (https://docs.stripe.com/api/products/create); a Checkout line's `product_data`
  makes one too, so the subscription's products can be read back.
- POST /v1/subscriptions/{id} changes an item's price: `items[]` names an existing item (`id`) and
  its new `price_data` (`currency`, `product` of the same account, `unit_amount`, `recurring`) and
  `quantity`; the new Price takes the item's place at once, the period and anchor unchanged
  (https://docs.stripe.com/api/subscriptions/update,
  https://docs.stripe.com/billing/subscriptions/change-price). `metadata` is merged, an empty value
  unsets its key (https://docs.stripe.com/metadata). customer.subscription.updated carries the old
  `items` (and `metadata`, `latest_invoice`, `status` when they changed) in `previous_attributes`.
  Refused as Stripe does: a canceled subscription (metadata only), an unknown item or product, a
  missing price, a price in another currency (Stripe's "You cannot combine currencies on a single
  customer" answer). `payment_behavior` `allow_incomplete` (the default) applies the change even if
  its invoice cannot be paid; `error_if_incomplete` refuses it with the card's 402 error, nothing
  changed. Not supported here, with a clear message: adding items, `items[][price]` (the sandbox
  has no Prices), a change of interval, `pending_if_incomplete` and `default_incomplete`.
- Prorations (https://docs.stripe.com/billing/subscriptions/prorations): for the seconds left in the
  period after `proration_date` (default now), an invoice item crediting "Unused time on <product>
  after <day>" at the old price and one charging "Remaining time on <product> after <day>" at the
  new, each rounded to the minor unit; invoiceitem.created for each. `proration_behavior`
  `create_prorations` (default) leaves them pending for the next invoice, `none` makes none, and
  `always_invoice` invoices them now (billing_reason subscription_update, the subscription's new
  metadata under `parent.subscription_details`): what is due is charged to the default payment
  method (invoice.created, invoice.finalized, invoice.paid, invoice.payment_succeeded; a card set to
  decline leaves it open, invoice.payment_failed, the subscription past_due), and a negative total
  goes to the customer's balance as credit (https://docs.stripe.com/billing/customer/balance):
  amount_due 0, `starting_balance`/`ending_balance`, paid. Every invoice, renewals included, spends
  a credit balance first, and one due less than the currency's minimum charge is marked paid and
  its amount carried on the balance as a debit (https://docs.stripe.com/api/invoices). Stripe does
  not promise the order of events (https://docs.stripe.com/webhooks#event-ordering); the sandbox
  sends customer.subscription.updated, then invoiceitem.created, then the invoice's events.
- DELETE /v1/subscriptions/{id} cancels at once: status canceled, `canceled_at`, `ended_at`,
  customer.subscription.deleted (https://docs.stripe.com/api/subscriptions/cancel).
- POST /v1/subscriptions/{id} with `cancel_at_period_end` schedules the end for the period's end
  (https://docs.stripe.com/billing/subscriptions/cancel,
  https://docs.stripe.com/api/subscriptions/update#update_subscription-cancel_at_period_end): true
  sets `cancel_at` to the current period's end, `canceled_at` to now and
  `cancellation_details.reason` to cancellation_requested, the status unchanged; false undoes it,
  `cancel_at`, `canceled_at` and the whole of `cancellation_details` null. `cancellation_details`
  takes `comment` and `feedback` (one of Stripe's reasons), as DELETE does
  (https://docs.stripe.com/api/subscriptions/object). Each change emits
  customer.subscription.updated whose `previous_attributes` holds the fields that changed, a nested
  object only its changed keys (https://docs.stripe.com/api/events/object); the same value again
  changes nothing and emits nothing. It combines with the other update parameters; a canceled
  subscription refuses it (CANCELED_ONLY_METADATA) but may update its `cancellation_details`. At
  the period's end (the renew control) such a subscription ends instead of renewing: status
  canceled, `ended_at`, customer.subscription.deleted, and no invoice unless prorations are still
  pending: Stripe collects those then (https://docs.stripe.com/api/subscriptions/cancel), on a last
  invoice of them alone (billing_reason subscription_cycle here), not retried if unpaid.
- Which card an invoice charges (https://docs.stripe.com/api/invoices/object#invoice_object-default_payment_method:
  "If not set, defaults to the subscription's default payment method, if any, or to the default
  payment method in the customer's invoice settings"): the subscription's `default_payment_method`,
  else the customer's `invoice_settings.default_payment_method`. Renewals (unless the renew control
  forces the outcome), `always_invoice` prorations, `error_if_incomplete` and an invoice's pay
  without `payment_method` all charge that card.
  With neither set the charge fails as Stripe's does for a charge_automatically invoice with no
  payment method: the invoice stays open, and `error_if_incomplete` answers Stripe's 400 "This
  customer has no attached payment source or default payment method. ...".
- POST /v1/subscriptions/{id} takes `default_payment_method`: a PaymentMethod attached to the
  subscription's customer, or "" to unset it
  (https://docs.stripe.com/api/subscriptions/update#update_subscription-default_payment_method);
  another's is refused ("The customer does not have a payment method with the ID pm_..."). A change
  emits customer.subscription.updated with `previous_attributes.default_payment_method`; the same
  value again changes nothing.
- POST /v1/customers/{id} (https://docs.stripe.com/api/customers/update) takes `name`, `email`,
  `metadata` (merged) and `invoice_settings[default_payment_method]` (attached to that customer, or
  "" to unset); customer.updated carries what changed in `previous_attributes`, a nested object
  only its changed keys; nothing changed, no event. POST /v1/customers keeps `preferred_locales`.
- The customer portal (https://docs.stripe.com/api/customer_portal/sessions/create,
  https://docs.stripe.com/api/customer_portal/sessions/object): POST /v1/billing_portal/sessions
  makes a `billing_portal.session` for a Customer of the account (`return_url`, `locale`, the one
  default `configuration`, `flow_data`) and emits billing_portal.session.created; its `url` is the
  sandbox's hosted page `/billing_portal/{id}`. Only the `payment_method_update` flow is served
  (https://docs.stripe.com/customer-management/portal-deep-links), with `after_completion`
  `portal_homepage` (the default), `hosted_confirmation` or `redirect`; the other flow types are
  refused with a clear message. The page is in the session's `locale`; for "auto" or none, the
  customer's `preferred_locales`, else the browser's ("If blank or auto, the customer's
  preferred_locales or browser's locale is used"); French for fr, English for every other language.
  Stripe's sessions "are short-lived and will expire if the customer does not visit the URL"; here a
  session's page works for PORTAL_SESSION_LIFETIME after its creation (the sandbox's clock), then
  answers 410 ("This link has expired"). The page offers Stripe's test cards for off-session charges
  (https://docs.stripe.com/testing): 4242424242424242 pays, 4000000000000341 attaches but its
  charges are declined, 4000002760003184 needs authentication off-session. Saving one attaches a new
  card PaymentMethod to the customer and makes it `invoice_settings.default_payment_method` ("The
  payment method is set as the customer.invoice_settings.default_payment_method", portal deep links):
  payment_method.attached, then customer.updated; a subscription's own `default_payment_method` is
  left as it is, and still wins over the customer's.
- POST /v1/invoices/{id}/pay (https://docs.stripe.com/api/invoices/pay: "if you'd like to attempt
  payment on an invoice out of the normal collection schedule or for some other reason, you can do
  so") charges an open invoice now: `payment_method` (attached to the invoice's customer, else
  Stripe's "The customer does not have a payment method with the ID ..."), otherwise the card the
  invoice would use (see "Which card an invoice charges"). Paid: status paid, `amount_paid` the
  amount due, `amount_remaining` 0, `status_transitions.paid_at` now, `next_payment_attempt` null;
  invoice.paid, invoice.payment_succeeded, and a past_due subscription whose latest invoice it is
  becomes active again (the subscription lifecycle,
  https://docs.stripe.com/billing/subscriptions/overview#payment-status): customer.subscription.updated
  with `previous_attributes.status` past_due. Declined (or authentication needed: the sandbox's
  charges are all off-session, whatever `off_session` says): Stripe's 402 card_error (`code`,
  `decline_code`, message), the invoice still open, invoice.payment_failed, the subscription still
  past_due. `attempt_count` is left as it is ("Any payment attempt counts as the first attempt, and
  subsequently only automatic retries increment the attempt count",
  https://docs.stripe.com/api/invoices/object#invoice_object-attempt_count). No card at all: Stripe's
  400 NO_PAYMENT_METHOD, nothing changed. `paid_out_of_band` marks it paid without a charge, the same
  fields and events (the Invoice object has no `paid` nor `paid_out_of_band` since 2025-03-31.basil,
  whose `amount_paid` counts out-of-band payments:
  https://docs.stripe.com/changelog/basil/2025-03-31/add-support-for-multiple-partial-payments-on-invoices).
  `forgive` is accepted and changes nothing (it only matters for pre-funded sources). A paid invoice
  answers Stripe's 400 "Invoice is already paid", any other not open one a 400 too; `mandate` and
  `source` are refused with a clear message (the sandbox has neither).
- The hosted invoice page (https://docs.stripe.com/invoicing/hosted-invoice-page: customers "View the
  details, amounts, and status of the invoice" and "Pay the invoice"): every invoice's
  `hosted_invoice_url` is the sandbox's page `/invoices/{id}`, needing no API key. It shows the
  business name (as the portal does), the invoice's number, amount and status and, while it is open,
  one Pay button for the card the invoice would use (see "Which card an invoice charges"); it speaks
  the customer's `preferred_locales` ("You can also set a customer preferred language",
  https://docs.stripe.com/invoicing/customize), else the browser's, French for fr and English
  otherwise, as the portal's page does. Its Pay is on-session, so a card that needs authentication
  gets it rather than the off-session `authentication_required` error ("you need to bring your
  customer back on-session to complete the payment",
  https://docs.stripe.com/billing/subscriptions/overview#requires-action,
  https://docs.stripe.com/payments/3d-secure): the page answers a stand-in for the bank's 3D Secure
  challenge, with Stripe's test page's two outcomes, complete or fail
  (https://docs.stripe.com/testing#regulatory-cards); nothing is charged nor emitted until then.
  Complete, or a card that needs none, pays the invoice as POST /v1/invoices/{id}/pay does (the same
  fields and events, a past_due subscription active again); fail leaves it open with
  invoice.payment_failed and Stripe.js's error for a failed challenge (invalid_request_error
  `payment_intent_authentication_failure`, "We are unable to authenticate your payment method. ...",
  https://docs.stripe.com/error-codes#payment-intent-authentication-failure); a card that declines
  leaves it open with invoice.payment_failed and the 402 card error. A paid invoice's Pay pays
  nothing again and emits nothing. The sandbox does not model the invoice's PaymentIntent, so neither
  the page nor the 402 of POST /v1/invoices/{id}/pay carries one.
"""

from __future__ import annotations

import calendar
import copy
import time
from dataclasses import dataclass

from provider_sandbox.stripe_api import (
    AUTHENTICATION_REQUIRED,
    MINIMUM_AMOUNTS,
    OFF_SESSION_FAILURES,
    CardFailure,
    Change,
    RequestContext,
    StripeError,
    _Record,
    as_bool,
    as_currency,
    as_dict,
    as_expand,
    as_int,
    as_metadata,
    as_recurring,
    as_str,
    as_url,
    check_known,
    invalid,
    missing,
    new_id,
    no_such,
    no_such_param,
    round_half_up,
)
from provider_sandbox.stripe_connect import ConnectState

RETRY_DAYS = 3  # when Smart Retries tries a failed renewal again, at the earliest
CANCELABLE = ("active", "past_due", "unpaid", "trialing", "incomplete", "paused")
CANCELED_ONLY_METADATA = (
    "A canceled subscription can only update its cancellation_details and metadata. "
    "This subscription ({id}) is {status}."
)
# Stripe's answer to a price in another currency than the customer's subscriptions and invoices
# (quoted in gitpod-io/gitpod#12376 and strangerstudios/paid-memberships-pro#500).
MIXED_CURRENCIES = (
    "You cannot combine currencies on a single customer. This customer has had a subscription, coupon, "
    "or invoice item with currency {currency}"
)
PRODUCT_PARAMS = {"name", "description", "metadata", "active", "expand"}
UPDATE_PARAMS = {
    "items",
    "metadata",
    "proration_behavior",
    "proration_date",
    "payment_behavior",
    "cancel_at_period_end",
    "cancellation_details",
    "default_payment_method",
    "expand",
}
CANCELED_UPDATE_PARAMS = {"cancellation_details", "metadata", "expand"}
# https://docs.stripe.com/api/subscriptions/update#update_subscription-cancellation_details-feedback
FEEDBACKS = (
    "customer_service",
    "low_quality",
    "missing_features",
    "other",
    "switched_service",
    "too_complex",
    "too_expensive",
    "unused",
)
PRORATION_BEHAVIORS = ("create_prorations", "always_invoice", "none")
PAYMENT_BEHAVIORS = ("allow_incomplete", "pending_if_incomplete", "error_if_incomplete", "default_incomplete")
CUSTOMER_UPDATE_PARAMS = {"name", "email", "metadata", "invoice_settings", "expand"}
# Stripe's answer to a payment method that is not the customer's (subscriptions and customers update).
NOT_ATTACHED = (
    "The customer does not have a payment method with the ID {id}. The payment method must be attached to the customer."
)
# Stripe's answer when a charge_automatically invoice has no payment method to charge.
NO_PAYMENT_METHOD = (
    "This customer has no attached payment source or default payment method. Please consider adding a default "
    "payment method. For more information, visit "
    "https://stripe.com/docs/billing/subscriptions/payment-methods-setting#payment-method-priority."
)
# POST /v1/invoices/{id}/pay (https://docs.stripe.com/api/invoices/pay); mandate and source are Stripe's
# too but the sandbox has neither mandates nor sources: refused with a clear message, not as unknown.
PAY_PARAMS = {"payment_method", "off_session", "paid_out_of_band", "forgive", "expand"}
PAY_UNSUPPORTED_PARAMS = ("mandate", "source")
# Stripe's 400 invalid_request_error to paying a paid invoice again (quoted in mozilla/fxa#11409 and
# twentyhq/twenty#22705); the sandbox's own words for a draft or void one.
INVOICE_ALREADY_PAID = "Invoice is already paid"
INVOICE_NOT_OPEN = "This invoice can only be paid if it is open"
# Stands for "no card to charge" where _card_failure answers how the card answers.
NO_CARD = CardFailure("no_payment_method", "no_payment_method", NO_PAYMENT_METHOD)

# -- the hosted invoice page (https://docs.stripe.com/invoicing/hosted-invoice-page) --
# The two outcomes of Stripe's test 3D Secure page (https://docs.stripe.com/testing#regulatory-cards).
AUTHENTICATION_OUTCOMES = ("complete", "fail")
# What Stripe.js answers when the customer fails the challenge (the page shows its own words for it).
AUTHENTICATION_FAILED_CODE = "payment_intent_authentication_failure"
AUTHENTICATION_FAILED_MESSAGE = (
    "We are unable to authenticate your payment method. Please choose a different payment method and try again."
)
# The sandbox's own words for an authentication posted with no payment waiting for it.
NOT_AWAITING_AUTHENTICATION = "No payment of this invoice is waiting for authentication: press Pay first."

# -- the customer portal (https://docs.stripe.com/api/customer_portal/sessions/create) --
PORTAL_SESSION_LIFETIME = 60 * 60  # seconds a session's page works after its creation (sandbox's choice)
PORTAL_SESSION_PARAMS = {"customer", "return_url", "locale", "configuration", "flow_data", "expand"}
# Stripe's parameters the sandbox does not serve: refused with a clear message, not as unknown.
PORTAL_UNSUPPORTED_PARAMS = ("on_behalf_of", "after_expiration", "customer_account")
# https://docs.stripe.com/api/customer_portal/sessions/create#create_portal_session-flow_data-type
PORTAL_FLOW_TYPES = (
    "customer_update",
    "payment_method_update",
    "subscription_cancel",
    "subscription_pause",
    "subscription_update",
    "subscription_update_confirm",
)
# The flow types that take a hash of their own (flow_data[subscription_cancel] and so on).
PORTAL_FLOW_CONFIGS = (
    "subscription_cancel",
    "subscription_pause",
    "subscription_update",
    "subscription_update_confirm",
)
PORTAL_AFTER_COMPLETION = ("hosted_confirmation", "portal_homepage", "redirect")
# https://docs.stripe.com/api/customer_portal/sessions/create#create_portal_session-locale
PORTAL_LOCALES = (
    "auto", "bg", "cs", "da", "de", "el", "en", "en-AU", "en-CA", "en-GB", "en-IE", "en-IN", "en-NZ", "en-SG",
    "es", "es-419", "et", "fi", "fil", "fr", "fr-CA", "hr", "hu", "id", "it", "ja", "ko", "lt", "lv", "ms", "mt",
    "nb", "nl", "pl", "pt", "pt-BR", "ro", "ru", "sk", "sl", "sv", "th", "tr", "vi", "zh", "zh-HK", "zh-TW",
)  # fmt: skip


@dataclass(frozen=True)
class PortalCard:
    """One of Stripe's test cards the portal page offers, and how it answers off-session charges."""

    brand: str
    last4: str
    off_session: str  # one of OFF_SESSION_BEHAVIOURS


# https://docs.stripe.com/testing: 4242... succeeds; 4000000000000341 "Attaching this card to a Customer
# object succeeds, but attempts to charge the customer fail"; 4000002760003184 "requires authentication
# on all transactions" (the page saves it as if set up with authentication; charges made off-session,
# with no customer to authenticate, then fail with authentication_required).
PORTAL_CARDS = {
    "4242424242424242": PortalCard("visa", "4242", "succeeds"),
    "4000000000000341": PortalCard("visa", "0341", "card_declined"),
    "4000002760003184": PortalCard("visa", "3184", "authentication_required"),
}


class PortalSessionExpired(StripeError):
    """A customer portal session past its lifetime; ``view`` is what its pages show (see portal_view)."""

    def __init__(self, view: dict):
        super().__init__(410, "This customer portal session has expired: create a new one.")
        self.view = view


def payment_error(failure: CardFailure) -> StripeError:
    """Stripe's answer to a charge that failed: with no card to charge, its 400 (NO_PAYMENT_METHOD);
    otherwise the 402 card error with the card's ``code``, ``decline_code`` and message
    (https://docs.stripe.com/error-codes, https://docs.stripe.com/declines/codes)."""
    if failure is NO_CARD:
        return invalid(NO_PAYMENT_METHOD)
    return StripeError(
        402,
        failure.message,
        type="card_error",
        code=failure.code,
        details={"decline_code": failure.decline_code},
    )


def add_month(timestamp: int, months: int = 1) -> int:
    """The same day and time `months` later (the month's last day when it is shorter), as Stripe
    anchors monthly billing cycles."""
    moment = time.gmtime(timestamp)
    month0 = moment.tm_mon - 1 + months
    year, month = moment.tm_year + month0 // 12, month0 % 12 + 1
    day = min(moment.tm_mday, calendar.monthrange(year, month)[1])
    return calendar.timegm((year, month, day, moment.tm_hour, moment.tm_min, moment.tm_sec))


def prorated(amount: int, remaining: int, period: int) -> int:
    """``amount`` for ``remaining`` seconds of a ``period`` of seconds, to the nearest minor unit, as
    Stripe prorates to the second."""
    sign = -1 if amount < 0 else 1
    return sign * round_half_up(abs(amount) * remaining, period)


def merged_metadata(current: dict[str, str], value: object) -> dict[str, str]:
    """An update's metadata merged into ``current``: keys set, an empty value unsets its key, and an
    empty string for the whole of ``metadata`` unsets them all (https://docs.stripe.com/metadata)."""
    if value == "":
        return {}
    merged = {**current, **as_metadata(value)}
    for key, item in as_dict(value, "metadata").items():
        if item == "":
            merged.pop(key, None)
    return merged


def requested_details(params: dict) -> dict[str, str | None]:
    """The ``cancellation_details`` a cancel or an update gives (``comment``, ``feedback``); an empty
    string unsets one, as Stripe's empty values do."""
    details = as_dict(params.get("cancellation_details", {}), "cancellation_details")
    check_known(details, {"comment", "feedback"}, "cancellation_details")
    if "comment" in details:
        as_str(details["comment"], "cancellation_details[comment]", 5000)
    if details.get("feedback", "") not in ("", *FEEDBACKS):
        raise invalid(
            f"Invalid cancellation_details[feedback]: must be one of {', '.join(FEEDBACKS)}",
            param="cancellation_details[feedback]",
        )
    return {key: value or None for key, value in details.items()}


def preferred_locales(value: object) -> list[str]:
    """A customer's ``preferred_locales``, most preferred first (https://docs.stripe.com/api/customers/create);
    the customer portal uses the first when its session's locale is "auto" or none."""
    if not isinstance(value, list):
        raise invalid("Invalid array for preferred_locales", param="preferred_locales")
    return [as_str(item, f"preferred_locales[{index}]", 64) for index, item in enumerate(value)]


def portal_flow(value: object) -> dict:
    """A portal session's ``flow`` from its ``flow_data``
    (https://docs.stripe.com/api/customer_portal/sessions/create#create_portal_session-flow_data): only
    payment_method_update is served; ``after_completion[type]`` is portal_homepage by default, and
    redirect needs ``after_completion[redirect][return_url]``."""
    data = as_dict(value, "flow_data")
    check_known(data, {"type", "after_completion", *PORTAL_FLOW_CONFIGS}, "flow_data")
    if "type" not in data:
        raise missing("flow_data[type]")
    flow_type = data["type"]
    if flow_type not in PORTAL_FLOW_TYPES:
        raise invalid(
            f"Invalid flow_data[type]: must be one of {', '.join(PORTAL_FLOW_TYPES)}", param="flow_data[type]"
        )
    if flow_type != "payment_method_update":
        raise invalid(
            f"The local sandbox does not support the customer portal flow {flow_type} yet: only "
            "flow_data[type]=payment_method_update.",
            param="flow_data[type]",
        )
    for name in PORTAL_FLOW_CONFIGS:
        if name in data:
            raise invalid(
                f"flow_data[{name}] can only be passed when flow_data[type] is {name}.", param=f"flow_data[{name}]"
            )
    prefix = "flow_data[after_completion]"
    after = as_dict(data.get("after_completion", {"type": "portal_homepage"}), prefix)
    check_known(after, {"type", "redirect", "hosted_confirmation"}, prefix)
    if "type" not in after:
        raise missing(f"{prefix}[type]")
    kind = after["type"]
    if kind not in PORTAL_AFTER_COMPLETION:
        raise invalid(
            f"Invalid {prefix}[type]: must be one of {', '.join(PORTAL_AFTER_COMPLETION)}", param=f"{prefix}[type]"
        )
    for name in ("redirect", "hosted_confirmation"):
        if name in after and kind != name:
            raise invalid(
                f"{prefix}[{name}] can only be passed when {prefix}[type] is {name}.", param=f"{prefix}[{name}]"
            )
    redirect = None
    if kind == "redirect":
        options = as_dict(after.get("redirect", {}), f"{prefix}[redirect]")
        check_known(options, {"return_url"}, f"{prefix}[redirect]")
        if "return_url" not in options:
            raise missing(f"{prefix}[redirect][return_url]")
        redirect = {"return_url": as_url(options["return_url"], f"{prefix}[redirect][return_url]")}
    hosted_confirmation = None
    if kind == "hosted_confirmation":
        options = as_dict(after.get("hosted_confirmation", {}), f"{prefix}[hosted_confirmation]")
        check_known(options, {"custom_message"}, f"{prefix}[hosted_confirmation]")
        message = options.get("custom_message")
        param = f"{prefix}[hosted_confirmation][custom_message]"
        hosted_confirmation = {"custom_message": as_str(message, param, 500) if message is not None else None}
    return {
        "after_completion": {"hosted_confirmation": hosted_confirmation, "redirect": redirect, "type": kind},
        "customer_update": None,
        "subscription_cancel": None,
        "subscription_pause": None,
        "subscription_update": None,
        "subscription_update_confirm": None,
        "type": flow_type,
    }


class BillingState(ConnectState):
    """``ConnectState`` plus Customers by API, Products, Subscriptions, Invoices and the customer portal."""

    def __init__(self, public_url: str, on_events) -> None:
        super().__init__(public_url, on_events)
        # The portal's default configuration (https://docs.stripe.com/api/customer_portal/configurations):
        # the sandbox has this one, named by every session.
        self.portal_configuration_id = new_id("bpc")

    # -- products ------------------------------------------------------------------------------------

    def create_product(self, ctx: RequestContext, params: dict) -> dict:
        check_known(params, PRODUCT_PARAMS)
        self._check_expand("product", as_expand(params))
        if "name" not in params:
            raise missing("name")
        record = self._new_product(ctx.account, as_str(params["name"], "name", 5000))
        record.obj.update(
            active=as_bool(params["active"], "active") if "active" in params else True,
            description=as_str(params["description"], "description", 40000) if "description" in params else None,
            metadata=as_metadata(params.get("metadata", {})),
        )
        self._emit([("product.created", record)], ctx)
        return copy.deepcopy(record.obj)

    def retrieve_product(self, ctx: RequestContext, params: dict, product_id: str) -> dict:
        check_known(params, {"expand"})
        return copy.deepcopy(self._get("product", product_id, ctx).obj)

    def _new_product(self, account: str | None, name: str, product_id: str | None = None) -> _Record:
        now = self.now()
        product = {
            "id": product_id or new_id("prod", 14),
            "object": "product",
            "active": True,
            "created": now,
            "default_price": None,
            "description": None,
            "images": [],
            "livemode": False,
            "marketing_features": [],
            "metadata": {},
            "name": name,
            "package_dimensions": None,
            "shippable": None,
            "statement_descriptor": None,
            "tax_code": None,
            "type": "service",
            "unit_label": None,
            "updated": now,
            "url": None,
        }
        record = _Record(product, account)
        self._records[product["id"]] = record
        return record

    # -- customers -----------------------------------------------------------------------------------

    def create_customer(self, ctx: RequestContext, params: dict) -> dict:
        check_known(params, {"name", "email", "description", "metadata", "preferred_locales", "expand"})
        customer = self._new_customer(ctx.account, as_str(params["email"], "email", 512) if "email" in params else None)
        customer.obj.update(
            name=as_str(params["name"], "name", 256) if "name" in params else None,
            description=as_str(params["description"], "description", 350) if "description" in params else None,
            metadata=as_metadata(params.get("metadata", {})),
            preferred_locales=preferred_locales(params.get("preferred_locales", [])),
        )
        self._emit([("customer.created", customer)], ctx)
        return copy.deepcopy(customer.obj)

    def update_customer(self, ctx: RequestContext, params: dict, customer_id: str) -> dict:
        """``name``, ``email``, ``metadata`` (merged) and ``invoice_settings[default_payment_method]``
        (https://docs.stripe.com/api/customers/update); an empty string unsets a value. customer.updated
        holds what changed in ``previous_attributes``, a nested object only its changed keys
        (https://docs.stripe.com/api/events/object); nothing changed, no event."""
        check_known(params, CUSTOMER_UPDATE_PARAMS)
        record = self._get("customer", customer_id, ctx)
        expand = as_expand(params)
        self._check_expand("customer", expand)
        customer = record.obj
        changes: dict = {}
        if "name" in params:
            changes["name"] = as_str(params["name"], "name", 256) or None
        if "email" in params:
            changes["email"] = as_str(params["email"], "email", 512) or None
        if "metadata" in params:
            changes["metadata"] = merged_metadata(customer["metadata"], params["metadata"])
        if "invoice_settings" in params:
            settings = as_dict(params["invoice_settings"], "invoice_settings")
            check_known(settings, {"default_payment_method"}, "invoice_settings")
            if "default_payment_method" in settings:
                param = "invoice_settings[default_payment_method]"
                default = self._customer_payment_method(ctx, customer_id, settings["default_payment_method"], param)
                changes["invoice_settings"] = {**customer["invoice_settings"], "default_payment_method": default}
        previous: dict = {}
        for name, value in changes.items():
            old = customer[name]
            if value == old:
                continue
            if isinstance(value, dict):
                keys = {**old, **value}
                previous[name] = {key: old.get(key) for key in keys if old.get(key) != value.get(key)}
            else:
                previous[name] = old
        customer.update(copy.deepcopy(changes))
        if previous:
            self._emit([("customer.updated", record, {"previous_attributes": previous})], ctx)
        return self._render(record, expand)

    def _customer_payment_method(self, ctx: RequestContext, customer_id: str, value: object, param: str) -> str | None:
        """A PaymentMethod id a parameter names, which must be attached to the customer; "" unsets (None)."""
        payment_method_id = as_str(value, param)
        if payment_method_id == "":
            return None
        record = self._records.get(payment_method_id)
        if record is None or record.obj["object"] != "payment_method" or record.account != ctx.account:
            raise no_such_param("PaymentMethod", payment_method_id, param)
        if record.obj["customer"] != customer_id:
            raise invalid(NOT_ATTACHED.format(id=payment_method_id), param=param)
        return payment_method_id

    # -- the customer portal -------------------------------------------------------------------------

    def create_billing_portal_session(self, ctx: RequestContext, params: dict) -> dict:
        """``POST /v1/billing_portal/sessions`` (https://docs.stripe.com/api/customer_portal/sessions/create):
        a session of the portal for a Customer of the account, with Stripe's object
        (https://docs.stripe.com/api/customer_portal/sessions/object); its ``url`` is the sandbox's page.
        ``configuration`` may only name the sandbox's default one; ``flow_data`` only the
        payment_method_update flow (https://docs.stripe.com/customer-management/portal-deep-links)."""
        for name in PORTAL_UNSUPPORTED_PARAMS:
            if name in params:
                raise invalid(f"The local sandbox does not support {name} on customer portal sessions.", param=name)
        check_known(params, PORTAL_SESSION_PARAMS)
        expand = as_expand(params)
        self._check_expand("billing_portal.session", expand)
        if "customer" not in params:
            raise missing("customer")
        customer_id = as_str(params["customer"], "customer")
        customer = self._records.get(customer_id)
        if customer is None or customer.obj["object"] != "customer" or customer.account != ctx.account:
            raise no_such_param("customer", customer_id, "customer")
        configuration = self.portal_configuration_id
        if "configuration" in params:
            requested = as_str(params["configuration"], "configuration")
            if requested != configuration:
                raise no_such_param("configuration", requested, "configuration")
        locale = None
        if "locale" in params:
            locale = as_str(params["locale"], "locale")
            if locale not in PORTAL_LOCALES:
                raise invalid(f"Invalid locale: must be one of {', '.join(PORTAL_LOCALES)}", param="locale")
        return_url = as_url(params["return_url"], "return_url") if "return_url" in params else None
        flow = portal_flow(params["flow_data"]) if "flow_data" in params else None
        now = self.now()
        session_id = new_id("bps")
        session = {
            "id": session_id,
            "object": "billing_portal.session",
            "after_expiration": None,
            "configuration": configuration,
            "created": now,
            "customer": customer_id,
            "customer_account": None,
            "flow": flow,
            "livemode": False,
            "locale": locale,
            "on_behalf_of": None,
            "return_url": return_url,
            "url": f"{self.public_url}/billing_portal/{session_id}",
        }
        record = _Record(session, ctx.account, {"expires_at": now + PORTAL_SESSION_LIFETIME})
        self._records[session_id] = record
        self._emit([("billing_portal.session.created", record)], ctx)
        return self._render(record, expand)

    def portal_view(self, session_id: str) -> dict:
        """What the portal's page shows (it needs no API key, like Stripe's): the session, its customer,
        the customer's default card (``card``, or None), the account's business name (or None) and
        the test cards offered, as (number, brand, off_session behaviour)."""
        with self.lock:
            return self._portal_view(self._portal_session(session_id))

    def portal_update_payment_method(self, session_id: str, number: str | None) -> dict:
        """The portal's Save: a new card PaymentMethod, of the test card ``number``, attached to the
        session's customer and set as its ``invoice_settings.default_payment_method`` ("The payment
        method is set as the customer.invoice_settings.default_payment_method",
        https://docs.stripe.com/customer-management/portal-deep-links); payment_method.attached then
        customer.updated. No subscription's own default_payment_method changes. Answers portal_view."""
        with self.lock:
            record = self._portal_session(session_id)
            card = PORTAL_CARDS.get(number or "")
            if card is None:
                raise invalid(f"Choose one of the test cards: {', '.join(PORTAL_CARDS)}.", param="card")
            customer = self._records[record.obj["customer"]]
            payment_method = self._new_payment_method(
                record.account, customer.obj["email"], card.last4, card.brand, card.off_session
            )
            payment_method.obj["customer"] = customer.obj["id"]
            settings = customer.obj["invoice_settings"]
            previous = {"invoice_settings": {"default_payment_method": settings["default_payment_method"]}}
            settings["default_payment_method"] = payment_method.obj["id"]
            self._emit(
                [
                    ("payment_method.attached", payment_method),
                    ("customer.updated", customer, {"previous_attributes": previous}),
                ],
                None,
            )
            return self._portal_view(record)

    def _portal_session(self, session_id: str) -> _Record:
        """A portal session still within its lifetime (PortalSessionExpired past it)."""
        record = self._records.get(session_id)
        if record is None or record.obj["object"] != "billing_portal.session":
            raise no_such("billing_portal.session", session_id)
        if self.now() >= record.extra["expires_at"]:
            raise PortalSessionExpired(self._portal_view(record))
        return record

    def _portal_view(self, record: _Record) -> dict:
        customer = self._records[record.obj["customer"]].obj
        payment_method = self._records.get(customer["invoice_settings"]["default_payment_method"] or "")
        return {
            "session": copy.deepcopy(record.obj),
            "customer": copy.deepcopy(customer),
            "card": copy.deepcopy(payment_method.obj["card"]) if payment_method else None,
            "business": self._business_name(record.account),
            "cards": [(number, card.brand, card.off_session) for number, card in PORTAL_CARDS.items()],
        }

    def _business_name(self, account: str | None) -> str | None:
        """The name the portal's "Return to ..." link and the hosted invoice page show: the platform's,
        or the connected account's business_profile.name if the sandbox knows one."""
        record = self._platform() if account is None else self._account(account)
        return (record.obj.get("business_profile") or {}).get("name") if record else None

    # -- subscriptions -------------------------------------------------------------------------------

    def retrieve_subscription(self, ctx: RequestContext, params: dict, subscription_id: str) -> dict:
        check_known(params, {"expand"})
        return self._render(self._get("subscription", subscription_id, ctx), as_expand(params))

    def cancel_subscription(self, ctx: RequestContext, params: dict, subscription_id: str) -> dict:
        check_known(params, {"invoice_now", "prorate", "cancellation_details", "expand"})
        record = self._get("subscription", subscription_id, ctx)
        if record.obj["status"] not in CANCELABLE:
            raise invalid(CANCELED_ONLY_METADATA.format(id=subscription_id, status=record.obj["status"]))
        details = requested_details(params)
        now = self.now()
        previous = {"status": record.obj["status"], "canceled_at": None, "ended_at": None}
        record.obj.update(
            status="canceled",
            canceled_at=now,
            ended_at=now,
            cancellation_details={
                "comment": details.get("comment"),
                "feedback": details.get("feedback"),
                "reason": "cancellation_requested",
            },
        )
        self._emit([("customer.subscription.deleted", record, {"previous_attributes": previous})], ctx)
        return copy.deepcopy(record.obj)

    def update_subscription(self, ctx: RequestContext, params: dict, subscription_id: str) -> dict:
        """A new price (or quantity) for an item, metadata merged, and the prorations Stripe makes for
        the rest of the period: pending for the next renewal, invoiced at once, or none; the end
        of the subscription scheduled for its period's end (``cancel_at_period_end``) or undone; and
        the card its invoices charge (``default_payment_method``, "" unsets it:
        https://docs.stripe.com/api/subscriptions/update#update_subscription-default_payment_method)."""
        check_known(params, UPDATE_PARAMS)
        record = self._get("subscription", subscription_id, ctx)
        sub = record.obj
        expand = as_expand(params)
        self._check_expand("subscription", expand)
        if sub["status"] not in CANCELABLE and set(params) - CANCELED_UPDATE_PARAMS:
            raise invalid(CANCELED_ONLY_METADATA.format(id=subscription_id, status=sub["status"]))
        metadata = merged_metadata(sub["metadata"], params["metadata"]) if "metadata" in params else sub["metadata"]
        cancellation = self._cancellation(sub, params)
        behaviour = params.get("proration_behavior", "create_prorations")
        if behaviour not in PRORATION_BEHAVIORS:
            raise invalid(
                f"Invalid proration_behavior: must be one of {', '.join(PRORATION_BEHAVIORS)}",
                param="proration_behavior",
            )
        payment_behavior = params.get("payment_behavior", "allow_incomplete")
        if payment_behavior not in PAYMENT_BEHAVIORS:
            raise invalid(
                f"Invalid payment_behavior: must be one of {', '.join(PAYMENT_BEHAVIORS)}", param="payment_behavior"
            )
        if payment_behavior not in ("allow_incomplete", "error_if_incomplete"):
            raise invalid(
                f"The local sandbox does not support payment_behavior={payment_behavior}: "
                "only allow_incomplete (Stripe's default) and error_if_incomplete.",
                param="payment_behavior",
            )
        default_payment_method = sub["default_payment_method"]
        if "default_payment_method" in params:
            default_payment_method = self._customer_payment_method(
                ctx, sub["customer"], params["default_payment_method"], "default_payment_method"
            )
        changes = self._item_changes(ctx, record, params.get("items", []))
        now = self.now()
        proration_date = now
        if "proration_date" in params:
            proration_date = as_int(params["proration_date"], "proration_date")
            first = sub["items"]["data"][0]
            if not first["current_period_start"] <= proration_date <= first["current_period_end"]:
                raise invalid(
                    "The proration_date must be within the subscription's current billing period.",
                    param="proration_date",
                )
        prorations = [
            (item, self._prorations(item, price, quantity, proration_date) if behaviour != "none" else [])
            for item, price, quantity in changes
        ]
        pending = record.extra.setdefault("pending_invoice_items", [])
        if behaviour == "always_invoice" and payment_behavior == "error_if_incomplete":
            due = sum(entry.obj["amount"] for entry in pending) + sum(
                line[3] for _, lines in prorations for line in lines
            )
            paying = {**sub, "default_payment_method": default_payment_method}  # the card the invoice would charge
            self._check_can_pay(paying, self._records[sub["customer"]].obj["balance"] + due)
        # Everything is checked: from here on the update happens.
        previous: dict = {}
        if changes:
            previous["items"] = copy.deepcopy(sub["items"])
        if metadata != sub["metadata"]:
            previous["metadata"] = copy.deepcopy(sub["metadata"])
        for name, value in cancellation.items():
            if name == "cancellation_details":
                changed = {key: sub[name][key] for key in value if value[key] != sub[name][key]}
                if changed:
                    previous[name] = changed
            elif value != sub[name]:
                previous[name] = sub[name]
        sub.update(cancellation)
        if default_payment_method != sub["default_payment_method"]:
            previous["default_payment_method"] = sub["default_payment_method"]
            sub["default_payment_method"] = default_payment_method
        created = [
            self._new_invoice_item(record, item, *line, proration_date) for item, lines in prorations for line in lines
        ]
        for item, price, quantity in changes:
            item.update(price=price, quantity=quantity)
        sub["metadata"] = copy.deepcopy(metadata)
        pending += created
        emitted: list[Change] = [("invoiceitem.created", invoice_item) for invoice_item in created]
        if behaviour == "always_invoice" and pending:
            emitted += self._invoice_update(record, previous)
        if previous:
            emitted.insert(0, ("customer.subscription.updated", record, {"previous_attributes": previous}))
        self._emit(emitted, ctx)
        return self._render(record, expand)

    def _cancellation(self, sub: dict, params: dict) -> dict:
        """The cancellation fields an update leaves: ``cancel_at_period_end`` true sets ``cancel_at`` to
        the period's end (the earliest item's, as Stripe resolves it:
        https://docs.stripe.com/changelog/basil/2025-07-30/cancel-at-enums), ``canceled_at`` to now and
        the reason to cancellation_requested; false clears them; the same value again changes nothing
        (https://docs.stripe.com/billing/subscriptions/cancel)."""
        requested = requested_details(params)
        details = {**sub["cancellation_details"], **requested}
        if "cancel_at_period_end" not in params:
            return {"cancellation_details": details}
        at_period_end = as_bool(params["cancel_at_period_end"], "cancel_at_period_end")
        if at_period_end == sub["cancel_at_period_end"]:
            return {"cancellation_details": details}
        if not at_period_end:
            details = {"comment": None, "feedback": None, "reason": None, **requested}
            return {
                "cancel_at_period_end": False,
                "cancel_at": None,
                "canceled_at": None,
                "cancellation_details": details,
            }
        details["reason"] = "cancellation_requested"
        cancel_at = min(item["current_period_end"] for item in sub["items"]["data"])
        return {
            "cancel_at_period_end": True,
            "cancel_at": cancel_at,
            "canceled_at": self.now(),
            "cancellation_details": details,
        }

    def _item_changes(self, ctx: RequestContext, record: _Record, raw_items: object) -> list[tuple[dict, dict, int]]:
        """(item, its new price, its new quantity) for each of ``items[]``, all checked before any is
        applied (https://docs.stripe.com/api/subscriptions/update#update_subscription-items)."""
        if not isinstance(raw_items, list):
            raise invalid("Invalid array for items", param="items")
        sub = record.obj
        by_id = {item["id"]: item for item in sub["items"]["data"]}
        changes = []
        for index, raw in enumerate(raw_items):
            prefix = f"items[{index}]"
            raw = as_dict(raw, prefix)
            check_known(raw, {"id", "price", "price_data", "quantity"}, prefix)
            if "id" not in raw:
                if "price" not in raw and "price_data" not in raw:
                    raise missing(f"{prefix}[price]")
                raise invalid(
                    f"The local sandbox does not support adding items to a subscription: pass {prefix}[id] "
                    "of the item to change.",
                    param=f"{prefix}[id]",
                )
            item_id = as_str(raw["id"], f"{prefix}[id]")
            item = by_id.get(item_id)
            if item is None:
                raise no_such_param("subscription item", item_id, f"{prefix}[id]")
            if "price" in raw:
                raise invalid(
                    f"The local sandbox has no Price objects: use {prefix}[price_data].", param=f"{prefix}[price]"
                )
            price = item["price"]
            if "price_data" in raw:
                price = self._inline_price(ctx, raw["price_data"], f"{prefix}[price_data]")
                if price["currency"] != sub["currency"]:
                    raise invalid(MIXED_CURRENCIES.format(currency=sub["currency"]), param=f"{prefix}[price_data]")
                old, new = item["price"]["recurring"], price["recurring"]
                if (old["interval"], old["interval_count"]) != (new["interval"], new["interval_count"]):
                    raise invalid(
                        "The local sandbox does not support changing a subscription's billing interval "
                        "(Stripe would reset the billing cycle anchor).",
                        param=f"{prefix}[price_data][recurring]",
                    )
            quantity = as_int(raw["quantity"], f"{prefix}[quantity]", 0) if "quantity" in raw else item["quantity"]
            if price is not item["price"] or quantity != item["quantity"]:
                changes.append((item, price, quantity))
        return changes

    def _inline_price(self, ctx: RequestContext, value: object, param: str) -> dict:
        """The Price a subscription item's ``price_data`` makes, for a Product of the same account."""
        data = as_dict(value, param)
        check_known(data, {"currency", "product", "unit_amount", "recurring", "tax_behavior"}, param)
        for name in ("currency", "product", "recurring"):
            if name not in data:
                raise missing(f"{param}[{name}]")
        if "unit_amount" not in data:
            raise missing(f"{param}[unit_amount]")
        product_id = as_str(data["product"], f"{param}[product]")
        product = self._records.get(product_id)
        if product is None or product.obj["object"] != "product" or product.account != ctx.account:
            raise no_such_param("product", product_id, f"{param}[product]")
        return {
            "id": new_id("price"),
            "object": "price",
            "active": True,
            "currency": as_currency(data["currency"], f"{param}[currency]"),
            "livemode": False,
            "product": product_id,
            "recurring": as_recurring(data["recurring"], f"{param}[recurring]"),
            "type": "recurring",
            "unit_amount": as_int(data["unit_amount"], f"{param}[unit_amount]", 0),
        }

    def _prorations(self, item: dict, price: dict, quantity: int, when: int) -> list[tuple[str, dict, int, int]]:
        """(description, price, quantity, amount) of the two prorations of a change at ``when``: the
        unused time on the old price credited, the remaining time on the new one charged, each for the
        seconds left in the period (https://docs.stripe.com/billing/subscriptions/prorations)."""
        start, end = item["current_period_start"], item["current_period_end"]
        day = time.strftime("%d %b %Y", time.gmtime(when))
        sides = [("Unused time on", item["price"], item["quantity"], -1), ("Remaining time on", price, quantity, 1)]
        lines = []
        for wording, line_price, line_quantity, sign in sides:
            if line_quantity == 0:
                continue
            name = self._records[line_price["product"]].obj["name"]
            what = name if line_quantity == 1 else f"{line_quantity} × {name}"
            amount = sign * prorated(line_price["unit_amount"] * line_quantity, end - when, end - start)
            lines.append((f"{wording} {what} after {day}", line_price, line_quantity, amount))
        return lines

    def _new_invoice_item(
        self, record: _Record, item: dict, description: str, price: dict, quantity: int, amount: int, start: int
    ) -> _Record:
        """A pending proration from ``start`` to the item's period end
        (https://docs.stripe.com/api/invoiceitems/object)."""
        sub = record.obj
        invoice_item = {
            "id": new_id("ii"),
            "object": "invoiceitem",
            "amount": amount,
            "currency": sub["currency"],
            "customer": sub["customer"],
            "date": self.now(),
            "description": description,
            "discountable": False,
            "discounts": [],
            "invoice": None,
            "livemode": False,
            "metadata": {},
            "net_amount": amount,
            "parent": {
                "type": "subscription_details",
                "subscription_details": {"subscription": sub["id"], "subscription_item": item["id"]},
            },
            "period": {"start": start, "end": item["current_period_end"]},
            "pricing": {
                "type": "price_details",
                "price_details": {"price": price["id"], "product": price["product"]},
                "unit_amount_decimal": str(price["unit_amount"]),
            },
            "proration": True,
            "quantity": quantity,
            "test_clock": None,
        }
        invoice_item_record = _Record(invoice_item, record.account)
        self._records[invoice_item["id"]] = invoice_item_record
        return invoice_item_record

    def _invoice_payment_method(self, sub: dict) -> _Record | None:
        """The card the subscription's invoices charge (None: there is none): the subscription's
        ``default_payment_method``, else the customer's ``invoice_settings.default_payment_method``
        (https://docs.stripe.com/api/invoices/object#invoice_object-default_payment_method)."""
        customer = self._records[sub["customer"]].obj
        payment_method_id = sub["default_payment_method"] or customer["invoice_settings"]["default_payment_method"]
        return self._records.get(payment_method_id or "")

    @staticmethod
    def _failure_of(payment_method: _Record | None) -> CardFailure | None:
        """How a card answers an off-session charge (None: it pays; NO_CARD: there is no card)."""
        if payment_method is None:
            return NO_CARD
        return OFF_SESSION_FAILURES.get(payment_method.extra.get("off_session", ""))

    def _card_failure(self, sub: dict) -> CardFailure | None:
        """How the card the subscription's invoices charge (_invoice_payment_method) answers an
        off-session charge (None: it pays; NO_CARD: there is none)."""
        return self._failure_of(self._invoice_payment_method(sub))

    def _check_can_pay(self, sub: dict, due: int) -> None:
        """``error_if_incomplete``: a charge the card declines fails the whole update with Stripe's 402
        card error, and nothing changes (https://docs.stripe.com/api/subscriptions/update, its
        payment_behavior); with no card to charge, Stripe's 400 (NO_PAYMENT_METHOD). What is below the
        minimum charge is not charged, so cannot fail."""
        if due < max(1, MINIMUM_AMOUNTS.get(sub["currency"], 0)):
            return
        failure = self._card_failure(sub)
        if failure is not None:
            raise payment_error(failure)

    def _invoice_update(self, record: _Record, previous: dict) -> list[Change]:
        """``always_invoice``: the pending prorations invoiced now and charged to the default payment
        method; a credit goes to the customer's balance instead."""
        sub = record.obj
        invoice = self._new_invoice(
            record, "subscription_update", paid=self._card_failure(sub) is None, new_period=False
        )
        previous.setdefault("latest_invoice", sub["latest_invoice"])
        sub["latest_invoice"] = invoice.obj["id"]
        if invoice.obj["status"] == "open" and sub["status"] != "past_due":
            previous.setdefault("status", sub["status"])
            sub["status"] = "past_due"
        return [("invoice.created", invoice), ("invoice.finalized", invoice), *self._payment_events(invoice)]

    def retrieve_invoice(self, ctx: RequestContext, params: dict, invoice_id: str) -> dict:
        check_known(params, {"expand"})
        return copy.deepcopy(self._get("invoice", invoice_id, ctx).obj)

    def pay_invoice(self, ctx: RequestContext, params: dict, invoice_id: str) -> dict:
        """``POST /v1/invoices/{id}/pay`` (https://docs.stripe.com/api/invoices/pay): "if you'd like to
        attempt payment on an invoice out of the normal collection schedule or for some other reason,
        you can do so". An open invoice is charged now to ``payment_method`` (attached to the invoice's
        customer) or else the card it would use (_card_failure); ``paid_out_of_band`` marks it paid
        with no charge. Paid: invoice.paid, invoice.payment_succeeded, and its past_due subscription,
        whose latest invoice it is, active again (customer.subscription.updated). Declined: the 402
        card error, the invoice left open, invoice.payment_failed. No card at all: Stripe's 400
        NO_PAYMENT_METHOD and nothing changes."""
        for name in PAY_UNSUPPORTED_PARAMS:
            if name in params:
                raise invalid(f"The local sandbox does not support {name} on invoice payments.", param=name)
        check_known(params, PAY_PARAMS)
        record = self._get("invoice", invoice_id, ctx)
        invoice = record.obj
        expand = as_expand(params)
        self._check_expand("invoice", expand)
        out_of_band = as_bool(params["paid_out_of_band"], "paid_out_of_band") if "paid_out_of_band" in params else False
        for name in ("off_session", "forgive"):
            if name in params:
                as_bool(params[name], name)
        payment_method = None
        if "payment_method" in params:
            payment_method = self._customer_payment_method(
                ctx, invoice["customer"], params["payment_method"], "payment_method"
            )
            if payment_method is None:
                raise invalid("Invalid payment_method: pass the id of a PaymentMethod.", param="payment_method")
        if invoice["status"] == "paid":
            raise invalid(INVOICE_ALREADY_PAID)
        if invoice["status"] != "open":
            raise invalid(INVOICE_NOT_OPEN)
        failure = None
        if not out_of_band:
            sub = self._invoice_subscription(invoice).obj
            failure = self._card_failure(
                {**sub, "default_payment_method": payment_method or sub["default_payment_method"]}
            )
            if failure is NO_CARD:  # refused before any attempt
                raise payment_error(failure)
        self._settle_payment(record, ctx, payment_error(failure) if failure is not None else None)
        return self._render(record, expand)

    def _invoice_subscription(self, invoice: dict) -> _Record:
        """The subscription an invoice bills (every invoice of the sandbox has one)."""
        return self._records[invoice["parent"]["subscription_details"]["subscription"]]

    def _settle_payment(self, record: _Record, ctx: RequestContext | None, error: StripeError | None) -> None:
        """The end of one payment attempt on an open invoice, made by POST /v1/invoices/{id}/pay or the
        hosted invoice page. ``error`` (the card's error, or a failed authentication): the invoice is
        left open, invoice.payment_failed, and ``error`` is raised. Otherwise it is paid (_mark_paid):
        invoice.paid, invoice.payment_succeeded, and a past_due subscription whose latest invoice it is
        becomes active again, customer.subscription.updated
        (https://docs.stripe.com/billing/subscriptions/overview#payment-status). Either way it was
        attempted: "Any payment attempt counts as the first attempt, and subsequently only automatic
        retries increment the attempt count"
        (https://docs.stripe.com/api/invoices/object#invoice_object-attempt_count)."""
        invoice = record.obj
        invoice.update(attempted=True, attempt_count=max(invoice["attempt_count"], 1))
        if error is not None:
            self._emit(self._payment_events(record), ctx)
            raise error
        self._mark_paid(invoice, invoice["amount_due"])
        emitted = self._payment_events(record)
        subscription = self._invoice_subscription(invoice)
        sub = subscription.obj
        if sub["status"] == "past_due" and sub["latest_invoice"] == invoice["id"]:
            sub["status"] = "active"
            emitted.append(
                ("customer.subscription.updated", subscription, {"previous_attributes": {"status": "past_due"}})
            )
        self._emit(emitted, ctx)

    # -- the hosted invoice page (https://docs.stripe.com/invoicing/hosted-invoice-page) ---------------

    def invoice_page_view(self, invoice_id: str) -> dict:
        """What the hosted invoice page shows (it needs no API key, like Stripe's): see _invoice_view."""
        with self.lock:
            return self._invoice_view(self._hosted_invoice(invoice_id))

    def invoice_page_pay(self, invoice_id: str) -> dict:
        """The page's Pay, on-session, with the card the invoice would use (_invoice_payment_method). A
        paid invoice stays as it is: no second payment, no event. A card that needs authentication
        (4000002760003184 "requires authentication on all transactions", https://docs.stripe.com/testing)
        is not charged yet: the customer is asked to authenticate (``next_action`` "authenticate"),
        and invoice_page_authenticate ends the attempt. Any other card is charged at once as
        POST /v1/invoices/{id}/pay charges it (_settle_payment): paid, or its card error raised and the
        invoice left open. No card at all: Stripe's 400 NO_PAYMENT_METHOD, nothing changed."""
        with self.lock:
            record = self._hosted_invoice(invoice_id)
            invoice = record.obj
            if invoice["status"] == "paid":
                record.extra.pop("awaiting_authentication", None)
                return self._invoice_view(record)
            if invoice["status"] != "open":
                raise invalid(INVOICE_NOT_OPEN)
            payment_method = self._invoice_payment_method(self._invoice_subscription(invoice).obj)
            failure = self._failure_of(payment_method)
            if failure is NO_CARD:
                raise payment_error(failure)
            # On-session the customer is there to authenticate, so the bank asks rather than declines.
            if failure is AUTHENTICATION_REQUIRED and payment_method is not None:
                record.extra["awaiting_authentication"] = payment_method.obj["id"]
                return self._invoice_view(record, payment_method, next_action="authenticate")
            record.extra.pop("awaiting_authentication", None)
            self._settle_payment(record, None, payment_error(failure) if failure is not None else None)
            return self._invoice_view(record)

    def invoice_page_authenticate(self, invoice_id: str, outcome: str | None) -> dict:
        """The outcome of the 3D Secure challenge invoice_page_pay asked for, as Stripe's test page
        offers (https://docs.stripe.com/testing#regulatory-cards): complete charges the card the
        challenge was for and the invoice is paid as POST /v1/invoices/{id}/pay pays it; fail leaves
        it open, invoice.payment_failed, and raises Stripe.js's error for a failed challenge
        (AUTHENTICATION_FAILED_CODE). An invoice paid meanwhile answers as it is; with no payment
        waiting for authentication, a 400 (NOT_AWAITING_AUTHENTICATION)."""
        with self.lock:
            record = self._hosted_invoice(invoice_id)
            if outcome not in AUTHENTICATION_OUTCOMES:
                raise invalid(f"outcome must be one of {', '.join(AUTHENTICATION_OUTCOMES)}", param="outcome")
            payment_method_id = record.extra.pop("awaiting_authentication", None)
            if record.obj["status"] == "paid":
                return self._invoice_view(record)
            if payment_method_id is None or record.obj["status"] != "open":
                raise invalid(NOT_AWAITING_AUTHENTICATION)
            error = None
            if outcome == "fail":
                error = StripeError(400, AUTHENTICATION_FAILED_MESSAGE, code=AUTHENTICATION_FAILED_CODE)
            self._settle_payment(record, None, error)
            return self._invoice_view(record)

    def _hosted_invoice(self, invoice_id: str) -> _Record:
        record = self._records.get(invoice_id)
        if record is None or record.obj["object"] != "invoice":
            raise no_such("invoice", invoice_id)
        return record

    def _invoice_view(
        self, record: _Record, payment_method: _Record | None = None, next_action: str | None = None
    ) -> dict:
        """The invoice, its customer (whose preferred_locales the page speaks), the card it is paid
        with (``card``: ``payment_method``'s, else the one the invoice would use, or None), the
        account's business name (or None) and ``next_action`` ("authenticate" or None)."""
        invoice = record.obj
        if payment_method is None:
            payment_method = self._invoice_payment_method(self._invoice_subscription(invoice).obj)
        return {
            "invoice": copy.deepcopy(invoice),
            "customer": copy.deepcopy(self._records[invoice["customer"]].obj),
            "card": copy.deepcopy(payment_method.obj["card"]) if payment_method else None,
            "business": self._business_name(record.account),
            "next_action": next_action,
        }

    def _pay_subscription(self, session: _Record, email: str | None) -> dict:
        """The hosted page's Pay in subscription mode: the card is saved as the customer's default,
        the subscription starts and its first invoice is paid."""
        email = session.obj["customer_email"] or email or None
        changes: list[Change] = []
        customer_id = session.obj["customer"]
        if customer_id is None:
            customer = self._new_customer(session.account, email)
            changes.append(("customer.created", customer))
        else:
            customer = self._records[customer_id]
        payment_method = self._new_payment_method(session.account, email or customer.obj.get("email"))
        payment_method.obj["customer"] = customer.obj["id"]
        customer.obj["invoice_settings"]["default_payment_method"] = payment_method.obj["id"]
        changes.append(("payment_method.attached", payment_method))
        data = session.extra["subscription_data"]
        subscription = self._new_subscription(session, customer, payment_method, data)
        invoice = self._new_invoice(subscription, "subscription_create", paid=True)
        subscription.obj["latest_invoice"] = invoice.obj["id"]
        self._complete(
            session, customer.obj["id"], email, subscription=subscription.obj["id"], invoice=invoice.obj["id"]
        )
        self._emit(
            [
                *changes,
                ("checkout.session.completed", session),
                ("customer.subscription.created", subscription),
                ("invoice.created", invoice),
                ("invoice.finalized", invoice),
                *self._payment_events(invoice),
            ],
            None,
        )
        return copy.deepcopy(session.obj)

    def _new_subscription(self, session: _Record, customer: _Record, payment_method: _Record, data: dict) -> _Record:
        now = self.now()
        subscription_id = new_id("sub")
        items = []
        for line in session.extra["line_items"]:
            price = copy.deepcopy(line["price"])
            price["active"] = True
            if price["product"] not in self._records:  # Checkout's product_data made a Product
                self._new_product(session.account, line["description"], price["product"])
            items.append(
                {
                    "id": new_id("si", 14),
                    "object": "subscription_item",
                    "created": now,
                    "current_period_start": now,
                    "current_period_end": add_month(now, price["recurring"]["interval_count"]),
                    "discounts": [],
                    "metadata": {},
                    "price": price,
                    "quantity": line["quantity"],
                    "subscription": subscription_id,
                    "tax_rates": [],
                }
            )
        subscription = {
            "id": subscription_id,
            "object": "subscription",
            "application": None,
            "billing_cycle_anchor": now,
            "cancel_at": None,
            "cancel_at_period_end": False,
            "canceled_at": None,
            "cancellation_details": {"comment": None, "feedback": None, "reason": None},
            "collection_method": "charge_automatically",
            "created": now,
            "currency": session.obj["currency"],
            "customer": customer.obj["id"],
            "days_until_due": None,
            "default_payment_method": payment_method.obj["id"],
            "description": data["description"],
            "ended_at": None,
            "items": {
                "object": "list",
                "data": items,
                "has_more": False,
                "url": f"/v1/subscription_items?subscription={subscription_id}",
            },
            "latest_invoice": None,
            "livemode": False,
            "metadata": copy.deepcopy(data["metadata"]),
            "pause_collection": None,
            "start_date": now,
            "status": "active",
            "test_clock": None,
            "trial_end": None,
            "trial_start": None,
        }
        record = _Record(subscription, session.account)
        self._records[subscription_id] = record
        return record

    def _new_invoice(self, subscription: _Record, reason: str, paid: bool, new_period: bool = True) -> _Record:
        """The subscription's invoice now: a new period's items (unless ``new_period`` is false) and
        its pending prorations, less any credit on the customer's balance
        (https://docs.stripe.com/billing/customer/balance); ``paid`` says whether the charge of what is
        still due succeeds. Less than the currency's minimum charge is not charged: the invoice is
        marked paid and the amount added to the balance as a debit (https://docs.stripe.com/api/invoices)."""
        now = self.now()
        sub = subscription.obj
        invoice_id = new_id("in")
        lines = [self._period_line(sub, item, invoice_id) for item in sub["items"]["data"]] if new_period else []
        for invoice_item in subscription.extra.pop("pending_invoice_items", []):
            invoice_item.obj["invoice"] = invoice_id
            lines.append(self._proration_line(invoice_item.obj, invoice_id))
        total = sum(line["amount"] for line in lines)
        customer = self._records[sub["customer"]]
        starting_balance = customer.obj["balance"]
        owed = starting_balance + total  # a negative balance is credit
        amount_due, ending_balance = (owed, 0) if owed >= 0 else (0, owed)
        too_small = 0 < amount_due < MINIMUM_AMOUNTS.get(sub["currency"], 0)
        if too_small:  # marked paid, and carried on the balance as a debit
            ending_balance = amount_due
        customer.obj["balance"] = ending_balance
        paid = paid or amount_due == 0 or too_small
        number = customer.obj["next_invoice_sequence"]
        customer.obj["next_invoice_sequence"] = number + 1
        first = sub["items"]["data"][0]
        invoice = {
            "id": invoice_id,
            "object": "invoice",
            "account_country": "US",
            "amount_due": amount_due,
            "amount_paid": 0,
            "amount_remaining": amount_due,
            "attempt_count": 1 if amount_due else 0,
            "attempted": True,
            "auto_advance": True,
            "billing_reason": reason,
            "collection_method": "charge_automatically",
            "created": now,
            "currency": sub["currency"],
            "customer": sub["customer"],
            "customer_email": customer.obj.get("email"),
            "ending_balance": ending_balance,
            "hosted_invoice_url": f"{self.public_url}/invoices/{invoice_id}",
            "lines": {
                "object": "list",
                "data": lines,
                "has_more": False,
                "url": f"/v1/invoices/{invoice_id}/lines",
            },
            "livemode": False,
            "metadata": {},
            "next_payment_attempt": now + RETRY_DAYS * 86400,
            "number": f"{customer.obj['invoice_prefix']}-{number:04d}",
            "parent": {
                "type": "subscription_details",
                "quote_details": None,
                "subscription_details": {"metadata": copy.deepcopy(sub["metadata"]), "subscription": sub["id"]},
            },
            "period_end": now if reason == "subscription_update" else first["current_period_start"],
            "period_start": now if reason == "subscription_update" else first["current_period_start"],
            "starting_balance": starting_balance,
            "status": "open",
            "status_transitions": {
                "finalized_at": now,
                "marked_uncollectible_at": None,
                "paid_at": None,
                "voided_at": None,
            },
            "subtotal": total,
            "total": total,
        }
        if paid:
            self._mark_paid(invoice, 0 if too_small else amount_due)
        record = _Record(invoice, subscription.account)
        self._records[invoice_id] = record
        return record

    def _mark_paid(self, invoice: dict, amount_paid: int) -> None:
        """An invoice paid now (https://docs.stripe.com/api/invoices/object): status paid, nothing
        remaining, ``status_transitions.paid_at`` now, no further attempt scheduled, and no more
        automatic collection. ``amount_paid`` is what was collected: the amount due when a card paid it
        or it was paid out of band (since 2025-03-31.basil ``amount_paid`` counts out-of-band payments:
        https://docs.stripe.com/changelog/basil/2025-03-31/add-support-for-multiple-partial-payments-on-invoices),
        0 when nothing was due or it was too small to charge."""
        invoice.update(
            status="paid",
            amount_paid=amount_paid,
            amount_remaining=0,
            auto_advance=False,
            next_payment_attempt=None,
        )
        invoice["status_transitions"]["paid_at"] = self.now()

    @staticmethod
    def _payment_events(invoice: _Record) -> list[Change]:
        """The events of an invoice's payment attempt: invoice.paid then invoice.payment_succeeded when
        it is paid, invoice.payment_failed when it is left open
        (https://docs.stripe.com/billing/subscriptions/webhooks)."""
        if invoice.obj["status"] == "paid":
            return [("invoice.paid", invoice), ("invoice.payment_succeeded", invoice)]
        return [("invoice.payment_failed", invoice)]

    def _period_line(self, sub: dict, item: dict, invoice_id: str) -> dict:
        """An item's line for its (new) period, at its price."""
        price = item["price"]
        name = self._records[price["product"]].obj["name"] if price["product"] in self._records else None
        return {
            "id": new_id("il"),
            "object": "line_item",
            "amount": price["unit_amount"] * item["quantity"],
            "currency": sub["currency"],
            "description": f"{item['quantity']} × {name}" if name else None,
            "invoice": invoice_id,
            "period": {"start": item["current_period_start"], "end": item["current_period_end"]},
            "pricing": {
                "type": "price_details",
                "price_details": {"price": price["id"], "product": price["product"]},
                "unit_amount_decimal": str(price["unit_amount"]),
            },
            "quantity": item["quantity"],
            "parent": {
                "type": "subscription_item_details",
                "subscription_item_details": {
                    "invoice_item": None,
                    "proration": False,
                    "proration_details": {"credited_items": None},
                    "subscription": sub["id"],
                    "subscription_item": item["id"],
                },
            },
        }

    @staticmethod
    def _proration_line(invoice_item: dict, invoice_id: str) -> dict:
        """A pending proration as it shows on the invoice that carries it."""
        details = invoice_item["parent"]["subscription_details"]
        return {
            "id": new_id("il"),
            "object": "line_item",
            "amount": invoice_item["amount"],
            "currency": invoice_item["currency"],
            "description": invoice_item["description"],
            "invoice": invoice_id,
            "period": copy.deepcopy(invoice_item["period"]),
            "pricing": copy.deepcopy(invoice_item["pricing"]),
            "quantity": invoice_item["quantity"],
            "parent": {
                "type": "subscription_item_details",
                "subscription_item_details": {
                    "invoice_item": invoice_item["id"],
                    "proration": True,
                    "proration_details": {"credited_items": None},
                    "subscription": details["subscription"],
                    "subscription_item": details["subscription_item"],
                },
            },
        }

    def renew_subscription(self, subscription_id: str, body: dict) -> dict:
        """Test control: the subscription's next period starts now and its invoice is paid or fails
        (what a test clock advanced past the period's end does, with a working or declining card); one
        set to cancel at the period's end ends instead. ``payment`` forces the outcome; without it the
        card the invoice charges decides (see _card_failure)."""
        payment = body.get("payment")
        if set(body) - {"payment"} or payment not in (None, "succeeds", "fails"):
            raise invalid('The body must be {"payment"?: "succeeds" | "fails"}')
        with self.lock:
            record = self._records.get(subscription_id)
            if record is None or record.obj["object"] != "subscription":
                raise invalid(f"No such subscription: '{subscription_id}'")
            sub = record.obj
            if sub["status"] not in ("active", "past_due", "trialing"):
                raise invalid(f"This subscription is {sub['status']}: it does not renew.")
            pays = self._card_failure(sub) is None if payment is None else payment == "succeeds"
            if sub["cancel_at_period_end"]:
                return self._end_at_period_end(record, paid=pays)
            now = self.now()
            previous_items = copy.deepcopy(sub["items"])
            for item in sub["items"]["data"]:
                item["current_period_start"] = now
                item["current_period_end"] = add_month(now, item["price"]["recurring"]["interval_count"])
            invoice = self._new_invoice(record, "subscription_cycle", paid=pays)
            paid = invoice.obj["status"] == "paid"  # a credit balance may cover it all
            previous = {"items": previous_items, "latest_invoice": sub["latest_invoice"]}
            status = "active" if paid else "past_due"
            if sub["status"] != status:
                previous["status"] = sub["status"]
            sub.update(status=status, latest_invoice=invoice.obj["id"])
            outcome = ("invoice.paid", invoice) if paid else ("invoice.payment_failed", invoice)
            self._emit(
                [
                    ("invoice.created", invoice),
                    ("invoice.finalized", invoice),
                    outcome,
                    ("customer.subscription.updated", record, {"previous_attributes": previous}),
                ],
                None,
            )
            return {"subscription": copy.deepcopy(sub), "invoice": copy.deepcopy(invoice.obj)}

    def _end_at_period_end(self, record: _Record, paid: bool) -> dict:
        """The period's end of a subscription set to cancel then: it ends, nothing renews, and only the
        prorations still pending are invoiced, as Stripe collects them then
        (https://docs.stripe.com/api/subscriptions/cancel); an unpaid one is not retried, Stripe having
        stopped automatic collection at the cancellation."""
        sub = record.obj
        emitted: list[Change] = []
        invoice = None
        if record.extra.get("pending_invoice_items"):
            invoice = self._new_invoice(record, "subscription_cycle", paid=paid, new_period=False)
            if invoice.obj["status"] == "open":
                invoice.obj.update(auto_advance=False, next_payment_attempt=None)
            sub["latest_invoice"] = invoice.obj["id"]
            outcome = "invoice.paid" if invoice.obj["status"] == "paid" else "invoice.payment_failed"
            emitted = [("invoice.created", invoice), ("invoice.finalized", invoice), (outcome, invoice)]
        sub.update(status="canceled", ended_at=self.now())
        self._emit([*emitted, ("customer.subscription.deleted", record)], None)
        return {"subscription": copy.deepcopy(sub), "invoice": copy.deepcopy(invoice.obj) if invoice else None}
