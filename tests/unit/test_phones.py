"""Customers' phones, checked for the country of the merchant they book (libphonenumber's own
metadata, not a regular expression of ours) and kept in one form, E.164."""

from __future__ import annotations

import pytest

from caisse.errors import InvalidRequest
from caisse.phones import international


@pytest.mark.parametrize(
    ("phone", "country", "stored"),
    [
        ("0412 345 678", "AU", "+61412345678"),  # an Australian mobile as dialled in Australia
        ("(02) 9374 4000", "AU", "+61293744000"),  # a Sydney landline
        ("+61 412 345 678", "AU", "+61412345678"),
        ("+33 6 12 34 56 78", "AU", "+33612345678"),  # with its own +code, any country's number
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("70 12 34 56", "BF", "+22670123456"),  # Ouagadougou, Burkina Faso
    ],
)
def test_a_real_number_is_kept_in_e164(phone, country, stored):
    assert international(phone, country) == stored


@pytest.mark.parametrize(
    ("phone", "country"),
    [
        ("0412 345", "AU"),  # too short
        ("0412 345 678 999", "AU"),  # too long
        ("06 12 34 56 78", "AU"),  # a French mobile dialled as if Australian
        ("+1 555 0100", "AU"),
        ("not a phone", "AU"),
    ],
)
def test_a_number_that_is_not_one_of_the_country_is_refused_naming_the_field(phone, country):
    with pytest.raises(InvalidRequest) as refused:
        international(phone, country)
    assert refused.value.code == "invalid_phone" and refused.value.status == 422
    assert refused.value.details["field"] == "customer.phone" and refused.value.details["country"] == country
    assert phone not in refused.value.message  # personal data is not echoed into error logs
