"""PayDunya for the sandbox: checkout invoices ("Paiement Avec Redirection"), the invoice page, the IPN.

Wire formats follow reference/payment-providers.md section 4 (PayDunya's SDKs, WooCommerce and
Magento plugins, HTTP/JSON doc). Where the reference is silent, the sandbox chooses:

* Base URL ``<sandbox>/paydunya/sandbox-api/v1`` (``POST checkout-invoice/create``,
  ``GET checkout-invoice/confirm/<token>``); the live path ``/paydunya/api/v1/...`` answers an error
  that says so. The three key headers are required and non-empty; the private key must be a test
  one (``test_private_...``). An invoice belongs to the master key it was created with: confirming
  it with another master key answers "not found", and its IPN hash is SHA-512 of that key.
* Errors: ``{"response_code": <not "00">, "response_text": <why>}`` with an HTTP error status:
  ``1001`` (401) missing or wrong keys, ``1002`` (422) invalid invoice (decimals, missing store name,
  bad URL...), ``1004`` (404) unknown invoice, ``1005`` (400) body not a JSON object.
* Amounts (``total_amount``, item ``unit_price``/``total_price``, tax ``amount``) are whole XOF:
  a JSON integer or a string of digits; anything with a decimal point is refused (``1002``).
* Invoice tokens look like PayDunya's test ones (``test_`` + 10 characters). The checkout URL is
  ``<sandbox>/paydunya/checkout/invoice/<token>``; the receipt ``<sandbox>/paydunya/checkout/receipt/<token>``.
* After Pay the customer goes to ``return_url`` and after Decline to ``cancel_url``, each with
  ``?token=<token>`` added, as PayDunya does. Decline cancels the invoice and sends an IPN too.
* ``checkout-invoice/confirm/<token>`` answers the invoice's items, taxes, total and description,
  not its token: the official PHP SDK's ``confirm()`` (paydunyadev/paydunya-php
  ``paydunya/checkout/checkout_invoice.php``) reads status, custom_data, invoice items, taxes and
  total_amount, customer and receipt_url, and nothing else, so a receiver must not rely on the
  answer repeating the token it asked about. The IPN does carry ``data[invoice][token]``.
* The IPN is ``application/x-www-form-urlencoded`` in PHP bracket notation: ``data[response_code]``,
  ``data[response_text]``, ``data[hash]``, ``data[invoice][token|total_amount|description]`` (and
  ``[items]``/``[taxes]``), every ``data[custom_data][...]`` key, ``data[actions][...]``,
  ``data[mode]=test``, ``data[status]``, ``data[fail_reason]``; once paid also
  ``data[customer][name|phone|email]`` and ``data[receipt_url]``. Nested values are flattened as PHP's
  ``http_build_query`` does (booleans 1/0, nulls left out).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import string
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from werkzeug.wrappers import Request, Response

from provider_sandbox import pages
from provider_sandbox.delivery import DeliveryWorker, OutgoingEvent, Target
from provider_sandbox.stripe_api import is_loopback_url

API_PREFIX = "/paydunya/sandbox-api/v1"
USER_AGENT = "PayDunya-IPN/1.0 (local sandbox)"
STATUSES = ("pending", "completed", "cancelled", "failed")
DEFAULT_CUSTOMER = {"name": "Awa Diop", "phone": "770000000", "email": "awa@example.com"}
DECLINED = "Cancelled by the customer"
_TOKEN_ALPHABET = string.ascii_letters + string.digits


class PaydunyaError(Exception):
    def __init__(self, status: int, code: str, text: str):
        super().__init__(text)
        self.status = status
        self.body = {"response_code": code, "response_text": text}


def _invalid(text: str) -> PaydunyaError:
    return PaydunyaError(422, "1002", text)


def _xof(value: object, name: str) -> int:
    """Whole francs: a JSON integer or a string of digits."""
    if isinstance(value, bool):
        raise _invalid(f"{name} must be a whole number of XOF")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"\d+", value.strip()):
        number = int(value.strip())
    elif isinstance(value, float) or (isinstance(value, str) and re.fullmatch(r"\s*\d*\.\d*\s*", value)):
        raise _invalid(f"{name} must be a whole number of XOF: XOF has no decimals ({value!r})")
    else:
        raise _invalid(f"{name} must be a whole number of XOF ({value!r})")
    if number < 0:
        raise _invalid(f"{name} must not be negative")
    return number


def php_form(prefix: str, value: object) -> list[tuple[str, str]]:
    """Flatten ``value`` under ``prefix`` the way PHP's http_build_query does (``a[b][0]=...``)."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [pair for key, item in value.items() for pair in php_form(f"{prefix}[{key}]", item)]
    if isinstance(value, list | tuple):
        return [pair for index, item in enumerate(value) for pair in php_form(f"{prefix}[{index}]", item)]
    if isinstance(value, bool):
        return [(prefix, "1" if value else "0")]
    return [(prefix, str(value))]


