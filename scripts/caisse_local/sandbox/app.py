"""The sandbox WSGI app: Stripe's v1 API (with Connect), the hosted Checkout and Connect onboarding pages
and a small control API for tests,
plus CamPay (``/campay``, the customer's phone at ``/handset``), PayDunya (``/paydunya``) and PayPal
(``/paypal``), each in its own module; all providers share one webhook delivery worker and its config.

``create_app(public_url)`` builds a self-contained app (state in memory, background threads for
session expiry and webhook delivery); ``serve_in_thread`` runs it on a loopback port for tests and
for ``python -m caisse_local.sandbox``.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from urllib.parse import parse_qsl

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from caisse_local.sandbox import pages
from caisse_local.sandbox.campay import CampayProvider
from caisse_local.sandbox.delivery import DeliveryConfig, DeliveryWorker
from caisse_local.sandbox.paydunya import PaydunyaProvider
from caisse_local.sandbox.paypal import PayPalProvider
from caisse_local.sandbox.stripe_api import (
    API_VERSION,
    DECLINE_MESSAGE,
    RequestContext,
    StripeError,
    invalid,
    new_id,
    parse_params,
)
from caisse_local.sandbox.stripe_connect import ConnectState, LinkGone

log = logging.getLogger(__name__)

API_ROUTES = [
    ("POST", "/v1/webhook_endpoints", "create_webhook_endpoint"),
    ("GET", "/v1/webhook_endpoints", "list_webhook_endpoints"),
    ("GET", "/v1/webhook_endpoints/<endpoint_id>", "retrieve_webhook_endpoint"),
    ("DELETE", "/v1/webhook_endpoints/<endpoint_id>", "delete_webhook_endpoint"),
    ("POST", "/v1/checkout/sessions", "create_checkout_session"),
    ("GET", "/v1/checkout/sessions/<session_id>", "retrieve_checkout_session"),
    ("POST", "/v1/checkout/sessions/<session_id>/expire", "expire_checkout_session"),
    ("POST", "/v1/payment_intents", "create_payment_intent"),
    ("GET", "/v1/payment_intents/<intent_id>", "retrieve_payment_intent"),
    ("GET", "/v1/charges/<charge_id>", "retrieve_charge"),
    ("POST", "/v1/refunds", "create_refund"),
    ("GET", "/v1/refunds/<refund_id>", "retrieve_refund"),
    ("GET", "/v1/events/<event_id>", "retrieve_event"),
    ("GET", "/v1/customers/<customer_id>", "retrieve_customer"),
    ("GET", "/v1/payment_methods/<payment_method_id>", "retrieve_payment_method"),
    ("POST", "/v1/accounts", "create_account"),
    ("GET", "/v1/accounts/<account_id>", "retrieve_account"),
    ("GET", "/v1/account", "retrieve_current_account"),
    ("POST", "/v1/account_links", "create_account_link"),
    ("GET", "/v1/application_fees/<fee_id>", "retrieve_application_fee"),
]
OTHER_ROUTES = [
    ("GET", "/pay/<session_id>", "page_show"),
    ("POST", "/pay/<session_id>/pay", "page_pay"),
    ("POST", "/pay/<session_id>/decline", "page_decline"),
    ("GET", "/connect/onboarding/<token>", "onboarding_show"),
    ("POST", "/connect/onboarding/<token>/complete", "onboarding_complete"),
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
        self.state = ConnectState(self.public_url, on_events=self.delivery.submit)
        self._idempotency: dict[tuple[str | None, str], _Saved] = {}
        self.campay = CampayProvider(self.public_url, self.delivery)
        self.paydunya = PaydunyaProvider(self.public_url, self.delivery)
        self.paypal = PayPalProvider(self.public_url, self.delivery)
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
        return self._dispatch(request)(environ, start_response)

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
        return {**self.delivery.config.as_dict(), "clock_offset_seconds": self.state.clock_offset_seconds}

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
            config = self.delivery.config.updated(changes)
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

    def control_payment_method_behaviour(self, request: Request, payment_method_id: str) -> Response:
        """``{"off_session": "succeeds" | "authentication_required" | "card_declined"}`` for a saved card."""
        try:
            body = self._json_object(request)
            if set(body) != {"off_session"}:
                raise invalid('The body must be {"off_session": "succeeds|authentication_required|card_declined"}')
            return _json(self.state.set_off_session_behaviour(payment_method_id, body["off_session"]))
        except StripeError as exc:
            return _json(exc.body(), exc.status)


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
