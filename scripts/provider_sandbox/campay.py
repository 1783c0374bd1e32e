"""CamPay for the sandbox: the collect API (USSD push), the customer's phone, and the callback.

Wire formats follow reference/payment-providers.md section 3 (CamPay's Python SDK, the Go SDK's
stubs and the Postman collection). Where the reference is silent, the sandbox chooses:

* Base URL ``<sandbox>/campay``: ``POST /campay/api/token/``, ``POST /campay/api/collect/``,
  ``GET /campay/api/transaction/<reference>/``; every call but the token one needs
  ``Authorization: Token <token>`` (the app's permanent token, or one from ``/api/token/``).
* Errors of collect: HTTP 400 ``{"message": ..., "error_code": "ER101"|"ER102"|"ER201"}``; a currency
  other than XAF is 400 without an error code (CamPay documents none). Authentication errors use
  Django REST framework's shape, ``{"detail": ...}`` with 401 (CamPay's API is DRF-style).
* Phone numbers: ``237`` then 9 digits, nothing else (no ``+``, no spaces), else ER101. Operators by
  prefix after 237: MTN ``67x``, ``68x``, ``650``-``654``; Orange ``69x``, ``655``-``659``; any other
  number (Nexttel 66x, Camtel 62x, landlines 2xx...) is ER102.
* Amounts: a positive whole number of francs, as a JSON integer or a string of digits; anything with a
  decimal point (``"100.5"``, ``100.0``) is ER201, as is a non-number or zero. The demo's 25 XAF cap is
  not enforced.
* The same ``external_reference`` twice answers the first collect's result (reference, USSD code,
  operator) whatever the second request says, and starts no second prompt: the Postman doc promises
  "the results of the first request" for /collect/ (it also says a duplicate is rejected; the
  sandbox takes the friendlier reading, so code must not rely on either).
* The collect answer names the operator in lower case (``mtn``/``orange``, as the Go SDK stub);
  the transaction and the callback in upper case (``MTN``/``ORANGE``, as CamPay's transaction stub).
* The transaction's ``amount`` is a JSON float (``60000.0``); the callback's is a string
  (``"60000"``, the Go SDK types it as a string), the same in the GET query and the POST JSON body.
* The callback's ``signature`` is an HS256 JWT made with the app's webhook key whose claims are
  ``iss``, ``iat``, ``nbf``, ``exp`` (5 minutes) and ``jti``: nothing about the transaction, so a
  receiver must re-read ``GET /api/transaction/<reference>/``. The times are CamPay's clock, which
  may be off ours (``clock_skew_seconds`` in ``/_sandbox/config``): the Go SDK's ValidateCallback
  (NdoleStudio/campay-go-sdk ``callback.go``) parses the token with jwt-go's default time checks,
  and reference 3.2 says no tolerance is documented; a receiver with no leeway refuses a real
  payment over a one-second skew.
* ``external_reference``: CamPay's own SDK examples (CamPay/campay-python-sdk ``README.md``; the
  Go SDK's collect stubs) never send one, and whether the transaction and the callback echo it is
  not documented. The app setting ``omit_external_reference: "true"`` makes the sandbox answer
  without it (empty), so a receiver must match the ``reference`` it stored from the collect.
* A collect whose answer is slow (``answer_delays`` ``{"/campay/api/collect/": 14}``) has already
  sent its USSD push: the prompt is on the phone while the caller waits.

The app's dashboard settings (callback URL and method, webhook key, app username/password, permanent
token) are set through ``POST /_sandbox/campay/app``; ``/handset`` is the customer's phone.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import string
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
from werkzeug.wrappers import Request, Response

from provider_sandbox import pages
from provider_sandbox.delivery import DeliveryWorker, OutgoingEvent, Target
from provider_sandbox.stripe_api import is_loopback_url

TOKEN_LIFETIME = 3600
CALLBACK_LIFETIME = 300  # the callback JWT's exp, seconds after it is minted
ISSUER = "campay-local-sandbox"
USER_AGENT = "CamPay-Callback/1.0 (local sandbox)"
ENDPOINT_ID = "campay-app"  # one callback target per app (a dashboard setting)
REJECTED = "rejected by the customer"

_PHONE = re.compile(r"^237\d{9}$")
_MTN_PREFIXES = ("67", "68", "650", "651", "652", "653", "654")
_ORANGE_PREFIXES = ("69", "655", "656", "657", "658", "659")
OPERATORS = {
    "mtn": {"name": "MTN", "ussd_code": "*126#"},
    "orange": {"name": "ORANGE", "ussd_code": "#150*50#"},
}
APP_SETTINGS = ("callback_url", "callback_method", "webhook_key", "app_username", "app_password", "permanent_token")
APP_OPTIONAL = ("app_name", "omit_external_reference")


class CampayError(Exception):
    def __init__(self, status: int, body: dict):
        super().__init__(body)
        self.status = status
        self.body = body


def _error(code: str | None, message: str, status: int = 400) -> CampayError:
    body: dict[str, Any] = {"message": message}
    if code:
        body["error_code"] = code
    return CampayError(status, body)


def operator_of(number: str) -> str | None:
    """``mtn``, ``orange`` or None for a ``237XXXXXXXXX`` number (see the module doc for the rule)."""
    local = number[3:]
    if local.startswith(_MTN_PREFIXES):
        return "mtn"
    if local.startswith(_ORANGE_PREFIXES):
        return "orange"
    return None


def parse_amount(value: object) -> int:
    """A positive whole number of francs, or ER201."""
    if isinstance(value, bool):
        raise _error("ER201", "Invalid amount.")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        raise _error("ER201", "Invalid amount: decimals are not allowed.")
    elif isinstance(value, str) and re.fullmatch(r"\d+", value.strip()):
        number = int(value.strip())
    elif isinstance(value, str) and re.fullmatch(r"\d*\.\d*", value.strip()) and value.strip() != ".":
        raise _error("ER201", "Invalid amount: decimals are not allowed.")
    else:
        raise _error("ER201", "Invalid amount.")
    if number <= 0:
        raise _error("ER201", "Invalid amount: it must be greater than zero.")
    return number


def _now_code(prefix: str) -> str:
    stamp = time.strftime("%y%m%d", time.gmtime())
    tail = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(5))
    return f"{prefix}{stamp}{secrets.choice('DTU')}{tail}"


def _operator_reference(operator: str) -> str:
    if operator == "mtn":
        return str(secrets.randbelow(9_000_000_000) + 1_000_000_000)
    return time.strftime("MP%y%m%d.%H%M.", time.gmtime()) + secrets.choice("ABC") + f"{secrets.randbelow(100000):05d}"


class CampayProvider:
    """CamPay's API, its callback, and the customer's phone, all in memory."""

    name = "campay"
    prefixes = ("/campay/", "/handset", "/_sandbox/campay/")

    def __init__(self, public_url: str, delivery: DeliveryWorker, clock: Callable[[], float] = time.time):
        self.public_url = public_url.rstrip("/")
        self.delivery = delivery
        self.clock = clock
        self.lock = threading.RLock()
        self.app: dict[str, str | None] = dict.fromkeys(APP_SETTINGS + APP_OPTIONAL)
        self.app["callback_method"] = "POST"
        self._tokens: dict[str, float] = {}
        self._token_secret = secrets.token_hex(32)
        self._transactions: dict[str, dict] = {}
        self._by_external_reference: dict[str, dict] = {}

    def routes(self) -> list[tuple[str, str, Callable[..., Response]]]:
        return [
            ("POST", "/campay/api/token/", self.api_token),
            ("POST", "/campay/api/collect/", self.api_collect),
            ("GET", "/campay/api/transaction/<reference>/", self.api_transaction),
            ("GET", "/handset", self.handset_show),
            ("POST", "/handset/<reference>/approve", self.handset_approve),
            ("POST", "/handset/<reference>/reject", self.handset_reject),
            ("GET", "/_sandbox/campay/app", self.control_get_app),
            ("POST", "/_sandbox/campay/app", self.control_set_app),
            ("POST", "/_sandbox/campay/transactions/<reference>/status", self.control_set_status),
        ]

    def not_found(self, request: Request) -> Response:
        if request.path.startswith("/handset"):
            return pages.html_response(pages.message_page("Not found", "No such page.", label=pages.HANDSET_LABEL), 404)
        return pages.json_response({"detail": "Not found."}, 404)

    # -- API -----------------------------------------------------------------------------------------

    @staticmethod
    def _body(request: Request) -> dict:
        """JSON (what the SDKs send) or a form, like a DRF view."""
        if request.mimetype == "application/x-www-form-urlencoded":
            return request.form.to_dict()
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError as exc:
            raise CampayError(400, {"detail": f"JSON parse error - {exc}"}) from exc
        if not isinstance(body, dict):
            raise CampayError(400, {"detail": "Invalid data. Expected a dictionary."})
        return body

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("Authorization", "")
        if not header:
            raise CampayError(401, {"detail": "Authentication credentials were not provided."})
        scheme, _, token = header.partition(" ")
        token = token.strip()
        valid = (
            scheme == "Token"
            and token
            and (token == self.app["permanent_token"] or self._tokens.get(token, 0) > time.time())
        )
        if not valid:
            raise CampayError(401, {"detail": "Invalid token."})

    def _api(self, request: Request, action: Callable[[], tuple[int, dict]], authenticate: bool = True) -> Response:
        with self.lock:
            try:
                if authenticate:
                    self._authenticate(request)
                status, body = action()
            except CampayError as exc:
                status, body = exc.status, exc.body
        return pages.json_response(body, status)

    def api_token(self, request: Request) -> Response:
        def action() -> tuple[int, dict]:
            body = self._body(request)
            username, password = body.get("username"), body.get("password")
            if not username or not password:
                raise CampayError(400, {"detail": "username and password are required."})
            if username != self.app["app_username"] or password != self.app["app_password"]:
                raise CampayError(401, {"detail": "Invalid username or password."})
            now = int(time.time())
            token = jwt.encode(
                {"iat": now, "nbf": now, "exp": now + TOKEN_LIFETIME},
                self._token_secret,
                algorithm="HS256",
                headers={"uid": 1},
            )
            self._tokens[token] = now + TOKEN_LIFETIME
            return 200, {"token": token, "expires_in": TOKEN_LIFETIME}

        return self._api(request, action, authenticate=False)

    def api_collect(self, request: Request) -> Response:
        return self._api(request, lambda: (200, self.collect(self._body(request))))

    def collect(self, body: dict) -> dict:
        """Validate a collect request and start a PENDING transaction (or answer the first one again)."""
        if "amount" not in body:
            raise _error("ER201", "amount is required.")
        amount = parse_amount(body["amount"])
        currency = body.get("currency")
        if currency != "XAF":
            raise _error(None, f"Invalid currency {currency!r}: only XAF is supported.")
        number = body.get("from")
        if not isinstance(number, str) or not _PHONE.match(number):
            raise _error("ER101", "Invalid phone number: use the country code and 9 digits, e.g. 2376XXXXXXXX.")
        operator = operator_of(number)
        if operator is None:
            raise _error("ER102", "This phone number is neither an MTN nor an Orange mobile money number.")
        description = body.get("description", "")
        external_reference = body.get("external_reference") or ""
        if not isinstance(description, str) or not isinstance(external_reference, str):
            raise _error(None, "description and external_reference must be strings.")
        if external_reference and external_reference in self._by_external_reference:
            return self._collect_answer(self._by_external_reference[external_reference])
        transaction = {
            "reference": str(uuid.uuid4()),
            "status": "PENDING",
            "amount": amount,
            "currency": "XAF",
            "operator": operator,
            "code": _now_code("CP"),
            "operator_reference": None,
            "external_reference": external_reference,
            "description": description,
            "external_user": body.get("external_user") or "",
            "reason": "",
            "phone_number": number,
            "endpoint": "collect",
            "created_at": time.time(),
        }
        self._transactions[transaction["reference"]] = transaction
        if external_reference:
            self._by_external_reference[external_reference] = transaction
        return self._collect_answer(transaction)

    @staticmethod
    def _collect_answer(transaction: dict) -> dict:
        operator = transaction["operator"]
        return {
            "reference": transaction["reference"],
            "ussd_code": OPERATORS[operator]["ussd_code"],
            "operator": operator,
        }

    def view(self, transaction: dict) -> dict:
        """A transaction as ``GET /api/transaction/<reference>/`` shows it."""
        omit = (self.app.get("omit_external_reference") or "").lower() == "true"
        return {
            "reference": transaction["reference"],
            "status": transaction["status"],
            "amount": float(transaction["amount"]),
            "currency": transaction["currency"],
            "operator": OPERATORS[transaction["operator"]]["name"],
            "code": transaction["code"],
            "operator_reference": transaction["operator_reference"],
            "external_reference": "" if omit else transaction["external_reference"],
            "description": transaction["description"],
            "external_user": transaction["external_user"],
            "reason": transaction["reason"],
            "phone_number": transaction["phone_number"],
            "endpoint": transaction["endpoint"],
        }

    def _transaction(self, reference: str) -> dict:
        transaction = self._transactions.get(reference)
        if transaction is None:
            raise CampayError(404, {"detail": "Not found."})
        return transaction

    def api_transaction(self, request: Request, reference: str) -> Response:
        return self._api(request, lambda: (200, self.view(self._transaction(reference))))

    # -- settling and the callback -------------------------------------------------------------------

    def settle(self, reference: str, status: str, reason: str | None = None, callback: bool = True) -> dict:
        """Move a PENDING transaction to SUCCESSFUL or FAILED, then call the app back."""
        with self.lock:
            transaction = self._transaction(reference)
            if transaction["status"] != "PENDING":
                raise CampayError(409, {"message": f"Transaction {reference} is already {transaction['status']}."})
            transaction["status"] = status
            if status == "SUCCESSFUL":
                transaction["operator_reference"] = _operator_reference(transaction["operator"])
                transaction["reason"] = ""
            else:
                transaction["reason"] = reason or "FAILED"
            if callback:
                self._send_callback(transaction)
            return self.view(transaction)

    def callback_fields(self, transaction: dict) -> dict[str, str]:
        """The callback's fields, same names for GET (query) and POST (JSON)."""
        now = int(self.clock())  # CamPay's clock
        signature = jwt.encode(
            {"iss": ISSUER, "iat": now, "nbf": now, "exp": now + CALLBACK_LIFETIME, "jti": uuid.uuid4().hex},
            self.app["webhook_key"] or "",
            algorithm="HS256",
        )
        view = self.view(transaction)
        return {
            "status": view["status"],
            "reference": view["reference"],
            "amount": str(transaction["amount"]),
            "currency": view["currency"],
            "operator": view["operator"],
            "code": view["code"],
            "operator_reference": view["operator_reference"] or "",
            "signature": signature,
            "endpoint": view["endpoint"],
            "external_reference": view["external_reference"],
            "external_user": view["external_user"],
            "extra_first_name": "",
            "extra_last_name": "",
            "extra_email": "",
            "phone_number": view["phone_number"],
            "redirect_url": "",
            "failure_redirect_url": "",
            "description": view["description"],
            "reason": view["reason"],
        }

    def _send_callback(self, transaction: dict) -> None:
        url, method = self.app["callback_url"], self.app["callback_method"] or "POST"
        if not url or not self.app["webhook_key"]:
            return  # no callback configured for the app: CamPay calls nobody
        fields = self.callback_fields(transaction)
        if method == "GET":
            target_url, body = pages.with_query(url, **fields), b""
        else:
            target_url, body = url, json.dumps(fields).encode("utf-8")

        def headers(payload: bytes) -> dict[str, str]:
            sent = {"User-Agent": USER_AGENT, "Accept": "*/*"}
            if method == "POST":
                sent["Content-Type"] = "application/json"
            return sent

        event = OutgoingEvent(f"campay_cb_{uuid.uuid4().hex}", f"campay.collect.{transaction['status'].lower()}", body)
        target = Target(ENDPOINT_ID, target_url, method=method, headers=headers, provider=self.name)
        self.delivery.submit([(event, [target])])

    # -- the customer's phone ------------------------------------------------------------------------

    def _prompts(self) -> list[dict]:
        merchant = self.app["app_name"] or "Caisse shop (CamPay)"
        return [
            {
                "reference": t["reference"],
                "amount": t["amount"],
                "currency": t["currency"],
                "description": t["description"],
                "merchant": merchant,
                "phone_number": t["phone_number"],
                "operator": t["operator"],
                "operator_name": OPERATORS[t["operator"]]["name"],
                "ussd_code": OPERATORS[t["operator"]]["ussd_code"],
            }
            for t in sorted(self._transactions.values(), key=lambda t: t["created_at"])
            if t["status"] == "PENDING"
        ]

    def handset_show(self, request: Request) -> Response:
        with self.lock:
            prompts = self._prompts()
        if pages.wants_json(request):
            return pages.json_response(prompts)
        return pages.html_response(pages.handset_page(prompts))

    def _handset_answer(self, request: Request, reference: str, status: str) -> Response:
        try:
            view = self.settle(reference, status, reason=REJECTED if status == "FAILED" else None)
        except CampayError as exc:
            if pages.wants_json(request):
                return pages.json_response(exc.body, exc.status)
            with self.lock:
                prompts = self._prompts()
            text = exc.body.get("message") or f"There is no payment prompt {reference}."
            return pages.html_response(pages.handset_page(prompts, notice=text), exc.status)
        if pages.wants_json(request):
            return pages.json_response(view)
        with self.lock:
            prompts = self._prompts()
        verb = "approved" if status == "SUCCESSFUL" else "rejected"
        notice = f"Payment of {view['currency']} {int(view['amount'])} {verb}."
        return pages.html_response(pages.handset_page(prompts, notice=notice))

    def handset_approve(self, request: Request, reference: str) -> Response:
        return self._handset_answer(request, reference, "SUCCESSFUL")

    def handset_reject(self, request: Request, reference: str) -> Response:
        return self._handset_answer(request, reference, "FAILED")

    # -- control API ---------------------------------------------------------------------------------

    def control_get_app(self, request: Request) -> Response:
        with self.lock:
            return pages.json_response(dict(self.app))

    def control_set_app(self, request: Request) -> Response:
        """Partial update of the app's dashboard settings (callback URL and method, keys)."""
        try:
            changes = json.loads(request.get_data() or b"{}")
            if not isinstance(changes, dict):
                raise ValueError("the body must be a JSON object")
            with self.lock:
                app = copy.deepcopy(self.app)
                for key, value in changes.items():
                    if key not in APP_SETTINGS + APP_OPTIONAL:
                        raise ValueError(f"unknown CamPay app setting: {key}")
                    if value is not None and not isinstance(value, str):
                        raise ValueError(f"{key} must be a string")
                    app[key] = value or None
                app["callback_method"] = (app["callback_method"] or "POST").upper()
                if app["callback_method"] not in ("GET", "POST"):
                    raise ValueError("callback_method must be GET or POST")
                url = app["callback_url"]
                if url and (not url.startswith(("http://", "https://")) or not is_loopback_url(url)):
                    raise ValueError("callback_url must be an http(s) URL on a loopback address")
                self.app = app
                return pages.json_response(dict(self.app))
        except ValueError as exc:
            return pages.json_response({"error": {"message": str(exc)}}, 400)

    def control_set_status(self, request: Request, reference: str) -> Response:
        """Settle without the phone: ``{"status": "SUCCESSFUL"|"FAILED", "callback": true, "reason": ...}``."""
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get("status") not in ("SUCCESSFUL", "FAILED"):
            return pages.json_response({"error": {"message": 'status must be "SUCCESSFUL" or "FAILED"'}}, 400)
        callback = body.get("callback", True)
        reason = body.get("reason")
        if not isinstance(callback, bool) or (reason is not None and not isinstance(reason, str)):
            return pages.json_response({"error": {"message": "callback must be a boolean, reason a string"}}, 400)
        try:
            return pages.json_response(self.settle(reference, body["status"], reason, callback))
        except CampayError as exc:
            return pages.json_response(exc.body, exc.status)
