"""In-process Lambda: run a function's handler the way Lambda's execution environments do.

Lambda gives each execution environment one event at a time and scales out by adding
environments. Module-level state (the handler's resolver, its clients and caches) is per
environment, so each "container" here imports the handler module afresh under its own name and
runs on its own thread; containers are created on demand up to `max_concurrency`. The one piece of
library state that is per process in Lambda but would be shared here, Powertools' request being
resolved (kept on its BaseRouter class), is made per thread (`_one_request_per_container`), and
the process's one stdout, which Lambda gives each environment as its own log stream, takes whole
lines from each container (`_whole_lines_per_container`). Events
and results go through JSON, as they do in Lambda, so a handler that returns something Lambda could
not serialise fails here too.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import queue
import sys
import threading
import time
import traceback
import types
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .template import FunctionSpec

__all__ = [
    "EnvironmentConflict",
    "FunctionError",
    "FunctionPool",
    "FunctionTimeout",
    "LambdaContext",
    "TooManyRequests",
    "apply_environment",
]


class FunctionError(Exception):
    """The function failed: handler exception, import error, timeout or unserialisable result.

    Carries what Lambda reports (`error_type`, `error_message`) and the traceback text.
    """

    def __init__(self, function_name: str, error_type: str, error_message: str, traceback_text: str = ""):
        super().__init__(f"{function_name}: {error_type}: {error_message}")
        self.function_name = function_name
        self.error_type = error_type
        self.error_message = error_message
        self.traceback = traceback_text

    def payload(self) -> dict[str, Any]:
        """The error document Lambda returns to a synchronous caller."""
        return {
            "errorMessage": self.error_message,
            "errorType": self.error_type,
            "stackTrace": self.traceback.splitlines(),
        }


class FunctionTimeout(FunctionError):
    """The handler ran past the function's Timeout (it keeps running; its container is retired)."""


class TooManyRequests(Exception):
    """No container became free in time (Lambda would throttle)."""


class EnvironmentConflict(ValueError):
    """Two functions need different values for one environment variable in this single process."""


# --------------------------------------------------------------------------- the context


@dataclass
class LambdaContext:
    """The `context` argument, with the attributes the Python runtime provides.

    `memory_limit_in_mb` is a string, as in the real runtime (it comes from an environment variable).
    """

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: str
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline: float
    identity: Any = None
    client_context: Any = None
    tenant_id: str | None = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


# --------------------------------------------------------------------------- containers

_POWERTOOLS_ROUTER = "aws_lambda_powertools.event_handler.api_gateway"
_router_patched = False
_router_lock = threading.Lock()


class _PerThread:
    """A BaseRouter attribute that holds one value per thread: read on a resolver (`app.current_event`),
    set on the class (`BaseRouter.current_event = ...`, through the metaclass below)."""

    values = threading.local()

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        try:
            return getattr(self.values, self.name)
        except AttributeError:
            raise AttributeError(self.name) from None

    def __set__(self, instance: Any, value: Any) -> None:
        setattr(self.values, self.name, value)


def _one_request_per_container() -> None:
    """Powertools' resolve() stores the request and context on the BaseRouter class
    (`BaseRouter.current_event = ...` in ApiGatewayResolver.resolve, aws_lambda_powertools/
    event_handler/api_gateway.py): one per process, which Lambda gives one event at a time. Every
    container here shares the process, so two API requests at once read each other's query string,
    body and caller (validated and answered with the other's). Made per thread, as Lambda has it
    per environment; done once, after the first handler module imported Powertools."""
    global _router_patched
    with _router_lock:
        module = sys.modules.get(_POWERTOOLS_ROUTER)
        if _router_patched or module is None:
            return
        router = module.BaseRouter
        names = ("current_event", "lambda_context")
        # Data descriptors on the metaclass take class-level sets; the ones in the class take reads
        # and sets on a resolver.
        per_thread_meta = type(f"PerThread{type(router).__name__}", (type(router),), {n: _PerThread(n) for n in names})
        for name in names:
            type.__setattr__(router, name, _PerThread(name))
        router.__class__ = per_thread_meta
        _router_patched = True


class _WholeLines:
    """A stream that passes on each thread's writes as whole lines, one line at a time.

    print() writes its text and its newline in two writes, and Powertools Metrics prints its EMF
    document that way, outside the logging lock; with every container writing to one stream, a
    metric and another container's log line could share a line, which a line-by-line JSON reader
    then loses. Text waits per thread for its newline (or an explicit flush)."""

    _lock = threading.Lock()  # one for stdout and stderr: the stack's reader merges them

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self._pending = threading.local()

    def write(self, text: str) -> int:
        pending = getattr(self._pending, "text", "") + text
        lines, newline, rest = pending.rpartition("\n")
        self._pending.text = rest
        if newline:
            self._pass_on(lines + newline)
        return len(text)

    def flush(self) -> None:
        pending, self._pending.text = getattr(self._pending, "text", ""), ""
        self._pass_on(pending)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def _pass_on(self, text: str) -> None:
        with self._lock:
            if text:
                self.stream.write(text)
            self.stream.flush()

    def __getattr__(self, name: str) -> Any:  # encoding, isatty, fileno ... of the stream itself
        return getattr(self.stream, name)


