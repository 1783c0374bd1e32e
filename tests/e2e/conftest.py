"""One local stack (`python -m caisse_local`, what `make local` runs) for the e2e tests, on free
loopback ports, always stopped at the end. The tests talk to it over HTTP like a browser, a
provider or a member of staff would, and look into the emulated AWS only to check what was written."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from browser_support import browser as browser  # noqa: F401 - a fixture for the browser tests
from e2e_support import Stack

from caisse_local.server import free_port

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    ports = {"api": free_port(), "aws": free_port(), "sandbox": free_port()}
    # Email retries without waiting between deliveries, so the DLQ path takes seconds, not minutes.
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "CAISSE_EMAIL_RETRY_BASE_SECONDS": "0"}
    for name in ("AWS_ENDPOINT_URL", "CATALOG_TABLE", "ORDERS_TABLE", "WEBHOOK_EVENTS_TABLE", "PARAMETER_PREFIX"):
        env.pop(name, None)
    process = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "caisse_local",
            "--api-port",
            str(ports["api"]),
            "--aws-port",
            str(ports["aws"]),
            "--sandbox-port",
            str(ports["sandbox"]),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if line.startswith("Caisse local stack ready"):
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not ready.wait(0.2):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the local stack did not start:\n" + "".join(output[-40:]))
        yield Stack(
            api=f"http://127.0.0.1:{ports['api']}",
            aws=f"http://127.0.0.1:{ports['aws']}",
            sandbox=f"http://127.0.0.1:{ports['sandbox']}",
            output=output,
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        reader.join(timeout=5)
        # The stack's own output (function logs, tracebacks), for whoever reads a failure.
        (ROOT / ".e2e-stack.log").write_text("".join(output))


@pytest.fixture
def api(stack: Stack) -> Iterator[httpx.Client]:
    with stack.client() as client:
        yield client


@pytest.fixture(autouse=True)
def _sandbox_defaults(stack: Stack) -> Iterator[None]:
    stack.sandbox_config()
    yield
    stack.sandbox_config()


def pytest_collection_modifyitems(items):
    """The e2e tests share one local stack, so they run as a pytest run of their own, without
    xdist (`make test` runs them after the unit and functional tiers); under xdist each worker
    would start a stack of its own."""
    for item in items:
        if Path(__file__).parent in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)
