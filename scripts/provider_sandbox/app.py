"""The sandbox WSGI app: Stripe's v1 API (with Connect and Billing), the hosted Checkout, customer
portal, hosted invoice and Connect onboarding pages and a small control API for tests,
plus CamPay (``/campay``, the customer's phone at ``/handset``), PayDunya (``/paydunya``) and PayPal
(``/paypal``), each in its own module; all providers share one webhook delivery worker and its config.

What real providers do that a test needs on demand, through ``POST /_sandbox/config``:

* ``answer_delays`` ``{"<path prefix>": seconds}``: the request is handled (a CamPay collect sends
  its prompt, a Stripe refund is made) and only its answer is late, as when a provider is slow
  behind its load balancer. Real providers have no such switch; their latency is not ours to pick.
* ``provider_faults`` ``[{"path": "<prefix>", "status": 503, "count": 2, "code"?: "amount_too_large"}]``:
  the next matching requests fail before anything is done (Stripe's paths answer Stripe's error
  object with that code) (PayPal's verify API answering 5xx, 429 or 401 happens:
  reference/payment-providers.md 2.2 and section 6).
* ``clock_skew_seconds`` ``{"campay": 5, "paypal": -1200}``: that provider's clock is off ours (the
  times it signs: CamPay's callback JWT claims, PayPal's PAYPAL-TRANSMISSION-TIME).

``create_app(public_url)`` builds a self-contained app (state in memory, background threads for
session expiry and webhook delivery); ``serve_in_thread`` runs it on a loopback port for tests and
for ``python -m provider_sandbox``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from provider_sandbox import pages
from provider_sandbox.campay import CampayProvider
from provider_sandbox.delivery import DeliveryConfig, DeliveryWorker
from provider_sandbox.paydunya import PaydunyaProvider
from provider_sandbox.paypal import PayPalProvider
from provider_sandbox.stripe_api import (
    API_VERSION,
    DECLINE_MESSAGE,
    RequestContext,
    StripeError,
    invalid,
    new_id,
    parse_params,
)
from provider_sandbox.stripe_billing import BillingState, PortalSessionExpired
from provider_sandbox.stripe_connect import LinkGone

log = logging.getLogger(__name__)

API_ROUTES = [
    ("POST", "/v1/webhook_endpoints", "create_webhook_endpoint"),
    ("GET", "/v1/webhook_endpoints", "list_webhook_endpoints"),
    ("GET", "/v1/webhook_endpoints/<endpoint_id>", "retrieve_webhook_endpoint"),
    ("DELETE", "/v1/webhook_endpoints/<endpoint_id>", "delete_webhook_endpoint"),
    ("POST", "/v1/checkout/sessions", "create_checkout_session"),
    ("GET", "/v1/checkout/sessions", "list_checkout_sessions"),
    ("GET", "/v1/checkout/sessions/<session_id>", "retrieve_checkout_session"),
    ("POST", "/v1/checkout/sessions/<session_id>/expire", "expire_checkout_session"),
    ("POST", "/v1/payment_intents", "create_payment_intent"),
    ("GET", "/v1/payment_intents/<intent_id>", "retrieve_payment_intent"),
    ("GET", "/v1/charges/<charge_id>", "retrieve_charge"),
    ("POST", "/v1/refunds", "create_refund"),
    ("GET", "/v1/refunds", "list_refunds"),
    ("GET", "/v1/refunds/<refund_id>", "retrieve_refund"),
    ("GET", "/v1/disputes/<dispute_id>", "retrieve_dispute"),
    ("GET", "/v1/events/<event_id>", "retrieve_event"),
    ("POST", "/v1/customers", "create_customer"),
    ("GET", "/v1/customers/<customer_id>", "retrieve_customer"),
    ("POST", "/v1/customers/<customer_id>", "update_customer"),
    ("POST", "/v1/billing_portal/sessions", "create_billing_portal_session"),
    ("POST", "/v1/products", "create_product"),
    ("GET", "/v1/products/<product_id>", "retrieve_product"),
    ("GET", "/v1/subscriptions/<subscription_id>", "retrieve_subscription"),
    ("POST", "/v1/subscriptions/<subscription_id>", "update_subscription"),
    ("DELETE", "/v1/subscriptions/<subscription_id>", "cancel_subscription"),
    ("GET", "/v1/invoices/<invoice_id>", "retrieve_invoice"),
    ("POST", "/v1/invoices/<invoice_id>/pay", "pay_invoice"),
    ("GET", "/v1/payment_methods/<payment_method_id>", "retrieve_payment_method"),
    ("POST", "/v1/accounts", "create_account"),
    ("GET", "/v1/accounts/<account_id>", "retrieve_account"),
    ("GET", "/v1/account", "retrieve_current_account"),
    ("POST", "/v1/account_links", "create_account_link"),
    ("POST", "/v1/accounts/<account_id>/login_links", "create_login_link"),
    ("GET", "/v1/application_fees/<fee_id>", "retrieve_application_fee"),
]
OTHER_ROUTES = [
    ("GET", "/pay/<session_id>", "page_show"),
    ("POST", "/pay/<session_id>/pay", "page_pay"),
    ("POST", "/pay/<session_id>/decline", "page_decline"),
    ("GET", "/billing_portal/<session_id>", "portal_show"),
    ("POST", "/billing_portal/<session_id>/payment_method", "portal_payment_method"),
    ("GET", "/invoices/<invoice_id>", "invoice_show"),
    ("POST", "/invoices/<invoice_id>/pay", "invoice_pay"),
    ("POST", "/invoices/<invoice_id>/authenticate", "invoice_authenticate"),
    ("GET", "/connect/onboarding/<token>", "onboarding_show"),
    ("POST", "/connect/onboarding/<token>/complete", "onboarding_complete"),
    ("GET", "/express/<token>", "express_dashboard_show"),
    ("GET", "/shop/<path:rest>", "shop_return"),
    ("GET", "/_sandbox/health", "control_health"),
    ("GET", "/_sandbox/config", "control_get_config"),
    ("POST", "/_sandbox/config", "control_set_config"),
    ("POST", "/_sandbox/reset-config", "control_reset_config"),
    ("GET", "/_sandbox/deliveries", "control_deliveries"),
    ("POST", "/_sandbox/deliveries/flush", "control_flush_deliveries"),
    ("GET", "/_sandbox/events", "control_events"),
    ("POST", "/_sandbox/stripe/accounts/<account_id>/state", "control_account_state"),
    ("POST", "/_sandbox/stripe/payment_methods/<payment_method_id>/behaviour", "control_payment_method_behaviour"),
    ("POST", "/_sandbox/stripe/refunds", "control_dashboard_refund"),
    ("POST", "/_sandbox/stripe/disputes", "control_open_dispute"),
    ("POST", "/_sandbox/stripe/disputes/<dispute_id>/close", "control_close_dispute"),
    ("POST", "/_sandbox/stripe/subscriptions/<subscription_id>/renew", "control_renew_subscription"),
]

NO_KEY_MESSAGE = (
    "You did not provide an API key. You need to provide your API key in the Authorization header, "
    "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). The local sandbox accepts any "
    "test key (sk_test_...)."
)
IDEMPOTENCY_MISMATCH = (
    "Keys for idempotent requests can only be used with the same parameters they were first used with. "
    "Try using a key other than '{key}' if you meant to execute a different request."
)


@dataclass(frozen=True)
class _Saved:
    """A response kept for idempotent replay, with what it answered (method, path, parameters)."""

    fingerprint: tuple
    status: int
    body: dict
    request_id: str


def _redact(key: str) -> str:
    return key[:8] + "*" * max(0, len(key) - 12) + key[-4:] if len(key) > 12 else key[:3] + "***"


def _json(body: object, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(body, indent=2) + "\n", status, headers, content_type="application/json")


def _html(body: str, status: int = 200) -> Response:
    return Response(body, status, content_type="text/html; charset=utf-8")


class SandboxApp:
    """WSGI callable holding one sandbox's state; call ``close()`` to stop its background threads."""

    def __init__(self, public_url: str, expiry_interval: float = 1.0):
        self.public_url = public_url.rstrip("/")
        self.delivery = DeliveryWorker()
        self.state = BillingState(self.public_url, on_events=self.delivery.submit)
        self._idempotency: dict[tuple[str | None, str], _Saved] = {}
        self._knobs_lock = threading.Lock()
        self.answer_delays: dict[str, float] = {}
        self.provider_faults: list[dict] = []
        self.clock_skew: dict[str, float] = {}
        self.campay = CampayProvider(self.public_url, self.delivery, clock=lambda: self.clock("campay"))
        self.paydunya = PaydunyaProvider(self.public_url, self.delivery)
        self.paypal = PayPalProvider(self.public_url, self.delivery, clock=lambda: self.clock("paypal"))
        self.providers = (self.campay, self.paydunya, self.paypal)
        self._url_map = Map(
            [Rule(path, methods=[method], endpoint=("api", name)) for method, path, name in API_ROUTES]
            + [Rule(path, methods=[method], endpoint=("local", name)) for method, path, name in OTHER_ROUTES]
            + [
                Rule(path, methods=[method], endpoint=("provider", handler))
                for provider in self.providers
                for method, path, handler in provider.routes()
            ],
            strict_slashes=False,
        )
        self._stopping = threading.Event()
        self._expiry_interval = expiry_interval
        self._expiry_thread = threading.Thread(target=self._expire_loop, name="sandbox-expiry", daemon=True)
        self._expiry_thread.start()

    def __call__(self, environ, start_response):
        request = Request(environ)
        fault = None if request.path.startswith("/_sandbox/") else self._take_fault(request.path)
        response = _json(fault[1], fault[0]) if fault else self._dispatch(request)
        delay = self._answer_delay(request.path)
        if delay:
            time.sleep(delay)  # handled already; only the answer is late (no lock is held here)
        return response(environ, start_response)

    def clock(self, provider: str) -> float:
        """A provider's clock: ours plus its configured skew."""
        with self._knobs_lock:
            return time.time() + self.clock_skew.get(provider, 0.0)

    def _answer_delay(self, path: str) -> float:
        with self._knobs_lock:
            return max(
                (seconds for prefix, seconds in self.answer_delays.items() if path.startswith(prefix)), default=0
            )

    def _take_fault(self, path: str) -> tuple[int, dict] | None:
        with self._knobs_lock:
            for fault in self.provider_faults:
                if path.startswith(fault["path"]) and fault["count"] != 0:
                    fault["count"] -= 1
                    fault["fired"] = fault.get("fired", 0) + 1
                    status = fault["status"]
                    message = f"injected {status} (sandbox fault)"
                    if path.startswith("/v1/"):  # Stripe's error object (docs.stripe.com/api/errors)
                        kind = "invalid_request_error" if status < 500 else "api_error"
                        return status, {"error": {"type": kind, "code": fault.get("code"), "message": message}}
                    return status, {"name": "INJECTED_FAULT", "message": message}
        return None

    def close(self) -> None:
        """Stop the expiry thread and the delivery worker (bounded waits)."""
        self._stopping.set()
        self._expiry_thread.join(5)
        self.delivery.stop()

    def _expire_loop(self) -> None:
        """Expire sessions whose expires_at passed, like Stripe does on its own."""
        while not self._stopping.wait(self._expiry_interval):
            try:
                self.state.expire_due_sessions()
            except Exception:  # keep expiring even if one pass fails
                log.exception("session expiry pass failed")

    def _dispatch(self, request: Request) -> Response:
        adapter = self._url_map.bind_to_environ(request.environ)
        try:
            (kind, name), args = adapter.match()
        except HTTPException as exc:
            if request.path.startswith("/v1/"):
                message = f"Unrecognized request URL ({request.method}: {request.path})."
                return _json(StripeError(404, message).body(), 404)
            for provider in self.providers:
                if exc.code == 404 and request.path.startswith(provider.prefixes):
                    return provider.not_found(request)
            return exc.get_response(request.environ)
        if kind == "api":
            return self._api(request, name, args)
        if kind == "provider":
            try:
                return name(request, **args)
            except Exception:  # a sandbox bug: answer 500 and keep serving
                log.exception("sandbox error in %s", request.path)
                return _json({"error": {"message": "An unexpected error occurred in the sandbox."}}, 500)
        return getattr(self, name)(request, **args)

    # -- Stripe API ----------------------------------------------------------------------------------

    def _api(self, request: Request, name: str, args: dict) -> Response:
        request_id = new_id("req", 14)
        headers = {"Request-Id": request_id, "Stripe-Version": API_VERSION}
        try:
            self._authenticate(request)
            account = self._account(request)
            pairs = self._param_pairs(request)
            params = parse_params(pairs)
            key = request.headers.get("Idempotency-Key") if request.method == "POST" else None
            if key is not None and len(key) > 255:
                raise invalid("Invalid Idempotency-Key: it must be at most 255 characters long.")
        except StripeError as exc:
            return _json(exc.body(), exc.status, headers)
        ctx = RequestContext(account, request_id, key)
        handler = getattr(self.state, name)
        fingerprint = (request.method, request.path, tuple(sorted(pairs)))
        with self.state.lock:  # one request at a time: replay checks and effects are atomic
            if key is not None:
                saved = self._idempotency.get((account, key))
                if saved is not None:
                    if saved.fingerprint != fingerprint:
                        error = StripeError(400, IDEMPOTENCY_MISMATCH.format(key=key), type="idempotency_error")
                        return _json(error.body(), 400, headers)
                    replay_headers = {**headers, "Request-Id": saved.request_id, "Idempotent-Replayed": "true"}
                    return _json(saved.body, saved.status, replay_headers)
            try:
                status, body = 200, handler(ctx, params, **args)
            except StripeError as exc:
                status, body = exc.status, exc.body()
            except Exception:  # a sandbox bug: answer like Stripe's 500 so the SDK raises APIError
                log.exception("sandbox error in %s", name)
                status, body = (
                    500,
                    StripeError(500, "An unexpected error occurred in the sandbox.", type="api_error").body(),
                )
            # Like Stripe, requests refused by validation are not saved: the caller may fix and retry. A card
            # error (402) is the outcome of a charge that ran, so it is saved and replayed like a success.
            if key is not None and (status == 402 or not 400 <= status < 500):
                self._idempotency[(account, key)] = _Saved(fingerprint, status, body, request_id)
        if key is not None:
            headers["Idempotency-Key"] = key
        return _json(body, status, headers)

    @staticmethod
    def _authenticate(request: Request) -> None:
        authorization = request.headers.get("Authorization", "")
        scheme, _, api_key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not api_key.strip():
            raise StripeError(401, NO_KEY_MESSAGE)
        api_key = api_key.strip()
        if not api_key.startswith("sk_test_") or len(api_key) <= len("sk_test_"):
            raise StripeError(401, f"Invalid API Key provided: {_redact(api_key)}")

    @staticmethod
    def _account(request: Request) -> str | None:
        account = request.headers.get("Stripe-Account") or None
        if account is not None and (not account.startswith("acct_") or len(account) <= len("acct_")):
            raise StripeError(
                403,
                f"The provided key does not have access to account '{account}' (or that account does not exist).",
                code="account_invalid",
            )
        return account

    @staticmethod
    def _param_pairs(request: Request) -> list[tuple[str, str]]:
        """v1 parameters: the query string for GET/DELETE, a form-encoded body for POST."""
        if request.method != "POST":
            return parse_qsl(request.query_string.decode("utf-8", "replace"), keep_blank_values=True)
        body = request.get_data(cache=True)
        if not body:
            return []
        if request.mimetype != "application/x-www-form-urlencoded":
            raise invalid(
                f"Invalid request: unsupported Content-Type {request.content_type}. "
                "v1 endpoints take application/x-www-form-urlencoded bodies."
            )
        try:
            return parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError) as exc:
            raise invalid(f"Invalid request body: {exc}") from exc

    # -- hosted Checkout page ------------------------------------------------------------------------

    @staticmethod
    def _wants_json(request: Request) -> bool:
        accept = request.headers.get("Accept", "")
        return "application/json" in accept and "text/html" not in accept

    def _page_error(self, request: Request, exc: StripeError, session_id: str) -> Response:
        if self._wants_json(request):
            return _json(exc.body(), exc.status)
        if exc.status == 404:
            return _html(pages.message_page("Not found", f"There is no checkout session {session_id}."), 404)
        session, items = self.state.page_session(session_id)
        return _html(pages.checkout_page(session, items), exc.status)

    def page_show(self, request: Request, session_id: str) -> Response:
        try:
            session, items = self.state.page_session(session_id)
        except StripeError as exc:
            return self._page_error(request, exc, session_id)
        if self._wants_json(request):
            return _json(session)
        return _html(pages.checkout_page(session, items))

    def page_pay(self, request: Request, session_id: str) -> Response:
        try:
            session = self.state.pay(session_id, email=request.form.get("email"))
        except StripeError as exc:
            return self._page_error(request, exc, session_id)
        if self._wants_json(request):
            return _json(session)
        if session["success_url"]:
            location = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)
            return Response(status=303, headers={"Location": location})
        return _html(pages.message_page("Payment succeeded", "Thank you, your payment was received."))

    def page_decline(self, request: Request, session_id: str) -> Response:
        try:
            session = self.state.decline(session_id)
        except StripeError as exc:
            return self._page_error(request, exc, session_id)
        if self._wants_json(request):
            return _json(session)
        _, items = self.state.page_session(session_id)
        return _html(pages.checkout_page(session, items, notice=DECLINE_MESSAGE))

    # -- hosted customer portal (behind a billing_portal.session's url) -------------------------------

    @staticmethod
    def _customer_locale(request: Request, customer: dict, locale: str | None = None) -> str | None:
        """The locale a hosted page is shown in: ``locale`` (a portal session's); for "auto" or none,
        the customer's preferred_locales, else the browser's (Accept-Language), as Stripe documents
        (https://docs.stripe.com/api/customer_portal/sessions/create#create_portal_session-locale)."""
        if locale and locale != "auto":
            return locale
        preferred = customer.get("preferred_locales") or []
        if preferred:
            return preferred[0]
        return request.accept_languages.best_match(["en", "fr"])

    def _portal_locale(self, request: Request, view: dict) -> str | None:
        """The locale the portal's pages are shown in: the session's, else as _customer_locale."""
        return self._customer_locale(request, view["customer"], view["session"]["locale"])

    def _portal_error(self, request: Request, exc: StripeError, session_id: str) -> Response:
        if self._wants_json(request):
            return _json(exc.body(), exc.status)
        if isinstance(exc, PortalSessionExpired):
            locale = self._portal_locale(request, exc.view)
            return _html(pages.portal_expired_page(exc.view["session"], exc.view["business"], locale), 410)
        if exc.status == 404:
            return _html(pages.message_page("Not found", f"There is no customer portal session {session_id}."), 404)
        view = self.state.portal_view(session_id)  # the form named no test card it offers
        locale = self._portal_locale(request, view)
        notice = pages.portal_invalid_card_notice(locale)
        return _html(pages.portal_page(**view, locale=locale, notice=notice), exc.status)

    def portal_show(self, request: Request, session_id: str) -> Response:
        """The portal's payment method page; with ``Accept: application/json``, the session."""
        try:
            view = self.state.portal_view(session_id)
        except StripeError as exc:
            return self._portal_error(request, exc, session_id)
        if self._wants_json(request):
            return _json(view["session"])
        return _html(pages.portal_page(**view, locale=self._portal_locale(request, view)))

    def portal_payment_method(self, request: Request, session_id: str) -> Response:
        """Save: form field ``card`` is one of the test card numbers the page offers. Then the flow's
        ``after_completion``: redirect answers 303 to its return_url, anything else a confirmation
        page; with ``Accept: application/json``, the updated customer."""
        try:
            view = self.state.portal_update_payment_method(session_id, request.form.get("card"))
        except StripeError as exc:
            return self._portal_error(request, exc, session_id)
        if self._wants_json(request):
            return _json(view["customer"])
        after = (view["session"]["flow"] or {}).get("after_completion") or {}
        if after.get("type") == "redirect":
            return Response(status=303, headers={"Location": after["redirect"]["return_url"]})
        locale = self._portal_locale(request, view)
        return _html(pages.portal_updated_page(view["session"], view["card"], view["business"], locale))

    # -- the hosted invoice page (behind an invoice's hosted_invoice_url) ------------------------------

    def _invoice_page(self, request: Request, view: dict, notice: str | None = None, status: int = 200) -> Response:
        """The invoice page, or the bank's challenge when the payment waits for authentication."""
        locale = self._customer_locale(request, view["customer"])
        if view["next_action"] == "authenticate":
            return _html(pages.invoice_authentication_page(view["invoice"], view["card"], view["business"], locale))
        page = pages.invoice_page(view["invoice"], view["card"], view["business"], locale, notice)
        return _html(page, status)

    def _invoice_error(self, request: Request, exc: StripeError, invoice_id: str) -> Response:
        """Stripe's error to a JSON client; otherwise the page again, with what went wrong as a notice
        (a decline or a failed authentication in the page's words), answered with the error's status."""
        if self._wants_json(request):
            return _json(exc.body(), exc.status)
        if exc.status == 404:
            return _html(pages.message_page("Not found", f"There is no invoice {invoice_id}."), 404)
        view = self.state.invoice_page_view(invoice_id)
        notice = pages.invoice_notice(exc.code, exc.message, self._customer_locale(request, view["customer"]))
        return self._invoice_page(request, view, notice, exc.status)

    def invoice_show(self, request: Request, invoice_id: str) -> Response:
        """The hosted invoice page; with ``Accept: application/json``, the invoice."""
        try:
            view = self.state.invoice_page_view(invoice_id)
        except StripeError as exc:
            return self._invoice_error(request, exc, invoice_id)
        if self._wants_json(request):
            return _json(view["invoice"])
        return self._invoice_page(request, view)

    def invoice_pay(self, request: Request, invoice_id: str) -> Response:
        """The page's Pay (on-session): the page paid, the bank's challenge when the card asks for it, or
        the page with the decline. With ``Accept: application/json``: the invoice, or
        ``{"next_action": "authenticate", "invoice": ...}``, or Stripe's error with its status."""
        try:
            view = self.state.invoice_page_pay(invoice_id)
        except StripeError as exc:
            return self._invoice_error(request, exc, invoice_id)
        if self._wants_json(request):
            if view["next_action"]:
                return _json({"next_action": view["next_action"], "invoice": view["invoice"]})
            return _json(view["invoice"])
        return self._invoice_page(request, view)

    def invoice_authenticate(self, request: Request, invoice_id: str) -> Response:
        """The challenge's outcome: form field ``outcome`` complete (the page paid) or fail (the page
        with the failure and Pay again). With ``Accept: application/json``: the invoice, or Stripe's
        error with its status."""
        try:
            view = self.state.invoice_page_authenticate(invoice_id, request.form.get("outcome"))
        except StripeError as exc:
            return self._invoice_error(request, exc, invoice_id)
        if self._wants_json(request):
            return _json(view["invoice"])
        return self._invoice_page(request, view)

    # -- hosted Connect onboarding (behind an Account Link) -------------------------------------------

    def _link_gone(self, request: Request, gone: LinkGone) -> Response:
        if self._wants_json(request):
            body = StripeError(410, gone.reason, details={"refresh_url": gone.refresh_url}).body()
            return _json(body, 410)
        return _html(pages.onboarding_gone_page(gone.reason, gone.refresh_url), 410)

    def _link_missing(self, request: Request, exc: StripeError) -> Response:
        if self._wants_json(request):
            return _json(exc.body(), exc.status)
        return _html(pages.message_page("Not found", "There is no such onboarding link."), exc.status)

    def onboarding_show(self, request: Request, token: str) -> Response:
        try:
            account = self.state.onboarding_account(token)
        except LinkGone as gone:
            return self._link_gone(request, gone)
        except StripeError as exc:
            return self._link_missing(request, exc)
        if self._wants_json(request):
            return _json(account)
        return _html(pages.onboarding_page(account, token))

    def onboarding_complete(self, request: Request, token: str) -> Response:
        try:
            account, return_url = self.state.complete_onboarding(token)
        except LinkGone as gone:
            return self._link_gone(request, gone)
        except StripeError as exc:
            return self._link_missing(request, exc)
        if self._wants_json(request):
            return _json(account)
        return Response(status=303, headers={"Location": return_url})

    def express_dashboard_show(self, request: Request, token: str) -> Response:
        try:
            account = self.state.express_dashboard(token)
        except LinkGone as gone:
            return _html(pages.message_page("Link no longer valid", gone.reason, label=pages.CONNECT_LABEL), 410)
        except StripeError as exc:
            return _html(pages.message_page("Not found", "There is no such login link."), exc.status)
        if self._wants_json(request):
            return _json(account)
        return _html(pages.express_dashboard_page(account))

    def shop_return(self, request: Request, rest: str) -> Response:
        """Stands in for the shop's own site, where providers send the customer back (ShopUrl)."""
        result = request.args.get("result", "")
        text = {
            "success": "The payment page says you paid. Your order settles when the provider's webhook arrives.",
            "cancel": "You left the payment page without paying.",
        }.get(result, "You are back at the shop.")
        return _html(pages.message_page("Back at the shop", f"{text} (/{rest})"))

    # -- control API for tests -----------------------------------------------------------------------

    def _config(self) -> dict:
        with self._knobs_lock:
            knobs = {
                "answer_delays": dict(self.answer_delays),
                "provider_faults": [dict(f) for f in self.provider_faults],
                "clock_skew_seconds": dict(self.clock_skew),
            }
        return {**self.delivery.config.as_dict(), "clock_offset_seconds": self.state.clock_offset_seconds, **knobs}

    def _set_knobs(self, changes: dict) -> None:
        """Validate and apply answer_delays, provider_faults and clock_skew_seconds (popped from changes)."""
        delays = changes.pop("answer_delays", None)
        faults = changes.pop("provider_faults", None)
        skew = changes.pop("clock_skew_seconds", None)
        if delays is not None and not (
            isinstance(delays, dict)
            and all(isinstance(k, str) and k.startswith("/") and _number(v) and v >= 0 for k, v in delays.items())
        ):
            raise ValueError('answer_delays must be {"/path/prefix": seconds}')
        if faults is not None:
            if not isinstance(faults, list) or not all(
                isinstance(f, dict)
                and isinstance(f.get("path"), str)
                and f["path"].startswith("/")
                and isinstance(f.get("status"), int)
                and 400 <= f["status"] <= 599
                and (f.get("count") is None or (isinstance(f["count"], int) and f["count"] > 0))
                for f in faults
            ):
                raise ValueError('provider_faults must be [{"path": "/prefix", "status": 4xx|5xx, "count": n|null}]')
        if skew is not None and not (
            isinstance(skew, dict) and all(k in ("campay", "paypal") and _number(v) for k, v in skew.items())
        ):
            raise ValueError('clock_skew_seconds must be {"campay"|"paypal": seconds}')
        with self._knobs_lock:
            if delays is not None:
                self.answer_delays = {k: float(v) for k, v in delays.items()}
            if faults is not None:
                # count null: until cleared; -1 stands for "no limit" internally.
                self.provider_faults = [
                    {
                        "path": f["path"],
                        "status": f["status"],
                        "count": f.get("count") or -1,
                        "fired": 0,
                        **({"code": f["code"]} if f.get("code") else {}),
                    }
                    for f in faults
                ]
            if skew is not None:
                self.clock_skew = {k: float(v) for k, v in skew.items()}

    def control_health(self, request: Request) -> Response:
        return _json({"status": "ok"})

    def control_get_config(self, request: Request) -> Response:
        return _json(self._config())

    def control_set_config(self, request: Request) -> Response:
        """Partial update, e.g. {"duplicates": 3} or {"retry_backoff_seconds": [0.05]}."""
        try:
            changes = json.loads(request.get_data() or b"{}")
            if not isinstance(changes, dict):
                raise ValueError("the body must be a JSON object")
            offset = changes.pop("clock_offset_seconds", None)
            if offset is not None and (isinstance(offset, bool) or not isinstance(offset, int | float)):
                raise ValueError("clock_offset_seconds must be a number")
            knobs = {
                k: changes.pop(k) for k in ("answer_delays", "provider_faults", "clock_skew_seconds") if k in changes
            }
            config = self.delivery.config.updated(changes)
            self._set_knobs(knobs)
        except ValueError as exc:
            return _json({"error": {"type": "invalid_request_error", "message": str(exc)}}, 400)
        self.delivery.set_config(config)
        if offset is not None:
            with self.state.lock:
                self.state.clock_offset_seconds = float(offset)
        return _json(self._config())

    def control_reset_config(self, request: Request) -> Response:
        self.delivery.set_config(DeliveryConfig())
        with self.state.lock:
            self.state.clock_offset_seconds = 0.0
        with self._knobs_lock:
            self.answer_delays, self.provider_faults, self.clock_skew = {}, [], {}
        return _json(self._config())

    def control_deliveries(self, request: Request) -> Response:
        keys = ("event_id", "type", "endpoint", "provider")
        filters = {key: request.args[key] for key in keys if key in request.args}
        entries = [d for d in self.delivery.deliveries() if all(d[k] == v for k, v in filters.items())]
        return _json(entries)

    def control_flush_deliveries(self, request: Request) -> Response:
        """Answer once every webhook and callback emitted so far has been attempted (the receiver
        answered, or the delivery was dropped), waiting at most `timeout` seconds (default 10);
        504 if some are still waiting. Lets a test see that nothing (more) is coming, without sleeping."""
        try:
            timeout = min(float(request.args.get("timeout", "10")), 60.0)
        except ValueError:
            return _json({"error": "timeout must be a number of seconds"}, 400)
        done = self.delivery.flush(timeout)
        return _json({"flushed": done}, 200 if done else 504)

    def control_events(self, request: Request) -> Response:
        return _json(self.state.events(request.args.get("type")))

    @staticmethod
    def _json_object(request: Request) -> dict:
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError as exc:
            raise invalid(f"The body must be JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise invalid("The body must be a JSON object")
        return body

    def control_account_state(self, request: Request, account_id: str) -> Response:
        """``{"charges_enabled": bool, "payouts_enabled": bool}``: seed an onboarded merchant or restrict one
        (emits account.updated). Answers the account."""
        try:
            return _json(self.state.set_account_state(account_id, self._json_object(request)))
        except StripeError as exc:
            return _json(exc.body(), exc.status)

    def control_dashboard_refund(self, request: Request) -> Response:
        """A refund made in Stripe's Dashboard: ``{"payment_intent" | "charge", "amount"?}``."""
        return _stripe_control(lambda: self.state.dashboard_refund(self._json_object(request)))

    def control_open_dispute(self, request: Request) -> Response:
        """The card holder disputes: ``{"payment_intent" | "charge", "reason"?, "amount"?}``."""
        return _stripe_control(lambda: self.state.open_dispute(self._json_object(request)))

    def control_close_dispute(self, request: Request, dispute_id: str) -> Response:
        """``{"status": "won" | "lost"}``."""
        return _stripe_control(lambda: self.state.close_dispute(dispute_id, self._json_object(request)))

    def control_payment_method_behaviour(self, request: Request, payment_method_id: str) -> Response:
        """``{"off_session": "succeeds" | "authentication_required" | "card_declined"}`` for a saved card."""
        try:
            body = self._json_object(request)
            if set(body) != {"off_session"}:
                raise invalid('The body must be {"off_session": "succeeds|authentication_required|card_declined"}')
            return _json(self.state.set_off_session_behaviour(payment_method_id, body["off_session"]))
        except StripeError as exc:
            return _json(exc.body(), exc.status)

    def control_renew_subscription(self, request: Request, subscription_id: str) -> Response:
        """``{"payment": "succeeds" | "fails"}``: the subscription renews now (a test clock past its
        period's end); its invoice is paid, or fails and leaves it past_due. ``{}``: the card the
        invoice charges decides (the subscription's default payment method, else the customer's)."""
        return _stripe_control(lambda: self.state.renew_subscription(subscription_id, self._json_object(request)))


def _stripe_control(action) -> Response:
    try:
        return _json(action())
    except StripeError as exc:
        return _json(exc.body(), exc.status)


def _number(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float)


def create_app(public_url: str) -> SandboxApp:
    """Build a sandbox whose hosted pages are reachable at ``public_url`` (e.g. http://127.0.0.1:4010)."""
    return SandboxApp(public_url)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-") -> None:
        pass


class SandboxServer:
    """A sandbox served by a threaded werkzeug server in a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, public_url: str | None = None, quiet: bool = False):
        self._server = make_server(
            host, port, self._wsgi, threaded=True, request_handler=_QuietHandler if quiet else None
        )
        self.host = host
        self.port = self._server.server_port
        self.url = f"http://{host}:{self.port}"
        # No request can arrive before serve_forever starts below, so self.app is set in time.
        self.app = create_app(public_url or self.url)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="sandbox-http", daemon=True
        )
        self._thread.start()

    def _wsgi(self, environ, start_response):
        return self.app(environ, start_response)

    def close(self) -> None:
        """Stop serving, then stop the app's background threads."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
        self.app.close()

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def serve_in_thread(
    host: str = "127.0.0.1", port: int = 0, public_url: str | None = None, quiet: bool = False
) -> SandboxServer:
    """Start a sandbox on ``host:port`` (0 = any free port) and return it; ``close()`` stops it."""
    return SandboxServer(host, port, public_url, quiet)
