"""Helpers for the tests of merchants that sign up themselves: a person signed up and signed in
through the local user pool (Cognito's API), the business they name, their refreshed token; then
what the merchant does next (onboarding on the sandbox's Connect pages, a service and its hours, a
plan paid on the sandbox's Checkout) and a customer's booking with it."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from e2e_support import order_status, sent_emails, wait_for

from caisse_local.cognito import CLIENT_ID

PASSWORD = "Correct-Horse-42"  # noqa: S105 - a local test user's password
PLATFORM_KEY = {"Authorization": "Bearer sk_test_local_not_a_real_key"}
WORKING_WEEK = {day: [["08:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def cognito(stack):
    return stack.boto("cognito-idp")


def new_email() -> str:
    return f"owner-{uuid.uuid4().hex[:10]}@example.test"


def emailed_code(stack, email: str, count: int = 1) -> str:
    """The code in the last of `count` verification emails sent to this address."""
    emails = wait_for(
        lambda: (found := sent_emails(stack, to=email)) and len(found) >= count and found,
        what=f"verification email {count} to {email}",
    )
    return re.search(r"\b(\d{6})\b", emails[-1]["text"])[1]


def signed_up(stack, email: str) -> dict:
    """A person who signed up, confirmed the emailed code and signed in: their tokens."""
    pool = cognito(stack)
    pool.sign_up(
        ClientId=CLIENT_ID, Username=email, Password=PASSWORD, UserAttributes=[{"Name": "email", "Value": email}]
    )
    pool.confirm_sign_up(ClientId=CLIENT_ID, Username=email, ConfirmationCode=emailed_code(stack, email))
    return sign_in(stack, email)


def sign_in(stack, email: str) -> dict:
    answer = cognito(stack).initiate_auth(
        ClientId=CLIENT_ID, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD}
    )
    return answer["AuthenticationResult"]


def refreshed(stack, tokens: dict) -> str:
    answer = cognito(stack).initiate_auth(
        ClientId=CLIENT_ID, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]}
    )
    return answer["AuthenticationResult"]["IdToken"]


def business(slug: str, **changes) -> dict:
    return {
        "name": "Bright Sparks Electrical",
        "slug": slug,
        "kind": "trades",
        "timezone": "Australia/Brisbane",
        "languages": ["en", "fr"],
        "reply_to": "hello@bright-sparks.example",
        "staff_email": "jobs@bright-sparks.example",
        **changes,
    }


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def new_slug(stem: str = "sparks") -> str:
    return f"{stem}-{uuid.uuid4().hex[:6]}"


def new_merchant(stack, api, kind: str = "trades", **details) -> tuple[str, dict]:
    """A business signed up by a new person: its slug and its staff's headers (a refreshed token)."""
    tokens = signed_up(stack, new_email())
    slug = new_slug(kind)
    created = api.post(
        "/signup/merchant", json={**business(slug, kind=kind), **details}, headers=bearer(tokens["IdToken"])
    )
    assert created.status_code == 200, created.text
    return slug, bearer(refreshed(stack, tokens))


def merchant_item(stack, merchant: str) -> dict:
    return stack.table("CatalogTable").get_item(Key={"pk": f"MERCHANT#{merchant}"}, ConsistentRead=True)["Item"]


