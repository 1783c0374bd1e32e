"""Email addresses a customer gives us, checked before anything is written: an address SES cannot
send to means a paid order whose confirmation never goes. Checked with email-validator (what
pydantic's EmailStr uses), stricter than EmailStr: no internationalised (SMTPUTF8) local part, no
quoted local part, no domain literal, which SES does not send to; no DNS lookup (a checkout must
not wait on DNS). The reserved `.test` domain is accepted: it never receives mail, and the local
stack's demo uses it."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

# What the OpenAPI document can say of it: ASCII, one @, no spaces, quotes, commas or brackets.
PATTERN = r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$"
DESCRIPTION = (
    "An address email can be sent to: ASCII, no quotes, no comments, a domain name (not an IP address); "
    "checked with email-validator"
)


def deliverable(value: str) -> str:
    """The address, normalised (the domain lower-cased); ValueError saying why when it is not one."""
    # Imported here: compiling its patterns takes ~65 ms, which only requests that carry an address pay.
    from email_validator import EmailNotValidError, validate_email

    try:
        checked = validate_email(
            value,
            check_deliverability=False,
            allow_smtputf8=False,
            allow_quoted_local=False,
            allow_domain_literal=False,
            test_environment=True,
        )
    except EmailNotValidError as error:
        raise ValueError(f"not an address email can be sent to: {error}") from None
    return checked.normalized


EmailAddress = Annotated[
    str, Field(max_length=254, pattern=PATTERN, description=DESCRIPTION), AfterValidator(deliverable)
]
