"""PayPal Orders v2 for the sandbox: OAuth, orders, the buyer's approval page, captures, refunds, and
webhooks signed the way PayPal signs them.

Wire formats follow reference/payment-providers.md section 2 (PayPal's OpenAPI specs and developer
docs). Where the reference is silent, the sandbox chooses:

* Base URL ``<sandbox>/paypal`` (``/paypal/v1/oauth2/token``, ``/paypal/v2/checkout/orders``...).
  Any non-empty client id and secret get a token; everything an app creates (orders, captures,
  refunds, webhooks, events) is visible to that client id only.
* Errors: PayPal's shape ``{name, message, debug_id, details: [{field, value, location, issue,
  description}], links}``: 400 ``INVALID_REQUEST`` (schema: missing or malformed fields), 422
  ``UNPROCESSABLE_ENTITY`` (business rules), 404 ``RESOURCE_NOT_FOUND``, 401 ``AUTHENTICATION_FAILURE``.
  Issues used: ``CURRENCY_NOT_SUPPORTED`` (XAF, XOF and every currency PayPal does not list),
  ``DECIMAL_PRECISION`` (more decimals than the currency has), ``DECIMALS_NOT_SUPPORTED`` (JPY, HUF,
  TWD with a decimal point), ``CANNOT_BE_ZERO_OR_NEGATIVE``, ``ORDER_NOT_APPROVED``,
  ``ORDER_ALREADY_CAPTURED``, ``DUPLICATE_INVOICE_ID`` (capturing an order whose ``invoice_id`` an
  earlier COMPLETED capture used), ``REFUND_AMOUNT_EXCEEDED``, ``CAPTURE_FULLY_REFUNDED``,
  ``REFUND_CAPTURE_CURRENCY_MISMATCH``, ``TRANSACTION_REFUSED`` (refunding a DECLINED capture).
* Only ``intent: CAPTURE`` and one purchase unit are supported (400 otherwise).
* ``PayPal-Request-Id``: a second create/capture/refund with the same id (same app, same URL)
  answers 200 with the first response, whatever its body; refused requests (4xx) are not kept.
* ``Prefer: return=minimal`` (the default) answers ``{id, status, links}`` (plus ``payment_source``
  when sent) on create and refund, and ``{id, status, payment_source, purchase_units[{reference_id,
  payments}], payer, links}`` on capture; ``return=representation`` answers the whole resource.
* The approval page is ``GET <sandbox>/paypal/checkoutnow?token=<order id>`` (the ``approve`` link,
  or ``payer-action`` when ``payment_source.paypal`` was sent). Pay approves; Decline approves with
  a funding source that will fail, so the capture is answered 201 with the order COMPLETED and the
  capture DECLINED (webhook ``PAYMENT.CAPTURE.DECLINED``). Both redirect to ``return_url`` with
  ``?token=<id>&PayerID=<payer id>``; "Cancel and return" is a plain link to ``cancel_url`` with
  ``?token=<id>`` and changes nothing (no webhook).
* Fees in ``seller_receivable_breakdown`` are made up: 3.49 % plus 0.49 (49 in zero-decimal currencies).
* Webhook bodies are compact JSON; each attempt gets a new ``PAYPAL-TRANSMISSION-ID`` and time and
  is signed (RSA PKCS#1 v1.5, SHA-256) over ``id|time|webhook_id|crc32(body)`` with a key and
  self-signed certificate the sandbox process makes once, served at ``PAYPAL-CERT-URL``
  (``<sandbox>/paypal/v1/notifications/certs/<cert id>``).
* ``verify-webhook-signature`` checks the CRC32 of the ``webhook_event`` member exactly as it is
  written in the request body (a re-serialised event fails), the webhook id (must be one of the
  caller's), the cert URL (must be this sandbox's) and the algorithm. Like PayPal's, it checks
  nothing else: any body with the same CRC-32 verifies with a genuine delivery's headers.
  ``GET /_sandbox/paypal/transmissions`` shows the last deliveries as a man in the middle would see
  them (headers and body), for tests of forgeries.
* Transmission times are PayPal's clock (``clock_skew_seconds`` in ``/_sandbox/config``); each
  attempt is signed anew with its own time, so a retry is never older than its attempt.
* Money moved outside the shop, as PayPal's dashboard and PayPal itself move it:
  ``POST /_sandbox/paypal/captures/<id>/refund`` (a dashboard refund: no ``custom_id``,
  webhook ``PAYMENT.CAPTURE.REFUNDED`` with the refund as resource, "A merchant refunds a payment
  capture"); ``POST /_sandbox/paypal/captures/<id>/reverse`` ("PayPal reverses a payment capture",
  developer.paypal.com/limited-release/commerce-platform/webhooks: webhook
  ``PAYMENT.CAPTURE.REVERSED``; PayPal shows no payload for it, so the sandbox sends the reversal
  as a refund record with an ``up`` link to the capture, readable at ``/v2/payments/refunds/<id>``,
  and marks the capture REFUNDED); ``POST /_sandbox/paypal/captures/<id>/dispute`` and
  ``POST /_sandbox/paypal/disputes/<id>/resolve`` (``{"outcome": "RESOLVED_SELLER_FAVOUR" |
  "RESOLVED_BUYER_FAVOUR"}``): webhooks ``CUSTOMER.DISPUTE.CREATED`` / ``.RESOLVED`` with the
  dispute as resource (developer.paypal.com/docs/disputes/webhooks), the dispute readable at
  ``GET /v1/customer/disputes/<id>`` with the fields of developer.paypal.com/api/customer-disputes/
  v1/disputes-get (``dispute_id``, ``disputed_transactions[].seller_transaction_id``,
  ``dispute_amount``, ``status``, ``dispute_outcome.outcome_code``, ``seller_response_due_date``).
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime
import hashlib
import json
import re
import secrets
import string
import threading
import time
import uuid
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from werkzeug.wrappers import Request, Response

from provider_sandbox import pages
from provider_sandbox.delivery import DeliveryWorker, OutgoingEvent, Target
from provider_sandbox.stripe_api import is_loopback_url

TOKEN_LIFETIME = 32400
AUTH_ALGO = "SHA256withRSA"
USER_AGENT = "PayPal/AUHD-214.0-58845221 (local sandbox)"
MAX_WEBHOOKS = 10
# developer.paypal.com/api/rest/reference/currency-codes (no XAF, no XOF: reference 2.1)
SUPPORTED_CURRENCIES = frozenset(
    "AUD BRL CAD CNY CZK DKK EUR HKD HUF ILS JPY MYR MXN TWD NZD NOK PHP PLN GBP SGD SEK CHF THB USD".split()
)
ZERO_DECIMAL_CURRENCIES = frozenset({"HUF", "JPY", "TWD"})
SCOPE = (
    "https://uri.paypal.com/services/payments/payment/authcapture openid "
    "https://uri.paypal.com/services/payments/refund https://uri.paypal.com/services/notifications/webhooks"
)
PAYER = {"given_name": "Ada", "surname": "Buyer", "email_address": "sb-buyer@personal.example.com"}
_ID_ALPHABET = string.ascii_uppercase + string.digits
_VALUE = re.compile(r"^((-?[0-9]+)|(-?([0-9]+)?[.][0-9]+))$")
_EVENT_NAME = re.compile(r"^[A-Z0-9_-]+(\.[A-Z0-9_-]+)+$")
_WS = re.compile(r"[ \t\n\r]*")

MESSAGES = {
    400: ("INVALID_REQUEST", "Request is not well-formed, syntactically incorrect, or violates schema."),
    404: ("RESOURCE_NOT_FOUND", "The specified resource does not exist."),
    422: (
        "UNPROCESSABLE_ENTITY",
        "The requested action could not be performed, semantically incorrect, or failed business validation.",
    ),
}


def paypal_id(length: int = 17) -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def iso_now(at: float | None = None) -> str:
    moment = datetime.datetime.fromtimestamp(time.time() if at is None else at, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------------------------------
# Signing key and certificate: made once per process (RSA key generation takes a moment)

_material_lock = threading.Lock()
_material: tuple[rsa.RSAPrivateKey, bytes, str] | None = None


def signing_material() -> tuple[rsa.RSAPrivateKey, bytes, str]:
    """(private key, PEM certificate, certificate id) of this process's PayPal sandbox."""
    global _material
    with _material_lock:
        if _material is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            name = x509.Name(
                [
                    x509.NameAttribute(NameOID.COMMON_NAME, "messageverificationcerts.local-sandbox.invalid"),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Caisse local PayPal sandbox"),
                ]
            )
            now = datetime.datetime.now(datetime.UTC)
            cert = (
                x509.CertificateBuilder()
                .subject_name(name)
                .issuer_name(name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=365))
                .sign(key, hashes.SHA256())
            )
            pem = cert.public_bytes(serialization.Encoding.PEM)
            digest = hashlib.sha256(pem).hexdigest()
            _material = (key, pem, f"CERT-360caa42-fca2a594-{digest[:8]}")
        return _material