def sandbox_get(stack, path: str, account: str | None = None) -> dict:
    """An object as Stripe holds it: the platform's, or a connected account's."""
    headers = {**PLATFORM_KEY, **({"Stripe-Account": account} if account else {})}
    answer = httpx.get(f"{stack.sandbox}{path}", headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def onboarded(api, stack, merchant: str, staff: dict) -> str:
    """The merchant's staff start Connect onboarding, complete it on the sandbox's page, and
    account.updated enables its charges; its Stripe account's id."""
    onboarding = api.post(f"/admin/merchants/{merchant}/stripe/connect", headers=staff)
    assert onboarding.status_code == 200, onboarding.text
    page = httpx.get(onboarding.json()["onboarding_url"], timeout=10)
    assert "Complete onboarding" in page.text, page.text
    done = httpx.post(
        f"{onboarding.json()['onboarding_url']}/complete", headers={"Accept": "application/json"}, timeout=10
    )
    assert done.status_code == 200, done.text
    wait_for(lambda: merchant_item(stack, merchant).get("charges_enabled"), what="account.updated")
    return onboarding.json()["account_id"]


def offers(api, merchant: str, staff: dict, currency: str = "AUD", full_price: int = 15000, deposit=None) -> None:
    """The merchant's staff define one service (`callout`) and a working week of hours."""
    service = api.put(
        f"/admin/merchants/{merchant}/services/callout",
        headers=staff,
        json={
            "name": "Call-out",
            "duration_minutes": 60,
            "currency": currency,
            "full_price": full_price,
            "deposit": deposit or {"percent": 20},
        },
    )
    assert service.status_code == 200, service.text
    hours = {"weekly": WORKING_WEEK, "blocked_dates": [], "slot_minutes": 60}
    answer = api.put(f"/admin/merchants/{merchant}/hours", headers=staff, json=hours)
    assert answer.status_code == 200, answer.text


def billing(api, merchant: str, staff: dict) -> dict:
    answer = api.get(f"/admin/merchants/{merchant}/billing", headers=staff)
    assert answer.status_code == 200, answer.text
    return answer.json()


def subscribed(api, stack, merchant: str, staff: dict, plan: str = "starter", currency: str = "AUD") -> str:
    """The merchant's staff choose a plan and pay on the sandbox's Checkout; the subscription's id."""
    answer = api.post(
        f"/admin/merchants/{merchant}/subscription", headers=staff, json={"plan": plan, "currency": currency}
    )
    assert answer.status_code == 200, answer.text
    url = answer.json()["checkout_url"]
    page = httpx.get(url, timeout=10)
    assert "every month" in page.text, page.text
    paid = httpx.post(f"{url}/pay", headers={"Accept": "application/json"}, timeout=10)
    assert paid.status_code == 200 and paid.json()["mode"] == "subscription", paid.text
    stack.flush_deliveries()  # the session's, the subscription's and the first invoice's events
    view = billing(api, merchant, staff)
    assert view["status"] == "active" and view["last_invoice"]["paid"] is True, view
    return paid.json()["subscription"]


_weeks = iter(range(2, 200))


def book(api, merchant: str, currency: str = "AUD") -> httpx.Response:
    """A customer's booking checkout for the merchant's first free slot on a Tuesday not yet used."""
    today = datetime.now(UTC).date()
    day = today + timedelta(days=(1 - today.weekday()) % 7 + 7 * next(_weeks))
    slots = api.get(f"/merchants/{merchant}/availability", params={"service": "callout", "date": day.isoformat()})
    assert slots.status_code == 200 and slots.json()["slots"], slots.text
    return api.post(
        "/checkouts",
        json={
            "booking": {"merchant": merchant, "service": "callout", "start": slots.json()["slots"][0]["start"]},
            "currency": currency,
            "customer": {"name": "Sam", "email": f"sam-{uuid.uuid4().hex[:6]}@example.test"},
        },
    )


def paid_booking(api, merchant: str, currency: str = "AUD") -> dict:
    """A booking whose deposit the customer paid on the sandbox's Checkout."""
    answer = book(api, merchant, currency)
    assert answer.status_code == 201, answer.text
    booking = answer.json()
    httpx.post(f"{booking['next_action']['url']}/pay", timeout=10)
    wait_for(lambda: order_status(api, booking) == "paid", what="the deposit to be paid")
    return booking


def deposit_intent(stack, booking: dict, account: str) -> dict:
    """The deposit's PaymentIntent on the merchant's own Stripe account."""
    session_id = booking["next_action"]["url"].rsplit("/", 1)[1]
    session = sandbox_get(stack, f"/v1/checkout/sessions/{session_id}", account)
    return sandbox_get(stack, f"/v1/payment_intents/{session['payment_intent']}", account)
