"""Local stand-in for the staff user pool (Cognito's JSON API, on the emulated AWS endpoint).

Deployed, a person signs up on Cognito's hosted pages, gets a code by email, confirms it, signs in
and holds an ID token that API Gateway's Cognito authorizer accepts. Locally the same steps run
against this stand-in, through the same wire protocol, so boto3's `cognito-idp` client (or a
browser posting `X-Amz-Target: AWSCognitoIdentityProviderService.<Operation>`) drives it:

- `SignUp` keeps the user unconfirmed and emails a 6-digit code from Cognito's default sender, so
  it lands in the local mailbox (`GET /_caisse/emails`);
- `ConfirmSignUp` refuses a wrong code (`CodeMismatchException`) or one older than 24 hours
  (`ExpiredCodeException`); `ResendConfirmationCode` sends a new one;
- `InitiateAuth` (USER_PASSWORD_AUTH, REFRESH_TOKEN_AUTH) answers ID tokens in Cognito's claim
  shapes, signed with the local key the local authorizer checks (`caisse_local.authorizer`);
- `AdminUpdateUserAttributes`, `AdminAddUserToGroup` and `AdminGetUser` are what the sign-up
  function calls to link a person to the business they named; the next token carries
  `custom:merchant_id` and the group.

Only requests for the local pool (`us-east-1_caisselocal`) and its client (`caisselocal-client`)
are answered here; any other Cognito request goes on to moto. The wire shapes and error names are
Cognito's: https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_SignUp.html,
API_ConfirmSignUp.html, API_InitiateAuth.html, API_AdminUpdateUserAttributes.html.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from .authorizer import AUDIENCE, id_token

TARGET_PREFIX = "AWSCognitoIdentityProviderService."
USER_POOL_ID = "us-east-1_caisselocal"
CLIENT_ID = AUDIENCE
CODE_TTL_SECONDS = 24 * 3600  # "The confirmation code ... is valid for 24 hours" (Cognito developer guide)
TOKEN_TTL_SECONDS = 3600  # template.yaml: IdTokenValidity 60 minutes
SENDER = "no-reply@verificationemail.com"  # Cognito's default sender (COGNITO_DEFAULT email)
WRITABLE_BY_CLIENT = {"email", "name", "locale"}  # template.yaml: the client's WriteAttributes
PASSWORD_RULES = (  # template.yaml: PasswordPolicy
    (re.compile(r".{12,}"), "Password not long enough"),
    (re.compile(r"[a-z]"), "Password must have lowercase characters"),
    (re.compile(r"[A-Z]"), "Password must have uppercase characters"),
    (re.compile(r"[0-9]"), "Password must have numeric characters"),
)


# Cognito answers browsers from any origin (the console's sign-up form calls it directly).
CORS_HEADERS = [
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "POST"),
    ("Access-Control-Allow-Headers", "content-type, x-amz-target, x-amz-user-agent"),
    ("Access-Control-Max-Age", "600"),
]


def is_preflight(environ: dict[str, Any]) -> bool:
    """A browser asking before it posts to Cognito's JSON API (POST / with X-Amz-Target)."""
    asked = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "").lower()
    return environ.get("PATH_INFO", "") == "/" and "x-amz-target" in asked


class CognitoError(Exception):
    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass
class User:
    username: str  # with email as the username attribute, Cognito's username is the sub
    email: str
    password: str
    attributes: dict[str, str] = field(default_factory=dict)
    groups: list[str] = field(default_factory=list)
    confirmed: bool = False
    code: str | None = None
    code_sent_at: float = 0.0


