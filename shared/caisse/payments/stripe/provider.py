"""Stripe: Checkout Sessions (the hosted payment page, expiring with the order's holds), refunds and
status for reconciliation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import stripe

from caisse.clock import utcnow
from caisse.errors import Conflict, InvalidRequest, ProviderUnavailable
from caisse.money import Money
from caisse.payments.base import (
    CheckoutSpec,
    Outcome,
    PaymentNotice,
    ProviderCheckout,
    RefundNotice,
    RefundRequest,
    RefundResult,
)
from caisse.payments.stripe.client import client
from caisse.payments.stripe.events import REFUND_STATUS

if TYPE_CHECKING:  # Stripe's own types of each call's parameters, checked by mypy
    from stripe import RequestOptions
    from stripe.params import PaymentIntentCreateParams, RefundListParams
    from stripe.params.checkout import SessionCreateParams, SessionCreateParamsPaymentIntentData, SessionListParams

# Checkout pages Stripe can show in these languages; others fall back to the browser's.
_LOCALES = {"en", "fr"}
# A Checkout Session lives 30 minutes to 24 hours after Stripe creates it (stripe-python's
# SessionCreateParams.expires_at; docs.stripe.com/payments/checkout/managing-limited-inventory).
# The time is taken when the request leaves, with a margin for the request's own trip: a session
# asked for "now + 30 minutes" arrives a little under 30 minutes and is refused. Holds shorter than
# that (the festival's 15 minutes) end with our own expiry sweep, which closes the session.
SESSION_MIN = timedelta(minutes=30)
SESSION_MAX = timedelta(hours=24)
SESSION_MARGIN = timedelta(minutes=2)


def session_expiry(wanted: datetime, now: datetime | None = None) -> int:
    """The `expires_at` to send: what the order wants, within Stripe's window as seen on arrival."""
    now = now or utcnow()
    earliest, latest = now + SESSION_MIN + SESSION_MARGIN, now + SESSION_MAX - SESSION_MARGIN
    return int(min(max(wanted, earliest), latest).timestamp())


def refused(error: stripe.InvalidRequestError) -> InvalidRequest:
    """Stripe answered and said no (an amount too large or too small, a parameter it refuses): the
    request was wrong, Stripe was not down, and nothing was charged."""
    return InvalidRequest(
        f"the card payment provider refused: {error.user_message or error}; nothing was charged",
        code=error.code or "provider_refused",
    )


