"""Webhook delivery worker: POSTs signed events to registered endpoints in the background, like Stripe.

It also carries the other providers' callbacks (CamPay's GET or POST callback, PayDunya's form IPN,
PayPal's signed webhooks): a ``Target`` may name its HTTP method and build its own headers, and the
event's ``body`` is then sent as is (empty for a GET, whose data is in the URL's query string).

Each endpoint gets its own lane (one thread) so a slow or failing receiver never delays another
endpoint, and events for one endpoint leave in emission order. Failed attempts are re-queued on the
same lane after a backoff instead of blocking it, so (as with Stripe) a retried event can arrive
after later ones. Test knobs (duplicates, shuffled batches, delay) reproduce the delivery quirks that
Stripe documents and that webhook handlers must survive.
"""

from __future__ import annotations

import copy
import heapq
import http.client
import itertools
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

from provider_sandbox.signing import sign

USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
CONTENT_TYPE = "application/json; charset=utf-8"


@dataclass
class DeliveryConfig:
    """Delivery behaviour, changeable at run time through ``POST /_sandbox/config``."""

    duplicates: int = 1  # deliver each event this many times, concurrently
    shuffle: bool | str = False  # True/"reverse": reverse each batch; "random": shuffle it
    delay_seconds: float = 0.0  # wait before the first attempt
    retry_backoff_seconds: list[float] = field(default_factory=lambda: [0.5, 1.0, 2.0, 4.0])
    max_attempts: int = 5
    timeout_seconds: float = 10.0
    # Record every delivery as dropped instead of sending it: the webhook is lost, as when a provider
    # never calls back (tests of reconciliation).
    drop_webhooks: bool = False

    def as_dict(self) -> dict:
        return asdict(self)

    def updated(self, changes: dict) -> DeliveryConfig:
        """Return a validated copy with ``changes`` applied (ValueError names the bad key)."""
        new = copy.deepcopy(self)
        for key, value in changes.items():
            if key == "duplicates":
                new.duplicates = _int_at_least(key, value, 1)
            elif key == "shuffle":
                if value not in (True, False, "reverse", "random"):
                    raise ValueError("shuffle must be true, false, 'reverse' or 'random'")
                new.shuffle = value
            elif key == "delay_seconds":
                new.delay_seconds = _number_at_least(key, value, 0)
            elif key == "retry_backoff_seconds":
                if not isinstance(value, list) or not value:
                    raise ValueError("retry_backoff_seconds must be a non-empty list of seconds")
                new.retry_backoff_seconds = [_number_at_least(key, v, 0) for v in value]
            elif key == "max_attempts":
                new.max_attempts = _int_at_least(key, value, 1)
            elif key == "timeout_seconds":
                new.timeout_seconds = _number_at_least(key, value, 0.01)
            elif key == "drop_webhooks":
                if not isinstance(value, bool):
                    raise ValueError("drop_webhooks must be true or false")
                new.drop_webhooks = value
            else:
                raise ValueError(f"unknown delivery setting: {key}")
        return new

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        steps = self.retry_backoff_seconds
        return steps[min(attempt - 1, len(steps) - 1)]


def _int_at_least(key: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{key} must be an integer >= {minimum}")
    return value


def _number_at_least(key: str, value: object, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise ValueError(f"{key} must be a number >= {minimum}")
    return float(value)


HeaderFactory = Callable[[bytes], dict[str, str]]


@dataclass(frozen=True)
class Target:
    """A webhook endpoint as it was when the event was emitted.

    Stripe's targets only set the first three fields. Other providers set ``method`` (a GET sends no
    body: put the data in ``url``'s query string), ``headers`` (called with the body at each attempt,
    returns every header to send, so a signature can carry the attempt's own id and time) and
    ``provider`` (shown in the deliveries log).
    """

    endpoint_id: str
    url: str
    secret: str = ""
    method: str = "POST"
    headers: HeaderFactory | None = field(default=None, compare=False)
    provider: str = "stripe"


@dataclass(frozen=True)
class OutgoingEvent:
    """One serialized event: ``body`` is sent (and signed) byte for byte."""

    event_id: str
    type: str
    body: bytes


@dataclass
class _Job:
    event: OutgoingEvent
    target: Target
    attempt: int
    copies: int
    config: DeliveryConfig


class _Lane:
    """Ordered queue of delivery jobs for one endpoint, served by one thread."""

    def __init__(self, worker: DeliveryWorker, endpoint_id: str):
        self._worker = worker
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Job]] = []
        self._seq = itertools.count()
        self.thread = threading.Thread(target=self._run, name=f"sandbox-delivery-{endpoint_id}", daemon=True)
        self.thread.start()

    def put(self, job: _Job, due: float) -> None:
        with self._cond:
            heapq.heappush(self._heap, (due, next(self._seq), job))
            self._cond.notify()

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _next_job(self) -> _Job | None:
        with self._cond:
            while not self._worker.stopped.is_set():
                now = time.monotonic()
                if self._heap and self._heap[0][0] <= now:
                    return heapq.heappop(self._heap)[2]
                timeout = self._heap[0][0] - now if self._heap else None
                self._cond.wait(timeout)
        return None

    def _run(self) -> None:
        while (job := self._next_job()) is not None:
            self._worker.run_job(job)


