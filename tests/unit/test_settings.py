"""A function's settings come from its environment, with one default each."""

from __future__ import annotations

import pytest

from caisse.config import settings


@pytest.fixture
def fresh_settings(monkeypatch):
    """Read the settings again for this test's environment (they are read once per cold start)."""
    settings.cache_clear()
    yield monkeypatch
    settings.cache_clear()


def test_a_deployed_functions_environment_is_what_it_reads(fresh_settings):
    fresh_settings.setenv("SHOP_URL", "https://shop.example.com/")
    fresh_settings.setenv("PUBLIC_API_URL", "https://api.shop.example.com/")
    fresh_settings.setenv("EMAIL_RETRY_BASE_SECONDS", "45")
    fresh_settings.setenv("PERSONAL_DATA_KEY_ARN", "arn:aws:kms:us-east-1:123456789012:key/fake")
    read = settings()
    assert read.shop_url == "https://shop.example.com"  # joined with paths: no double slash
    assert read.public_api_url == "https://api.shop.example.com"
    assert read.email_retry_base_seconds == 45
    assert read.personal_data_key == "arn:aws:kms:us-east-1:123456789012:key/fake"


def test_an_empty_or_missing_variable_leaves_the_default(fresh_settings):
    fresh_settings.setenv("STRIPE_API_BASE", "")  # the template's default: the real Stripe
    fresh_settings.setenv("CAMPAY_API_BASE", "")
    fresh_settings.delenv("CATALOG_CACHE_SECONDS", raising=False)
    read = settings()
    assert read.stripe_api_base is None
    assert read.campay_api_base == "https://www.campay.net"
    assert read.catalog_cache_seconds == 30


def test_a_number_that_is_not_one_stops_the_cold_start(fresh_settings):
    fresh_settings.setenv("CATALOG_CACHE_SECONDS", "thirty")
    with pytest.raises(ValueError):
        settings()
