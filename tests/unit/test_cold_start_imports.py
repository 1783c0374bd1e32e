"""What a function's cold start loads: the catalog document's schema (caisse.catalog.document, 30-50
ms of pydantic models) is loaded when the seed or the platform's configuration needs it, not by
the cold start of a checkout, the public catalog, a booking or a gallery (issue 19: `make bench`
measures the cold starts)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


FUNCTIONS = [
    "create_checkout",
    "list_catalog",
    "get_availability",
    "cancel_booking",
    "charge_balance",
    "create_gallery",
]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_checkout_or_booking_function_does_not_load_the_catalog_schema(function):
    probe = (
        "import importlib, sys; importlib.import_module(sys.argv[1]); "
        "print('caisse.catalog.document' in sys.modules, 'caisse.catalog.platform' in sys.modules)"
    )
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
    # The platform's rules are loaded (is this merchant taking orders?), the document's schema is not.
    assert done.stdout.strip().splitlines()[-1] == "False True"