class Stripe:
    """Stripe on the platform's own account, or, with `account`, on a merchant's connected
    account (direct charges: every call carries the Stripe-Account header)."""

    name = "stripe"
    currencies = frozenset({"USD", "EUR", "GBP", "CAD", "AUD", "NZD", "XAF", "XOF"})

    def __init__(self, account: str | None = None) -> None:
        self.account = account

    def _options(self, idempotency_key: str | None = None) -> RequestOptions:
        options: RequestOptions = {}
        if self.account:
            options["stripe_account"] = self.account
        if idempotency_key:
            options["idempotency_key"] = idempotency_key
        return options

    def check(self, spec: CheckoutSpec) -> None:
        if spec.total.currency not in self.currencies:
            raise InvalidRequest(f"card payments do not take {spec.total.currency}", code="currency_not_supported")

    def open_checkout(self, spec: CheckoutSpec) -> ProviderCheckout:
        intent_data: SessionCreateParamsPaymentIntentData = {
            "metadata": {"order_id": spec.order_id, "order_number": spec.order_number, "purpose": spec.purpose}
        }
        params: SessionCreateParams = {
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": line.unit_price.currency.lower(),
                        "unit_amount": line.unit_price.amount,
                        "product_data": {"name": line.name},
                    },
                    "quantity": line.quantity,
                }
                for line in spec.lines
            ],
            "client_reference_id": spec.order_id,
            "customer_email": spec.customer_email,
            "metadata": {
                "order_id": spec.order_id,
                "order_number": spec.order_number,
                "merchant": spec.merchant,
                "purpose": spec.purpose,
            },
            "payment_intent_data": intent_data,
            "success_url": spec.return_url,
            "cancel_url": spec.cancel_url,
        }
        if spec.locale in _LOCALES:
            params["locale"] = spec.locale
        if spec.application_fee is not None:
            intent_data["application_fee_amount"] = spec.application_fee.amount
        if spec.save_card:
            # The card stays on the merchant's account for the balance, charged after the job.
            intent_data["setup_future_usage"] = "off_session"
            params["customer_creation"] = "always"
        params["expires_at"] = session_expiry(spec.expires_at)  # computed as the request leaves
        try:
            session = client().v1.checkout.sessions.create(params=params, options=self._options(spec.idempotency_key))
        except stripe.InvalidRequestError as error:
            raise refused(error) from error
        except stripe.StripeError as error:
            raise ProviderUnavailable("the card payment provider did not answer; nothing was charged") from error
        if session.amount_total != spec.total.amount:
            # Stripe computed a different total from the same lines: never send a customer there.
            self.close_checkout(session.id)
            raise ProviderUnavailable("the payment provider computed a different total; nothing was charged")
        return ProviderCheckout(
            provider_ref=session.id,
            next_action={"type": "redirect", "url": session.url},
            expires_at=min(spec.expires_at, datetime.fromtimestamp(session.expires_at, UTC)),
        )

    def close_checkout(self, provider_ref: str) -> None:
        try:
            client().v1.checkout.sessions.expire(provider_ref, options=self._options())
        except stripe.StripeError:
            pass  # it expires on its own by expires_at; the order was never written

    def current_status(self, provider_ref: str, payment_ref: str | None) -> PaymentNotice | None:
        try:
            session = client().v1.checkout.sessions.retrieve(provider_ref, options=self._options())
        except stripe.StripeError as error:
            raise ProviderUnavailable("Stripe did not answer") from error
        return self._session_notice(session)

    def sessions_since(self, since: datetime) -> dict[str, PaymentNotice]:
        """What Stripe says now of every Checkout Session created since `since`, by session id:
        `GET /v1/checkout/sessions` 100 at a time (the most a page holds, docs.stripe.com/api/
        checkout/sessions/list), the SDK following `starting_after`; one call per 100 orders
        instead of one per order. Sessions in subscription mode are the merchants' platform plans,
        not orders (their events keep the plans: caisse.payments.plans)."""
        params: SessionListParams = {"created": {"gte": int(since.timestamp())}, "limit": 100}
        try:
            first = client().v1.checkout.sessions.list(params=params, options=self._options())
            return {
                session.id: self._session_notice(session)
                for session in first.auto_paging_iter()
                if session.mode != "subscription"
            }
        except stripe.StripeError as error:
            raise ProviderUnavailable("Stripe did not answer") from error

    def refunds_since(self, since: datetime) -> dict[str, list[RefundNotice]]:
        """Every refund created since `since`, by PaymentIntent (`GET /v1/refunds`, 100 a page)."""
        params: RefundListParams = {"created": {"gte": int(since.timestamp())}, "limit": 100}
        found: dict[str, list[RefundNotice]] = {}
        try:
            for refund in client().v1.refunds.list(params=params, options=self._options()).auto_paging_iter():
                intent = refund.payment_intent if isinstance(refund.payment_intent, str) else None
                if intent:
                    found.setdefault(intent, []).append(self._refund_notice(refund, intent))
        except stripe.StripeError as error:
            raise ProviderUnavailable("Stripe did not answer") from error
        return found

    def _session_notice(self, session) -> PaymentNotice:
        if session.payment_status in ("paid", "no_payment_required"):
            outcome = Outcome.PAID
        elif session.status == "expired":
            outcome = Outcome.EXPIRED
        else:
            outcome = Outcome.PENDING
        return PaymentNotice(
            provider=self.name,
            event_id=f"reconcile:{session.id}:{session.status}:{session.payment_status}",
            event_type="checkout.session.retrieved",
            outcome=outcome,
            order_id=session.client_reference_id or (session.metadata or {}).get("order_id"),
            amount=session.amount_total,
            currency=(session.currency or "").upper() or None,
            provider_ref=session.id,
            payment_ref=session.payment_intent if isinstance(session.payment_intent, str) else None,
        )

    def refunds(self, provider_ref: str | None, payment_ref: str | None) -> list[RefundNotice]:
        """Every refund of the payment, as Stripe records it (GET /v1/refunds?payment_intent=)."""
        if not payment_ref:
            return []
        try:
            page = client().v1.refunds.list(
                params={"payment_intent": payment_ref, "limit": 100}, options=self._options()
            )
        except stripe.StripeError as error:
            raise ProviderUnavailable("Stripe did not answer") from error
        return [self._refund_notice(refund, payment_ref) for refund in page.data]

    def _refund_notice(self, refund, payment_ref: str) -> RefundNotice:
        metadata = refund.metadata.to_dict() if refund.metadata else {}
        return RefundNotice(
            provider=self.name,
            event_id=f"reconcile:{refund.id}:{refund.status}",
            event_type="refund.retrieved",
            provider_refund_id=refund.id,
            status=REFUND_STATUS.get(str(refund.status), "failed"),
            amount=int(refund.amount),
            currency=str(refund.currency).upper(),
            refund_id=metadata.get("refund_id"),
            order_id=metadata.get("order_id"),
            payment_ref=payment_ref,
            account=self.account,
        )

    def refund(self, request: RefundRequest) -> RefundResult:
        if not request.payment_ref:
            raise ProviderUnavailable("no Stripe payment is recorded for this order")
        try:
            refund = client().v1.refunds.create(
                params={
                    "payment_intent": request.payment_ref,
                    "amount": request.amount.amount,
                    "reason": "requested_by_customer",
                    "metadata": {"refund_id": request.refund_id, "order_id": request.order_id},
                    # On a connected account, the platform's fee goes back in proportion.
                    **({"refund_application_fee": True} if self.account else {}),
                },
                options=self._options(request.idempotency_key),
            )
        except stripe.InvalidRequestError as error:
            raise InvalidRequest(
                f"Stripe refused the refund: {error.user_message or error}", code="refund_refused"
            ) from error
        except stripe.StripeError as error:
            raise ProviderUnavailable("Stripe did not answer; the refund was not made") from error
        state = "succeeded" if refund.status == "succeeded" else "pending"
        return RefundResult(status=state, provider_refund_id=refund.id)

    def payment_method_of(self, payment_ref: str) -> str | None:
        """The card a PaymentIntent was paid with: a Checkout Session's events do not name it, and
        only payment_intent.succeeded would (one more delivery for every payment)."""
        try:
            intent = client().v1.payment_intents.retrieve(payment_ref, options=self._options())
        except stripe.StripeError as error:
            raise ProviderUnavailable("Stripe did not answer; nothing was charged") from error
        method = intent.payment_method
        return method if isinstance(method, str) or method is None else method.id

    def charge_saved_card(
        self,
        amount: Money,
        fee: Money | None,
        customer: str,
        payment_method: str,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> SavedCardCharge:
        """Charge a card saved at booking, with nobody at the keyboard (off-session)."""
        params: PaymentIntentCreateParams = {
            "amount": amount.amount,
            "currency": amount.currency.lower(),
            "customer": customer,
            "payment_method": payment_method,
            "off_session": True,
            "confirm": True,
            # With the pinned API version a PaymentIntent takes the payment methods enabled in the
            # Dashboard, some of which redirect; confirming one off-session without a return_url
            # is refused unless redirects are ruled out (stripe-python's
            # PaymentIntentCreateParamsAutomaticPaymentMethods.allow_redirects). Nobody is there
            # to be redirected: a card that needs its owner is handled as needs_customer below.
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
            "metadata": metadata,
        }
        if fee is not None:
            params["application_fee_amount"] = fee.amount
        try:
            intent = client().v1.payment_intents.create(params=params, options=self._options(idempotency_key))
        except stripe.CardError as error:
            # The bank wants the customer (3-D Secure) or says no: they will have to pay themselves.
            declined = error.error.payment_intent if error.error else None
            reference = getattr(declined, "id", None)
            return SavedCardCharge("needs_customer", reference, error.code or "card_error", error.user_message)
        except stripe.IdempotencyError as error:
            raise Conflict(
                "this balance was already charged with different details", code="balance_conflict"
            ) from error
        except stripe.InvalidRequestError as error:
            raise refused(error) from error
        except stripe.StripeError as error:
            raise ProviderUnavailable("Stripe did not answer; nothing was charged") from error
        if intent.status == "succeeded":
            return SavedCardCharge("succeeded", intent.id)
        return SavedCardCharge("needs_customer", intent.id, intent.status, None)


@dataclass(frozen=True)
class SavedCardCharge:
    status: str  # succeeded | needs_customer
    payment_ref: str | None
    code: str | None = None
    message: str | None = None