class LocalUserPool:
    """The staff user pool's users, in memory, for as long as the local stack runs."""

    def __init__(self, send_email: Callable[[EmailMessage], None], clock: Callable[[], float] = time.time):
        self._send_email = send_email
        self._clock = clock
        self._users: dict[str, User] = {}
        self._refresh_tokens: dict[str, str] = {}
        self._lock = threading.Lock()

    def handles(self, request: dict[str, Any]) -> bool:
        return request.get("ClientId") == CLIENT_ID or request.get("UserPoolId") == USER_POOL_ID

    def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        method = {
            "SignUp": self._sign_up,
            "ResendConfirmationCode": self._resend_confirmation_code,
            "ConfirmSignUp": self._confirm_sign_up,
            "InitiateAuth": self._initiate_auth,
            "AdminUpdateUserAttributes": self._admin_update_user_attributes,
            "AdminAddUserToGroup": self._admin_add_user_to_group,
            "AdminGetUser": self._admin_get_user,
        }.get(operation)
        if method is None:
            raise CognitoError("InvalidParameterException", f"{operation} is not served by the local user pool")
        with self._lock:
            return method(request)

    # ------------------------------------------------------------------ sign-up
    def _sign_up(self, request: dict[str, Any]) -> dict[str, Any]:
        email = str(request.get("Username") or "").strip().lower()
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            raise CognitoError("InvalidParameterException", "Username should be an email.")
        password = str(request.get("Password") or "")
        for rule, message in PASSWORD_RULES:
            if not rule.search(password):
                raise CognitoError("InvalidPasswordException", f"Password did not conform with policy: {message}")
        if self._find(email) is not None:
            raise CognitoError("UsernameExistsException", "An account with the given email already exists.")
        attributes = {item["Name"]: item["Value"] for item in request.get("UserAttributes") or []}
        refused = set(attributes) - WRITABLE_BY_CLIENT
        if refused:
            raise CognitoError(
                "NotAuthorizedException", f"A client attempted to write unauthorized attribute {sorted(refused)[0]}"
            )
        user = User(username=str(uuid.uuid4()), email=email, password=password, attributes=attributes)
        self._users[user.username] = user
        self._send_code(user)
        return {
            "UserConfirmed": False,
            "UserSub": user.username,
            "CodeDeliveryDetails": _delivery(email),
        }

    def _resend_confirmation_code(self, request: dict[str, Any]) -> dict[str, Any]:
        user = self._user(request.get("Username"))
        if user.confirmed:
            raise CognitoError("InvalidParameterException", "User is already confirmed.")
        self._send_code(user)
        return {"CodeDeliveryDetails": _delivery(user.email)}

    def _confirm_sign_up(self, request: dict[str, Any]) -> dict[str, Any]:
        user = self._user(request.get("Username"))
        if user.confirmed:
            raise CognitoError("NotAuthorizedException", "User cannot be confirmed. Current status is CONFIRMED")
        if user.code is None or not secrets.compare_digest(str(request.get("ConfirmationCode") or ""), user.code):
            raise CognitoError("CodeMismatchException", "Invalid verification code provided, please try again.")
        if self._clock() - user.code_sent_at > CODE_TTL_SECONDS:
            raise CognitoError("ExpiredCodeException", "Invalid code provided, please request a code again.")
        user.confirmed, user.code = True, None
        user.attributes["email_verified"] = "true"
        return {}

    # ------------------------------------------------------------------ sign-in
    def _initiate_auth(self, request: dict[str, Any]) -> dict[str, Any]:
        flow = request.get("AuthFlow")
        parameters = request.get("AuthParameters") or {}
        if flow == "USER_PASSWORD_AUTH":
            user = self._find(str(parameters.get("USERNAME") or "").lower())
            if user is None or not secrets.compare_digest(str(parameters.get("PASSWORD") or ""), user.password):
                raise CognitoError("NotAuthorizedException", "Incorrect username or password.")
            if not user.confirmed:
                raise CognitoError("UserNotConfirmedException", "User is not confirmed.")
            refresh = secrets.token_urlsafe(32)
            self._refresh_tokens[refresh] = user.username
            return {"ChallengeParameters": {}, "AuthenticationResult": {**self._tokens(user), "RefreshToken": refresh}}
        if flow == "REFRESH_TOKEN_AUTH":
            username = self._refresh_tokens.get(str(parameters.get("REFRESH_TOKEN") or ""))
            if username is None:
                raise CognitoError("NotAuthorizedException", "Invalid Refresh Token")
            return {"ChallengeParameters": {}, "AuthenticationResult": self._tokens(self._users[username])}
        raise CognitoError("InvalidParameterException", f"auth flow {flow} is not enabled for the local client")

    def _tokens(self, user: User) -> dict[str, Any]:
        token = id_token(
            user.username,
            user.username,
            user.email,
            groups=user.groups,
            merchant_id=user.attributes.get("custom:merchant_id"),
            ttl_seconds=TOKEN_TTL_SECONDS,
        )
        # The local API only accepts ID tokens; the access token is opaque here.
        return {
            "IdToken": token,
            "AccessToken": secrets.token_urlsafe(32),
            "ExpiresIn": TOKEN_TTL_SECONDS,
            "TokenType": "Bearer",
        }

    # ------------------------------------------------------------------ admin API (signed requests)
    def _admin_update_user_attributes(self, request: dict[str, Any]) -> dict[str, Any]:
        user = self._user(request.get("Username"))
        for item in request.get("UserAttributes") or []:
            user.attributes[item["Name"]] = item["Value"]
        return {}

    def _admin_add_user_to_group(self, request: dict[str, Any]) -> dict[str, Any]:
        user = self._user(request.get("Username"))
        group = str(request.get("GroupName") or "")
        if group not in ("merchant-staff", "platform-admin"):  # template.yaml's groups
            raise CognitoError("ResourceNotFoundException", "Group not found.")
        if group not in user.groups:
            user.groups.append(group)
        return {}

    def _admin_get_user(self, request: dict[str, Any]) -> dict[str, Any]:
        user = self._user(request.get("Username"))
        attributes = {"sub": user.username, "email": user.email, **user.attributes}
        return {
            "Username": user.username,
            "UserAttributes": [{"Name": name, "Value": value} for name, value in attributes.items()],
            "UserStatus": "CONFIRMED" if user.confirmed else "UNCONFIRMED",
            "Enabled": True,
        }

    # ------------------------------------------------------------------ helpers
    def _find(self, name: str) -> User | None:
        """A user by username or email (the pool's username attribute), as Cognito looks them up."""
        return self._users.get(name) or next((u for u in self._users.values() if u.email == name), None)

    def _user(self, name: Any) -> User:
        user = self._find(str(name or "").lower()) or self._find(str(name or ""))
        if user is None:
            raise CognitoError("UserNotFoundException", "User does not exist.")
        return user

    def _send_code(self, user: User) -> None:
        previous = user.code
        while user.code == previous:  # a new code: the one sent before no longer confirms
            user.code = f"{secrets.randbelow(1_000_000):06d}"
        user.code_sent_at = self._clock()
        message = EmailMessage()
        message["From"] = SENDER
        message["To"] = user.email
        message["Subject"] = "Your verification code"
        message.set_content(f"Your confirmation code is {user.code}")
        self._send_email(message)


def _delivery(email: str) -> dict[str, str]:
    local, _, domain = email.partition("@")
    return {"Destination": f"{local[:1]}***@{domain[:1]}***", "DeliveryMedium": "EMAIL", "AttributeName": "email"}


def send_through_moto(message: EmailMessage) -> None:
    """Hand the code email to moto's SES, whose sent messages are the local mailbox."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    backend = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    backend.verify_email_identity(SENDER)
    backend.send_raw_email(SENDER, [str(message["To"])], message.as_string())


def respond(pool: LocalUserPool, operation: str, request: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(HTTP status, JSON answer) for one request, errors in Cognito's JSON shape."""
    try:
        return "200 OK", pool.call(operation, request)
    except CognitoError as error:
        return "400 Bad Request", {"__type": error.kind, "message": str(error)}
