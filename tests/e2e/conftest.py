"""One local stack (`python -m caisse_local`, what `make local` runs) per pytest process for the e2e
tests, on free loopback ports, always stopped at the end: `make test` runs them on three xdist
workers, each with its stack, so a test still has a stack to itself. The tests talk to it over HTTP like a browser, a
provider or a member of staff would, and look into the emulated AWS only to check what was written."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from browser_support import browser as browser  # noqa: F401 - a fixture for the browser tests
from e2e_support import Stack

from caisse_local.child import child_stack

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    # Email retries without waiting between deliveries, so the DLQ path takes seconds, not minutes.
    child = None
    try:
        # The catalog kept by a warm function for no time: tests read the stock left right after
        # they change it (the 30 s of template.yaml are checked by tests/functional).
        # The streams' 1 s batching windows capped at 0.1 s: Lambda may invoke sooner anyway, and a
        # test waiting on an email would otherwise wait a second per stream hop.
        environment = {
            "CAISSE_EMAIL_RETRY_BASE_SECONDS": "0",
            "CAISSE_CATALOG_CACHE_SECONDS": "0",
            "CAISSE_MAX_BATCHING_WINDOW_SECONDS": "0.1",
        }
        with child_stack(environment, START_TIMEOUT) as child:
            yield Stack(api=child.api, aws=child.aws, sandbox=child.sandbox, output=child.output)
    finally:
        if child is not None:  # the stack's own output (function logs, tracebacks), for whoever reads a failure
            (ROOT / stack_log()).write_text("".join(child.output))


def stack_log() -> str:
    """.e2e-stack.log, or .e2e-stack-gw0.log etc. for each xdist worker's stack."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return f".e2e-stack-{worker}.log" if worker else ".e2e-stack.log"


@pytest.fixture
def api(stack: Stack) -> Iterator[httpx.Client]:
    with stack.client() as client:
        yield client


@pytest.fixture(autouse=True)
def _sandbox_defaults(stack: Stack) -> Iterator[None]:
    stack.sandbox_config()
    yield
    stack.sandbox_config()


# The files that take longest (measured with --durations), started first so that neither worker is
# left with one of them at the end while the other idles: an SQS outage of 60 s and its recovery,
# 150 orders reconciled on a stack of their own, refunds and disputes, the console in a browser.
LONGEST_FIRST = (
    "test_nothing_lost.py",
    "test_reconciliation_at_volume.py",
    "test_money_moves.py",
    "test_console.py",
    "test_staff_orders.py",
)


def pytest_collection_modifyitems(items):
    """The e2e tests run as a pytest run of their own (`make test` runs them after the unit and
    functional tiers), `--dist loadfile --no-loadscope-reorder`: a file's tests run in order on one
    worker and its stack, the files in this order (LONGEST_FIRST, then by name)."""
    first = {name: rank for rank, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: first.get(Path(item.fspath).name, len(first)))
    for item in items:
        if Path(__file__).parent in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)
