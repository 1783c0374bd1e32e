"""The local user pool (caisse_local.cognito) keeps Cognito's rules the e2e tests cannot wait for:
a code expires after 24 hours, the password policy of template.yaml, attributes the console
client may not write."""

from __future__ import annotations

import re

import jwt
import pytest

from caisse_local.authorizer import verify
from caisse_local.cognito import CLIENT_ID, CODE_TTL_SECONDS, USER_POOL_ID, CognitoError, LocalUserPool


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def pool():
    sent = []
    clock = Clock()
    pool = LocalUserPool(sent.append, clock=clock)
    pool.sent, pool.clock = sent, clock
    return pool


def sign_up(pool, email="ada@example.test", password="Correct-Horse-42"):  # noqa: S107 - a test password
    return pool.call("SignUp", {"ClientId": CLIENT_ID, "Username": email, "Password": password})


def code(pool) -> str:
    return re.search(r"\d{6}", pool.sent[-1].get_content())[0]


def test_a_code_older_than_24_hours_is_expired_and_a_new_one_confirms(pool):
    sign_up(pool)
    pool.clock.now += CODE_TTL_SECONDS + 1
    with pytest.raises(CognitoError) as expired:
        pool.call(
            "ConfirmSignUp", {"ClientId": CLIENT_ID, "Username": "ada@example.test", "ConfirmationCode": code(pool)}
        )
    assert expired.value.kind == "ExpiredCodeException"
    pool.call("ResendConfirmationCode", {"ClientId": CLIENT_ID, "Username": "ada@example.test"})
    pool.call("ConfirmSignUp", {"ClientId": CLIENT_ID, "Username": "ada@example.test", "ConfirmationCode": code(pool)})


@pytest.mark.parametrize("password", ["Short-1aA", "no-upper-case-42", "NO-LOWER-CASE-42", "No-Digits-At-All"])
def test_the_password_policy_of_the_template_is_kept(pool, password):
    with pytest.raises(CognitoError) as refused:
        sign_up(pool, password=password)
    assert refused.value.kind == "InvalidPasswordException" and pool.sent == []


def test_the_console_client_cannot_write_the_merchant_attribute(pool):
    with pytest.raises(CognitoError) as refused:
        pool.call(
            "SignUp",
            {
                "ClientId": CLIENT_ID,
                "Username": "mallory@example.test",
                "Password": "Correct-Horse-42",
                "UserAttributes": [{"Name": "custom:merchant_id", "Value": "fixit-plumbing"}],
            },
        )
    assert refused.value.kind == "NotAuthorizedException" and pool.sent == []


def test_tokens_carry_the_merchant_and_group_only_after_the_admin_calls(pool):
    sub = sign_up(pool)["UserSub"]
    pool.call("ConfirmSignUp", {"ClientId": CLIENT_ID, "Username": "ada@example.test", "ConfirmationCode": code(pool)})
    auth = {"USERNAME": "ada@example.test", "PASSWORD": "Correct-Horse-42"}
    first = pool.call("InitiateAuth", {"ClientId": CLIENT_ID, "AuthFlow": "USER_PASSWORD_AUTH", "AuthParameters": auth})
    claims = verify(first["AuthenticationResult"]["IdToken"])
    assert claims["sub"] == sub and "custom:merchant_id" not in claims and "cognito:groups" not in claims

    pool.call(
        "AdminUpdateUserAttributes",
        {"UserPoolId": USER_POOL_ID, "Username": sub, "UserAttributes": [{"Name": "custom:merchant_id", "Value": "x"}]},
    )
    pool.call("AdminAddUserToGroup", {"UserPoolId": USER_POOL_ID, "Username": sub, "GroupName": "merchant-staff"})
    refresh = {"REFRESH_TOKEN": first["AuthenticationResult"]["RefreshToken"]}
    again = pool.call(
        "InitiateAuth", {"ClientId": CLIENT_ID, "AuthFlow": "REFRESH_TOKEN_AUTH", "AuthParameters": refresh}
    )
    claims = verify(again["AuthenticationResult"]["IdToken"])
    assert claims["custom:merchant_id"] == "x" and claims["cognito:groups"] == "merchant-staff"
    assert jwt.get_unverified_header(again["AuthenticationResult"]["IdToken"])["alg"] == "HS256"
