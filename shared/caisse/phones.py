"""Customers' phone numbers, checked for the country they are in with Google's libphonenumber
(`phonenumbers`), and kept in one form (E.164) so the tradie can call them from anywhere."""

from __future__ import annotations

from caisse.errors import InvalidRequest


def international(phone: str, country: str, field: str = "customer.phone") -> str:
    """The number in E.164 (+61412345678) if it is a real number of `country` (ISO 3166 alpha-2)
    or given with its own +code; a 422 naming the field otherwise (the number is not echoed)."""
    import phonenumbers

    try:
        number = phonenumbers.parse(phone, country.upper())
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise InvalidRequest(
            f"{field} is not a valid phone number for {country.upper()}; give it as dialled there or with its +code",
            code="invalid_phone",
            field=field,
            country=country.upper(),
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
