"""A local stack in a child process (`python -m caisse_local`, what `make local` runs) on free
loopback ports, always stopped at the end: the e2e tests' stack and the fuzzing run's."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from caisse_local.server import free_port

ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "Caisse local stack ready"


@dataclass
class ChildStack:
    api: str
    aws: str
    sandbox: str
    output: list[str] = field(default_factory=list)  # the stack's own output (function logs, tracebacks)


@contextmanager
def child_stack(env: dict[str, str] | None = None, start_timeout: float = 90) -> Iterator[ChildStack]:
    """Start the stack with `env` added to this process's environment; stop it whatever happens."""
    ports = {"api": free_port(), "aws": free_port(), "sandbox": free_port()}
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    for name in ("AWS_ENDPOINT_URL", "CATALOG_TABLE", "ORDERS_TABLE", "WEBHOOK_EVENTS_TABLE", "PARAMETER_PREFIX"):
        environment.pop(name, None)  # the child's own, not a test process's
    arguments = [f"--{name}-port={port}" for name, port in ports.items()]
    process = subprocess.Popen(  # noqa: S603 - our own module
        [sys.executable, "-m", "caisse_local", *arguments],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    child = ChildStack(*(f"http://127.0.0.1:{ports[name]}" for name in ("api", "aws", "sandbox")))
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            child.output.append(line)
            if line.startswith(READY_LINE):
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + start_timeout
        while not ready.wait(0.2):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the local stack did not start:\n" + "".join(child.output[-40:]))
        yield child
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        reader.join(timeout=5)