def signed_message(transmission_id: str, transmission_time: str, webhook_id: str, body: bytes) -> bytes:
    """What PayPal signs: ``id|time|webhook_id|crc32(body)`` (CRC32 as an unsigned decimal)."""
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(body)}".encode()


def raw_member(text: str, name: str) -> str | None:
    """The text of the top-level member ``name`` of the JSON object ``text``, exactly as written."""
    decoder = json.JSONDecoder()
    i = _WS.match(text, 0).end()
    if text[i : i + 1] != "{":
        return None
    i = _WS.match(text, i + 1).end()
    if text[i : i + 1] == "}":
        return None
    found = None
    while True:
        if text[i : i + 1] != '"':
            return None
        key, i = json.decoder.scanstring(text, i + 1)
        i = _WS.match(text, i).end()
        if text[i : i + 1] != ":":
            return None
        i = _WS.match(text, i + 1).end()
        _, end = decoder.raw_decode(text, i)
        if key == name:
            found = text[i:end]  # the last one wins, as json.loads does
        i = _WS.match(text, end).end()
        if text[i : i + 1] == ",":
            i = _WS.match(text, i + 1).end()
            continue
        return found if text[i : i + 1] == "}" else None


# ---------------------------------------------------------------------------------------------------
# Errors and amounts


class PayPalError(Exception):
    def __init__(
        self,
        status: int,
        issue: str | None = None,
        description: str | None = None,
        field: str | None = None,
        value: str | None = None,
        location: str = "body",
        name: str | None = None,
        message: str | None = None,
    ):
        default_name, default_message = MESSAGES.get(status, ("INTERNAL_SERVER_ERROR", "An internal error occurred."))
        super().__init__(description or message or default_message)
        self.status = status
        self.name = name or default_name
        self.message = message or default_message
        self.issue = issue
        self.description = description
        self.field = field
        self.value = value
        self.location = location

    def body(self) -> dict:
        body: dict[str, Any] = {"name": self.name, "message": self.message, "debug_id": secrets.token_hex(7)}
        if self.issue:
            detail: dict[str, Any] = {}
            if self.field:
                detail["field"] = self.field
            if self.value is not None:
                detail["value"] = self.value
            detail["location"] = self.location
            detail["issue"] = self.issue
            if self.description:
                detail["description"] = self.description
            body["details"] = [detail]
            body["links"] = [
                {
                    "href": f"https://developer.paypal.com/docs/api/orders/v2/#error-{self.issue}",
                    "rel": "information_link",
                    "method": "GET",
                }
            ]
        return body


def _bad(issue: str, description: str, field: str | None = None, value: object = None) -> PayPalError:
    return PayPalError(400, issue, description, field, None if value is None else str(value))


def _unprocessable(issue: str, description: str, field: str | None = None, value: object = None) -> PayPalError:
    return PayPalError(422, issue, description, field, None if value is None else str(value))


def currency_digits(currency: str) -> int:
    return 0 if currency in ZERO_DECIMAL_CURRENCIES else 2


def parse_money(amount: object, field: str) -> tuple[str, int]:
    """``{currency_code, value}`` → (currency, amount in minor units), with PayPal's checks."""
    if not isinstance(amount, dict):
        raise _bad("MISSING_REQUIRED_PARAMETER", "A required field / parameter is missing.", field)
    currency, value = amount.get("currency_code"), amount.get("value")
    if currency is None:
        raise _bad("MISSING_REQUIRED_PARAMETER", "A required field / parameter is missing.", f"{field}/currency_code")
    if value is None:
        raise _bad("MISSING_REQUIRED_PARAMETER", "A required field / parameter is missing.", f"{field}/value")
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        raise _bad(
            "INVALID_PARAMETER_SYNTAX",
            "The value of a field does not conform to the expected format.",
            f"{field}/currency_code",
            currency,
        )
    if not isinstance(value, str) or not _VALUE.match(value) or len(value.split(".")[0].lstrip("-")) > 15:
        raise _bad(
            "INVALID_PARAMETER_SYNTAX",
            'The value of a field does not conform to the expected format (a string such as "99.00").',
            f"{field}/value",
            value,
        )
    if currency not in SUPPORTED_CURRENCIES:
        raise _unprocessable(
            "CURRENCY_NOT_SUPPORTED",
            "Currency code is not currently supported. Please refer "
            "https://developer.paypal.com/api/rest/reference/currency-codes/ for list of supported currency codes.",
            f"{field}/currency_code",
            currency,
        )
    digits = currency_digits(currency)
    decimals = len(value.split(".")[1]) if "." in value else 0
    if digits == 0 and "." in value:
        raise _unprocessable("DECIMALS_NOT_SUPPORTED", "Currency does not support decimals.", f"{field}/value", value)
    if decimals > digits:
        raise _unprocessable(
            "DECIMAL_PRECISION",
            f"If the currency supports decimals, only {digits} decimal place precision is supported.",
            f"{field}/value",
            value,
        )
    minor = int(Decimal(value) * 10**digits)
    if minor <= 0:
        raise _unprocessable("CANNOT_BE_ZERO_OR_NEGATIVE", "Must be greater than zero.", f"{field}/value", value)
    return currency, minor