def _whole_lines_per_container() -> None:
    """Wrap stdout and stderr once, before a handler module is imported (its Powertools Logger keeps
    the stream it found then). Checked at every load, as a test harness may swap the streams."""
    with _router_lock:
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if stream is not None and not isinstance(stream, _WholeLines):
                setattr(sys, name, _WholeLines(stream))


_instance_numbers: dict[str, itertools.count[int]] = {}
_instance_numbers_lock = threading.Lock()


def _next_instance(module: str) -> int:
    """Numbers module instances per module name across pools, so sys.modules names never clash."""
    with _instance_numbers_lock:
        return next(_instance_numbers.setdefault(module, itertools.count(1)))


class _Container:
    """One execution environment: its own module instance and its own thread."""

    def __init__(self, pool: FunctionPool):
        self.pool = pool
        self.number = _next_instance(pool.spec.module)
        self.module_name = f"{pool.spec.module}__c{self.number}"
        self.module: types.ModuleType | None = None
        self.handler: Callable[[Any, Any], Any] | None = None
        self.retired = False
        self.log_stream = f"{datetime.now(UTC):%Y/%m/%d}/[{pool.spec_version}]{uuid.uuid4().hex}"
        self._inbox: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=f"{pool.spec.name}#{self.number}", daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        self._inbox.put((job, future))
        return future

    def stop(self) -> None:
        self._inbox.put(None)

    def _run(self) -> None:
        while True:
            item = self._inbox.get()
            if item is None:
                break
            job, future = item
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(job())
                except BaseException as exc:  # noqa: BLE001 - the caller gets it
                    future.set_exception(exc)
            self.pool._release(self)
        self._unload()

    def load(self) -> Callable[[Any, Any], Any]:
        """Cold start: import the handler module as a fresh instance (like /var/task/<module>.py)."""
        if self.handler is not None:
            return self.handler
        spec = self.pool.spec
        path = Path(spec.code_uri) / (spec.module.replace(".", "/") + ".py")
        name = spec.name
        if not path.is_file():
            raise FunctionError(name, "Runtime.ImportModuleError", f"No module named '{spec.module}' ({path})")
        module_spec = importlib.util.spec_from_file_location(self.module_name, path)
        assert module_spec is not None and module_spec.loader is not None
        module = importlib.util.module_from_spec(module_spec)
        _whole_lines_per_container()
        sys.modules[self.module_name] = module  # dataclasses, pickle and typing look modules up here
        try:
            module_spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(self.module_name, None)
            raise FunctionError(
                name,
                "Runtime.ImportModuleError",
                f"Unable to import module '{spec.module}': {exc}",
                traceback.format_exc(),
            ) from exc
        handler = getattr(module, spec.attribute, None)
        if not callable(handler):
            sys.modules.pop(self.module_name, None)
            raise FunctionError(
                name, "Runtime.HandlerNotFound", f"Handler '{spec.attribute}' missing on module '{spec.module}'"
            )
        _one_request_per_container()
        self.module, self.handler = module, handler
        return handler

    def _unload(self) -> None:
        if self.module is not None and sys.modules.get(self.module_name) is self.module:
            del sys.modules[self.module_name]
        self.module = self.handler = None


# --------------------------------------------------------------------------- the pool


@dataclass(frozen=True)
class Invocation:
    """One finished invocation, as Lambda's REPORT line tells it: its duration (wall time of the
    handler, what Lambda bills), the CPU time its thread used (the figure to trust on a loaded
    machine), and whether it paid a cold start (the import, timed apart as Lambda's Init Duration)."""

    duration_ms: float
    cpu_ms: float
    init_ms: float | None


