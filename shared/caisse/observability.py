"""Logger, Metrics and Tracer for one function, configured the same way everywhere.

Lambda's active tracing (template: Tracing: Active) traces every invocation without any SDK. The
Powertools Tracer loads the X-Ray SDK even when disabled (about 170 ms of cold start measured by
scripts/bench_cold_start.py), so it is only created when CAISSE_XRAY_SDK is true (template
parameter XRaySdk); otherwise handlers get a stand-in with the same decorators that does nothing.

Correlation ids: every log line carries `correlation_id`, so one Logs Insights query follows an
order from its checkout to its last email. The id is set here for every kind of function from the
event (API Gateway's request id, EventBridge's event id, a lone SNS or S3 record's id), and per
record by the batch functions (`correlate(correlation_of(record))`): an order's stream image and a
notification message carry the id of the request that created the order (`cid` on the order item,
the `correlation_id` message attribute). A webhook logs under the provider's event id until it has
found the order, then under the order's. The id lives in Powertools' thread-safe keys (a
ContextVar), so concurrent invocations never log each other's ids (the local stack runs functions
on threads of one process).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import set_context_keys

# The order item's attribute holding its correlation id (short: the item must stay small).
ORDER_ATTRIBUTE = "cid"
# The notification message attribute carrying it to the email function.
MESSAGE_ATTRIBUTE = "correlation_id"
_CORRELATION: ContextVar[str | None] = ContextVar("caisse_correlation_id", default=None)


class _NoTracer:
    """The part of Powertools' Tracer our handlers use, doing nothing."""

    def capture_lambda_handler(self, handler: Callable[..., Any] | None = None, **_: Any) -> Any:
        return handler if handler is not None else (lambda fn: fn)

    def capture_method(self, method: Callable[..., Any] | None = None, **_: Any) -> Any:
        return method if method is not None else (lambda fn: fn)

    def put_annotation(self, key: str, value: Any) -> None:
        return None


def correlate(correlation_id: str | None) -> None:
    """From here on (in this invocation, on this thread), log lines carry this correlation id."""
    _CORRELATION.set(correlation_id)
    set_context_keys(correlation_id=correlation_id)  # type: ignore[arg-type]  # powertools types each value as a dict


def correlation_id() -> str | None:
    """The correlation id log lines carry now (what a new order and a queued message keep)."""
    return _CORRELATION.get()


def correlation_of(event: Any) -> str | None:
    """The id tying an event, or one record of a batch, to what caused it."""
    if not isinstance(event, dict):
        return None
    request = event.get("requestContext")
    if isinstance(request, dict) and request.get("requestId"):
        return str(request["requestId"])  # API Gateway (REST or HTTP API)
    if "detail-type" in event:
        return event.get("id")  # EventBridge, schedules included
    if isinstance(event.get("dynamodb"), dict):  # a stream record: the order's own id
        image = event["dynamodb"].get("NewImage") or event["dynamodb"].get("OldImage") or {}
        return (image.get(ORDER_ATTRIBUTE) or {}).get("S")
    if event.get("eventSource") == "aws:sqs":
        attribute = (event.get("messageAttributes") or {}).get(MESSAGE_ATTRIBUTE) or {}
        return attribute.get("stringValue") or event.get("messageId")
    if isinstance(event.get("Sns"), dict):
        return event["Sns"].get("MessageId")
    if isinstance(event.get("s3"), dict):
        return (event.get("responseElements") or {}).get("x-amz-request-id")
    records = event.get("Records")
    if isinstance(records, list) and len(records) == 1:
        return correlation_of(records[0])
    return None


class _Logger(Logger):
    """Powertools' Logger whose `inject_lambda_context` also sets the correlation id from the event,
    whatever kind of event it is (a `correlation_id_path` is not needed, and is ignored)."""

    def inject_lambda_context(self, lambda_handler: Any = None, **options: Any) -> Any:  # type: ignore[override]
        if lambda_handler is None:
            return functools.partial(self.inject_lambda_context, **options)
        options.pop("correlation_id_path", None)
        injected = super().inject_lambda_context(lambda_handler, **options)

        @functools.wraps(lambda_handler)
        def handler(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
            correlate(correlation_of(event))
            return injected(event, context, *args, **kwargs)

        return handler


def observability(service: str) -> tuple[Logger, Metrics, Any]:
    if os.environ.get("CAISSE_XRAY_SDK", "false").lower() == "true":
        from aws_lambda_powertools import Tracer

        tracer: Any = Tracer(service=service)
    else:
        tracer = _NoTracer()
    return _Logger(service=service), Metrics(service=service), tracer