def money(currency: str, minor: int) -> dict:
    digits = currency_digits(currency)
    if digits == 0:
        return {"currency_code": currency, "value": str(minor)}
    major, rest = divmod(minor, 10**digits)
    return {"currency_code": currency, "value": f"{major}.{rest:0{digits}d}"}


def _fee(currency: str, gross: int) -> int:
    fixed = 49
    return min(gross, round(gross * 0.0349) + fixed)


def _string(container: dict, key: str, field: str, max_length: int) -> str | None:
    value = container.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad("INVALID_PARAMETER_SYNTAX", "The value of a field does not conform to the expected format.", field)
    if not 1 <= len(value) <= max_length:
        raise _bad(
            "INVALID_STRING_LENGTH",
            f"The value of a field is either too short or too long (1 to {max_length}).",
            field,
            value,
        )
    return value


def _url(container: dict, key: str, field: str) -> str | None:
    value = _string(container, key, field, 4000)
    if value is not None and not re.match(r"^https?://[^/\s]+", value):
        raise _bad(
            "INVALID_PARAMETER_SYNTAX", "The value of a field does not conform to the expected format.", field, value
        )
    return value


# ---------------------------------------------------------------------------------------------------
# State


@dataclass
class _Order:
    app: str
    obj: dict
    return_url: str | None
    cancel_url: str | None
    brand_name: str | None
    with_payment_source: bool
    funding_fails: bool = False
    captures: list[str] = field(default_factory=list)


@dataclass
class _Resource:
    app: str
    obj: dict
    extra: dict = field(default_factory=dict)


