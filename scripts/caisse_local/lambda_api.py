"""Lambda's Invoke API on the local API's port, as `sam local start-lambda` offers it.

`POST /2015-03-31/functions/<name>/invocations` runs one function of template.yaml on the event in
the request body, in the same in-process runtime the API, queues and streams use, and answers what
Lambda answers a synchronous caller: the function's result, or its error document with
`X-Amz-Function-Error: Unhandled`. So any Lambda client works against the local stack:

    aws lambda invoke --endpoint-url http://127.0.0.1:3000 --function-name HealthFunction \
        --cli-binary-format raw-in-base64-out --payload file://events/health.json out.json

`<name>` is the function's logical id in template.yaml, its physical name or its ARN. Every other
request goes on to the API gateway.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from .runtime import FunctionError, FunctionPool, TooManyRequests
from .template import Template

ROOT = Path(__file__).resolve().parents[2]
INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")


class LambdaInvokeApi:
    """WSGI middleware: Lambda invocations here, everything else to `app`."""

    def __init__(self, pools: Mapping[str, FunctionPool], app: Callable[..., Iterable[bytes]]):
        self.pools = pools
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        found = INVOKE_PATH.match(environ.get("PATH_INFO", ""))
        if found is None or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        pool = self._pool(found["name"])
        if pool is None:
            return _answer(
                start_response,
                404,
                {"Type": "User", "message": f"Function not found: {found['name']}"},
                error="ResourceNotFoundException",
            )
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        try:
            event = json.loads(raw or b"{}")
        except ValueError:
            return _answer(
                start_response,
                400,
                {"Type": "User", "message": "Could not parse request body into json"},
                error="InvalidRequestContentException",
            )
        try:
            result = pool.invoke(event)
        except FunctionError as error:
            return _answer(start_response, 200, error.payload(), function_error="Unhandled")
        except TooManyRequests as error:
            return _answer(
                start_response, 429, {"Type": "User", "message": str(error)}, error="TooManyRequestsException"
            )
        return _answer(start_response, 200, result)

    def _pool(self, name: str) -> FunctionPool | None:
        wanted = name.rsplit(":function:", 1)[-1].split(":")[0]  # an ARN names the function after ":function:"
        for logical_id, pool in self.pools.items():
            if wanted in (logical_id, pool.spec.name):
                return pool
        return None


def _answer(
    start_response: Callable[..., Any],
    status: int,
    body: Any,
    *,
    error: str | None = None,
    function_error: str | None = None,
) -> list[bytes]:
    payload = json.dumps(body).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    if error:
        headers.append(("x-amzn-ErrorType", error))
    if function_error:
        headers.append(("X-Amz-Function-Error", function_error))
    reasons = {200: "OK", 400: "Bad Request", 404: "Not Found", 429: "Too Many Requests"}
    start_response(f"{status} {reasons[status]}", headers)
    return [payload]


def sample_events(template: Template, events_dir: Path = ROOT / "events") -> dict[str, Path]:
    """Each function's sample event, `events/<handler module>.json` (what `sam local invoke -e`
    takes), by logical id; the file may be missing (a test checks that none is)."""
    return {
        logical_id: events_dir / f"{resource['Properties']['Handler'].rpartition('.')[0]}.json"
        for logical_id, resource in template.resources_of_type("AWS::Serverless::Function").items()
    }