class DeliveryWorker:
    """Background delivery of webhook events; ``submit`` never blocks on the network."""

    def __init__(self) -> None:
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._lanes: dict[str, _Lane] = {}
        self._log: list[dict] = []
        self.config = DeliveryConfig()
        # Jobs queued and not yet attempted (retries included), so `flush` can tell when every
        # delivery emitted so far has been made, and tests need not sleep to see that nothing came.
        self._outstanding = 0
        self._settled = threading.Condition(self._lock)

    def set_config(self, config: DeliveryConfig) -> None:
        with self._lock:
            self.config = config

    def submit(self, batch: list[tuple[OutgoingEvent, list[Target]]]) -> None:
        """Queue a batch of events emitted together (e.g. by one payment)."""
        with self._lock:
            config = copy.deepcopy(self.config)
        ordered = list(batch)
        if config.shuffle == "random":
            random.shuffle(ordered)
        elif config.shuffle:
            ordered.reverse()
        due = time.monotonic() + config.delay_seconds
        for event, targets in ordered:
            for target in targets:
                job = _Job(event, target, attempt=1, copies=config.duplicates, config=config)
                self._queue(job, due)

    def flush(self, timeout: float) -> bool:
        """Wait until every delivery emitted so far has been attempted (retries included), at most
        `timeout` seconds; False if some are still waiting."""
        with self._settled:
            return self._settled.wait_for(lambda: self._outstanding == 0, timeout)

    def _queue(self, job: _Job, due: float) -> None:
        with self._lock:
            self._outstanding += 1
        self._lane(job.target.endpoint_id).put(job, due)

    def _done(self) -> None:
        with self._settled:
            self._outstanding -= 1
            self._settled.notify_all()

    def deliveries(self) -> list[dict]:
        with self._lock:
            return [dict(entry) for entry in self._log]

    def stop(self, timeout: float = 5.0) -> None:
        """Stop all lanes; an attempt in flight may still finish (bounded by its own timeout)."""
        self.stopped.set()
        with self._lock:
            lanes = list(self._lanes.values())
        for lane in lanes:
            lane.wake()
        deadline = time.monotonic() + timeout
        for lane in lanes:
            lane.thread.join(max(0.0, deadline - time.monotonic()))

    def _lane(self, endpoint_id: str) -> _Lane:
        with self._lock:
            lane = self._lanes.get(endpoint_id)
            if lane is None:
                lane = self._lanes[endpoint_id] = _Lane(self, endpoint_id)
            return lane

    def run_job(self, job: _Job) -> None:
        """Send all copies of a job (concurrently when duplicated) and re-queue the failed ones."""
        try:
            self._run_copies(job)
        finally:
            self._done()

    def _run_copies(self, job: _Job) -> None:
        if job.copies == 1:
            results = [self._attempt(job)]
        else:
            results = [False] * job.copies

            def send(index: int) -> None:
                results[index] = self._attempt(job)

            threads = [threading.Thread(target=send, args=(i,), daemon=True) for i in range(job.copies)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(job.config.timeout_seconds + 5)
        for ok in results:
            if not ok and job.attempt < job.config.max_attempts and not self.stopped.is_set():
                retry = _Job(job.event, job.target, job.attempt + 1, 1, job.config)
                self._queue(retry, time.monotonic() + job.config.backoff(job.attempt))

    def _attempt(self, job: _Job) -> bool:
        started = time.time()
        dropped = job.config.drop_webhooks
        if dropped:  # lost on the way: logged, never sent, never retried
            status, error = None, None
        else:
            status, error = post_event(job.event.body, job.target, job.config.timeout_seconds)
        with self._lock:
            self._log.append(
                {
                    "event_id": job.event.event_id,
                    "type": job.event.type,
                    "endpoint": job.target.endpoint_id,
                    "url": job.target.url,
                    "attempt": job.attempt,
                    "status_code": status,
                    "error": error,
                    "at": started,
                    "provider": job.target.provider,
                    "method": job.target.method,
                    "dropped": dropped,
                }
            )
        return dropped or (status is not None and 200 <= status < 300)


def post_event(body: bytes, target: Target, timeout: float) -> tuple[int | None, str | None]:
    """Send one event (POST by default); return (status code, None) or (None, connection error text).

    Uses http.client directly so redirects are not followed (Stripe counts them as failures)
    and no proxy settings from the environment get in the way.
    """
    parts = urlsplit(target.url)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if target.headers is not None:
        try:
            headers = target.headers(body)
        except Exception as exc:  # a sandbox bug: log it as a failed attempt rather than kill the lane
            connection.close()
            return None, f"building headers failed: {type(exc).__name__}: {exc}"
    else:
        headers = {
            "Content-Type": CONTENT_TYPE,
            "User-Agent": USER_AGENT,
            "Accept": "*/*; q=0.5, application/xml",
            "Cache-Control": "no-cache",
            "Stripe-Signature": sign(body, target.secret),
        }
    send_body = body if target.method not in ("GET", "HEAD") else None
    try:
        connection.request(target.method, path, body=send_body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, None
    except (OSError, http.client.HTTPException) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    finally:
        connection.close()
