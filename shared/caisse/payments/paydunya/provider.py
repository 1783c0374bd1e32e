"""PayDunya: an invoice paid on PayDunya's page (mobile money and cards across West Africa, XOF).

The IPN's `data[hash]` is SHA-512 of our master key: the same for every IPN, so anyone who saw one
can replay it (reference/payment-providers.md 4.2). It is checked in constant time, and then the
order settles only on what `checkout-invoice/confirm/<token>` says: completed, with the total and
the order id we expect. PayDunya has no refund API: refunds are owed and paid back by a person.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import parse_qsl

import httpx

from caisse.config import settings
from caisse.errors import InvalidRequest, ProviderUnavailable
from caisse.money import Money, maximum
from caisse.payments.base import (
    CheckoutSpec,
    InvalidWebhook,
    Notice,
    Outcome,
    PaymentNotice,
    ProviderCheckout,
    RefundRequest,
    RefundResult,
    WebhookRequest,
    owed_refund,
)
from caisse.payments.http import client, json_or_none
from caisse.secrets import secret

MASTER_KEY_PARAMETER = "paydunya/master_key"
PRIVATE_KEY_PARAMETER = "paydunya/private_key"
TOKEN_PARAMETER = "paydunya/token"
MIN_XOF = 100
MAX_XOF = maximum("XOF", "paydunya")
_STATUS = {"completed": Outcome.PAID, "cancelled": Outcome.FAILED, "failed": Outcome.FAILED, "pending": Outcome.PENDING}


def _headers() -> dict[str, str]:
    return {
        "PAYDUNYA-MASTER-KEY": secret(MASTER_KEY_PARAMETER),
        "PAYDUNYA-PRIVATE-KEY": secret(PRIVATE_KEY_PARAMETER),
        "PAYDUNYA-TOKEN": secret(TOKEN_PARAMETER),
    }


def _http() -> httpx.Client:
    return client(settings().paydunya_api_base)


class PayDunya:
    name = "paydunya"
    currencies = frozenset({"XOF"})

    def check(self, spec: CheckoutSpec) -> None:
        if spec.total.currency != "XOF":
            raise InvalidRequest("PayDunya takes XOF only", code="currency_not_supported")
        if not MIN_XOF <= spec.total.amount <= MAX_XOF:
            raise InvalidRequest(
                f"PayDunya takes payments from XOF {MIN_XOF} to XOF {MAX_XOF:,}".replace(",", " "),
                code="amount_out_of_range",
                minimum=MIN_XOF,
                maximum=MAX_XOF,
            )

    def open_checkout(self, spec: CheckoutSpec) -> ProviderCheckout:
        body = {
            "invoice": {
                "items": {
                    f"item_{index}": {
                        "name": line.name,
                        "quantity": line.quantity,
                        "unit_price": line.unit_price.amount,
                        "total_price": line.total.amount,
                    }
                    for index, line in enumerate(spec.lines)
                },
                "total_amount": spec.total.amount,
                "description": f"{spec.merchant_name or spec.merchant} {spec.order_number}",
            },
            "store": {"name": spec.merchant_name or spec.merchant},
            "custom_data": {"order_id": spec.order_id, "order_number": spec.order_number},
            "actions": {"cancel_url": spec.cancel_url, "return_url": spec.return_url, "callback_url": spec.notify_url},
        }
        try:
            response = _http().post("checkout-invoice/create", json=body, headers=_headers())
        except Exception as error:
            raise ProviderUnavailable("PayDunya did not answer; nothing was charged") from error
        answer = json_or_none(response) or {}
        if answer.get("response_code") != "00":
            raise ProviderUnavailable(
                f"PayDunya refused the invoice: {answer.get('response_text', response.status_code)}"
            )
        return ProviderCheckout(
            provider_ref=answer["token"],
            next_action={"type": "redirect", "url": answer["response_text"]},
            expires_at=spec.expires_at,
        )

    def close_checkout(self, provider_ref: str) -> None:
        return None  # PayDunya documents no way to cancel an invoice; an unpaid one is harmless

    def confirm(self, token: str) -> dict[str, Any]:
        try:
            response = _http().get(f"checkout-invoice/confirm/{token}", headers=_headers())
        except Exception as error:
            raise ProviderUnavailable("PayDunya did not answer") from error
        answer = json_or_none(response)
        if answer is None or answer.get("response_code") != "00":
            raise ProviderUnavailable(f"PayDunya could not confirm invoice ({response.status_code})")
        return answer

    def notice(self, confirmation: dict[str, Any], token: str) -> PaymentNotice:
        """What PayDunya's confirm endpoint says about the invoice `token` we asked about (never
        what an IPN claimed). Its ids are built from the token we asked about: the confirm answer
        is not relied on to repeat it (an event id built from a missing value would make every
        later payment a duplicate)."""
        status = str(confirmation.get("status", "")).lower() or "unknown"
        invoice = confirmation.get("invoice") or {}
        try:
            amount = Money.from_major(str(invoice.get("total_amount")), "XOF").amount
        except ValueError:
            amount = None
        return PaymentNotice(
            provider=self.name,
            event_id=f"{token}:{status}",
            event_type=f"invoice.{status}",
            outcome=_STATUS.get(status, Outcome.IGNORED),
            order_id=(confirmation.get("custom_data") or {}).get("order_id"),
            amount=amount,
            currency="XOF",
            provider_ref=token,
            payment_ref=token,
            reason=confirmation.get("response_text") if status in ("cancelled", "failed") else None,
        )

    def current_status(self, provider_ref: str, payment_ref: str | None) -> PaymentNotice | None:
        return self.notice(self.confirm(provider_ref), provider_ref)

    def refund(self, request: RefundRequest) -> RefundResult:
        note = "Send it with PayDunya's disbursement API or dashboard, then confirm."
        return owed_refund(request, "paydunya_disbursement", note)

    def refunds(self, provider_ref: str | None, payment_ref: str | None) -> list[Any]:
        return []  # no refund API: owed refunds are confirmed by staff


def read_ipn(raw_body: bytes) -> dict[str, str]:
    """The IPN's form fields, keys kept as PayDunya writes them (`data[invoice][token]`)."""
    return dict(parse_qsl(raw_body.decode("utf-8", errors="replace"), keep_blank_values=True))


def verify_ipn(fields: dict[str, str], master_key: str) -> str:
    """Check `data[hash]` against SHA-512 of our master key (constant time); the invoice token."""
    expected = hashlib.sha512(master_key.encode()).hexdigest()
    if not hmac.compare_digest(fields.get("data[hash]", "").lower().encode(), expected.encode()):
        raise InvalidWebhook("hash does not match")
    token = fields.get("data[invoice][token]")
    if not token:
        raise InvalidWebhook("no invoice token")
    return token


class PaydunyaWebhook:
    """The adapter for POST /webhooks/paydunya (the form-encoded IPN)."""

    provider = "paydunya"

    def verify(self, request: WebhookRequest) -> str:
        return verify_ipn(read_ipn(request.body), secret(MASTER_KEY_PARAMETER))

    def notices(self, token: str) -> list[Notice]:
        provider = PayDunya()
        return [provider.notice(provider.confirm(token), token)]
