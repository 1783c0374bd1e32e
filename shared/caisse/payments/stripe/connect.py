"""Stripe Connect for the tradie platform: each merchant's own Stripe account (created by us,
onboarded on Stripe's pages), kept in step by `account.updated`, and charged directly: every call
about its money carries the Stripe-Account header."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import stripe
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist

from caisse.catalog.models import CatalogRecord, Merchant
from caisse.catalog.service import get_merchant
from caisse.errors import Conflict, ProviderUnavailable
from caisse.payments.stripe.client import client
from caisse.staff import Staff

if TYPE_CHECKING:
    from stripe.params import AccountCreateParams


class ConnectedAccount(CatalogRecord, discriminator="connected_account"):
    """Which merchant a connected account belongs to: Connect events name the account only."""

    merchant = UnicodeAttribute()
    updated_at = NumberAttribute(default=0)  # `created` of the last account event applied

    @staticmethod
    def key(account: str) -> str:
        return f"CONNECT#{account}"


def account_params(kind: str, country: str, email: str | None, name: str, merchant_id: str) -> dict[str, Any]:
    """What creating a merchant's connected account asks Stripe for. Express accounts must ask
    for the capabilities they need (direct card charges); Standard accounts manage their own."""
    params: dict[str, Any] = {
        "type": kind,
        "country": country,
        "email": email,
        "business_profile": {"name": name},
        "metadata": {"merchant": merchant_id},
    }
    if kind == "express":
        params["capabilities"] = {"card_payments": {"requested": True}, "transfers": {"requested": True}}
    return params


def connect(merchant_id: str, staff: Staff, return_url: str, refresh_url: str) -> dict[str, Any]:
    """Create the merchant's connected account (once) and an onboarding link for its owner."""
    staff.require(merchant_id, "this merchant")
    record = get_merchant(merchant_id)
    try:
        if not record.stripe_account:
            account = client().v1.accounts.create(
                params=cast(
                    "AccountCreateParams",
                    account_params(
                        record.connect_type or "express",
                        record.country or "AU",
                        record.contact_email or record.staff_email or record.reply_to,
                        record.name,
                        merchant_id,
                    ),
                ),
                options={"idempotency_key": f"connect-{merchant_id}"},
            )
            ConnectedAccount(ConnectedAccount.key(account.id), merchant=merchant_id).save()
            record.update(
                actions=[Merchant.stripe_account.set(account.id)], condition=Merchant.stripe_account.does_not_exist()
            )
        link = client().v1.account_links.create(
            params={
                "account": record.stripe_account,
                "refresh_url": refresh_url,
                "return_url": return_url,
                "type": "account_onboarding",
            }
        )
    except stripe.StripeError as error:
        raise ProviderUnavailable("Stripe did not answer; try again") from error
    return {
        "merchant": merchant_id,
        "account_id": record.stripe_account,
        "type": record.connect_type,
        "onboarding_url": link.url,
        "onboarding_expires_at": link.expires_at,
        "charges_enabled": bool(record.charges_enabled),
        "payouts_enabled": bool(record.payouts_enabled),
    }


def login_link(merchant_id: str, staff: Staff) -> dict[str, Any]:
    """A single-use link to the merchant's Express dashboard (payouts, balance), made on demand:
    https://docs.stripe.com/api/accounts/login_link/create. Only express accounts have that dashboard,
    and Stripe makes the link once onboarding was submitted."""
    staff.require(merchant_id, "this merchant")
    record = get_merchant(merchant_id)
    if not record.stripe_account:
        raise Conflict("set up payments first: this merchant has no Stripe account yet", code="not_connected")
    if (record.connect_type or "express") != "express":
        raise Conflict("this merchant's Stripe account has its own dashboard at Stripe", code="not_express")
    try:
        link = client().v1.accounts.login_links.create(record.stripe_account)
    except stripe.InvalidRequestError as error:
        raise Conflict(
            "finish setting up payments first: Stripe opens the dashboard once onboarding is submitted",
            code="onboarding_incomplete",
        ) from error
    except stripe.StripeError as error:
        raise ProviderUnavailable("Stripe did not answer; try again") from error
    return {"merchant": merchant_id, "account_id": record.stripe_account, "url": link.url, "created": link.created}


def account_updated(account: str, charges_enabled: bool, payouts_enabled: bool, created: int) -> str:
    """Apply an `account.updated` event to its merchant; the result for the delivery record.

    Events can arrive out of order: one older than the last applied changes nothing."""
    try:
        link = ConnectedAccount.get(ConnectedAccount.key(account), consistent_read=True)
    except DoesNotExist:
        return "unknown_account"
    if created and created < int(link.updated_at or 0):
        return "stale"
    record = Merchant(Merchant.key(link.merchant))
    record.update(
        actions=[Merchant.charges_enabled.set(charges_enabled), Merchant.payouts_enabled.set(payouts_enabled)],
        condition=Merchant.pk.exists(),
    )
    link.update(actions=[ConnectedAccount.updated_at.set(created)])
    return "charges_enabled" if charges_enabled else "charges_disabled"
