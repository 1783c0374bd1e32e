"""Stripe Connect for the sandbox: connected accounts, their hosted onboarding, and application fees.

Caisse takes *direct charges*: Checkout Sessions and off-session PaymentIntents are created on the
merchant's connected account (``Stripe-Account`` header) with ``application_fee_amount``; the fee is an
``ApplicationFee`` object on the platform. Accounts are platform objects, but their ``account.updated``
events are Connect events (``"account": "acct_..."``), delivered only to ``connect=true`` endpoints.

An account starts restricted (``charges_enabled: false``, requirements past due) and is onboarded on
the hosted page behind an Account Link (``/connect/onboarding/<token>``), or by the test hook
``set_account_state``. A connected account the sandbox does not know (a bare ``acct_...`` header) is
accepted as able to take charges, as before this module existed.
"""

from __future__ import annotations

import copy
import secrets
from dataclasses import dataclass
from typing import Any

from provider_sandbox.stripe_api import (
    Change,
    RequestContext,
    StripeError,
    StripeState,
    _Record,
    as_bool,
    as_currency,
    as_dict,
    as_expand,
    as_metadata,
    as_str,
    as_url,
    check_known,
    invalid,
    missing,
    new_id,
    no_such,
    no_such_param,
    round_half_up,
)

ACCOUNT_TYPES = ("express", "standard")
ACCOUNT_LINK_LIFETIME = 5 * 60
LOGIN_LINK_LIFETIME = 5 * 60
# https://docs.stripe.com/api/accounts/login_link/create: "You can only create login links for accounts
# that use the Express Dashboard and are connected to your platform."
NOT_EXPRESS = (
    "You can only create login links for accounts that use the Express Dashboard and are connected to your platform."
)
NOT_ONBOARDED = "Cannot create a login link for an account that has not completed onboarding."
BUSINESS_PROFILE_FIELDS = {"name", "url", "mcc", "support_email", "support_phone", "support_url", "product_description"}
CAPABILITIES = ("card_payments", "transfers")
# What Stripe asks an express/standard account for before it can take charges (abridged).
ONBOARDING_REQUIREMENTS = (
    "business_profile.mcc",
    "business_profile.url",
    "business_type",
    "external_account",
    "representative.first_name",
    "representative.last_name",
    "tos_acceptance.date",
    "tos_acceptance.ip",
)
DEFAULT_CURRENCIES = {
    "AU": "aud",
    "CA": "cad",
    "CI": "xof",
    "CM": "xaf",
    "GB": "gbp",
    "NZ": "nzd",
    "SN": "xof",
    "US": "usd",
}
EURO_COUNTRIES = {"AT", "BE", "DE", "ES", "FI", "FR", "IE", "IT", "LU", "NL", "PT"}
CANNOT_CHARGE = (
    "Your account cannot currently make charges. To find out why charge creation is currently disabled, "
    "look at the `requirements.disabled_reason` property on this account (/v1/accounts/{account})."
)


@dataclass
class _Link:
    """An Account Link: single use (spent once onboarding completes) and short-lived."""

    account: str
    refresh_url: str
    return_url: str
    expires_at: int
    used: bool = False


class LinkGone(Exception):
    """The onboarding link expired or was used; the user should go to ``refresh_url`` for a new one."""

    def __init__(self, reason: str, refresh_url: str):
        super().__init__(reason)
        self.reason = reason
        self.refresh_url = refresh_url


def _account_id() -> str:
    """Stripe's shape: ``acct_1`` and 15 letters or digits."""
    return "acct_1" + new_id("x", 15).removeprefix("x_")


def _requirements(due: list[str], disabled_reason: str | None) -> dict:
    return {
        "alternatives": [],
        "current_deadline": None,
        "currently_due": list(due),
        "disabled_reason": disabled_reason,
        "errors": [],
        "eventually_due": list(due),
        "past_due": list(due),
        "pending_verification": [],
    }


