"""What a function's cold start loads (issue 19; `make bench` measures the cold starts): the Stripe
webhooks check an HMAC without the `stripe` SDK (43 % of their import) or pydantic, and the catalog
document's schema (caisse.catalog.document, 30-50 ms of pydantic models) is loaded when the seed or
the platform's configuration needs it, not by the cold start of a checkout, the public catalog, a
booking or a gallery."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def loaded_after_import(function: str) -> set[str]:
    """The modules a fresh process holds once it imported the function's handler module."""
    probe = "import importlib, sys; importlib.import_module(sys.argv[1]); print(' '.join(sorted(sys.modules)))"
    env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": "1", "AWS_DEFAULT_REGION": "us-east-1"}
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", probe, function],
        cwd=ROOT / "functions" / function,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(done.stdout.strip().splitlines()[-1].split())


@pytest.mark.parametrize("function", ["stripe_webhook", "stripe_connect_webhook"])
def test_a_stripe_webhook_function_imports_neither_the_stripe_sdk_nor_pydantic(function):
    loaded = loaded_after_import(function)
    assert "caisse.payments.stripe.signature" in loaded
    assert sorted(m for m in loaded if m.split(".")[0] in ("stripe", "pydantic")) == []


CHECKOUTS_AND_BOOKINGS = [
    "create_checkout",
    "list_catalog",
    "get_availability",
    "cancel_booking",
    "charge_balance",
    "create_gallery",
]


@pytest.mark.parametrize("function", CHECKOUTS_AND_BOOKINGS)
def test_a_checkout_or_booking_function_does_not_load_the_catalog_schema(function):
    loaded = loaded_after_import(function)
    # The platform's rules are loaded (is this merchant taking orders?), the document's schema is not.
    assert "caisse.catalog.platform" in loaded
    assert "caisse.catalog.document" not in loaded
