"""Helpers for the tests of merchants that sign up themselves: a person signed up and signed in
through the local user pool (Cognito's API), the business they name, their refreshed token."""

from __future__ import annotations

import re
import uuid

from e2e_support import sent_emails, wait_for

from caisse_local.cognito import CLIENT_ID

PASSWORD = "Correct-Horse-42"  # noqa: S105 - a local test user's password


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
