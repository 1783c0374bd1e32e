"""Stripe API v1 behaviour for the sandbox: form parsing, Stripe-shaped objects and errors, in-memory state.

Everything here mirrors what the real API does for the few resources Caisse uses (Checkout Sessions,
PaymentIntents, Charges, Refunds, Events, Webhook endpoints, Customers and the saved cards charged
off-session), so code that works against the sandbox with the real ``stripe`` SDK works against
api.stripe.com; Connect (accounts, onboarding links, application fees) is in ``stripe_connect``,
Billing (products, subscriptions, their invoices and price changes) in ``stripe_billing``.
Strictness is deliberate: unknown or malformed parameters are refused with Stripe's error shape
instead of being silently ignored.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import re
import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, get_args
from urllib.parse import urlsplit

from stripe._api_version import _ApiVersion

from provider_sandbox.delivery import OutgoingEvent, Target
from provider_sandbox.pages import format_amount

API_VERSION = _ApiVersion.CURRENT

# A Checkout Session's expires_at must be 30 minutes to 24 hours after Stripe creates it
# (stripe-python's SessionCreateParams.expires_at; docs.stripe.com/payments/checkout/
# managing-limited-inventory). Stripe measures from when the request arrives: "now + 30 minutes"
# computed by the caller before other work is already short of the minimum, and refused.
SESSION_MIN_LIFETIME = 30 * 60
SESSION_MAX_LIFETIME = 24 * 60 * 60
EXPIRES_AT_SLACK = 0
MAX_AMOUNT = 99_999_999  # Stripe caps amounts at 8 digits
# Smallest charge per currency (docs.stripe.com/currencies#minimum-and-maximum-charge-amounts);
# other currencies only need a positive total here.
MINIMUM_AMOUNTS = {"usd": 50, "eur": 50, "gbp": 30}
REFUND_REASONS = {"duplicate", "fraudulent", "requested_by_customer"}
DECLINE_MESSAGE = "Your card was declined."
AUTHENTICATION_REQUIRED_MESSAGE = "Your card was declined. This transaction requires authentication."
# How a saved card behaves when charged off-session (set per PaymentMethod by a test hook).
OFF_SESSION_BEHAVIOURS = ("succeeds", "authentication_required", "card_declined")
DIRECT_FEE_ONLY = (
    "Can only apply an application_fee_amount when the PaymentIntent is attempting a direct payment "
    "(using an OAuth key or Stripe-Account header) or destination payment (using `transfer_data[destination]`)."
)

_KEY_RE = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ID_ALPHABET = string.ascii_letters + string.digits


def _known_event_types() -> frozenset[str] | None:
    """Event types the SDK knows for ``enabled_events`` (None: accept anything if the SDK layout changes)."""
    try:
        from stripe.params._webhook_endpoint_create_params import WebhookEndpointCreateParams

        (literal,) = get_args(WebhookEndpointCreateParams.__annotations__["enabled_events"])
        return frozenset(get_args(literal)) or None
    except (ImportError, KeyError, ValueError, TypeError):
        return None


KNOWN_EVENT_TYPES = _known_event_types()


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


# ---------------------------------------------------------------------------------------------------
# Errors


class StripeError(Exception):
    """An error answered with Stripe's JSON shape; the SDK maps type/status to its exception classes."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        details: dict | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.details = details or {}  # more error fields, e.g. a card error's decline_code and payment_intent

    def body(self) -> dict:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        error.update(copy.deepcopy(self.details))
        return {"error": error}


def invalid(message: str, param: str | None = None, code: str | None = None) -> StripeError:
    return StripeError(400, message, param=param, code=code)


def missing(param: str) -> StripeError:
    return invalid(f"Missing required param: {param}.", param=param, code="parameter_missing")


def no_such(kind: str, object_id: str, param: str = "id") -> StripeError:
    return StripeError(404, f"No such {kind}: '{object_id}'", code="resource_missing", param=param)


def no_such_param(kind: str, object_id: str, param: str) -> StripeError:
    """An id passed as a parameter that does not exist (here): 400, unlike a missing URL resource."""
    return StripeError(400, f"No such {kind}: '{object_id}'", code="resource_missing", param=param)


def round_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up, for non-negative integers."""
    return (2 * numerator + denominator) // (2 * denominator)


# ---------------------------------------------------------------------------------------------------
# Parameters (application/x-www-form-urlencoded with bracket nesting, as stripe-python encodes them)


def parse_params(pairs: list[tuple[str, str]]) -> dict:
    """Turn ``line_items[0][price_data][currency]=usd`` pairs into nested dicts and lists."""
    root: dict = {}
    for key, value in pairs:
        match = _KEY_RE.match(key)
        if not match:
            raise invalid(f"Invalid parameter name: {key}", param=key)
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node = root
        for depth, part in enumerate(parts):
            if part == "":  # "a[]" appends
                part = str(len(node))
            if depth == len(parts) - 1:
                if isinstance(node.get(part), dict):
                    raise invalid(f"Invalid parameter: {key} is both a value and a hash", param=key)
                node[part] = value
            else:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise invalid(f"Invalid parameter: {key} is both a value and a hash", param=key)
                node = child
    return _listify(root, "")


def _listify(node: Any, name: str) -> Any:
    """Dicts keyed 0..n become lists (except metadata, whose keys are free text)."""
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(value, key) for key, value in node.items()}
    if name != "metadata" and converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


def check_known(params: dict, allowed: set[str], prefix: str = "") -> None:
    """Refuse parameters we do not know, like Stripe does, so typos surface locally."""
    for key in params:
        if key not in allowed:
            name = f"{prefix}[{key}]" if prefix else key
            raise invalid(f"Received unknown parameter: {name}", param=name)


def as_dict(value: Any, param: str) -> dict:
    if not isinstance(value, dict):
        raise invalid(f"Invalid object for {param}: expected a hash", param=param)
    return value


def as_str(value: Any, param: str, max_length: int | None = None) -> str:
    if not isinstance(value, str):
        raise invalid(f"Invalid string for {param}: expected a string", param=param)
    if max_length is not None and len(value) > max_length:
        raise invalid(f"Invalid {param}: must be at most {max_length} characters", param=param)
    return value


def as_int(value: Any, param: str, minimum: int | None = None) -> int:
    if not isinstance(value, str) or not re.fullmatch(r"-?\d+", value):
        raise invalid(f"Invalid integer: {value}", param=param, code="parameter_invalid_integer")
    number = int(value)
    if minimum is not None and number < minimum:
        raise invalid(f"Invalid {param}: must be at least {minimum}", param=param)
    return number


def as_bool(value: Any, param: str) -> bool:
    if value not in ("true", "false"):
        raise invalid(f"Invalid boolean: {value}", param=param)
    return value == "true"


def as_url(value: Any, param: str) -> str:
    url = as_str(value, param, 5000)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise invalid(f"Not a valid URL: {param}", param=param, code="url_invalid")
    return url


def as_currency(value: Any, param: str) -> str:
    currency = as_str(value, param)
    if not re.fullmatch(r"[a-z]{3}", currency):
        raise invalid(
            f"Invalid currency: {currency}. Use a three-letter lowercase ISO code such as 'usd'.",
            param=param,
            code="parameter_invalid_string",
        )
    return currency


def as_metadata(value: Any, param: str = "metadata") -> dict[str, str]:
    """docs.stripe.com/metadata: at most 50 keys, keys <= 40 chars, values <= 500 chars."""
    metadata = as_dict(value, param)
    if len(metadata) > 50:
        raise invalid(f"Invalid {param}: at most 50 keys are allowed", param=param)
    result = {}
    for key, item in metadata.items():
        if len(key) > 40:
            raise invalid(f"Invalid {param}: keys must be at most 40 characters ({key})", param=param)
        if not isinstance(item, str) or len(item) > 500:
            raise invalid(f"Invalid {param}[{key}]: values must be strings of at most 500 characters", param=param)
        if item != "":  # an empty value unsets the key
            result[key] = item
    return result


def as_recurring(value: Any, param: str) -> dict:
    """A price_data's ``recurring`` hash as the Price object shows it."""
    recurring = as_dict(value, param)
    check_known(recurring, {"interval", "interval_count"}, param)
    if recurring.get("interval") not in ("day", "week", "month", "year"):
        raise invalid(
            "Invalid recurring[interval]: must be one of day, week, month, or year", param=f"{param}[interval]"
        )
    return {
        "interval": recurring["interval"],
        "interval_count": as_int(recurring.get("interval_count", "1"), f"{param}[interval_count]", 1),
        "meter": None,
        "trial_period_days": None,
        "usage_type": "licensed",
    }