class PayPalProvider:
    """PayPal's REST API (OAuth, Orders v2, Payments v2, webhooks) and its approval page, in memory."""

    name = "paypal"
    prefixes = ("/paypal/", "/_sandbox/paypal/")

    def __init__(self, public_url: str, delivery: DeliveryWorker, clock: Callable[[], float] = time.time):
        self.public_url = public_url.rstrip("/")
        self.base = f"{self.public_url}/paypal"
        self.delivery = delivery
        self.clock = clock
        self.transmissions: deque[dict] = deque(maxlen=50)
        self._disputes: dict[str, _Resource] = {}
        self.lock = threading.RLock()
        self._key, self._cert_pem, self.cert_id = signing_material()
        self.cert_url = f"{self.base}/v1/notifications/certs/{self.cert_id}"
        self._tokens: dict[str, tuple[str, float]] = {}
        self._orders: dict[str, _Order] = {}
        self._captures: dict[str, _Resource] = {}
        self._refunds: dict[str, _Resource] = {}
        self._webhooks: dict[str, _Resource] = {}
        self._events: dict[str, _Resource] = {}
        self._replays: dict[tuple[str, str, str], dict] = {}
        self._captured_invoice_ids: set[tuple[str, str]] = set()

    def routes(self) -> list[tuple[str, str, Callable[..., Response]]]:
        api = self._api_route
        return [
            ("POST", "/paypal/v1/oauth2/token", self.oauth_token),
            ("GET", "/paypal/v1/notifications/certs/<cert_id>", self.cert),
            ("POST", "/paypal/v1/notifications/webhooks", api(self.create_webhook)),
            ("GET", "/paypal/v1/notifications/webhooks", api(self.list_webhooks)),
            ("GET", "/paypal/v1/notifications/webhooks/<webhook_id>", api(self.retrieve_webhook)),
            ("DELETE", "/paypal/v1/notifications/webhooks/<webhook_id>", api(self.delete_webhook)),
            ("GET", "/paypal/v1/notifications/webhooks-events/<event_id>", api(self.retrieve_event)),
            ("POST", "/paypal/v1/notifications/verify-webhook-signature", api(self.verify_webhook_signature)),
            ("POST", "/paypal/v2/checkout/orders", api(self.create_order, idempotent=True)),
            ("GET", "/paypal/v2/checkout/orders/<order_id>", api(self.retrieve_order)),
            ("POST", "/paypal/v2/checkout/orders/<order_id>/capture", api(self.capture_order, idempotent=True)),
            ("GET", "/paypal/v2/payments/captures/<capture_id>", api(self.retrieve_capture)),
            ("POST", "/paypal/v2/payments/captures/<capture_id>/refund", api(self.refund_capture, idempotent=True)),
            ("GET", "/paypal/v2/payments/refunds/<refund_id>", api(self.retrieve_refund)),
            ("GET", "/paypal/v1/customer/disputes/<dispute_id>", api(self.retrieve_dispute)),
            ("GET", "/_sandbox/paypal/transmissions", self.control_transmissions),
            ("POST", "/_sandbox/paypal/captures/<capture_id>/refund", self.control_refund),
            ("POST", "/_sandbox/paypal/captures/<capture_id>/reverse", self.control_reverse),
            ("POST", "/_sandbox/paypal/captures/<capture_id>/dispute", self.control_dispute),
            ("POST", "/_sandbox/paypal/disputes/<dispute_id>/resolve", self.control_resolve),
            ("GET", "/paypal/checkoutnow", self.page_show),
            ("POST", "/paypal/checkoutnow/<order_id>/pay", self.page_pay),
            ("POST", "/paypal/checkoutnow/<order_id>/decline", self.page_decline),
        ]

    def not_found(self, request: Request) -> Response:
        if request.path.startswith("/paypal/checkoutnow"):
            return pages.html_response(pages.message_page("Not found", "No such page.", label=pages.PAYPAL_LABEL), 404)
        error = PayPalError(
            404, "INVALID_RESOURCE_ID", f"Unknown URL {request.method} {request.path}.", location="path"
        )
        return pages.json_response(error.body(), 404)

    # -- authentication and the request pipeline -----------------------------------------------------

    def oauth_token(self, request: Request) -> Response:
        authorization = request.headers.get("Authorization", "")
        scheme, _, encoded = authorization.partition(" ")
        try:
            client_id, _, secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            client_id = secret = ""
        if scheme.lower() != "basic" or not client_id or not secret:
            return pages.json_response(
                {"error": "invalid_client", "error_description": "Client Authentication failed"}, 401
            )
        if request.form.get("grant_type") != "client_credentials":
            return pages.json_response(
                {"error": "unsupported_grant_type", "error_description": "Grant Type is NULL or not supported"}, 400
            )
        token = "A21AA" + secrets.token_urlsafe(60)
        with self.lock:
            self._tokens[token] = (client_id, time.time() + TOKEN_LIFETIME)
        return pages.json_response(
            {
                "scope": SCOPE,
                "access_token": token,
                "token_type": "Bearer",
                "app_id": "APP-80W284485P519543T",
                "expires_in": TOKEN_LIFETIME,
                "nonce": f"{iso_now()}{secrets.token_urlsafe(32)}",
            }
        )

    def _app(self, request: Request) -> str:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        app, expires = self._tokens.get(token.strip(), ("", 0.0))
        if scheme.lower() != "bearer" or not app or expires < time.time():
            raise PayPalError(
                401,
                name="AUTHENTICATION_FAILURE",
                message="Authentication failed due to invalid authentication credentials or a missing "
                "Authorization header.",
            )
        return app

    @staticmethod
    def _json_body(request: Request, optional: bool = False) -> dict:
        data = request.get_data()
        if not data.strip():
            if optional:
                return {}
            raise _bad("MALFORMED_REQUEST_JSON", "The request JSON is not well formed.")
        try:
            body = json.loads(data)
        except ValueError as exc:
            raise _bad("MALFORMED_REQUEST_JSON", "The request JSON is not well formed.") from exc
        if not isinstance(body, dict):
            raise _bad("MALFORMED_REQUEST_JSON", "The request JSON is not well formed.")
        return body

    @staticmethod
    def _minimal(request: Request) -> bool:
        return "return=representation" not in request.headers.get("Prefer", "").replace(" ", "")

    def _api_route(self, handler: Callable[..., tuple[int, dict]], idempotent: bool = False) -> Callable[..., Response]:
        def route(request: Request, **args: str) -> Response:
            headers = {"Paypal-Debug-Id": secrets.token_hex(7)}
            with self.lock:
                try:
                    app = self._app(request)
                    request_id = request.headers.get("PayPal-Request-Id") if idempotent else None
                    if request_id is not None and len(request_id) > 108:
                        raise PayPalError(
                            400,
                            "INVALID_STRING_LENGTH",
                            "PayPal-Request-Id is at most 108 characters.",
                            "PayPal-Request-Id",
                            location="header",
                        )
                    key = (app, request.path, request_id) if request_id else None
                    if key in self._replays:
                        return pages.json_response(self._replays[key], 200, headers)
                    status, body = handler(request, app, **args)
                    if key is not None:
                        self._replays[key] = copy.deepcopy(body)
                except PayPalError as exc:
                    status, body = exc.status, exc.body()
            return pages.json_response(body, status, headers) if status != 204 else Response(status=204)

        return route

    # -- webhooks ------------------------------------------------------------------------------------

    def _webhook_view(self, record: _Resource) -> dict:
        obj = copy.deepcopy(record.obj)
        href = f"{self.base}/v1/notifications/webhooks/{obj['id']}"
        obj["links"] = [
            {"href": href, "rel": "self", "method": "GET"},
            {"href": href, "rel": "update", "method": "PATCH"},
            {"href": href, "rel": "delete", "method": "DELETE"},
        ]
        return obj

    def create_webhook(self, request: Request, app: str) -> tuple[int, dict]:
        body = self._json_body(request)
        url = body.get("url")
        if not isinstance(url, str) or not re.match(r"^https?://[^/\s]+", url):
            raise PayPalError(
                400,
                "INVALID_PARAMETER_SYNTAX",
                "url must be an http(s) URL.",
                "url",
                name="VALIDATION_ERROR",
                message="Invalid data provided",
            )
        if not is_loopback_url(url):
            raise PayPalError(
                400,
                "INVALID_PARAMETER_VALUE",
                "The local sandbox only calls loopback addresses.",
                "url",
                url,
                name="VALIDATION_ERROR",
                message="Invalid data provided",
            )
        types = body.get("event_types")
        if not isinstance(types, list) or not types:
            raise PayPalError(
                400,
                "MISSING_REQUIRED_PARAMETER",
                "event_types is required.",
                "event_types",
                name="VALIDATION_ERROR",
                message="Invalid data provided",
            )
        names = []
        for index, item in enumerate(types):
            name = item.get("name") if isinstance(item, dict) else None
            if not isinstance(name, str) or not (name == "*" or _EVENT_NAME.match(name)):
                raise PayPalError(
                    400,
                    "INVALID_PARAMETER_VALUE",
                    f"Invalid event type {name!r}.",
                    f"event_types[{index}].name",
                    name="VALIDATION_ERROR",
                    message="Invalid data provided",
                )
            names.append(name)
        mine = [w for w in self._webhooks.values() if w.app == app]
        if any(w.obj["url"] == url for w in mine):
            raise PayPalError(400, name="WEBHOOK_URL_ALREADY_EXISTS", message="Webhook URL already exists")
        if len(mine) >= MAX_WEBHOOKS:
            raise PayPalError(
                400, name="WEBHOOK_NUMBER_LIMIT_EXCEEDED", message="Maximum number of webhooks exceeded (10 per app)"
            )
        obj = {
            "id": paypal_id(17),
            "url": url,
            "event_types": [
                {"name": name, "description": "ALL" if name == "*" else name, "status": "ENABLED"} for name in names
            ],
        }
        record = _Resource(app, obj)
        self._webhooks[obj["id"]] = record
        return 201, self._webhook_view(record)

    def _webhook(self, app: str, webhook_id: str) -> _Resource:
        return _owned_notification(self._webhooks, app, webhook_id, "Webhook id does not exist.")

    def list_webhooks(self, request: Request, app: str) -> tuple[int, dict]:
        return 200, {"webhooks": [self._webhook_view(w) for w in self._webhooks.values() if w.app == app]}

    def retrieve_webhook(self, request: Request, app: str, webhook_id: str) -> tuple[int, dict]:
        return 200, self._webhook_view(self._webhook(app, webhook_id))

    def delete_webhook(self, request: Request, app: str, webhook_id: str) -> tuple[int, dict]:
        self._webhook(app, webhook_id)
        del self._webhooks[webhook_id]
        return 204, {}

    def retrieve_event(self, request: Request, app: str, event_id: str) -> tuple[int, dict]:
        record = _owned_notification(self._events, app, event_id, "Webhook event id does not exist.")
        return 200, copy.deepcopy(record.obj)

    def cert(self, request: Request, cert_id: str) -> Response:
        if cert_id != self.cert_id:
            return pages.json_response(PayPalError(404).body(), 404)
        return Response(self._cert_pem, 200, content_type="application/x-pem-file")

    def _signer(self, webhook_id: str) -> Callable[[bytes], dict[str, str]]:
        key, cert_url = self._key, self.cert_url

        def headers(body: bytes) -> dict[str, str]:
            transmission_id, transmission_time = str(uuid.uuid4()), iso_now(self.clock())
            message = signed_message(transmission_id, transmission_time, webhook_id, body)
            signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
            sent = {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "Accept": "*/*",
                "PAYPAL-TRANSMISSION-ID": transmission_id,
                "PAYPAL-TRANSMISSION-TIME": transmission_time,
                "PAYPAL-TRANSMISSION-SIG": base64.b64encode(signature).decode("ascii"),
                "PAYPAL-CERT-URL": cert_url,
                "PAYPAL-AUTH-ALGO": AUTH_ALGO,
            }
            self.transmissions.append({"headers": dict(sent), "body": body.decode("utf-8")})
            return sent

        return headers

    def _emit(self, app: str, event_type: str, resource_type: str, summary: str, resource: dict) -> None:
        event_id = f"WH-{paypal_id(17)}-{paypal_id(17)}"
        href = f"{self.base}/v1/notifications/webhooks-events/{event_id}"
        event = {
            "id": event_id,
            "event_version": "1.0",
            "create_time": iso_now(),
            "resource_type": resource_type,
            "resource_version": "2.0",
            "event_type": event_type,
            "summary": summary,
            "resource": copy.deepcopy(resource),
            "links": [
                {"href": href, "rel": "self", "method": "GET"},
                {"href": f"{href}/resend", "rel": "resend", "method": "POST"},
            ],
        }
        self._events[event_id] = _Resource(app, event)
        body = json.dumps(event, separators=(",", ":")).encode("utf-8")
        targets = [
            Target(w.obj["id"], w.obj["url"], headers=self._signer(w.obj["id"]), provider=self.name)
            for w in self._webhooks.values()
            if w.app == app and any(t["name"] in ("*", event_type) for t in w.obj["event_types"])
        ]
        self.delivery.submit([(OutgoingEvent(event_id, event_type, body), targets)])

    def verify_webhook_signature(self, request: Request, app: str) -> tuple[int, dict]:
        try:
            text = request.get_data().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _bad("MALFORMED_REQUEST_JSON", "The request JSON is not well formed.") from exc
        body = self._json_body(request)
        for name in ("auth_algo", "cert_url", "transmission_id", "transmission_sig", "transmission_time", "webhook_id"):
            if not isinstance(body.get(name), str) or not body[name]:
                raise PayPalError(
                    400,
                    "MISSING_REQUIRED_PARAMETER",
                    f"{name} is required.",
                    name,
                    name="VALIDATION_ERROR",
                    message="Invalid data provided",
                )
        raw_event = raw_member(text, "webhook_event")
        if raw_event is None or not isinstance(body.get("webhook_event"), dict):
            raise PayPalError(
                400,
                "MISSING_REQUIRED_PARAMETER",
                "webhook_event is required.",
                "webhook_event",
                name="VALIDATION_ERROR",
                message="Invalid data provided",
            )
        webhook = self._webhooks.get(body["webhook_id"])
        ok = (
            body["auth_algo"] == AUTH_ALGO
            and body["cert_url"] == self.cert_url
            and webhook is not None
            and webhook.app == app
        )
        if ok:
            message = signed_message(
                body["transmission_id"], body["transmission_time"], body["webhook_id"], raw_event.encode("utf-8")
            )
            try:
                signature = base64.b64decode(body["transmission_sig"], validate=True)
                self._key.public_key().verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
            except (binascii.Error, ValueError, InvalidSignature):
                ok = False
        return 200, {"verification_status": "SUCCESS" if ok else "FAILURE"}

    # -- orders --------------------------------------------------------------------------------------

    def _order_links(self, order: _Order) -> list[dict]:
        href = f"{self.base}/v2/checkout/orders/{order.obj['id']}"
        approve = f"{self.base}/checkoutnow?token={order.obj['id']}"
        status = order.obj["status"]
        if status == "PAYER_ACTION_REQUIRED":
            return [
                {"href": href, "rel": "self", "method": "GET"},
                {"href": approve, "rel": "payer-action", "method": "GET"},
            ]
        links = [{"href": href, "rel": "self", "method": "GET"}]
        if status == "CREATED":
            links.append({"href": approve, "rel": "approve", "method": "GET"})
        if status in ("CREATED", "APPROVED"):
            links.append({"href": href, "rel": "update", "method": "PATCH"})
            links.append({"href": f"{href}/capture", "rel": "capture", "method": "POST"})
        return links

    def order_view(self, order: _Order) -> dict:
        """The whole order, as ``GET /v2/checkout/orders/<id>`` shows it."""
        obj = copy.deepcopy(order.obj)
        if order.captures:
            unit = obj["purchase_units"][0]
            unit["payments"] = {"captures": [copy.deepcopy(self._captures[c].obj) for c in order.captures]}
            refunds = [copy.deepcopy(r.obj) for r in self._refunds.values() if r.extra["capture_id"] in order.captures]
            if refunds:
                unit["payments"]["refunds"] = refunds
        obj["links"] = self._order_links(order)
        return obj

    def _minimal_order(self, order: _Order) -> dict:
        view = self.order_view(order)
        minimal = {"id": view["id"], "status": view["status"]}
        if "payment_source" in view:
            minimal["payment_source"] = view["payment_source"]
        minimal["links"] = view["links"]
        return minimal

    def create_order(self, request: Request, app: str) -> tuple[int, dict]:
        body = self._json_body(request)
        intent = body.get("intent")
        if intent is None:
            raise _bad("MISSING_REQUIRED_PARAMETER", "A required field / parameter is missing.", "/intent")
        if intent != "CAPTURE":
            raise _bad("INVALID_PARAMETER_VALUE", "The local sandbox supports intent CAPTURE only.", "/intent", intent)
        units = body.get("purchase_units")
        if not isinstance(units, list) or not units:
            raise _bad("MISSING_REQUIRED_PARAMETER", "A required field / parameter is missing.", "/purchase_units")
        if len(units) > 1:
            raise _bad("INVALID_PARAMETER_VALUE", "The local sandbox supports one purchase unit.", "/purchase_units")
        unit_in = units[0]
        if not isinstance(unit_in, dict):
            raise _bad("INVALID_PARAMETER_SYNTAX", "A purchase unit must be an object.", "/purchase_units/0")
        reference_id = _string(unit_in, "reference_id", "/purchase_units/0/reference_id", 256) or "default"
        path = f"/purchase_units/@reference_id=='{reference_id}'"
        currency, minor = parse_money(unit_in.get("amount"), f"{path}/amount")
        unit: dict[str, Any] = {
            "reference_id": reference_id,
            "amount": {**copy.deepcopy(unit_in["amount"]), **money(currency, minor)},
            "payee": {"email_address": "merchant@business.example.com", "merchant_id": self._merchant_id(app)},
        }
        for key, limit in (("description", 127), ("custom_id", 127), ("invoice_id", 127), ("soft_descriptor", 22)):
            value = _string(unit_in, key, f"{path}/{key}", limit)
            if value is not None:
                unit[key] = value
        if isinstance(unit_in.get("items"), list):
            unit["items"] = copy.deepcopy(unit_in["items"])
        payment_source = body.get("payment_source")
        context: dict = {}
        if payment_source is not None:
            if not isinstance(payment_source, dict) or set(payment_source) != {"paypal"}:
                raise _bad(
                    "INVALID_PARAMETER_VALUE",
                    "The local sandbox supports payment_source.paypal only.",
                    "/payment_source",
                )
            paypal = payment_source["paypal"]
            if not isinstance(paypal, dict):
                raise _bad(
                    "INVALID_PARAMETER_SYNTAX", "payment_source.paypal must be an object.", "/payment_source/paypal"
                )
            context = paypal.get("experience_context") or {}
            context_path = "/payment_source/paypal/experience_context"
        else:
            context = body.get("application_context") or {}
            context_path = "/application_context"
        if not isinstance(context, dict):
            raise _bad("INVALID_PARAMETER_SYNTAX", "The experience context must be an object.", context_path)
        return_url = _url(context, "return_url", f"{context_path}/return_url")
        cancel_url = _url(context, "cancel_url", f"{context_path}/cancel_url")
        brand_name = _string(context, "brand_name", f"{context_path}/brand_name", 127)
        user_action = context.get("user_action")
        if user_action is not None and user_action not in ("CONTINUE", "PAY_NOW"):
            raise _bad(
                "INVALID_PARAMETER_VALUE",
                "user_action must be CONTINUE or PAY_NOW.",
                f"{context_path}/user_action",
                user_action,
            )
        now = iso_now()
        obj: dict[str, Any] = {
            "id": paypal_id(17),
            "intent": "CAPTURE",
            "status": "PAYER_ACTION_REQUIRED" if payment_source is not None else "CREATED",
        }
        if payment_source is not None:
            obj["payment_source"] = {"paypal": {}}
        obj.update({"purchase_units": [unit], "create_time": now, "update_time": now})
        order = _Order(app, obj, return_url, cancel_url, brand_name, payment_source is not None)
        self._orders[obj["id"]] = order
        return 201, (self._minimal_order(order) if self._minimal(request) else self.order_view(order))

    @staticmethod
    def _merchant_id(app: str) -> str:
        digest = hashlib.sha256(app.encode()).digest()
        return "".join(_ID_ALPHABET[b % len(_ID_ALPHABET)] for b in digest[:13])

    def _order(self, app: str, order_id: str) -> _Order:
        return _owned(self._orders, app, order_id, "order_id")

    def retrieve_order(self, request: Request, app: str, order_id: str) -> tuple[int, dict]:
        return 200, self.order_view(self._order(app, order_id))

    def approve(self, order_id: str, funding_fails: bool) -> _Order:
        """The buyer approves on the page (with a funding source that will fail, for Decline)."""
        with self.lock:
            order = self._orders.get(order_id)
            if order is None:
                raise PayPalError(404, "INVALID_RESOURCE_ID", f"There is no order {order_id}.", location="path")
            if order.obj["status"] not in ("CREATED", "PAYER_ACTION_REQUIRED"):
                raise PayPalError(
                    409,
                    "ORDER_NOT_PAYABLE",
                    f"This order is already {order.obj['status']}.",
                    name="ORDER_NOT_PAYABLE",
                    message="The order cannot be approved any more.",
                )
            payer_id = paypal_id(13)
            name = {"given_name": PAYER["given_name"], "surname": PAYER["surname"]}
            order.funding_fails = funding_fails
            order.obj["status"] = "APPROVED"
            order.obj["update_time"] = iso_now()
            order.obj["payment_source"] = {
                "paypal": {
                    "email_address": PAYER["email_address"],
                    "account_id": payer_id,
                    "account_status": "VERIFIED",
                    "name": name,
                    "address": {"country_code": "US"},
                }
            }
            order.obj["payer"] = {
                "name": name,
                "email_address": PAYER["email_address"],
                "payer_id": payer_id,
                "address": {"country_code": "US"},
            }
            self._emit(
                order.app,
                "CHECKOUT.ORDER.APPROVED",
                "checkout-order",
                "An order has been approved by buyer",
                self.order_view(order),
            )
            return order

    def _capture_links(self, capture_id: str, order_id: str, completed: bool) -> list[dict]:
        href = f"{self.base}/v2/payments/captures/{capture_id}"
        links = [{"href": href, "rel": "self", "method": "GET"}]
        if completed:
            links.append({"href": f"{href}/refund", "rel": "refund", "method": "POST"})
        links.append({"href": f"{self.base}/v2/checkout/orders/{order_id}", "rel": "up", "method": "GET"})
        return links

    def capture_order(self, request: Request, app: str, order_id: str) -> tuple[int, dict]:
        self._json_body(request, optional=True)
        order = self._order(app, order_id)
        status = order.obj["status"]
        if status == "COMPLETED":
            raise _unprocessable(
                "ORDER_ALREADY_CAPTURED",
                "Order already captured. If 'intent=CAPTURE' only one capture per order is allowed.",
            )
        if status != "APPROVED":
            raise _unprocessable(
                "ORDER_NOT_APPROVED",
                "Payer has not yet approved the Order for payment. Please "
                "redirect the payer to the 'rel':'approve' url returned as part of the HATEOAS links "
                "within the Create Order call or provide a valid payment_source in the request.",
            )
        unit = order.obj["purchase_units"][0]
        invoice_id = unit.get("invoice_id")
        if invoice_id and (app, invoice_id) in self._captured_invoice_ids:
            raise _unprocessable(
                "DUPLICATE_INVOICE_ID",
                "Duplicate Invoice ID detected. To avoid a potential "
                "duplicate transaction your account setting requires that Invoice Id be unique "
                "for each transaction.",
                "/purchase_units/0/invoice_id",
                invoice_id,
            )
        currency = unit["amount"]["currency_code"]
        gross = parse_money(unit["amount"], "/amount")[1]
        completed = not order.funding_fails
        now = iso_now()
        capture_id = paypal_id(17)
        capture: dict[str, Any] = {
            "id": capture_id,
            "status": "COMPLETED" if completed else "DECLINED",
            "amount": money(currency, gross),
            "final_capture": True,
            "seller_protection": {
                "status": "ELIGIBLE",
                "dispute_categories": ["ITEM_NOT_RECEIVED", "UNAUTHORIZED_TRANSACTION"],
            },
        }
        if completed:
            fee = _fee(currency, gross)
            capture["seller_receivable_breakdown"] = {
                "gross_amount": money(currency, gross),
                "paypal_fee": money(currency, fee),
                "net_amount": money(currency, gross - fee),
            }
        for key in ("invoice_id", "custom_id"):
            if key in unit:
                capture[key] = unit[key]
        capture.update(
            {
                "links": self._capture_links(capture_id, order_id, completed),
                "create_time": now,
                "update_time": now,
                "supplementary_data": {"related_ids": {"order_id": order_id}},
            }
        )
        self._captures[capture_id] = _Resource(app, capture, {"order_id": order_id, "gross": gross, "refunded": 0})
        order.captures.append(capture_id)
        order.obj["status"] = "COMPLETED"
        order.obj["update_time"] = now
        if completed:
            if invoice_id:
                self._captured_invoice_ids.add((app, invoice_id))
            summary = f"Payment completed for {currency} {capture['amount']['value']}"
            self._emit(app, "PAYMENT.CAPTURE.COMPLETED", "capture", summary, capture)
        else:
            summary = f"Payment declined for {currency} {capture['amount']['value']}"
            self._emit(app, "PAYMENT.CAPTURE.DECLINED", "capture", summary, capture)
        view = self.order_view(order)
        if self._minimal(request):
            view = {
                "id": view["id"],
                "status": view["status"],
                "payment_source": view.get("payment_source"),
                "purchase_units": [
                    {"reference_id": u["reference_id"], "payments": u.get("payments", {})}
                    for u in view["purchase_units"]
                ],
                "payer": view.get("payer"),
                "links": view["links"],
            }
        return 201, view

    # -- captures and refunds ------------------------------------------------------------------------

    def _capture(self, app: str, capture_id: str) -> _Resource:
        return _owned(self._captures, app, capture_id, "capture_id")

    def retrieve_capture(self, request: Request, app: str, capture_id: str) -> tuple[int, dict]:
        return 200, copy.deepcopy(self._capture(app, capture_id).obj)

    def refund_capture(self, request: Request, app: str, capture_id: str) -> tuple[int, dict]:
        body = self._json_body(request, optional=True)
        capture = self._capture(app, capture_id)
        refund = self._refund(capture, body)
        if self._minimal(request):
            return 201, {"id": refund["id"], "status": "COMPLETED", "links": refund["links"]}
        return 201, copy.deepcopy(refund)

    def _refund(self, capture: _Resource, body: dict, event_type: str = "PAYMENT.CAPTURE.REFUNDED") -> dict:
        """Give (part of) a capture back and tell the app: a refund, or PayPal's own reversal."""
        app, capture_id = capture.app, capture.obj["id"]
        currency = capture.obj["amount"]["currency_code"]
        status = capture.obj["status"]
        if status == "REFUNDED":
            raise _unprocessable("CAPTURE_FULLY_REFUNDED", "The capture has already been fully refunded.")
        if status not in ("COMPLETED", "PARTIALLY_REFUNDED"):
            raise _unprocessable("TRANSACTION_REFUSED", f"The capture is {status}: there is nothing to refund.")
        remaining = capture.extra["gross"] - capture.extra["refunded"]
        if body.get("amount") is not None:
            refund_currency, amount = parse_money(body["amount"], "/amount")
            if refund_currency != currency:
                raise _unprocessable(
                    "REFUND_CAPTURE_CURRENCY_MISMATCH",
                    "Refund must be in the same currency as the capture.",
                    "/amount/currency_code",
                    refund_currency,
                )
        else:
            amount = remaining
        if amount > remaining:
            raise _unprocessable(
                "REFUND_AMOUNT_EXCEEDED",
                "The refund amount must be less than or equal to the capture amount that has not yet been refunded.",
                "/amount/value",
                body["amount"].get("value"),
            )
        refund_id = paypal_id(17)
        now = iso_now()
        refunded = capture.extra["refunded"] + amount
        refund: dict[str, Any] = {
            "id": refund_id,
            "amount": money(currency, amount),
            "seller_payable_breakdown": {
                "gross_amount": money(currency, amount),
                "paypal_fee": money(currency, 0),
                "net_amount": money(currency, amount),
                "total_refunded_amount": money(currency, refunded),
            },
        }
        for key, limit in (("invoice_id", 127), ("custom_id", 127), ("note_to_payer", 255)):
            value = _string(body, key, f"/{key}", limit)
            if value is not None:
                refund[key] = value
        refund.update(
            {
                "status": "COMPLETED",
                "create_time": now,
                "update_time": now,
                "links": [
                    {"href": f"{self.base}/v2/payments/refunds/{refund_id}", "rel": "self", "method": "GET"},
                    {"href": f"{self.base}/v2/payments/captures/{capture_id}", "rel": "up", "method": "GET"},
                ],
            }
        )
        self._refunds[refund_id] = _Resource(app, refund, {"capture_id": capture_id})
        capture.extra["refunded"] = refunded
        capture.obj["status"] = "REFUNDED" if refunded == capture.extra["gross"] else "PARTIALLY_REFUNDED"
        capture.obj["update_time"] = now
        if capture.obj["status"] == "REFUNDED":
            capture.obj["links"] = [link for link in capture.obj["links"] if link["rel"] != "refund"]
        if event_type == "PAYMENT.CAPTURE.REVERSED":
            summary = f"A {currency} {refund['amount']['value']} capture payment was reversed"
        else:
            summary = f"A {currency} {refund['amount']['value']} capture payment was refunded"
        self._emit(app, event_type, "refund", summary, refund)
        return refund

    def retrieve_refund(self, request: Request, app: str, refund_id: str) -> tuple[int, dict]:
        return 200, copy.deepcopy(_owned(self._refunds, app, refund_id, "refund_id").obj)

    # -- disputes and money moved outside the shop (control API) -------------------------------------

    def retrieve_dispute(self, request: Request, app: str, dispute_id: str) -> tuple[int, dict]:
        return 200, copy.deepcopy(_owned(self._disputes, app, dispute_id, "dispute_id").obj)

    def _control(self, request: Request, action: Callable[[dict], dict]) -> Response:
        try:
            body = json.loads(request.get_data() or b"{}")
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
        except ValueError as exc:
            return pages.json_response({"error": {"message": str(exc)}}, 400)
        with self.lock:
            try:
                return pages.json_response(action(body))
            except PayPalError as exc:
                return pages.json_response(exc.body(), exc.status)

    def _any_capture(self, capture_id: str) -> _Resource:
        record = self._captures.get(capture_id)
        if record is None:
            raise PayPalError(404, "INVALID_RESOURCE_ID", f"There is no capture {capture_id}.", location="path")
        return record

    def control_transmissions(self, request: Request) -> Response:
        with self.lock:
            return pages.json_response(list(self.transmissions))

    def control_refund(self, request: Request, capture_id: str) -> Response:
        """A refund made in PayPal's dashboard: ``{"amount": {"currency_code", "value"}}`` or all."""
        return self._control(request, lambda body: self._refund(self._any_capture(capture_id), body))

    def control_reverse(self, request: Request, capture_id: str) -> Response:
        """PayPal takes the payment back (a chargeback it settled, a reversal it decided)."""
        return self._control(
            request, lambda body: self._refund(self._any_capture(capture_id), body, "PAYMENT.CAPTURE.REVERSED")
        )

    def control_dispute(self, request: Request, capture_id: str) -> Response:
        """The buyer opens a dispute on a capture: ``{"reason": "MERCHANDISE_OR_SERVICE_NOT_RECEIVED"}``."""

        def open_dispute(body: dict) -> dict:
            capture = self._any_capture(capture_id)
            now = time.time()
            dispute = {
                "dispute_id": "PP-D-" + "".join(secrets.choice(string.digits) for _ in range(5)),
                "create_time": iso_now(now),
                "update_time": iso_now(now),
                "disputed_transactions": [
                    {
                        "seller_transaction_id": capture_id,
                        "create_time": capture.obj["create_time"],
                        "transaction_status": "COMPLETED",
                        "gross_amount": copy.deepcopy(capture.obj["amount"]),
                        "invoice_number": capture.obj.get("invoice_id"),
                        "custom": capture.obj.get("custom_id"),
                        "seller": {"merchant_id": self._merchant_id(capture.app)},
                    }
                ],
                "reason": str(body.get("reason") or "MERCHANDISE_OR_SERVICE_NOT_RECEIVED"),
                "status": "WAITING_FOR_SELLER_RESPONSE",
                "dispute_amount": copy.deepcopy(capture.obj["amount"]),
                "dispute_life_cycle_stage": "CHARGEBACK",
                "dispute_channel": "EXTERNAL",
                "seller_response_due_date": iso_now(now + 10 * 86400),
            }
            dispute["links"] = [
                {
                    "href": f"{self.base}/v1/customer/disputes/{dispute['dispute_id']}",
                    "rel": "self",
                    "method": "GET",
                }
            ]
            self._disputes[dispute["dispute_id"]] = _Resource(capture.app, dispute, {"capture_id": capture_id})
            self._emit(capture.app, "CUSTOMER.DISPUTE.CREATED", "dispute", "A new dispute opened", dispute)
            return copy.deepcopy(dispute)

        return self._control(request, open_dispute)

    def control_resolve(self, request: Request, dispute_id: str) -> Response:
        """PayPal decides: ``{"outcome": "RESOLVED_SELLER_FAVOUR" | "RESOLVED_BUYER_FAVOUR"}``."""

        def resolve(body: dict) -> dict:
            record = self._disputes.get(dispute_id)
            if record is None:
                raise PayPalError(404, "INVALID_RESOURCE_ID", f"There is no dispute {dispute_id}.", location="path")
            outcome = body.get("outcome")
            if outcome not in ("RESOLVED_SELLER_FAVOUR", "RESOLVED_BUYER_FAVOUR"):
                raise _bad("INVALID_PARAMETER_VALUE", "outcome must be RESOLVED_SELLER_FAVOUR or RESOLVED_BUYER_FAVOUR")
            dispute = record.obj
            dispute["status"] = "RESOLVED"
            dispute["update_time"] = iso_now()
            dispute["dispute_outcome"] = {"outcome_code": outcome}
            if outcome == "RESOLVED_BUYER_FAVOUR":
                dispute["dispute_outcome"]["amount_refunded"] = copy.deepcopy(dispute["dispute_amount"])
                capture = self._captures[record.extra["capture_id"]]
                capture.extra["refunded"] = capture.extra["gross"]
                capture.obj["status"] = "REFUNDED"
            self._emit(record.app, "CUSTOMER.DISPUTE.RESOLVED", "dispute", "A dispute was resolved", dispute)
            return copy.deepcopy(dispute)

        return self._control(request, resolve)

    # -- the approval page ---------------------------------------------------------------------------

    def page_show(self, request: Request) -> Response:
        order_id = request.args.get("token", "")
        with self.lock:
            order = self._orders.get(order_id)
            if order is None:
                text = f"There is no PayPal order {order_id or '(no token)'}."
                return pages.html_response(pages.message_page("Not found", text, label=pages.PAYPAL_LABEL), 404)
            if pages.wants_json(request):
                return pages.json_response(self.order_view(order))
            return pages.html_response(self._page(order))

    def _page(self, order: _Order, notice: str | None = None) -> str:
        cancel = pages.with_query(order.cancel_url, token=order.obj["id"]) if order.cancel_url else None
        return pages.paypal_approve_page(self.order_view(order), order.brand_name, cancel, notice)

    def _page_action(self, request: Request, order_id: str, funding_fails: bool) -> Response:
        try:
            order = self.approve(order_id, funding_fails)
        except PayPalError as exc:
            if pages.wants_json(request):
                return pages.json_response(exc.body(), exc.status)
            with self.lock:
                known = self._orders.get(order_id)
                if known is None:
                    page = pages.message_page("Not found", str(exc), label=pages.PAYPAL_LABEL)
                    return pages.html_response(page, 404)
                return pages.html_response(self._page(known, notice=str(exc)), exc.status)
        with self.lock:
            if pages.wants_json(request):
                return pages.json_response(self.order_view(order))
            if order.return_url:
                payer_id = order.obj["payer"]["payer_id"]
                return pages.redirect(pages.with_query(order.return_url, token=order_id, PayerID=payer_id))
            return pages.html_response(
                pages.message_page(
                    "Approved", "You approved the payment; the shop captures it.", label=pages.PAYPAL_LABEL
                )
            )

    def page_pay(self, request: Request, order_id: str) -> Response:
        return self._page_action(request, order_id, funding_fails=False)

    def page_decline(self, request: Request, order_id: str) -> Response:
        return self._page_action(request, order_id, funding_fails=True)


def _owned(store: dict, app: str, resource_id: str, field: str):
    """A resource of this app (orders, captures, refunds), or PayPal's 404 for any other id."""
    record = store.get(resource_id)
    if record is None or record.app != app:
        raise PayPalError(
            404,
            "INVALID_RESOURCE_ID",
            "Specified resource ID does not exist. Please check the resource ID and try again.",
            location="path",
            value=resource_id,
            field=field,
        )
    return record


def _owned_notification(store: dict, app: str, resource_id: str, description: str):
    """A webhook or webhook event of this app, or the notifications API's own 404."""
    record = store.get(resource_id)
    if record is None or record.app != app:
        raise PayPalError(
            404,
            "INVALID_RESOURCE_ID",
            description,
            location="path",
            name="INVALID_RESOURCE_ID",
            message="Resource id is invalid",
        )
    return record
