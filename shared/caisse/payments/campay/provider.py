"""CamPay: a USSD push to the customer's phone (MTN or Orange), approved on the handset.

The callback's JWT proves CamPay minted it with our webhook key but does not bind the amount or
status (reference/payment-providers.md 3.2), so a callback is only a trigger: the order settles on
what `GET /api/transaction/<reference>/` says. CamPay has no refund API: refunds are owed and paid
back by a person (a withdrawal to the customer's number), then confirmed by staff.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import jwt

from caisse.config import settings
from caisse.errors import InvalidRequest, ProviderUnavailable
from caisse.money import Money, MoneyError
from caisse.payments.base import (
    CheckoutSpec,
    InvalidWebhook,
    Notice,
    Outcome,
    OutcomeUnknown,
    PaymentNotice,
    ProviderCheckout,
    RefundRequest,
    RefundResult,
    WebhookRequest,
    owed_refund,
)
from caisse.payments.http import client, json_or_none
from caisse.secrets import secret

TOKEN_PARAMETER = "campay/token"
WEBHOOK_KEY_PARAMETER = "campay/webhook_key"
# Cameroon numbers with the country code CamPay wants: 237, then 6xxxxxxxx (mobile) or 2xxxxxxxx.
PHONE = re.compile(r"^237[26]\d{8}$")
_ERRORS = {
    "ER101": "this phone number is not valid for mobile money",
    "ER102": "this number is neither MTN nor Orange mobile money",
    "ER201": "the amount must be a whole number of francs",
}
_STATUS = {"SUCCESSFUL": Outcome.PAID, "FAILED": Outcome.FAILED, "PENDING": Outcome.PENDING}
# The callback JWT's iat/nbf/exp are CamPay's clock; ours may differ by a few seconds. Without a
# leeway a 1 s skew refuses a real payment as forged (PyJWT's `leeway`, in seconds).
CALLBACK_LEEWAY_SECONDS = 60


def normalise_phone(phone: str | None) -> str:
    digits = re.sub(r"[\s().+-]", "", phone or "")
    if not PHONE.match(digits):
        raise InvalidRequest(
            "mobile money needs a Cameroon phone number like 2376XXXXXXXX (country code 237, no +)",
            code="invalid_phone",
        )
    return digits


def _headers() -> dict[str, str]:
    return {"Authorization": f"Token {secret(TOKEN_PARAMETER)}"}


def _http() -> httpx.Client:
    return client(settings().campay_api_base)


class CamPay:
    name = "campay"
    currencies = frozenset({"XAF"})

    def check(self, spec: CheckoutSpec) -> None:
        normalise_phone(spec.customer_phone)
        if spec.total.currency != "XAF":
            raise InvalidRequest("CamPay takes XAF only", code="currency_not_supported")

    def open_checkout(self, spec: CheckoutSpec) -> ProviderCheckout:
        body = {
            "amount": str(spec.total.amount),
            "currency": "XAF",
            "from": normalise_phone(spec.customer_phone),
            "description": f"{spec.merchant_name or spec.merchant} {spec.order_number}"[:100],
            "external_reference": spec.order_id,
        }
        try:
            response = _http().post("api/collect/", json=body, headers=_headers())
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            raise ProviderUnavailable("mobile money did not answer; nothing was charged") from error
        except httpx.HTTPError as error:
            # Sent, but no answer (a read timeout): the prompt may be on the customer's phone.
            raise OutcomeUnknown("mobile money did not confirm the payment prompt") from error
        answer = json_or_none(response) or {}
        if response.status_code >= 500:
            raise OutcomeUnknown("mobile money failed while handling the payment prompt")
        if response.status_code >= 400:
            code = answer.get("error_code") or answer.get("code")
            if code in _ERRORS:
                raise InvalidRequest(_ERRORS[code], code="payment_refused", provider_code=code)
            raise ProviderUnavailable("mobile money refused the request; nothing was charged")
        if not answer.get("reference"):
            raise OutcomeUnknown("mobile money answered without a transaction reference")
        return ProviderCheckout(
            provider_ref=answer["reference"],
            next_action={
                "type": "ussd_prompt",
                "ussd_code": answer.get("ussd_code"),
                "operator": answer.get("operator"),
                "message": "Approve the payment prompt on your phone, then come back to this page.",
            },
            expires_at=spec.expires_at,
        )

    def close_checkout(self, provider_ref: str) -> None:
        return None  # a USSD prompt cannot be withdrawn; an unanswered one simply lapses

    def transaction(self, reference: str) -> dict[str, Any]:
        try:
            response = _http().get(f"api/transaction/{reference}/", headers=_headers())
        except Exception as error:
            raise ProviderUnavailable("CamPay did not answer") from error
        answer = json_or_none(response)
        if response.status_code >= 400 or answer is None:
            raise ProviderUnavailable(f"CamPay answered {response.status_code} for a transaction")
        return answer

    def notice(self, transaction: dict[str, Any], reference: str) -> PaymentNotice:
        """What CamPay's own record of the transaction `reference` says (never what a callback
        claimed); ids come from the reference we asked about, not from the answer."""
        status = str(transaction.get("status", "")).upper() or "UNKNOWN"
        try:
            amount = Money.from_major(str(transaction.get("amount")), "XAF").amount
        except MoneyError:
            amount = None
        return PaymentNotice(
            provider=self.name,
            event_id=f"{reference}:{status}",
            event_type=f"collect.{status.lower()}",
            outcome=_STATUS.get(status, Outcome.IGNORED),
            # Matched first on the reference we stored from the collect's answer; the
            # external_reference is only a fallback (CamPay's own SDK examples never send one).
            order_id=transaction.get("external_reference") or None,
            amount=amount,
            currency=(transaction.get("currency") or "").upper() or None,
            provider_ref=reference,
            payment_ref=transaction.get("operator_reference") or reference,
            reason=transaction.get("reason"),
        )

    def current_status(self, provider_ref: str, payment_ref: str | None) -> PaymentNotice | None:
        return self.notice(self.transaction(provider_ref), provider_ref)

    def refund(self, request: RefundRequest) -> RefundResult:
        # No refund endpoint: the money goes back by a withdrawal a person makes.
        note = "Send it with CamPay's withdraw (POST /api/withdraw/) or the dashboard, then confirm."
        return owed_refund(request, "campay_withdrawal", note)

    def refunds(self, provider_ref: str | None, payment_ref: str | None) -> list[Any]:
        return []  # no refund API: owed refunds are confirmed by staff


class CampayWebhook:
    """The adapter for GET or POST /webhooks/campay (the method is a dashboard setting)."""

    provider = "campay"

    def verify(self, request: WebhookRequest) -> str:
        return verify_callback(callback_params(request), secret(WEBHOOK_KEY_PARAMETER))

    def notices(self, reference: str) -> list[Notice]:
        provider = CamPay()
        return [provider.notice(provider.transaction(reference), reference)]


def callback_params(request: WebhookRequest) -> dict[str, Any]:
    """The callback's fields: the query string (GET) or a JSON body (POST)."""
    if request.method == "GET":
        return dict(request.query)
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def verify_callback(params: dict[str, Any], webhook_key: str, leeway: int = CALLBACK_LEEWAY_SECONDS) -> str:
    """Check the callback's `signature` JWT with our webhook key (HS256 only: `alg: none` and
    every other algorithm are refused; its time claims with a small leeway for clock skew) and
    return the CamPay reference it names."""
    token = params.get("signature")
    reference = params.get("reference")
    if not token or not reference:
        raise InvalidWebhook("missing signature or reference")
    try:
        jwt.decode(str(token), webhook_key, algorithms=["HS256"], options={"require": []}, leeway=leeway)
    except jwt.PyJWTError as error:
        raise InvalidWebhook(type(error).__name__) from error
    return str(reference)