class FunctionPool:
    """Execution environments for one function; `invoke()` is a synchronous Lambda invoke.

    Containers are created lazily up to `max_concurrency`; each runs one invocation at a time. A
    caller waits at most `queue_timeout` seconds for a free container, then gets `TooManyRequests`.
    """

    spec_version = "$LATEST"

    def __init__(self, spec: FunctionSpec, max_concurrency: int = 4, *, queue_timeout: float = 30.0):
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.spec = spec
        self.max_concurrency = max_concurrency
        self.queue_timeout = queue_timeout
        self._cond = threading.Condition()
        self._idle: list[_Container] = []
        self._containers: list[_Container] = []
        self._busy = 0
        self._peak = 0
        self._closed = False
        self.invocations: list[Invocation] = []  # appended in order of finishing (for benchmarks)

    # ---- bookkeeping
    @property
    def peak_concurrency(self) -> int:
        """The most invocations that ever ran at once (for tests and benchmarks)."""
        return self._peak

    @property
    def containers(self) -> int:
        return len(self._containers)

    def _acquire(self, wait: float) -> _Container:
        deadline = time.monotonic() + wait
        with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError(f"{self.spec.name}: pool is closed")
                if self._idle:
                    container = self._idle.pop()
                    if container.retired:  # timed out just as it finished
                        self._containers.remove(container)
                        container.stop()
                        continue
                    break
                if len(self._containers) < self.max_concurrency:
                    container = _Container(self)
                    self._containers.append(container)
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TooManyRequests(
                        f"{self.spec.name}: all {self.max_concurrency} containers stayed busy for {wait:g}s"
                    )
                self._cond.wait(remaining)
            self._busy += 1
            self._peak = max(self._peak, self._busy)
            return container

    def _release(self, container: _Container) -> None:
        """Called on the container's thread once an invocation has really finished."""
        with self._cond:
            self._busy -= 1
            if container.retired or self._closed:
                if container in self._containers:
                    self._containers.remove(container)
                container.stop()
            else:
                self._idle.append(container)
            self._cond.notify()

    # ---- invoking
    def invoke(self, event: Any, *, timeout: float | None = None) -> Any:
        """Run the handler on `event`; return its result or raise `FunctionError`.

        `timeout` defaults to the function's Timeout. On timeout the handler cannot be stopped (it is
        a thread), so its container is retired once it returns and a fresh one serves later calls.
        """
        limit = self.spec.timeout if timeout is None else timeout
        payload = self._marshal(event, "Runtime.InvalidPayload")
        container = self._acquire(self.queue_timeout)
        request_id = str(uuid.uuid4())
        deadline = time.monotonic() + limit

        def job() -> Any:
            cold = container.handler is None
            started = time.perf_counter()
            try:
                handler = container.load()
            except FunctionError:
                container.retired = True  # Lambda discards an environment whose init failed
                raise
            init_ms = (time.perf_counter() - started) * 1000 if cold else None
            context = LambdaContext(
                function_name=self.spec.name,
                function_version=self.spec_version,
                invoked_function_arn=self.spec.arn,
                memory_limit_in_mb=str(self.spec.memory_size),
                aws_request_id=request_id,
                log_group_name=f"/aws/lambda/{self.spec.name}",
                log_stream_name=container.log_stream,
                deadline=deadline,
            )
            started, cpu = time.perf_counter(), time.thread_time()
            try:
                result = handler(json.loads(payload), context)
            except BaseException as exc:
                if not isinstance(exc, Exception):
                    container.retired = True  # SystemExit & co. end the runtime process in Lambda
                raise FunctionError(self.spec.name, type(exc).__name__, str(exc), traceback.format_exc()) from exc
            finally:
                self.invocations.append(
                    Invocation((time.perf_counter() - started) * 1000, (time.thread_time() - cpu) * 1000, init_ms)
                )
            return json.loads(self._marshal(result, "Runtime.MarshalError"))

        future = container.submit(job)
        try:
            return future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            container.retired = True
            raise FunctionTimeout(
                self.spec.name, "Sandbox.Timedout", f"Task timed out after {limit:.2f} seconds"
            ) from None

    def _marshal(self, value: Any, error_type: str) -> str:
        try:
            return json.dumps(value)
        except (TypeError, ValueError) as exc:
            raise FunctionError(self.spec.name, error_type, f"Unable to marshal: {exc}") from exc

    def close(self) -> None:
        """Stop idle containers now and busy ones when they finish."""
        with self._cond:
            self._closed = True
            for container in self._idle:
                container.stop()
                self._containers.remove(container)
            self._idle.clear()
            self._cond.notify_all()

    def __enter__(self) -> FunctionPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def apply_environment(specs: Iterable[FunctionSpec]) -> dict[str, str]:
    """Set every function's environment variables in os.environ (all functions share one process).

    Raises `EnvironmentConflict` when two functions want different values for the same variable,
    since one of them would silently run with the wrong configuration.
    """
    merged: dict[str, str] = {}
    owner: dict[str, str] = {}
    for spec in specs:
        for key, value in spec.environment.items():
            if key in merged and merged[key] != value:
                raise EnvironmentConflict(
                    f"environment variable {key} is {merged[key]!r} for {owner[key]} but {value!r} for "
                    f"{spec.logical_id}; functions run in one process locally, so they must agree"
                )
            merged[key] = value
            owner.setdefault(key, spec.logical_id)
    os.environ.update(merged)
    return merged
