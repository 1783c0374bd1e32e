"""What the sandbox tests (test_sandbox_*.py) share: a fresh sandbox and a plain HTTP client as fixtures,
a receiver that catches the sandbox's webhooks on loopback, and bounded waits for what the sandbox does
in the background.

The fixtures are imported by name into each test module, ``from sandbox_support import sandbox as
sandbox``. The redundant alias tells ruff the import is meant (no F401, nor F811 on each test's
parameter), and a fixture in the module wins over conftest.py's session-wide ``sandbox``, as it
should here: each test gets a sandbox of its own."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

import httpx
import pytest

from provider_sandbox import serve_in_thread
from provider_sandbox.app import SandboxServer

WAIT = 5.0  # seconds: upper bound for any asynchronous delivery in these tests


# ---------------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """A sandbox of the test's own, on a free loopback port."""
    server = serve_in_thread(quiet=True)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """A plain HTTP client that takes no proxy from the environment."""
    with httpx.Client(trust_env=False, timeout=10) as client:
        yield client


def api_client(base_url: str, headers: dict[str, str]) -> httpx.Client:
    """A provider's API at its base URL with the auth headers our code sends, and no proxy from the
    environment; close it (``with``) when done."""
    return httpx.Client(base_url=base_url, headers=headers, trust_env=False, timeout=10)


# ---------------------------------------------------------------------------------------------------
# A webhook receiver on loopback


def lower_headers(request: BaseHTTPRequestHandler) -> dict[str, str]:
    """A request's headers with lower-case names."""
    return {name.lower(): value for name, value in request.headers.items()}


class LoopbackReceiver[R]:
    """Catches requests on loopback and keeps each as ``capture`` makes it; answers with the status codes
    queued in ``statuses`` first, then 200.

    A subclass names the ``path`` its ``url`` ends with, the HTTP ``methods`` it catches and how to
    ``capture`` a request (the handler, with the body already read)."""

    path: str
    methods: tuple[str, ...] = ("POST",)

    def __init__(self) -> None:
        self.received: list[R] = []
        self.statuses: list[int] = []
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _catch(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._cond:
                    receiver.received.append(receiver.capture(self, body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver._cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        for method in self.methods:
            setattr(Handler, f"do_{method}", Handler._catch)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}{self.path}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()

    def capture(self, request: BaseHTTPRequestHandler, body: bytes) -> R:
        raise NotImplementedError

    def wait_until(
        self,
        predicate: Callable[[list[R]], bool],
        timeout: float,
        what: str,
        got: Callable[[list[R]], object],
    ) -> list[R]:
        """Everything received, once ``predicate`` holds for it; after ``timeout`` seconds, fails with
        "``what`` not received", and ``got`` of what did come."""
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self.received), timeout):
                raise AssertionError(f"{what} not received in {timeout}s; got {got(self.received)}")
            return list(self.received)

    def snapshot(self) -> list[R]:
        """Everything received so far."""
        with self._cond:
            return list(self.received)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass
class Received:
    """A Stripe webhook as it arrived: the raw body (what the signature covers) and the headers."""

    body: bytes
    headers: dict[str, str]

    @property
    def type(self) -> str:
        return json.loads(self.body)["type"]


class StripeReceiver(LoopbackReceiver[Received]):
    """Catches Stripe's webhook POSTs and answers 200."""

    path = "/webhooks/stripe"

    def capture(self, request: BaseHTTPRequestHandler, body: bytes) -> Received:
        return Received(body, dict(request.headers.items()))

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float = WAIT) -> list[Received]:
        return self.wait_until(predicate, timeout, "webhooks", lambda received: [r.type for r in received])

    def wait_for_types(self, *types: str) -> list[Received]:
        return self.wait_for(lambda received: all(any(r.type == t for r in received) for t in types))

    def types(self) -> list[str]:
        return [r.type for r in self.snapshot()]


# ---------------------------------------------------------------------------------------------------
# Bounded waits


def poll[T](fetch: Callable[[], T], done: Callable[[T], bool], timeout: float = WAIT) -> T:
    """``fetch()`` every 20 ms until ``done`` holds for what it gives or ``timeout`` seconds have passed;
    the last value either way (the caller's assertions say what was expected)."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


def deliveries(http: httpx.Client, sandbox: SandboxServer, count: int, **params: str) -> list[dict]:
    """The sandbox's delivery log, filtered by ``params``, once it holds ``count`` attempts (or as it is
    after WAIT). The sandbox logs an attempt once the receiver has answered, a moment after the
    receiver saw it."""
    return poll(
        lambda: http.get(f"{sandbox.url}/_sandbox/deliveries", params=params).json(), lambda log: len(log) >= count
    )


def flush(http: httpx.Client, sandbox: SandboxServer) -> None:
    """Wait until every delivery the sandbox emitted so far has been attempted: after this, what a
    receiver has not received is not coming."""
    http.post(f"{sandbox.url}/_sandbox/deliveries/flush", params={"timeout": WAIT}).raise_for_status()
