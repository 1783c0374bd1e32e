"""Logger, Metrics and Tracer for one function, configured the same way everywhere.

Lambda's active tracing (template: Tracing: Active) traces every invocation without any SDK. The
Powertools Tracer loads the X-Ray SDK even when disabled (about 170 ms of cold start measured by
scripts/bench_cold_start.py), so it is only created when CAISSE_XRAY_SDK is true (template
parameter XRaySdk); otherwise handlers get a stand-in with the same decorators that does nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics


class _NoTracer:
    """The part of Powertools' Tracer our handlers use, doing nothing."""

    def capture_lambda_handler(self, handler: Callable[..., Any] | None = None, **_: Any) -> Any:
        return handler if handler is not None else (lambda fn: fn)

    def capture_method(self, method: Callable[..., Any] | None = None, **_: Any) -> Any:
        return method if method is not None else (lambda fn: fn)

    def put_annotation(self, key: str, value: Any) -> None:
        return None


def observability(service: str) -> tuple[Logger, Metrics, Any]:
    if os.environ.get("CAISSE_XRAY_SDK", "false").lower() == "true":
        from aws_lambda_powertools import Tracer

        tracer: Any = Tracer(service=service)
    else:
        tracer = _NoTracer()
    return Logger(service=service), Metrics(service=service), tracer