def master_key_hash(master_key: str) -> str:
    return hashlib.sha512(master_key.encode("utf-8")).hexdigest()


class PaydunyaProvider:
    """PayDunya's checkout-invoice API, its invoice page and IPN, all in memory."""

    name = "paydunya"
    prefixes = ("/paydunya/", "/_sandbox/paydunya/")

    def __init__(self, public_url: str, delivery: DeliveryWorker):
        self.public_url = public_url.rstrip("/")
        self.delivery = delivery
        self.lock = threading.RLock()
        self._invoices: dict[str, dict] = {}

    def routes(self) -> list[tuple[str, str, Callable[..., Response]]]:
        return [
            ("POST", f"{API_PREFIX}/checkout-invoice/create", self.api_create),
            ("GET", f"{API_PREFIX}/checkout-invoice/confirm/<token>", self.api_confirm),
            ("GET", "/paydunya/api/v1/<path:rest>", self.api_live),
            ("POST", "/paydunya/api/v1/<path:rest>", self.api_live),
            ("GET", "/paydunya/checkout/invoice/<token>", self.page_show),
            ("POST", "/paydunya/checkout/invoice/<token>/pay", self.page_pay),
            ("POST", "/paydunya/checkout/invoice/<token>/decline", self.page_decline),
            ("GET", "/paydunya/checkout/receipt/<token>", self.page_receipt),
            ("POST", "/_sandbox/paydunya/invoices/<token>/status", self.control_set_status),
        ]

    def not_found(self, request: Request) -> Response:
        if request.path.startswith("/paydunya/checkout/"):
            return pages.html_response(
                pages.message_page("Not found", "No such page.", label=pages.PAYDUNYA_LABEL), 404
            )
        return pages.json_response({"response_code": "1004", "response_text": "Not found"}, 404)

    # -- API -----------------------------------------------------------------------------------------

    @staticmethod
    def _master_key(request: Request) -> str:
        keys = {
            name: request.headers.get(f"PAYDUNYA-{name}", "").strip() for name in ("MASTER-KEY", "PRIVATE-KEY", "TOKEN")
        }
        missing = [f"PAYDUNYA-{name}" for name, value in keys.items() if not value]
        if missing:
            raise PaydunyaError(401, "1001", f"Missing API key header(s): {', '.join(missing)}")
        if not keys["PRIVATE-KEY"].startswith("test_private_"):
            raise PaydunyaError(401, "1001", "Invalid private key: the sandbox API takes test keys (test_private_...)")
        return keys["MASTER-KEY"]

    def _api(self, request: Request, action: Callable[[str], dict]) -> Response:
        with self.lock:
            try:
                body = action(self._master_key(request))
                status = 200
            except PaydunyaError as exc:
                status, body = exc.status, exc.body
        return pages.json_response(body, status)

    def api_live(self, request: Request, rest: str) -> Response:
        text = f"The local sandbox serves PayDunya's sandbox API only: use {self.public_url}{API_PREFIX}/{rest}"
        return pages.json_response({"response_code": "1001", "response_text": text}, 401)

    def api_create(self, request: Request) -> Response:
        def action(master_key: str) -> dict:
            try:
                body = json.loads(request.get_data() or b"null")
            except ValueError:
                body = None
            if not isinstance(body, dict):
                raise PaydunyaError(400, "1005", "The request body must be a JSON object")
            return self.create(body, master_key)

        return self._api(request, action)

    @staticmethod
    def _url(actions: dict, name: str, loopback: bool = False) -> str | None:
        url = actions.get(name)
        if url in (None, ""):
            return None
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise _invalid(f"actions.{name} must be an http(s) URL")
        if loopback and not is_loopback_url(url):
            raise _invalid(f"actions.{name}: the local sandbox only calls loopback addresses")
        return url

    @staticmethod
    def _items(raw: object) -> list[dict]:
        """Items as a dict (``item_0: {...}``, what the SDKs send) or a list; amounts checked."""
        if raw is None:
            return []
        if isinstance(raw, dict):
            values = list(raw.values())
        elif isinstance(raw, list):
            values = raw
        else:
            raise _invalid("invoice.items must be an object or a list")
        for item in values:
            if not isinstance(item, dict):
                raise _invalid("each invoice item must be an object")
            for key in ("unit_price", "total_price"):
                if key in item:
                    _xof(item[key], f"item {key}")
        return values

    def create(self, body: dict, master_key: str) -> dict:
        invoice_in = body.get("invoice")
        if not isinstance(invoice_in, dict):
            raise _invalid("invoice is required")
        if "total_amount" not in invoice_in:
            raise _invalid("invoice.total_amount is required")
        total = _xof(invoice_in["total_amount"], "invoice.total_amount")
        if total <= 0:
            raise _invalid("invoice.total_amount must be greater than zero")
        items = self._items(invoice_in.get("items"))
        taxes = invoice_in.get("taxes")
        if taxes is not None:
            tax_values = list(taxes.values()) if isinstance(taxes, dict) else taxes
            if not isinstance(tax_values, list) or not all(isinstance(t, dict) for t in tax_values):
                raise _invalid("invoice.taxes must be an object or a list of {name, amount}")
            for tax in tax_values:
                if "amount" in tax:
                    _xof(tax["amount"], "tax amount")
        description = invoice_in.get("description", "")
        if not isinstance(description, str):
            raise _invalid("invoice.description must be a string")
        store = body.get("store")
        if not isinstance(store, dict) or not isinstance(store.get("name"), str) or not store["name"].strip():
            raise _invalid("store.name is required")
        custom_data = body.get("custom_data", {})
        if not isinstance(custom_data, dict):
            raise _invalid("custom_data must be an object")
        actions = body.get("actions", {})
        if not isinstance(actions, dict):
            raise _invalid("actions must be an object")
        urls = {
            "cancel_url": self._url(actions, "cancel_url"),
            "return_url": self._url(actions, "return_url"),
            "callback_url": self._url(actions, "callback_url", loopback=True),
        }
        token = "test_" + "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(10))
        self._invoices[token] = {
            "token": token,
            "master_key": master_key,
            "status": "pending",
            "total_amount": total,
            "description": description,
            "items": invoice_in.get("items") or {},
            "item_list": items,
            "taxes": taxes or {},
            "channels": invoice_in.get("channels"),
            "store": store,
            "custom_data": custom_data,
            "actions": {key: value for key, value in urls.items() if value},
            "customer": None,
            "receipt_url": None,
            "fail_reason": "",
            "created_at": time.time(),
        }
        return {
            "response_code": "00",
            "response_text": f"{self.public_url}/paydunya/checkout/invoice/{token}",
            "description": "Checkout Invoice Created",
            "token": token,
        }

    def _invoice(self, token: str, master_key: str | None = None) -> dict:
        invoice = self._invoices.get(token)
        if invoice is None or (master_key is not None and invoice["master_key"] != master_key):
            raise PaydunyaError(404, "1004", "Invoice Not Found")
        return invoice

    @staticmethod
    def _invoice_part(invoice: dict) -> dict:
        return {
            "items": invoice["items"],
            "taxes": invoice["taxes"],
            "total_amount": invoice["total_amount"],
            "description": invoice["description"],
        }

    def confirmation(self, invoice: dict) -> dict:
        """What ``checkout-invoice/confirm/<token>`` answers."""
        answer: dict[str, Any] = {
            "response_code": "00",
            "response_text": "Transaction Found",
            "invoice": self._invoice_part(invoice),
            "custom_data": invoice["custom_data"],
            "actions": invoice["actions"],
            "mode": "test",
            "status": invoice["status"],
            "fail_reason": invoice["fail_reason"],
        }
        if invoice["customer"] is not None:
            answer["customer"] = invoice["customer"]
            answer["receipt_url"] = invoice["receipt_url"]
        return answer

    def api_confirm(self, request: Request, token: str) -> Response:
        return self._api(request, lambda master_key: self.confirmation(self._invoice(token, master_key)))

    # -- settling and the IPN ------------------------------------------------------------------------

    def settle(self, token: str, status: str, customer: dict | None = None, ipn: bool = True) -> dict:
        with self.lock:
            invoice = self._invoice(token)
            if invoice["status"] != "pending":
                raise PaydunyaError(409, "1003", f"This invoice is already {invoice['status']}")
            invoice["status"] = status
            if status == "completed":
                invoice["customer"] = {**DEFAULT_CUSTOMER, **(customer or {})}
                invoice["receipt_url"] = f"{self.public_url}/paydunya/checkout/receipt/{token}"
            elif status in ("cancelled", "failed"):
                invoice["fail_reason"] = DECLINED if status == "cancelled" else "Payment failed"
            if ipn and status != "pending":
                self._send_ipn(invoice)
            return invoice

    def ipn_fields(self, invoice: dict) -> list[tuple[str, str]]:
        """The IPN: what confirm answers, plus the master key's hash, as PHP-style form fields."""
        data = {**self.confirmation(invoice), "hash": master_key_hash(invoice["master_key"])}
        data["invoice"] = {"token": invoice["token"], **data["invoice"]}
        return php_form("data", data)

    def _send_ipn(self, invoice: dict) -> None:
        url = invoice["actions"].get("callback_url")
        if not url:
            return
        body = urlencode(self.ipn_fields(invoice)).encode("ascii")

        def headers(payload: bytes) -> dict[str, str]:
            return {
                "Content-Type": "application/x-www-form-urlencoded",
                "User-Agent": USER_AGENT,
                "Accept": "*/*",
            }

        event = OutgoingEvent(f"paydunya_ipn_{uuid.uuid4().hex}", f"paydunya.invoice.{invoice['status']}", body)
        target = Target(f"paydunya:{url}", url, headers=headers, provider=self.name)
        self.delivery.submit([(event, [target])])

    # -- the invoice page ----------------------------------------------------------------------------

    def _page_view(self, invoice: dict) -> dict:
        return {
            "token": invoice["token"],
            "items": invoice["item_list"],
            "total_amount": invoice["total_amount"],
            "description": invoice["description"],
            "store_name": invoice["store"]["name"],
            "status": invoice["status"],
        }

    def _page_error(self, request: Request, token: str, exc: PaydunyaError) -> Response:
        if pages.wants_json(request):
            return pages.json_response(exc.body, exc.status)
        with self.lock:
            invoice = self._invoices.get(token)
            if invoice is None:
                text = f"There is no invoice {token}."
                return pages.html_response(pages.message_page("Not found", text, label=pages.PAYDUNYA_LABEL), 404)
            view = self._page_view(invoice)
        return pages.html_response(pages.paydunya_invoice_page(view, notice=exc.body["response_text"]), exc.status)

    def page_show(self, request: Request, token: str) -> Response:
        with self.lock:
            try:
                invoice = self._invoice(token)
            except PaydunyaError as exc:
                return self._page_error(request, token, exc)
            if pages.wants_json(request):
                return pages.json_response(self.confirmation(invoice))
            return pages.html_response(pages.paydunya_invoice_page(self._page_view(invoice)))

    def _after(self, request: Request, token: str, status: str, url_key: str, customer: dict | None) -> Response:
        try:
            invoice = self.settle(token, status, customer)
        except PaydunyaError as exc:
            return self._page_error(request, token, exc)
        with self.lock:
            if pages.wants_json(request):
                return pages.json_response(self.confirmation(invoice))
            url = invoice["actions"].get(url_key)
            if url:
                return pages.redirect(pages.with_query(url, token=token))
            text = "Payment received, thank you." if status == "completed" else "The payment was cancelled."
            return pages.html_response(pages.message_page("PayDunya", text, label=pages.PAYDUNYA_LABEL))

    def page_pay(self, request: Request, token: str) -> Response:
        customer = {key: request.form[key] for key in ("name", "phone", "email") if request.form.get(key)}
        return self._after(request, token, "completed", "return_url", customer)

    def page_decline(self, request: Request, token: str) -> Response:
        return self._after(request, token, "cancelled", "cancel_url", None)

    def page_receipt(self, request: Request, token: str) -> Response:
        with self.lock:
            invoice = self._invoices.get(token)
            if invoice is None or invoice["status"] != "completed":
                text = f"There is no receipt for {token}."
                return pages.html_response(pages.message_page("Not found", text, label=pages.PAYDUNYA_LABEL), 404)
            text = (
                f"Receipt for invoice {token}: XOF {invoice['total_amount']} paid to {invoice['store']['name']} "
                f"by {invoice['customer']['name']}."
            )
        return pages.html_response(pages.message_page("Receipt", text, label=pages.PAYDUNYA_LABEL))

    # -- control API ---------------------------------------------------------------------------------

    def control_set_status(self, request: Request, token: str) -> Response:
        """Settle without the page: ``{"status": "completed"|"cancelled"|"failed", "ipn": true, "customer": {...}}``."""
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get("status") not in STATUSES[1:]:
            return pages.json_response(
                {"error": {"message": 'status must be "completed", "cancelled" or "failed"'}}, 400
            )
        ipn, customer = body.get("ipn", True), body.get("customer")
        if not isinstance(ipn, bool) or (customer is not None and not isinstance(customer, dict)):
            return pages.json_response({"error": {"message": "ipn must be a boolean, customer an object"}}, 400)
        try:
            invoice = self.settle(token, body["status"], customer, ipn)
        except PaydunyaError as exc:
            return pages.json_response(exc.body, exc.status)
        with self.lock:
            return pages.json_response(self.confirmation(invoice))