def as_expand(params: dict) -> list[str]:
    value = params.get("expand", [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid("Invalid array for expand", param="expand")
    return value


def is_loopback_url(url: str) -> bool:
    return is_loopback_host(urlsplit(url).hostname or "")


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# ---------------------------------------------------------------------------------------------------
# State


@dataclass(frozen=True)
class RequestContext:
    """Who is asking: the connected account (Stripe-Account header) and the request's ids for events."""

    account: str | None = None
    request_id: str | None = None
    idempotency_key: str | None = None


@dataclass
class _Record:
    obj: dict
    account: str | None
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CardFailure:
    """Why a card payment failed, as Stripe reports it on the error, the Charge and the PaymentIntent."""

    code: str
    decline_code: str
    message: str


GENERIC_DECLINE = CardFailure("card_declined", "generic_decline", DECLINE_MESSAGE)
AUTHENTICATION_REQUIRED = CardFailure(
    "authentication_required", "authentication_required", AUTHENTICATION_REQUIRED_MESSAGE
)
OFF_SESSION_FAILURES = {"authentication_required": AUTHENTICATION_REQUIRED, "card_declined": GENERIC_DECLINE}

# One emitted change: (event type, record) or (event type, record, options); options may set
# "previous_attributes" (data.previous_attributes) and "account" (when the object itself lives on the
# platform, like an Account, but the event is a Connect event of that account).
Change = tuple

EXPANDABLE = {
    "checkout.session": {"payment_intent", "line_items", "customer"},
    "payment_intent": {"latest_charge", "customer", "payment_method"},
    "charge": {"payment_intent", "customer", "application_fee"},
    "refund": {"charge", "payment_intent"},
    "payment_method": {"customer"},
    "application_fee": {"account", "charge"},
    "dispute": {"charge", "payment_intent"},
    "subscription": {"customer", "latest_invoice", "default_payment_method"},
    "invoice": {"customer"},
}

SESSION_PARAMS = {
    "mode",
    "line_items",
    "client_reference_id",
    "customer_email",
    "metadata",
    "payment_intent_data",
    "expires_at",
    "success_url",
    "cancel_url",
    "locale",
    "ui_mode",
    "customer_creation",
    "customer",
    "subscription_data",
    "expand",
}
PAYMENT_INTENT_PARAMS = {
    "amount",
    "currency",
    "customer",
    "payment_method",
    "payment_method_types",
    "allowed_payment_method_types",
    "automatic_payment_methods",
    "return_url",
    "off_session",
    "confirm",
    "application_fee_amount",
    "metadata",
    "description",
    "receipt_email",
    "expand",
}
# With automatic payment methods (the default since API version 2023-08-16) Stripe may redirect
# the customer, and refuses to confirm without somewhere to send them back (stripe-python's
# PaymentIntentCreateParamsAutomaticPaymentMethods.allow_redirects and return_url docstrings;
# the message as Stripe answers it, quoted in Attendize/Attendize#1115).
RETURN_URL_REQUIRED = (
    "A `return_url` must be specified because this Payment Intent is configured to automatically accept the "
    "payment methods enabled in the Dashboard, some of which may require a full page redirect to succeed. If you "
    "do not want to accept redirect-based payment methods, set `automatic_payment_methods[enabled]` to `true` and "
    "`automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and Payment Intents."
)
# stripe/_dispute.py: the statuses of a dispute still open, and the charge it blocks from refunds.
OPEN_DISPUTE_STATUSES = ("warning_needs_response", "warning_under_review", "needs_response", "under_review")
# Accepted because they change nothing a test could observe on the sandbox.
IGNORED_SESSION_PARAMS = {"payment_method_types", "submit_type", "billing_address_collection", "allow_promotion_codes"}

EventSink = Callable[[list[tuple[OutgoingEvent, list[Target]]]], None]


class StripeState:
    """All sandbox objects in memory. Callers hold ``lock`` around a whole request so state changes and
    the events they emit are atomic and ordered."""

    def __init__(self, public_url: str, on_events: EventSink):
        self.lock = threading.RLock()
        self.public_url = public_url.rstrip("/")
        self.clock_offset_seconds = 0.0
        self._on_events = on_events
        self._records: dict[str, _Record] = {}
        self._event_ids: list[str] = []

    def now(self) -> int:
        """Stripe's clock; tests move it forward (clock_offset_seconds) to reach expiry times."""
        return int(time.time() + self.clock_offset_seconds)

    # -- lookup and rendering ------------------------------------------------------------------------

    def _get(self, object_name: str, object_id: str, ctx: RequestContext, kind: str | None = None) -> _Record:
        record = self._records.get(object_id)
        scoped = object_name != "webhook_endpoint"  # endpoints belong to the platform
        if record is None or record.obj["object"] != object_name or (scoped and record.account != ctx.account):
            raise no_such(kind or object_name, object_id)
        return record

    @staticmethod
    def _check_expand(object_name: str, expand: list[str]) -> None:
        """Validate ``expand`` before changing anything, so a bad value leaves no half-done request."""
        for path in expand:
            if path not in EXPANDABLE.get(object_name, set()):
                raise invalid(f"This property cannot be expanded ({path}).", param="expand")

    def _render(self, record: _Record, expand: list[str]) -> dict:
        obj = copy.deepcopy(record.obj)
        self._check_expand(obj["object"], expand)
        for path in expand:
            if path == "line_items":
                obj["line_items"] = {
                    "object": "list",
                    "data": copy.deepcopy(record.extra["line_items"]),
                    "has_more": False,
                    "url": f"/v1/checkout/sessions/{obj['id']}/line_items",
                }
            elif obj.get(path):
                obj[path] = copy.deepcopy(self._records[obj[path]].obj)
        return obj

    # -- events --------------------------------------------------------------------------------------

    def _targets(self, event_type: str, account: str | None) -> list[Target]:
        targets = []
        for record in self._records.values():
            if record.obj["object"] != "webhook_endpoint" or record.obj["status"] != "enabled":
                continue
            enabled = record.obj["enabled_events"]
            if ("*" in enabled or event_type in enabled) and record.extra["connect"] == (account is not None):
                targets.append(Target(record.obj["id"], record.obj["url"], record.extra["secret"]))
        return targets

    def _emit(self, changes: list[Change], ctx: RequestContext | None) -> None:
        """Snapshot each object into an Event, store it and hand the batch to delivery."""
        batch = []
        for change in changes:
            event_type, record = change[0], change[1]
            options = change[2] if len(change) > 2 else {}
            account = options.get("account", record.account)
            targets = self._targets(event_type, account)
            event: dict[str, Any] = {"id": new_id("evt"), "object": "event"}
            if account:
                event["account"] = account
            data: dict[str, Any] = {"object": copy.deepcopy(record.obj)}
            if "previous_attributes" in options:
                data["previous_attributes"] = copy.deepcopy(options["previous_attributes"])
            event.update(
                {
                    "api_version": API_VERSION,
                    "created": self.now(),
                    "data": data,
                    "livemode": False,
                    "pending_webhooks": len(targets),
                    "request": {
                        "id": ctx.request_id if ctx else None,
                        "idempotency_key": ctx.idempotency_key if ctx else None,
                    },
                    "type": event_type,
                }
            )
            self._records[event["id"]] = _Record(event, account)
            self._event_ids.append(event["id"])
            body = json.dumps(event, indent=2).encode("utf-8")
            batch.append((OutgoingEvent(event["id"], event_type, body), targets))
        self._on_events(batch)

    def events(self, event_type: str | None = None) -> list[dict]:
        with self.lock:
            return [
                copy.deepcopy(self._records[event_id].obj)
                for event_id in self._event_ids
                if event_type is None or self._records[event_id].obj["type"] == event_type
            ]

    def retrieve_event(self, ctx: RequestContext, params: dict, event_id: str) -> dict:
        check_known(params, {"expand"})
        return self._render(self._get("event", event_id, ctx), as_expand(params))

    # -- webhook endpoints ---------------------------------------------------------------------------

    @staticmethod
    def _endpoint_view(record: _Record, with_secret: bool) -> dict:
        """Stripe shows the signing secret only in the creation response."""
        obj = copy.deepcopy(record.obj)
        if with_secret:
            obj["secret"] = record.extra["secret"]
        return obj

    def create_webhook_endpoint(self, ctx: RequestContext, params: dict) -> dict:
        check_known(params, {"url", "enabled_events", "connect", "description", "metadata", "api_version", "expand"})
        if "url" not in params:
            raise missing("url")
        url = as_url(params["url"], "url")
        if not is_loopback_url(url):
            raise invalid("The local sandbox only delivers webhooks to loopback addresses.", param="url")
        if "enabled_events" not in params:
            raise missing("enabled_events")
        events = params["enabled_events"]
        if not isinstance(events, list) or not events:
            raise invalid("Invalid array for enabled_events", param="enabled_events")
        for index, event_type in enumerate(events):
            if not isinstance(event_type, str) or (
                KNOWN_EVENT_TYPES is not None and event_type not in KNOWN_EVENT_TYPES
            ):
                raise invalid(f"Invalid event type: {event_type}", param=f"enabled_events[{index}]")
        connect = as_bool(params["connect"], "connect") if "connect" in params else False
        obj = {
            "id": new_id("we"),
            "object": "webhook_endpoint",
            "api_version": as_str(params["api_version"], "api_version") if "api_version" in params else None,
            "application": None,
            "created": self.now(),
            "description": as_str(params.get("description", ""), "description") or None,
            "enabled_events": list(events),
            "livemode": False,
            "metadata": as_metadata(params.get("metadata", {})),
            "status": "enabled",
            "url": url,
        }
        record = _Record(obj, None, {"connect": connect, "secret": "whsec_local_" + secrets.token_hex(16)})
        self._records[obj["id"]] = record
        return self._endpoint_view(record, with_secret=True)

    def list_webhook_endpoints(self, ctx: RequestContext, params: dict) -> dict:
        check_known(params, {"limit", "starting_after", "ending_before", "expand"})
        limit = as_int(params.get("limit", "10"), "limit", 1)
        if limit > 100:
            raise invalid("Invalid limit: must be at most 100", param="limit")
        records = [r for r in self._records.values() if r.obj["object"] == "webhook_endpoint"]
        records.sort(key=lambda r: r.obj["created"], reverse=True)
        if "starting_after" in params:
            ids = [r.obj["id"] for r in records]
            cursor = params["starting_after"]
            if cursor not in ids:
                raise no_such("webhook endpoint", cursor, "starting_after")
            records = records[ids.index(cursor) + 1 :]
        return {
            "object": "list",
            "data": [self._endpoint_view(r, with_secret=False) for r in records[:limit]],
            "has_more": len(records) > limit,
            "url": "/v1/webhook_endpoints",
        }

    def retrieve_webhook_endpoint(self, ctx: RequestContext, params: dict, endpoint_id: str) -> dict:
        check_known(params, {"expand"})
        return self._endpoint_view(self._get("webhook_endpoint", endpoint_id, ctx, "webhook endpoint"), False)

    def delete_webhook_endpoint(self, ctx: RequestContext, params: dict, endpoint_id: str) -> dict:
        check_known(params, set())
        self._get("webhook_endpoint", endpoint_id, ctx, "webhook endpoint")
        del self._records[endpoint_id]
        return {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}

    # -- checkout sessions ---------------------------------------------------------------------------

    def _parse_line_items(self, params: dict) -> list[dict]:
        if "line_items" not in params:
            raise missing("line_items")
        raw_items = params["line_items"]
        if not isinstance(raw_items, list) or not raw_items:
            raise invalid("Invalid array for line_items", param="line_items")
        if len(raw_items) > 100:
            raise invalid("line_items can hold at most 100 items", param="line_items")
        items = []
        for index, raw in enumerate(raw_items):
            prefix = f"line_items[{index}]"
            raw = as_dict(raw, prefix)
            check_known(raw, {"price", "price_data", "quantity"}, prefix)
            if "price" in raw:
                raise invalid(
                    f"The local sandbox has no Price objects: use {prefix}[price_data].", param=f"{prefix}[price]"
                )
            if "price_data" not in raw:
                raise missing(f"{prefix}[price_data]")
            price_data = as_dict(raw["price_data"], f"{prefix}[price_data]")
            check_known(
                price_data,
                {"currency", "unit_amount", "product_data", "tax_behavior", "recurring"},
                f"{prefix}[price_data]",
            )
            recurring = None
            if "recurring" in price_data:
                recurring = as_recurring(price_data["recurring"], f"{prefix}[price_data][recurring]")
            for name in ("currency", "unit_amount", "product_data"):
                if name not in price_data:
                    raise missing(f"{prefix}[price_data][{name}]")
            currency = as_currency(price_data["currency"], f"{prefix}[price_data][currency]")
            unit_amount = as_int(price_data["unit_amount"], f"{prefix}[price_data][unit_amount]", 0)
            product_param = f"{prefix}[price_data][product_data]"
            product_data = as_dict(price_data["product_data"], product_param)
            check_known(product_data, {"name", "description", "metadata", "images"}, product_param)
            if "name" not in product_data:
                raise missing(f"{product_param}[name]")
            name = as_str(product_data["name"], f"{product_param}[name]", 5000)
            if "quantity" not in raw:
                raise missing(f"{prefix}[quantity]")
            quantity = as_int(raw["quantity"], f"{prefix}[quantity]", 1)
            items.append(
                {
                    "id": new_id("li"),
                    "object": "item",
                    "amount_discount": 0,
                    "amount_subtotal": unit_amount * quantity,
                    "amount_tax": 0,
                    "amount_total": unit_amount * quantity,
                    "currency": currency,
                    "description": name,
                    "price": {
                        "id": new_id("price"),
                        "object": "price",
                        "active": False,
                        "currency": currency,
                        "livemode": False,
                        "product": new_id("prod", 14),
                        "recurring": recurring,
                        "type": "recurring" if recurring else "one_time",
                        "unit_amount": unit_amount,
                    },
                    "quantity": quantity,
                }
            )
        if len({item["currency"] for item in items}) > 1:
            raise invalid("All line items must use the same currency.", param="line_items")
        return items

    def _parse_payment_intent_data(self, params: dict, amount_total: int, account: str | None) -> dict:
        data = as_dict(params.get("payment_intent_data", {}), "payment_intent_data")
        check_known(
            data,
            {"metadata", "application_fee_amount", "setup_future_usage", "description"},
            "payment_intent_data",
        )
        result: dict[str, Any] = {
            "metadata": as_metadata(data.get("metadata", {}), "payment_intent_data[metadata]"),
            "application_fee_amount": None,
            "setup_future_usage": None,
            "description": None,
        }
        if "application_fee_amount" in data:
            param = "payment_intent_data[application_fee_amount]"
            result["application_fee_amount"] = self._application_fee_amount(
                data["application_fee_amount"], param, amount_total, account
            )
        if "setup_future_usage" in data:
            usage = data["setup_future_usage"]
            if usage not in ("on_session", "off_session"):
                raise invalid(
                    f"Invalid setup_future_usage: {usage} (on_session or off_session)",
                    param="payment_intent_data[setup_future_usage]",
                )
            result["setup_future_usage"] = usage
        if "description" in data:
            result["description"] = as_str(data["description"], "payment_intent_data[description]", 1000)
        return result

    @staticmethod
    def _application_fee_amount(value: Any, param: str, amount: int, account: str | None) -> int:
        """A direct charge's fee: only on a connected account, a whole number, at most the amount."""
        if account is None:
            raise invalid(DIRECT_FEE_ONLY, param=param)
        fee = as_int(value, param, 0)
        if fee > amount:
            raise invalid(
                f"The application fee ({fee}) cannot be greater than the amount of the payment ({amount}).",
                param=param,
            )
        return fee

    def _check_can_charge(self, ctx: RequestContext) -> None:
        """Refuse payments on a connected account that cannot take charges (Connect overrides this)."""

    def _check_mode(self, ctx: RequestContext, params: dict, mode: str, items: list[dict]) -> dict | None:
        """What each mode refuses, with Stripe's messages; the subscription's data in subscription mode
        (https://docs.stripe.com/api/checkout/sessions/create: subscription_data, payment_intent_data)."""
        recurring = [item for item in items if item["price"]["type"] == "recurring"]
        if "customer" in params:
            customer = as_str(params["customer"], "customer")
            record = self._records.get(customer)
            if record is None or record.obj["object"] != "customer" or record.account != ctx.account:
                raise no_such_param("customer", customer, "customer")
        if mode == "payment":
            if recurring:
                raise invalid(
                    "You specified `payment` mode but passed a recurring price. Either switch to `subscription` "
                    "mode or use only one-time prices.",
                    param="line_items",
                )
            if "subscription_data" in params:
                raise invalid("You can not pass `subscription_data` in `payment` mode.", param="subscription_data")
            return None
        if "payment_intent_data" in params:
            raise invalid("You can not pass `payment_intent_data` in `subscription` mode.", param="payment_intent_data")
        if not recurring:
            raise invalid(
                "You must provide at least one recurring price in `subscription` mode when using prices.",
                param="line_items",
            )
        data = as_dict(params.get("subscription_data", {}), "subscription_data")
        check_known(data, {"metadata", "description"}, "subscription_data")
        return {
            "metadata": as_metadata(data.get("metadata", {}), "subscription_data[metadata]"),
            "description": as_str(data["description"], "subscription_data[description]", 500)
            if "description" in data
            else None,
        }

    def create_checkout_session(self, ctx: RequestContext, params: dict) -> dict:
        check_known(params, SESSION_PARAMS | IGNORED_SESSION_PARAMS)
        if "mode" not in params:
            raise missing("mode")
        mode = params["mode"]
        if mode not in ("payment", "subscription"):
            raise invalid(f"The local sandbox supports mode=payment and mode=subscription (got {mode}).", param="mode")
        if params.get("ui_mode", "hosted_page") not in ("hosted_page", "hosted"):
            raise invalid("The local sandbox only serves the hosted Checkout page.", param="ui_mode")
        items = self._parse_line_items(params)
        subscription_data = self._check_mode(ctx, params, mode, items)
        currency = items[0]["currency"]
        total = sum(item["amount_total"] for item in items)
        if total > MAX_AMOUNT:
            raise invalid(f"Amount must be no more than {MAX_AMOUNT}", param="line_items", code="amount_too_large")
        minimum = MINIMUM_AMOUNTS.get(currency, 1)
        if total < minimum:
            raise invalid(
                f"The Checkout Session's total amount due must add up to at least {format_amount(minimum, currency)}",
                param="line_items",
                code="amount_too_small",
            )
        now = self.now()
        expires_at = now + SESSION_MAX_LIFETIME
        if "expires_at" in params:
            expires_at = as_int(params["expires_at"], "expires_at")
            if expires_at < now + SESSION_MIN_LIFETIME - EXPIRES_AT_SLACK:
                raise invalid(
                    "The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.",
                    param="expires_at",
                )
            if expires_at > now + SESSION_MAX_LIFETIME + EXPIRES_AT_SLACK:
                raise invalid(
                    "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
                    param="expires_at",
                )
        customer_email = None
        if "customer_email" in params:
            customer_email = as_str(params["customer_email"], "customer_email", 800)
            if not _EMAIL_RE.match(customer_email):
                raise invalid(f"Invalid email address: {customer_email}", param="customer_email", code="email_invalid")
        customer_creation = params.get("customer_creation", "if_required")
        if customer_creation not in ("always", "if_required"):
            raise invalid(
                f"Invalid customer_creation: must be one of always or if_required (got {customer_creation}).",
                param="customer_creation",
            )
        payment_intent_data = self._parse_payment_intent_data(params, total, ctx.account) if mode == "payment" else None
        self._check_can_charge(ctx)
        session_id = new_id("cs_test", 58)
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": total,
            "amount_total": total,
            "cancel_url": as_url(params["cancel_url"], "cancel_url") if "cancel_url" in params else None,
            "client_reference_id": (
                as_str(params["client_reference_id"], "client_reference_id", 200)
                if "client_reference_id" in params
                else None
            ),
            "client_secret": None,
            "created": now,
            "currency": currency,
            "customer": params.get("customer"),
            "customer_creation": customer_creation if mode == "payment" else None,
            "customer_details": None,
            "customer_email": customer_email,
            "expires_at": expires_at,
            "livemode": False,
            "locale": as_str(params["locale"], "locale") if "locale" in params else None,
            "metadata": as_metadata(params.get("metadata", {})),
            "mode": mode,
            "invoice": None,
            "payment_intent": None,
            "payment_method_types": ["card"],
            "payment_status": "unpaid",
            "status": "open",
            "subscription": None,
            "success_url": as_url(params["success_url"], "success_url") if "success_url" in params else None,
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "ui_mode": "hosted_page",
            "url": f"{self.public_url}/pay/{session_id}",
        }
        extra = {
            "line_items": items,
            "payment_intent_data": payment_intent_data,
            "subscription_data": subscription_data,
        }
        expand = as_expand(params)
        self._check_expand("checkout.session", expand)
        record = _Record(session, ctx.account, extra)
        self._records[session_id] = record
        return self._render(record, expand)

    def retrieve_checkout_session(self, ctx: RequestContext, params: dict, session_id: str) -> dict:
        check_known(params, {"expand"})
        return self._render(self._get("checkout.session", session_id, ctx), as_expand(params))

    def expire_checkout_session(self, ctx: RequestContext, params: dict, session_id: str) -> dict:
        check_known(params, {"expand"})
        self._check_expand("checkout.session", as_expand(params))
        record = self._get("checkout.session", session_id, ctx)
        if record.obj["status"] != "open":
            raise invalid(
                f'Only Checkout Sessions with a status in ["open"] can be expired. '
                f'This Checkout Session has a status of "{record.obj["status"]}".',
            )
        self._expire(record, ctx)
        return self._render(record, as_expand(params))

    def _expire(self, record: _Record, ctx: RequestContext | None) -> None:
        """Expire a session; like Stripe, an unpaid PaymentIntent behind it is canceled."""
        record.obj.update(status="expired", url=None)
        changes = [("checkout.session.expired", record)]
        intent_id = record.obj["payment_intent"]
        if intent_id:
            intent = self._records[intent_id]
            if intent.obj["status"] != "succeeded":
                intent.obj.update(status="canceled", canceled_at=self.now(), cancellation_reason="abandoned")
                changes.append(("payment_intent.canceled", intent))
        self._emit(changes, ctx)

    def expire_due_sessions(self) -> int:
        """Expire open sessions whose ``expires_at`` has passed; returns how many."""
        with self.lock:
            now = self.now()
            due = [
                r
                for r in self._records.values()
                if r.obj["object"] == "checkout.session" and r.obj["status"] == "open" and r.obj["expires_at"] <= now
            ]
            for record in due:
                self._expire(record, None)
            return len(due)

    # -- the hosted page ------------------------------------------------------------------------------

    def page_session(self, session_id: str) -> tuple[dict, list[dict]]:
        """Session and line items for the hosted page (which needs no API key, like Stripe's)."""
        with self.lock:
            record = self._records.get(session_id)
            if record is None or record.obj["object"] != "checkout.session":
                raise no_such("checkout.session", session_id)
            return copy.deepcopy(record.obj), copy.deepcopy(record.extra["line_items"])

    def _open_session(self, session_id: str) -> _Record:
        record = self._records.get(session_id)
        if record is None or record.obj["object"] != "checkout.session":
            raise no_such("checkout.session", session_id)
        if record.obj["status"] != "open":
            raise StripeError(409, f"This Checkout Session is no longer open (status: {record.obj['status']}).")
        return record

    def _payment_intent_for(self, session: _Record) -> _Record:
        """The session's PaymentIntent, created on the first payment attempt as Stripe does."""
        if session.obj["payment_intent"]:
            return self._records[session.obj["payment_intent"]]
        data = session.extra["payment_intent_data"]
        intent_id = new_id("pi")
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": session.obj["amount_total"],
            "amount_capturable": 0,
            "amount_received": 0,
            "application_fee_amount": data["application_fee_amount"],
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": "automatic_async",
            "client_secret": f"{intent_id}_secret_{new_id('x')[2:]}",
            "confirmation_method": "automatic",
            "created": self.now(),
            "currency": session.obj["currency"],
            "customer": None,
            "description": data["description"],
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": copy.deepcopy(data["metadata"]),
            "payment_method": None,
            "payment_method_types": ["card"],
            "receipt_email": None,
            "setup_future_usage": data["setup_future_usage"],
            "status": "requires_payment_method",
        }
        record = _Record(intent, session.account)
        self._records[intent_id] = record
        session.obj["payment_intent"] = intent_id
        return record

    # -- customers and payment methods ---------------------------------------------------------------

    def _new_customer(self, account: str | None, email: str | None) -> _Record:
        customer = {
            "id": new_id("cus", 14),
            "object": "customer",
            "address": None,
            "balance": 0,
            "created": self.now(),
            "currency": None,
            "default_source": None,
            "delinquent": False,
            "description": None,
            "email": email,
            "invoice_prefix": "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(8)),
            "invoice_settings": {
                "custom_fields": None,
                "default_payment_method": None,
                "footer": None,
                "rendering_options": None,
            },
            "livemode": False,
            "metadata": {},
            "name": None,
            "next_invoice_sequence": 1,
            "phone": None,
            "preferred_locales": [],
            "shipping": None,
            "tax_exempt": "none",
            "test_clock": None,
        }
        record = _Record(customer, account)
        self._records[customer["id"]] = record
        return record

    def _new_payment_method(
        self,
        account: str | None,
        email: str | None,
        last4: str = "4242",
        brand: str = "visa",
        off_session: str = "succeeds",
    ) -> _Record:
        """The card the customer typed on a hosted page: Stripe's test Visa 4242 unless told otherwise
        (the customer portal offers other test cards, https://docs.stripe.com/testing), answering
        off-session charges as ``off_session`` says (one of OFF_SESSION_BEHAVIOURS)."""
        payment_method = {
            "id": new_id("pm"),
            "object": "payment_method",
            "allow_redisplay": "unspecified",
            "billing_details": {
                "address": {
                    "city": None,
                    "country": None,
                    "line1": None,
                    "line2": None,
                    "postal_code": None,
                    "state": None,
                },
                "email": email,
                "name": None,
                "phone": None,
                "tax_id": None,
            },
            "card": {
                "brand": brand,
                "checks": {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "pass"},
                "country": "US",
                "display_brand": brand,
                "exp_month": 12,
                "exp_year": time.gmtime(self.now()).tm_year + 3,
                "fingerprint": new_id("fp", 14)[3:],
                "funding": "credit",
                "generated_from": None,
                "last4": last4,
                "networks": {"available": [brand], "preferred": None},
                "regulated_status": "unregulated",
                "three_d_secure_usage": {"supported": True},
                "wallet": None,
            },
            "created": self.now(),
            "customer": None,
            "livemode": False,
            "metadata": {},
            "type": "card",
        }
        # "reusable" turns false once the card is used without being attached to a customer (Stripe then
        # refuses to charge it again); "off_session" is how it behaves when charged off-session.
        record = _Record(payment_method, account, {"reusable": True, "off_session": off_session})
        self._records[payment_method["id"]] = record
        return record

    def retrieve_customer(self, ctx: RequestContext, params: dict, customer_id: str) -> dict:
        check_known(params, {"expand"})
        return self._render(self._get("customer", customer_id, ctx), as_expand(params))

    def retrieve_payment_method(self, ctx: RequestContext, params: dict, payment_method_id: str) -> dict:
        check_known(params, {"expand"})
        return self._render(self._get("payment_method", payment_method_id, ctx, "PaymentMethod"), as_expand(params))

    def set_off_session_behaviour(self, payment_method_id: str, behaviour: str) -> dict:
        """Test hook: how this saved card answers off-session charges (whatever account it is on)."""
        if behaviour not in OFF_SESSION_BEHAVIOURS:
            raise invalid(f"off_session must be one of {', '.join(OFF_SESSION_BEHAVIOURS)}", param="off_session")
        with self.lock:
            record = self._records.get(payment_method_id)
            if record is None or record.obj["object"] != "payment_method":
                raise no_such("PaymentMethod", payment_method_id)
            record.extra["off_session"] = behaviour
            return {"id": payment_method_id, "account": record.account, "off_session": behaviour}

    # -- charges and the hosted page's actions -------------------------------------------------------

    def _create_application_fee(self, charge: _Record) -> list[Change]:
        """The platform's fee on a direct charge (Connect overrides this)."""
        return []

    def _new_charge(
        self, intent: _Record, email: str | None, payment_method: _Record, failure: CardFailure | None = None
    ) -> _Record:
        amount = intent.obj["amount"]
        succeeded = failure is None
        card = payment_method.obj["card"]
        if failure is None:
            outcome = {
                "network_status": "approved_by_network",
                "reason": None,
                "risk_level": "normal",
                "seller_message": "Payment complete.",
                "type": "authorized",
            }
        else:
            outcome = {
                "network_status": "declined_by_network",
                "reason": failure.decline_code,
                "risk_level": "normal",
                "seller_message": (
                    "The bank did not return any further details with this decline."
                    if failure.decline_code == "generic_decline"
                    else f"The bank returned the decline code `{failure.decline_code}`."
                ),
                "type": "issuer_declined",
            }
        charge = {
            "id": new_id("ch"),
            "object": "charge",
            "amount": amount,
            "amount_captured": amount if succeeded else 0,
            "amount_refunded": 0,
            "application_fee": None,
            "application_fee_amount": intent.obj["application_fee_amount"],
            "balance_transaction": None,
            "billing_details": {"address": None, "email": email, "name": None, "phone": None},
            "captured": succeeded,
            "created": self.now(),
            "currency": intent.obj["currency"],
            "customer": intent.obj["customer"],
            "description": intent.obj["description"],
            "disputed": False,
            "failure_code": None if succeeded else failure.code,
            "failure_message": None if succeeded else failure.message,
            "livemode": False,
            "metadata": copy.deepcopy(intent.obj["metadata"]),
            "outcome": outcome,
            "paid": succeeded,
            "payment_intent": intent.obj["id"],
            "payment_method": payment_method.obj["id"],
            "payment_method_details": {
                "card": {
                    "brand": card["brand"],
                    "country": card["country"],
                    "exp_month": card["exp_month"],
                    "exp_year": card["exp_year"],
                    "fingerprint": card["fingerprint"],
                    "funding": card["funding"],
                    "last4": card["last4"],
                    "network": card["brand"],
                },
                "type": "card",
            },
            "refunded": False,
            "status": "succeeded" if succeeded else "failed",
        }
        record = _Record(charge, intent.account)
        self._records[charge["id"]] = record
        return record

    @staticmethod
    def _last_payment_error(charge: _Record, payment_method: _Record, failure: CardFailure) -> dict:
        return {
            "charge": charge.obj["id"],
            "code": failure.code,
            "decline_code": failure.decline_code,
            "doc_url": f"https://stripe.com/docs/error-codes/{failure.code.replace('_', '-')}",
            "message": failure.message,
            "payment_method": copy.deepcopy(payment_method.obj),
            "type": "card_error",
        }

    def pay(self, session_id: str, email: str | None = None) -> dict:
        """The customer pays: PaymentIntent succeeds, session completes, events go out.

        With ``customer_creation=always`` a Customer is created with the email; with
        ``payment_intent_data[setup_future_usage]`` the card is attached to it for later off-session use.
        """
        with self.lock:
            session = self._open_session(session_id)
            if session.obj["mode"] == "subscription":
                return self._pay_subscription(session, email)
            email = session.obj["customer_email"] or email or None
            intent = self._payment_intent_for(session)
            before: list[Change] = []
            customer = None
            if session.obj["customer_creation"] == "always":
                customer = self._new_customer(session.account, email)
                before.append(("customer.created", customer))
            payment_method = self._new_payment_method(session.account, email)
            if customer is not None and intent.obj["setup_future_usage"]:
                payment_method.obj["customer"] = customer.obj["id"]
                before.append(("payment_method.attached", payment_method))
            else:
                payment_method.extra["reusable"] = False
            intent.obj["customer"] = customer.obj["id"] if customer else None
            charge = self._new_charge(intent, email, payment_method)
            after = self._create_application_fee(charge)
            intent.obj.update(
                status="succeeded",
                amount_received=intent.obj["amount"],
                latest_charge=charge.obj["id"],
                last_payment_error=None,
                payment_method=payment_method.obj["id"],
            )
            self._complete(session, intent.obj["customer"], email)
            self._emit(
                [
                    *before,
                    ("checkout.session.completed", session),
                    ("payment_intent.succeeded", intent),
                    ("charge.succeeded", charge),
                    *after,
                ],
                None,
            )
            return copy.deepcopy(session.obj)

    @staticmethod
    def _complete(session: _Record, customer: str | None, email: str | None, **more: Any) -> None:
        """The session paid: complete, with who paid as Checkout collected it."""
        session.obj.update(
            status="complete",
            payment_status="paid",
            url=None,
            customer=customer,
            customer_details={
                "address": None,
                "email": email,
                "name": None,
                "phone": None,
                "tax_exempt": "none",
                "tax_ids": [],
            },
            **more,
        )

    def _pay_subscription(self, session: _Record, email: str | None) -> dict:
        """Subscription mode's payment (provider_sandbox.stripe_billing overrides this)."""
        raise invalid("This sandbox has no subscriptions.")

    def decline(self, session_id: str) -> dict:
        """The card is declined: the PaymentIntent needs a new payment method, the session stays open."""
        with self.lock:
            session = self._open_session(session_id)
            if session.obj["mode"] == "subscription":
                # Checkout creates the subscription only once a card pays its first invoice: a declined
                # card leaves nothing behind but the open session.
                return copy.deepcopy(session.obj)
            intent = self._payment_intent_for(session)
            email = session.obj["customer_email"]
            payment_method = self._new_payment_method(session.account, email)
            payment_method.extra["reusable"] = False
            charge = self._new_charge(intent, email, payment_method, GENERIC_DECLINE)
            intent.obj.update(
                status="requires_payment_method",
                latest_charge=charge.obj["id"],
                payment_method=None,
                last_payment_error=self._last_payment_error(charge, payment_method, GENERIC_DECLINE),
            )
            self._emit([("payment_intent.payment_failed", intent), ("charge.failed", charge)], None)
            return copy.deepcopy(session.obj)

    # -- payment intents and charges -----------------------------------------------------------------

    def _saved_card(self, ctx: RequestContext, params: dict) -> tuple[_Record, _Record | None]:
        """The PaymentMethod (and Customer) of an off-session charge, checked the way Stripe checks them."""
        if "payment_method" not in params:
            raise missing("payment_method")
        payment_method_id = as_str(params["payment_method"], "payment_method")
        record = self._records.get(payment_method_id)
        if record is None or record.obj["object"] != "payment_method" or record.account != ctx.account:
            raise no_such_param("PaymentMethod", payment_method_id, "payment_method")
        customer = None
        if "customer" in params:
            customer_id = as_str(params["customer"], "customer")
            customer = self._records.get(customer_id)
            if customer is None or customer.obj["object"] != "customer" or customer.account != ctx.account:
                raise no_such_param("customer", customer_id, "customer")
        owner = record.obj["customer"]
        if owner is not None and (customer is None or customer.obj["id"] != owner):
            raise invalid(
                f"The provided PaymentMethod {payment_method_id} belongs to a Customer ({owner}) that is not the "
                "one in the `customer` parameter. Pass that Customer with this PaymentMethod.",
                param="payment_method",
            )
        if owner is None and customer is not None:
            raise invalid(
                f"The provided PaymentMethod {payment_method_id} is not attached to the Customer "
                f"{customer.obj['id']}. Attach it first, or save it with setup_future_usage.",
                param="payment_method",
            )
        if owner is None and not record.extra["reusable"]:
            raise invalid(
                "The provided PaymentMethod was previously used with a PaymentIntent without Customer attachment, "
                "shared with a connected account without Customer attachment, or was detached from a Customer. "
                "It may not be used again. To use a PaymentMethod multiple times, you must attach it to a "
                "Customer first.",
                param="payment_method",
            )
        return record, customer

    def create_payment_intent(self, ctx: RequestContext, params: dict) -> dict:
        """A server-side charge of a saved card while the customer is away (``off_session=true``, ``confirm=true``).

        The card answers as its off-session behaviour says (test hook, default ``succeeds``): success, or a
        402 card error carrying the PaymentIntent (then ``requires_payment_method``), like Stripe.
        """
        check_known(params, PAYMENT_INTENT_PARAMS)
        for name in ("amount", "currency"):
            if name not in params:
                raise missing(name)
        amount = as_int(params["amount"], "amount", 1)
        currency = as_currency(params["currency"], "currency")
        if amount > MAX_AMOUNT:
            raise invalid(f"Amount must be no more than {MAX_AMOUNT}", param="amount", code="amount_too_large")
        minimum = MINIMUM_AMOUNTS.get(currency, 1)
        if amount < minimum:
            raise invalid(
                f"Amount must be at least {format_amount(minimum, currency)}", param="amount", code="amount_too_small"
            )
        confirm = as_bool(params["confirm"], "confirm") if "confirm" in params else False
        off_session = params.get("off_session", "false")
        if off_session not in ("true", "false", "one_off", "recurring"):
            raise invalid(f"Invalid off_session: {off_session}", param="off_session")
        if off_session != "false" and not confirm:
            raise invalid("off_session can only be used with confirm=true.", param="off_session")
        if off_session == "false":
            raise invalid(
                "The local sandbox only creates PaymentIntents that charge a saved card off-session "
                "(confirm=true and off_session=true).",
                param="off_session",
            )
        types = params.get("allowed_payment_method_types", params.get("payment_method_types"))
        if types is not None and types != ["card"]:
            raise invalid("The local sandbox only supports card payments.", param="allowed_payment_method_types")
        automatic = as_dict(params.get("automatic_payment_methods", {}), "automatic_payment_methods")
        check_known(automatic, {"enabled", "allow_redirects"}, "automatic_payment_methods")
        if "allow_redirects" in automatic and automatic["allow_redirects"] not in ("always", "never"):
            raise invalid(
                "Invalid allow_redirects: always or never", param="automatic_payment_methods[allow_redirects]"
            )
        redirects = types is None and automatic.get("allow_redirects", "always") != "never"
        if "return_url" in params:
            as_url(params["return_url"], "return_url")
        elif confirm and redirects:
            raise invalid(RETURN_URL_REQUIRED, param="return_url")
        fee = None
        if "application_fee_amount" in params:
            fee = self._application_fee_amount(
                params["application_fee_amount"], "application_fee_amount", amount, ctx.account
            )
        metadata = as_metadata(params.get("metadata", {}))
        description = as_str(params["description"], "description", 1000) if "description" in params else None
        receipt_email = as_str(params["receipt_email"], "receipt_email", 800) if "receipt_email" in params else None
        expand = as_expand(params)
        self._check_expand("payment_intent", expand)
        payment_method, customer = self._saved_card(ctx, params)
        self._check_can_charge(ctx)

        intent_id = new_id("pi")
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_received": 0,
            "application_fee_amount": fee,
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": "automatic_async",
            "client_secret": f"{intent_id}_secret_{new_id('x')[2:]}",
            "confirmation_method": "automatic",
            "created": self.now(),
            "currency": currency,
            "customer": customer.obj["id"] if customer else None,
            "description": description,
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": metadata,
            "payment_method": payment_method.obj["id"],
            "payment_method_types": ["card"],
            "receipt_email": receipt_email,
            "setup_future_usage": None,
            "status": "processing",
        }
        record = _Record(intent, ctx.account)
        self._records[intent_id] = record
        if customer is None:
            payment_method.extra["reusable"] = False
        email = payment_method.obj["billing_details"]["email"]
        failure = OFF_SESSION_FAILURES.get(payment_method.extra["off_session"])
        charge = self._new_charge(record, email, payment_method, failure)
        if failure is None:
            after = self._create_application_fee(charge)
            intent.update(status="succeeded", amount_received=amount, latest_charge=charge.obj["id"])
            self._emit([("payment_intent.succeeded", record), ("charge.succeeded", charge), *after], ctx)
            return self._render(record, expand)
        intent.update(
            status="requires_payment_method",
            latest_charge=charge.obj["id"],
            payment_method=None,
            last_payment_error=self._last_payment_error(charge, payment_method, failure),
        )
        self._emit([("payment_intent.payment_failed", record), ("charge.failed", charge)], ctx)
        raise StripeError(
            402,
            failure.message,
            type="card_error",
            code=failure.code,
            details={
                "charge": charge.obj["id"],
                "decline_code": failure.decline_code,
                "payment_intent": copy.deepcopy(intent),
                "payment_method": copy.deepcopy(payment_method.obj),
            },
        )

    def retrieve_payment_intent(self, ctx: RequestContext, params: dict, intent_id: str) -> dict:
        check_known(params, {"expand", "client_secret"})
        return self._render(self._get("payment_intent", intent_id, ctx), as_expand(params))

    def retrieve_charge(self, ctx: RequestContext, params: dict, charge_id: str) -> dict:
        check_known(params, {"expand"})
        return self._render(self._get("charge", charge_id, ctx), as_expand(params))

    # -- refunds -------------------------------------------------------------------------------------

    def _charge_to_refund(self, ctx: RequestContext, params: dict) -> _Record:
        if "charge" in params:
            charge = self._get("charge", as_str(params["charge"], "charge"), ctx)
            if "payment_intent" in params and params["payment_intent"] != charge.obj["payment_intent"]:
                raise invalid("The charge does not belong to that PaymentIntent.", param="payment_intent")
        elif "payment_intent" in params:
            intent_id = as_str(params["payment_intent"], "payment_intent")
            intent = self._get("payment_intent", intent_id, ctx)
            if intent.obj["status"] != "succeeded":
                raise invalid(
                    f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
                    param="payment_intent",
                )
            charge = self._records[intent.obj["latest_charge"]]
        else:
            raise invalid("One of charge or payment_intent is required.", code="parameter_missing")
        if charge.obj["status"] != "succeeded":
            raise invalid(f"Charge {charge.obj['id']} has not succeeded and cannot be refunded.", param="charge")
        return charge

    def create_refund(self, ctx: RequestContext, params: dict) -> dict:
        check_known(
            params,
            {"payment_intent", "charge", "amount", "reason", "metadata", "refund_application_fee", "expand"},
        )
        charge = self._charge_to_refund(ctx, params)
        return self._refund_charge(ctx, params, charge)

    def _refund_charge(self, ctx: RequestContext | None, params: dict, charge: _Record) -> dict:
        """A refund of `charge` (the API's, or one made in the Dashboard: ctx None, no metadata)."""
        dispute = self._records.get(charge.extra.get("dispute") or "")
        if dispute is not None and not dispute.obj["is_charge_refundable"]:
            raise invalid(
                f"Charge {charge.obj['id']} has been charged back; it cannot be refunded.", code="charge_disputed"
            )
        remaining = charge.obj["amount"] - charge.obj["amount_refunded"]
        if remaining <= 0:
            raise invalid(f"Charge {charge.obj['id']} has already been refunded.", code="charge_already_refunded")
        amount = as_int(params["amount"], "amount", 1) if "amount" in params else remaining
        if amount > remaining:
            currency = charge.obj["currency"]
            raise invalid(
                f"Refund amount ({format_amount(amount, currency)}) is greater than unrefunded amount on "
                f"charge ({format_amount(remaining, currency)})",
                param="amount",
                code="amount_too_large",
            )
        reason = params.get("reason")
        if reason is not None and (not isinstance(reason, str) or reason not in REFUND_REASONS):
            raise invalid(f"Invalid reason: must be one of {', '.join(sorted(REFUND_REASONS))}", param="reason")
        refund_fee = (
            as_bool(params["refund_application_fee"], "refund_application_fee")
            if "refund_application_fee" in params
            else False
        )
        refund = {
            "id": new_id("re"),
            "object": "refund",
            "amount": amount,
            "balance_transaction": None,
            "charge": charge.obj["id"],
            "created": self.now(),
            "currency": charge.obj["currency"],
            "metadata": as_metadata(params.get("metadata", {})),
            "payment_intent": charge.obj["payment_intent"],
            "reason": reason,
            "receipt_number": None,
            "status": "succeeded",
        }
        expand = as_expand(params)
        self._check_expand("refund", expand)
        # The Refund object has no refund_application_fee field at Stripe: the choice is kept here and its
        # effect shows on the platform's ApplicationFee (amount_refunded, refunds).
        record = _Record(refund, charge.account, {"refund_application_fee": refund_fee})
        self._records[refund["id"]] = record
        charge.obj["amount_refunded"] += amount
        charge.obj["refunded"] = charge.obj["amount_refunded"] == charge.obj["amount"]
        fee_changes = self._refund_application_fee(charge, amount) if refund_fee else []
        self._emit([("charge.refunded", charge), ("refund.created", record), *fee_changes], ctx)
        return self._render(record, expand)

    def _refund_application_fee(self, charge: _Record, amount: int) -> list[Change]:
        """Give back the platform's fee in proportion to a refund (Connect overrides this)."""
        return []

    def retrieve_refund(self, ctx: RequestContext, params: dict, refund_id: str) -> dict:
        check_known(params, {"expand"})
        return self._render(self._get("refund", refund_id, ctx), as_expand(params))

    def list_refunds(self, ctx: RequestContext, params: dict) -> dict:
        """``GET /v1/refunds``, newest first, optionally for one charge or PaymentIntent, or created
        in a range (docs.stripe.com/api/refunds/list)."""
        check_known(
            params, {"charge", "payment_intent", "created", "limit", "starting_after", "ending_before", "expand"}
        )
        records = [
            r
            for r in self._records.values()
            if r.obj["object"] == "refund"
            and r.account == ctx.account
            and all(r.obj[key] == params[key] for key in ("charge", "payment_intent") if key in params)
        ]
        return self._list_page("/v1/refunds", "refund", records, params)

    def list_checkout_sessions(self, ctx: RequestContext, params: dict) -> dict:
        """``GET /v1/checkout/sessions`` (docs.stripe.com/api/checkout/sessions/list): the account's
        sessions, newest first, `limit` 1 to 100 (10 by default), `created` as a timestamp or a
        range (gt, gte, lt, lte), `status` open | complete | expired, `payment_intent`, and the
        cursors `starting_after` / `ending_before` (an object id of the list)."""
        check_known(
            params,
            {"created", "status", "payment_intent", "customer", "limit", "starting_after", "ending_before", "expand"},
        )
        if "status" in params and params["status"] not in ("open", "complete", "expired"):
            raise invalid("Invalid status: must be one of open, complete, or expired", param="status")
        records = [
            r
            for r in self._records.values()
            if r.obj["object"] == "checkout.session"
            and r.account == ctx.account
            and all(r.obj.get(key) == params[key] for key in ("status", "payment_intent", "customer") if key in params)
        ]
        return self._list_page("/v1/checkout/sessions", "checkout session", records, params)

    def _list_page(self, url: str, kind: str, records: list[_Record], params: dict) -> dict:
        """One page of a Stripe list (docs.stripe.com/api/pagination): newest first, `created`
        filters, `limit` up to 100, `starting_after` / `ending_before` cursors, `has_more`."""
        limit = as_int(params.get("limit", "10"), "limit", 1)
        if limit > 100:
            raise invalid("Invalid limit: must be at most 100", param="limit")
        created = params.get("created")
        if created is not None:
            bounds = created if isinstance(created, dict) else {"eq": created}
            check_known(bounds, {"gt", "gte", "lt", "lte", "eq"}, "created")
            tests = {
                "gt": lambda value, bound: value > bound,
                "gte": lambda value, bound: value >= bound,
                "lt": lambda value, bound: value < bound,
                "lte": lambda value, bound: value <= bound,
                "eq": lambda value, bound: value == bound,
            }
            wanted = {op: as_int(value, f"created[{op}]") for op, value in bounds.items()}
            records = [r for r in records if all(tests[op](r.obj["created"], b) for op, b in wanted.items())]
        # Newest first; records keep their creation order, which breaks ties within a second.
        order = {id(r): n for n, r in enumerate(records)}
        records = sorted(records, key=lambda r: (r.obj["created"], order[id(r)]), reverse=True)
        ids = [r.obj["id"] for r in records]
        if "starting_after" in params and "ending_before" in params:
            raise invalid("You may only specify one of these parameters: starting_after, ending_before.")
        if "starting_after" in params:
            cursor = params["starting_after"]
            if cursor not in ids:
                raise no_such_param(kind, cursor, "starting_after")
            records = records[ids.index(cursor) + 1 :]
            page = records[:limit]
            has_more = len(records) > limit
        elif "ending_before" in params:
            cursor = params["ending_before"]
            if cursor not in ids:
                raise no_such_param(kind, cursor, "ending_before")
            before = records[: ids.index(cursor)]
            page = before[-limit:]
            has_more = len(before) > limit
        else:
            page, has_more = records[:limit], len(records) > limit
        expand = [path.removeprefix("data.") for path in as_expand(params)]
        return {"object": "list", "data": [self._render(r, expand) for r in page], "has_more": has_more, "url": url}

    # -- disputes (docs.stripe.com/disputes; the object as stripe-python's stripe/_dispute.py has it) --

    def retrieve_dispute(self, ctx: RequestContext, params: dict, dispute_id: str) -> dict:
        check_known(params, {"expand"})
        return self._render(self._get("dispute", dispute_id, ctx), as_expand(params))

    def _charge_for(self, body: dict) -> _Record:
        """The succeeded charge a control request names (by charge or PaymentIntent id, any account)."""
        charge_id = body.get("charge")
        if not charge_id and body.get("payment_intent"):
            intent = self._records.get(str(body["payment_intent"]))
            charge_id = intent.obj.get("latest_charge") if intent and intent.obj["object"] == "payment_intent" else None
        charge = self._records.get(str(charge_id or ""))
        if charge is None or charge.obj["object"] != "charge" or charge.obj["status"] != "succeeded":
            raise no_such("charge", str(charge_id or body.get("payment_intent")))
        return charge

    def dashboard_refund(self, body: dict) -> dict:
        """A refund made in the Dashboard: no metadata of ours; events as for an API refund."""
        with self.lock:
            charge = self._charge_for(body)
            params = {"amount": str(body["amount"])} if body.get("amount") is not None else {}
            ctx = RequestContext(charge.account, None, None)
            return self._refund_charge(ctx, params, charge)

    def open_dispute(self, body: dict) -> dict:
        """The card holder disputes a charge: ``charge.dispute.created`` then
        ``charge.dispute.funds_withdrawn`` (the disputed amount leaves the balance)."""
        with self.lock:
            charge = self._charge_for(body)
            if charge.extra.get("dispute"):
                raise invalid(f"Charge {charge.obj['id']} is already disputed.")
            amount = int(body.get("amount") or charge.obj["amount"] - charge.obj["amount_refunded"])
            now = self.now()
            dispute = {
                "id": new_id("dp"),
                "object": "dispute",
                "amount": amount,
                "balance_transactions": [],
                "charge": charge.obj["id"],
                "created": now,
                "currency": charge.obj["currency"],
                "evidence_details": {
                    "due_by": now + 7 * 86400,
                    "has_evidence": False,
                    "past_due": False,
                    "submission_count": 0,
                },
                "is_charge_refundable": False,
                "livemode": False,
                "metadata": {},
                "payment_intent": charge.obj["payment_intent"],
                "reason": str(body.get("reason") or "fraudulent"),
                "status": "needs_response",
            }
            record = _Record(dispute, charge.account)
            self._records[dispute["id"]] = record
            charge.obj["disputed"] = True
            charge.extra["dispute"] = dispute["id"]
            self._emit([("charge.dispute.created", record), ("charge.dispute.funds_withdrawn", record)], None)
            return copy.deepcopy(dispute)

    def close_dispute(self, dispute_id: str, body: dict) -> dict:
        """Stripe decides: ``{"status": "won" | "lost"}``; ``charge.dispute.closed`` (and
        ``charge.dispute.funds_reinstated`` when won)."""
        with self.lock:
            record = self._records.get(dispute_id)
            if record is None or record.obj["object"] != "dispute":
                raise no_such("dispute", dispute_id)
            if record.obj["status"] not in OPEN_DISPUTE_STATUSES:
                raise invalid(f"Dispute {dispute_id} is already closed ({record.obj['status']}).")
            status = body.get("status")
            if status not in ("won", "lost"):
                raise invalid('status must be "won" or "lost"', param="status")
            record.obj["status"] = status
            changes: list[Change] = [("charge.dispute.closed", record)]
            if status == "won":
                changes.append(("charge.dispute.funds_reinstated", record))
            self._emit(changes, None)
            return copy.deepcopy(record.obj)