def _previous_attributes(old: dict, new: dict) -> dict:
    """Stripe's ``data.previous_attributes``: old values of what changed (one level into sub-objects)."""
    previous: dict[str, Any] = {}
    for key, value in old.items():
        if new.get(key) == value:
            continue
        if isinstance(value, dict) and isinstance(new.get(key), dict):
            previous[key] = {k: v for k, v in value.items() if new[key].get(k) != v}
        else:
            previous[key] = copy.deepcopy(value)
    return previous


class ConnectState(StripeState):
    """``StripeState`` plus connected accounts, account links and application fees."""

    def __init__(self, public_url: str, on_events) -> None:
        super().__init__(public_url, on_events)
        self.application_id = new_id("ca", 32)  # the platform's Connect application
        self._links: dict[str, _Link] = {}
        self._login_links: dict[str, _Link] = {}
        self._platform_account: _Record | None = None

    # -- accounts ------------------------------------------------------------------------------------

    def create_account(self, ctx: RequestContext, params: dict) -> dict:
        check_known(
            params,
            {
                "type",
                "country",
                "email",
                "business_type",
                "business_profile",
                "capabilities",
                "default_currency",
                "metadata",
                "expand",
            },
        )
        if ctx.account is not None:
            raise StripeError(
                403,
                "Connected accounts are created by the platform: send this request without a Stripe-Account header.",
            )
        if "type" not in params:
            raise invalid(
                "You must provide either `type` or `controller` when creating an account (the local sandbox "
                "supports type=express and type=standard).",
                param="type",
            )
        account_type = params["type"]
        if account_type not in ACCOUNT_TYPES:
            raise invalid(
                f"The local sandbox only creates express or standard accounts (got type={account_type}).",
                param="type",
            )
        country = as_str(params.get("country", "US"), "country")
        if len(country) != 2 or not country.isalpha() or not country.isupper():
            raise invalid(f"Invalid country: {country} (a two-letter ISO code such as 'US')", param="country")
        email = as_str(params["email"], "email", 800) if "email" in params else None
        if email is not None and "@" not in email:
            raise invalid(f"Invalid email address: {email}", param="email", code="email_invalid")
        profile = as_dict(params.get("business_profile", {}), "business_profile")
        check_known(profile, BUSINESS_PROFILE_FIELDS, "business_profile")
        business_profile = {name: None for name in sorted(BUSINESS_PROFILE_FIELDS)}
        for name, value in profile.items():
            param = f"business_profile[{name}]"
            business_profile[name] = as_url(value, param) if name in ("url", "support_url") else as_str(value, param)
        capabilities = {}
        requested = as_dict(params.get("capabilities", {}), "capabilities")
        if requested and account_type == "standard":
            raise invalid(
                "You cannot create Standard connected accounts with capabilities via API.", param="capabilities"
            )
        check_known(requested, set(CAPABILITIES), "capabilities")
        for name, options in requested.items():
            options = as_dict(options, f"capabilities[{name}]")
            check_known(options, {"requested"}, f"capabilities[{name}]")
            if as_bool(options.get("requested", "false"), f"capabilities[{name}][requested]"):
                capabilities[name] = "inactive"
        if "default_currency" in params:
            default_currency = as_currency(params["default_currency"], "default_currency")
        else:
            default_currency = DEFAULT_CURRENCIES.get(country, "eur" if country in EURO_COUNTRIES else "usd")
        business_type = params.get("business_type")
        if business_type is not None and business_type not in ("individual", "company", "non_profit"):
            raise invalid(f"Invalid business_type: {business_type}", param="business_type")
        due = [
            item
            for item in ONBOARDING_REQUIREMENTS
            if not (item.startswith("business_profile.") and business_profile[item.split(".", 1)[1]])
            and not (item == "business_type" and business_type)
        ]
        expand = as_expand(params)
        self._check_expand("account", expand)
        account_id = _account_id()
        account = {
            "id": account_id,
            "object": "account",
            "business_profile": business_profile,
            "business_type": business_type,
            "capabilities": capabilities,
            "charges_enabled": False,
            "country": country,
            "created": self.now(),
            "default_currency": default_currency,
            "details_submitted": False,
            "email": email,
            "external_accounts": {
                "object": "list",
                "data": [],
                "has_more": False,
                "total_count": 0,
                "url": f"/v1/accounts/{account_id}/external_accounts",
            },
            "future_requirements": _requirements([], None),
            "metadata": as_metadata(params.get("metadata", {})),
            "payouts_enabled": False,
            "requirements": _requirements(due, "requirements.past_due"),
            "tos_acceptance": {"date": None, "ip": None, "user_agent": None},
            "type": account_type,
        }
        record = _Record(account, None)
        self._records[account_id] = record
        return self._render(record, expand)

    def _account(self, account_id: str) -> _Record | None:
        record = self._records.get(account_id)
        if record is None or record.obj["object"] != "account":
            return None
        return record

    def retrieve_account(self, ctx: RequestContext, params: dict, account_id: str) -> dict:
        check_known(params, {"expand"})
        record = self._account(account_id)
        if record is None or ctx.account not in (None, account_id) or record is self._platform_account:
            raise no_such("account", account_id, "account")
        return self._render(record, as_expand(params))

    def retrieve_current_account(self, ctx: RequestContext, params: dict) -> dict:
        """``GET /v1/account``: the account in the Stripe-Account header, else the platform itself."""
        check_known(params, {"expand"})
        if ctx.account is None:
            return self._render(self._platform(), as_expand(params))
        record = self._account(ctx.account)
        if record is None:
            raise StripeError(
                403,
                f"The provided key does not have access to account '{ctx.account}' (or that account does not exist).",
                code="account_invalid",
            )
        return self._render(record, as_expand(params))

    def _platform(self) -> _Record:
        if self._platform_account is None:
            account_id = _account_id()
            platform = {
                "id": account_id,
                "object": "account",
                "business_profile": {"name": "Caisse (local platform)"},
                "capabilities": {"card_payments": "active", "transfers": "active"},
                "charges_enabled": True,
                "country": "US",
                "created": self.now(),
                "default_currency": "usd",
                "details_submitted": True,
                "email": None,
                "metadata": {},
                "payouts_enabled": True,
                "requirements": _requirements([], None),
                "type": "standard",
            }
            self._platform_account = _Record(platform, None)
            self._records[account_id] = self._platform_account
        return self._platform_account

    def _update_account(self, record: _Record, changes: dict) -> list[Change]:
        """Apply ``changes`` to an account; an ``account.updated`` Connect event when anything changed."""
        old = copy.deepcopy(record.obj)
        record.obj.update(copy.deepcopy(changes))
        previous = _previous_attributes(old, record.obj)
        if not previous:
            return []
        return [("account.updated", record, {"account": record.obj["id"], "previous_attributes": previous})]

    def _state_changes(self, account: dict, charges: bool, payouts: bool, details: bool) -> dict:
        """Fields that follow from the flags: capabilities, requirements and what disables the account."""
        capabilities = {name: "active" if charges else "inactive" for name in account["capabilities"]}
        if charges and payouts:
            requirements = _requirements([], None)
        elif not details:
            requirements = copy.deepcopy(account["requirements"])
            if not requirements["currently_due"]:
                requirements = _requirements(list(ONBOARDING_REQUIREMENTS), "requirements.past_due")
        else:  # onboarded, then restricted: Stripe wants more verification
            reason = "requirements.past_due" if not charges else None
            requirements = _requirements(["individual.verification.document"], reason)
        return {
            "capabilities": capabilities,
            "charges_enabled": charges,
            "details_submitted": details,
            "payouts_enabled": payouts,
            "requirements": requirements,
        }

    def set_account_state(self, account_id: str, changes: dict) -> dict:
        """Test hook: ``{"charges_enabled": bool, "payouts_enabled": bool}`` (either may be left out; an
        optional ``details_submitted`` too). Enabling charges also marks the details submitted. Emits
        ``account.updated`` when something changed."""
        unknown = set(changes) - {"charges_enabled", "payouts_enabled", "details_submitted"}
        if unknown:
            raise invalid(f"Unknown account state field(s): {', '.join(sorted(unknown))}")
        for key, value in changes.items():
            if not isinstance(value, bool):
                raise invalid(f"{key} must be true or false", param=key)
        with self.lock:
            record = self._account(account_id)
            if record is None or record is self._platform_account:
                raise no_such("account", account_id, "account")
            account = record.obj
            charges = changes.get("charges_enabled", account["charges_enabled"])
            payouts = changes.get("payouts_enabled", account["payouts_enabled"])
            details = changes.get("details_submitted", account["details_submitted"] or charges or payouts)
            self._emit(self._update_account(record, self._state_changes(account, charges, payouts, details)), None)
            return copy.deepcopy(account)

    def _check_can_charge(self, ctx: RequestContext) -> None:
        if ctx.account is None:
            return
        record = self._account(ctx.account)
        if record is not None and not record.obj["charges_enabled"]:
            raise invalid(CANNOT_CHARGE.format(account=ctx.account))

    # -- account links and the hosted onboarding page ------------------------------------------------

    def create_account_link(self, ctx: RequestContext, params: dict) -> dict:
        check_known(params, {"account", "refresh_url", "return_url", "type", "collect", "collection_options", "expand"})
        if ctx.account is not None:
            raise StripeError(
                403, "Account Links are created by the platform: send this request without a Stripe-Account header."
            )
        for name in ("account", "type", "refresh_url", "return_url"):
            if name not in params:
                raise missing(name)
        account_id = as_str(params["account"], "account")
        record = self._account(account_id)
        if record is None or record is self._platform_account:
            raise no_such_param("account", account_id, "account")
        if params["type"] != "account_onboarding":
            raise invalid(
                f"The local sandbox only creates account links of type account_onboarding (got {params['type']}).",
                param="type",
            )
        refresh_url = as_url(params["refresh_url"], "refresh_url")
        return_url = as_url(params["return_url"], "return_url")
        as_expand(params)
        now = self.now()
        token = secrets.token_urlsafe(24)
        self._links[token] = _Link(account_id, refresh_url, return_url, now + ACCOUNT_LINK_LIFETIME)
        return {
            "object": "account_link",
            "created": now,
            "expires_at": now + ACCOUNT_LINK_LIFETIME,
            "url": f"{self.public_url}/connect/onboarding/{token}",
        }

    def _open_link(self, token: str) -> _Link:
        link = self._links.get(token)
        if link is None:
            raise no_such("account link", token)
        if link.used:
            raise LinkGone("This onboarding link was already used.", link.refresh_url)
        if self.now() >= link.expires_at:
            raise LinkGone("This onboarding link has expired.", link.refresh_url)
        return link

    def onboarding_account(self, token: str) -> dict:
        """The account an open link onboards (for the page); raises ``LinkGone`` or a 404 ``StripeError``."""
        with self.lock:
            return copy.deepcopy(self._records[self._open_link(token).account].obj)

    def complete_onboarding(self, token: str) -> tuple[dict, str]:
        """The user finishes onboarding: the account can take charges and be paid out; the link is spent.
        Returns the account and the link's return_url."""
        with self.lock:
            link = self._open_link(token)
            link.used = True
            record = self._records[link.account]
            self._emit(self._update_account(record, self._state_changes(record.obj, True, True, True)), None)
            return copy.deepcopy(record.obj), link.return_url

    # -- login links to the Express dashboard -------------------------------------------------------

    def create_login_link(self, ctx: RequestContext, params: dict, account_id: str) -> dict:
        """``POST /v1/accounts/{account}/login_links`` (https://docs.stripe.com/api/accounts/login_link/create):
        a single-use link to the Express dashboard, for an express account that completed onboarding."""
        check_known(params, {"expand"})
        if ctx.account is not None:
            raise StripeError(
                403, "Login links are created by the platform: send this request without a Stripe-Account header."
            )
        record = self._account(account_id)
        if record is None or record is self._platform_account:
            raise no_such("account", account_id, "account")
        if record.obj["type"] != "express":
            raise invalid(NOT_EXPRESS)
        if not record.obj["details_submitted"]:
            raise invalid(NOT_ONBOARDED)
        as_expand(params)
        now = self.now()
        token = secrets.token_urlsafe(24)
        self._login_links[token] = _Link(account_id, "", "", now + LOGIN_LINK_LIFETIME)
        return {"object": "login_link", "created": now, "url": f"{self.public_url}/express/{token}"}

    def express_dashboard(self, token: str) -> dict:
        """The account a login link opens (once); raises ``LinkGone`` or a 404 ``StripeError``."""
        with self.lock:
            link = self._login_links.get(token)
            if link is None:
                raise no_such("login link", token)
            if link.used or self.now() >= link.expires_at:
                raise LinkGone("This login link was already used or has expired.", "")
            link.used = True
            return copy.deepcopy(self._records[link.account].obj)

    # -- application fees ----------------------------------------------------------------------------

    def _create_application_fee(self, charge: _Record) -> list[Change]:
        amount = charge.obj["application_fee_amount"]
        if charge.account is None or not amount:
            return []
        fee_id = new_id("fee")
        fee = {
            "id": fee_id,
            "object": "application_fee",
            "account": charge.account,
            "amount": amount,
            "amount_refunded": 0,
            "application": self.application_id,
            "balance_transaction": None,
            "charge": charge.obj["id"],
            "created": self.now(),
            "currency": charge.obj["currency"],
            "fee_source": {"charge": charge.obj["id"], "type": "charge"},
            "livemode": False,
            "originating_transaction": None,
            "refunded": False,
            "refunds": {
                "object": "list",
                "data": [],
                "has_more": False,
                "total_count": 0,
                "url": f"/v1/application_fees/{fee_id}/refunds",
            },
        }
        record = _Record(fee, None)  # the fee belongs to the platform
        self._records[fee_id] = record
        charge.obj["application_fee"] = fee_id
        return [("application_fee.created", record)]

    def _refund_application_fee(self, charge: _Record, amount: int) -> list[Change]:
        """Refund the fee in proportion to the refund, rounded half up; all that is left of it once the
        charge is fully refunded (so partial refunds never add up to more or less than the fee)."""
        fee_id = charge.obj["application_fee"]
        if fee_id is None:
            return []
        fee = self._records[fee_id]
        left = fee.obj["amount"] - fee.obj["amount_refunded"]
        if charge.obj["refunded"]:
            refund_amount = left
        else:
            refund_amount = min(left, round_half_up(fee.obj["amount"] * amount, charge.obj["amount"]))
        if refund_amount <= 0:
            return []
        fee_refund = {
            "id": new_id("fr"),
            "object": "fee_refund",
            "amount": refund_amount,
            "balance_transaction": None,
            "created": self.now(),
            "currency": fee.obj["currency"],
            "fee": fee_id,
            "metadata": {},
        }
        refunds = fee.obj["refunds"]
        refunds["data"].insert(0, fee_refund)
        refunds["total_count"] += 1
        fee.obj["amount_refunded"] += refund_amount
        fee.obj["refunded"] = fee.obj["amount_refunded"] == fee.obj["amount"]
        return [("application_fee.refunded", fee)]

    def retrieve_application_fee(self, ctx: RequestContext, params: dict, fee_id: str) -> dict:
        check_known(params, {"expand"})
        return self._render(self._get("application_fee", fee_id, ctx), as_expand(params))
