"""The emulated AWS endpoint (moto in server mode) and the provisioning of template resources.

moto's WSGI app is wrapped so that:
- DynamoDB and DynamoDB Streams requests run one at a time: moto loses concurrent conditional
  updates (measured: 1000 conditional decrements from 8 threads gave 1003-1025 successes), and
  every concurrency test would lie without this;
- requests are counted per service and operation (`GET /_caisse/requests`, cleared by
  `DELETE /_caisse/requests`), so tests can assert how many calls a handler made;
- faults can be injected (`POST /_caisse/faults`, listed by GET, cleared by DELETE): the next N
  matching requests (or every one for some seconds) fail with the given error in the service's own
  wire protocol, so botocore raises the `ClientError` real AWS would cause and retry paths can be
  tested offline; or, with `"drop_response": true`, the request is carried out and its answer lost
  (the connection closes), as when a network drops a response after AWS committed;
- TransactWriteItems honours `ClientRequestToken` as DynamoDB does (moto ignores it): a request
  repeated with the same token within 10 minutes of its success is answered as a success without
  being applied again, and the same token with other parameters is an IdempotentParameterMismatch;
- sent email is listed, parsed and filtered, at `GET /_caisse/emails` (see `mailbox`);
- moto itself is patched (the `_fix_moto_*` functions) so its memory stays flat and its time per
  request does not grow with the data: weak instance lists, transactions that copy only what
  they touch, streams and shard iterators that expire, queries that read one partition
  (make bench-scale measures it).

`provision()` creates the template's resources in the emulated AWS, idempotently, through boto3.
Resource types are handled by `RESOURCE_PROVISIONERS`, so later work adds types.
"""

from __future__ import annotations

import argparse
import base64
import copy
import functools
import io
import json
import logging
import math
import os
import re
import signal
import socket
import sys
import threading
import time
import uuid
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import boto3
import botocore.session
from botocore.config import Config

from . import cognito, mailbox
from .server import BackgroundServer
from .template import Context, Template, iter_references

__all__ = [
    "DYNAMODB_LOCK",
    "FAULTS_PATH",
    "LOCAL_CREDENTIALS",
    "RESOURCE_PROVISIONERS",
    "S3_NOTIFICATION_HOOKS",
    "AwsEndpoint",
    "Stack",
    "client",
    "main",
    "make_app",
    "provision",
    "serve",
]

log = logging.getLogger("caisse_local.aws")

DYNAMODB_LOCK = threading.Lock()
"""One lock for every DynamoDB/Streams request in this process (moto's backends are process-wide)."""

LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}  # noqa: S105
"""Fake credentials: moto accepts anything, boto3 only needs something to sign with."""

REQUESTS_PATH = "/_caisse/requests"
FAULTS_PATH = "/_caisse/faults"
EMAILS_PATH = "/_caisse/emails"


# --------------------------------------------------------------------------- the endpoint


class AwsEndpoint:
    """WSGI middleware around moto: serialises DynamoDB, counts requests, injects faults."""

    def __init__(self, app: Any):
        self.app = app
        self._counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._counts_lock = threading.Lock()
        self._units: dict[str, float] = defaultdict(float)  # DynamoDB request units (capacity_units)
        self.faults = Faults()
        self.tokens = TransactionTokens()
        self.user_pool = cognito.LocalUserPool(cognito.send_through_moto)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == REQUESTS_PATH:
            return self._requests_endpoint(environ, start_response)
        if path == FAULTS_PATH:
            return self.faults.endpoint(environ, start_response)
        if path == EMAILS_PATH:
            query = {key: values[-1] for key, values in parse_qs(environ.get("QUERY_STRING", "")).items()}
            return _json_response(start_response, "200 OK", mailbox.emails(query))
        if environ.get("REQUEST_METHOD") == "OPTIONS" and cognito.is_preflight(environ):
            start_response("204 No Content", cognito.CORS_HEADERS)
            return []
        service, operation = classify(environ)
        fault = None
        if service is not None:
            with self._counts_lock:
                self._counts[service][operation] += 1
            fault = self.faults.take(service, operation)
            if fault is not None and not fault.drop_response:
                return fault.respond(environ, service, start_response)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith(cognito.TARGET_PREFIX):
            request = _read_body(environ)
            environ["wsgi.input"] = io.BytesIO(request)
            asked = json.loads(request or b"{}")
            if self.user_pool.handles(asked):
                status, value = cognito.respond(self.user_pool, operation, asked)
                body = json.dumps(value).encode()
                start_response(
                    status,
                    [
                        ("Content-Type", "application/x-amz-json-1.1"),
                        ("Content-Length", str(len(body))),
                        *cognito.CORS_HEADERS,
                    ],
                )
                return [body]
        if target.startswith(("DynamoDB_", "DynamoDBStreams_")):
            request = _read_body(environ)
            environ["wsgi.input"] = io.BytesIO(request)
            with DYNAMODB_LOCK:
                if operation == "TransactWriteItems":
                    answer = self.tokens.call(self.app, environ, start_response)
                else:
                    answer = _drain(self.app(environ, start_response))
            if target.startswith("DynamoDB_"):
                units = capacity_units(operation, request, b"".join(answer))
                with self._counts_lock:
                    for kind, value in units.items():
                        self._units[kind] += value
        else:
            answer = self.app(environ, start_response)
        if fault is not None:  # drop_response: done, and the answer never reaches the client
            _drain(answer)
            return _drop_connection(environ)
        return answer

    def counts(self) -> dict[str, dict[str, int]]:
        with self._counts_lock:
            return {service: dict(ops) for service, ops in self._counts.items()}

    def units(self) -> dict[str, float]:
        with self._counts_lock:
            return dict(self._units)

    def clear(self) -> None:
        with self._counts_lock:
            self._counts.clear()
            self._units.clear()

    def _requests_endpoint(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        method = environ.get("REQUEST_METHOD")
        if method == "DELETE":
            self.clear()
            start_response("204 No Content", [])
            return []
        if method != "GET":
            start_response("405 Method Not Allowed", [("Allow", "GET, DELETE")])
            return []
        report = self.units() if "units" in environ.get("QUERY_STRING", "") else self.counts()
        body = json.dumps(report, sort_keys=True).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


# --------------------------------------------------------------------------- DynamoDB request units


def _value_size(value: dict[str, Any]) -> int:
    """Bytes of one attribute value, as DynamoDB sizes items (developer guide, "Item sizes")."""
    (kind, inner), *_ = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":  # one byte per two significant digits (leading and trailing zeros trimmed), plus one
        return (len(inner.lstrip("-").replace(".", "").strip("0")) + 1) // 2 + 1
    if kind == "B":
        return len(base64.b64decode(inner))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size({kind[0]: v}) for v in inner)
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in inner)
    if kind == "M":
        return 3 + item_size(inner) + len(inner)
    return 0


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def capacity_units(operation: str, request_body: bytes, answer_body: bytes) -> dict[str, float]:
    """The read and write request units one DynamoDB call consumes on an on-demand table: reads per
    4 KB (half for an eventually consistent read, double in a transaction), writes per 1 KB (double
    in a transaction), sized from the items read or written. An update or delete is sized from the
    request (DynamoDB sizes it from the stored item, before or after, whichever is larger), so it
    is a lower bound; a failed call counts nothing."""
    try:
        request = json.loads(request_body or b"{}")
        answer = json.loads(answer_body or b"{}")
    except ValueError:
        return {}
    if "__type" in answer:
        return {}

    def read(size: int, consistent: bool) -> float:
        return max(1, math.ceil(size / 4096)) * (1.0 if consistent else 0.5)

    def write(size: int) -> float:
        return max(1, math.ceil(size / 1024))

    def written(entry: dict[str, Any]) -> int:
        if "Item" in entry:
            return item_size(entry["Item"])
        values = entry.get("ExpressionAttributeValues") or {}
        return item_size(entry.get("Key") or {}) + sum(_value_size(v) for v in values.values())

    consistent = bool(request.get("ConsistentRead"))
    if operation == "GetItem":
        return {"read": read(item_size(answer.get("Item") or {}), consistent)}
    if operation in ("Query", "Scan"):
        return {"read": read(sum(item_size(i) for i in answer.get("Items", [])), consistent)}
    if operation == "BatchGetItem":
        wanted = request.get("RequestItems", {})
        return {
            "read": sum(
                read(item_size(item), bool(wanted.get(table, {}).get("ConsistentRead")))
                for table, items in answer.get("Responses", {}).items()
                for item in items
            )
        }
    if operation == "TransactGetItems":
        return {"read": sum(2 * read(item_size(r.get("Item") or {}), True) for r in answer.get("Responses", []))}
    if operation in ("PutItem", "UpdateItem", "DeleteItem"):
        return {"write": write(written(request))}
    if operation == "BatchWriteItem":
        entries = [
            e.get("PutRequest") or e.get("DeleteRequest") or {}
            for es in request.get("RequestItems", {}).values()
            for e in es
        ]
        return {"write": sum(write(written(e)) for e in entries)}
    if operation == "TransactWriteItems":
        entries = [next(iter(t.values())) for t in request.get("TransactItems", [])]
        return {"write": sum(2 * write(written(e)) for e in entries)}
    return {}


# --------------------------------------------------------------------------- fault injection


@dataclass
class Fault:
    """One injected error: the next `remaining` requests (None: until cleared) to service/operation fail."""

    id: int
    service: str
    operation: str | None
    status: int
    code: str
    message: str
    remaining: int | None
    fired: int = 0
    drop_response: bool = False  # carry the request out, then lose its answer
    details: dict[str, Any] | None = None  # more fields of a JSON-protocol error, e.g. CancellationReasons
    until: float | None = None  # time.time() after which it stops matching (a timed outage)

    def matches(self, service: str, operation: str) -> bool:
        return (
            self.service == service
            and self.operation in (None, operation)
            and (self.remaining is None or self.remaining > 0)
            and (self.until is None or time.time() < self.until)
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def respond(self, environ: dict[str, Any], service: str, start_response: Callable[..., Any]) -> list[bytes]:
        """The error in the request's own protocol, so botocore parses `code` out of it."""
        query_protocol = _query_action(environ) is not None
        _read_body(environ)  # unread, it would spoil the next request on this connection
        request_id = str(uuid.uuid4())
        headers = [("x-amzn-RequestId", request_id)]
        if environ.get("HTTP_X_AMZ_TARGET"):  # JSON protocol: DynamoDB, SQS, SSM, Secrets Manager ...
            content_type = environ.get("CONTENT_TYPE") or "application/x-amz-json-1.0"
            body = json.dumps({**(self.details or {}), "__type": self.code, "message": self.message}).encode()
        elif query_protocol:  # query protocol: SES v1, SNS, STS ...
            content_type = "text/xml"
            kind = "Sender" if self.status < 500 else "Receiver"
            body = (
                f"<ErrorResponse><Error><Type>{kind}</Type><Code>{_xml(self.code)}</Code>"
                f"<Message>{_xml(self.message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
            ).encode()
        elif service == "s3":  # REST-XML
            content_type = "application/xml"
            body = (
                f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{_xml(self.code)}</Code>'
                f"<Message>{_xml(self.message)}</Message><RequestId>{request_id}</RequestId></Error>"
            ).encode()
        else:  # REST-JSON: SES v2, Lambda ...
            content_type = "application/json"
            headers.append(("x-amzn-ErrorType", self.code))
            body = json.dumps({"message": self.message}).encode()
        headers += [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        start_response(f"{self.status} {_REASONS.get(self.status, 'Error')}", headers)
        return [body]


_REASONS = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 429: "Too Many Requests"}
_REASONS |= {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


class Faults:
    """The injected faults of one endpoint, and the `/_caisse/faults` resource that manages them.

    POST {"service", "operation"?, "status"?, "code"?, "message"?, "count"?, "seconds"?,
    "drop_response"?, "details"?} adds one (count absent: 1, null: until cleared; "seconds": every matching
    request for that long, whatever the count; status 503 and code ServiceUnavailable by default;
    "drop_response": true carries the request out and closes the connection without an answer;
    "details" adds fields to a JSON-protocol error body, e.g. DynamoDB's CancellationReasons);
    GET lists them with what remains and how many fired; DELETE clears them. Faults match in the
    order they were added.
    """

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._ids = 0

    def add(
        self,
        service: str,
        operation: str | None = None,
        *,
        status: int = 503,
        code: str = "ServiceUnavailable",
        message: str | None = None,
        count: int | None = 1,
        seconds: float | None = None,
        drop_response: bool = False,
        details: dict[str, Any] | None = None,
    ) -> Fault:
        if not service:
            raise ValueError("service is required (e.g. sesv2, ses, dynamodb, sqs)")
        if not (isinstance(status, int) and 400 <= status <= 599):
            raise ValueError("status must be an HTTP error status (400-599)")
        if count is not None and not (isinstance(count, int) and count > 0):
            raise ValueError("count must be a positive integer, or null for every request until cleared")
        if seconds is not None:
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
                raise ValueError("seconds must be a positive number")
            count = None
        with self._lock:
            self._ids += 1
            fault = Fault(
                self._ids,
                service,
                operation or None,
                status,
                code,
                message or f"{code} (injected)",
                count,
                drop_response=bool(drop_response),
                until=time.time() + seconds if seconds is not None else None,
                details=dict(details) if details else None,
            )
            self._faults.append(fault)
            return fault

    def take(self, service: str, operation: str) -> Fault | None:
        """The first fault matching this request, its count used up by one; None when none matches."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(service, operation):
                    fault.fired += 1
                    if fault.remaining is not None:
                        fault.remaining -= 1
                    return fault
        return None

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.as_dict() for fault in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def endpoint(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        method = environ.get("REQUEST_METHOD")
        if method == "DELETE":
            self.clear()
            start_response("204 No Content", [])
            return []
        if method == "GET":
            return _json_response(start_response, "200 OK", {"faults": self.list()})
        if method != "POST":
            start_response("405 Method Not Allowed", [("Allow", "GET, POST, DELETE")])
            return []
        try:
            spec = json.loads(_read_body(environ) or b"null")
            if not isinstance(spec, dict):
                raise ValueError("the body must be a JSON object")
            known = {
                "service",
                "operation",
                "status",
                "code",
                "message",
                "count",
                "seconds",
                "drop_response",
                "details",
            }
            unknown = set(spec) - known
            if unknown:
                raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
            fault = self.add(
                str(spec.get("service") or ""),
                spec.get("operation"),
                status=spec.get("status", 503),
                code=str(spec.get("code") or "ServiceUnavailable"),
                message=spec.get("message"),
                count=spec.get("count", 1),
                seconds=spec.get("seconds"),
                drop_response=spec.get("drop_response") is True,
                details=spec.get("details") if isinstance(spec.get("details"), dict) else None,
            )
        except ValueError as exc:
            return _json_response(start_response, "400 Bad Request", {"error": str(exc)})
        return _json_response(start_response, "201 Created", fault.as_dict())


TOKEN_LIFETIME_SECONDS = 600
"""DynamoDB keeps a TransactWriteItems ClientRequestToken for 10 minutes after the request."""


class TransactionTokens:
    """DynamoDB's idempotent TransactWriteItems, which moto does not implement (docs.aws.amazon.com/
    amazondynamodb/latest/APIReference/API_TransactWriteItems.html, ClientRequestToken): a request
    with a token that succeeded within 10 minutes is answered as a success and not applied again;
    the same token with different parameters is refused. Callers hold DYNAMODB_LOCK."""

    def __init__(self) -> None:
        self._done: dict[str, tuple[str, float]] = {}

    def call(self, app: Any, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        body = _read_body(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            request = {}
        token = request.pop("ClientRequestToken", None) if isinstance(request, dict) else None
        if not token:
            return _drain(app(environ, start_response))
        now = time.time()
        self._done = {key: value for key, value in self._done.items() if now - value[1] < TOKEN_LIFETIME_SECONDS}
        digest = json.dumps(request, sort_keys=True)
        seen = self._done.get(token)
        if seen is not None:
            if seen[0] != digest:
                message = "Parameters do not match the earlier request with this ClientRequestToken"
                body = json.dumps({"__type": "IdempotentParameterMismatchException", "message": message}).encode()
                start_response("400 Bad Request", _json_headers(body))
                return [body]
            answer = b"{}"  # what TransactWriteItems answers without ReturnConsumedCapacity
            start_response("200 OK", _json_headers(answer))
            return [answer]
        status: list[str] = []

        def recording_start_response(code: str, headers: Any, *rest: Any) -> Any:
            status.append(code)
            return start_response(code, headers, *rest)

        answer_parts = _drain(app(environ, recording_start_response))
        if status and status[0].startswith("200"):
            self._done[token] = (digest, now)
        return answer_parts


def _json_headers(body: bytes) -> list[tuple[str, str]]:
    return [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(body)))]


def _drop_connection(environ: dict[str, Any]) -> list[bytes]:
    """Close the client's connection with no answer (werkzeug's server hands us its socket)."""
    connection = environ.get("werkzeug.socket")
    if connection is not None:
        try:
            connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    return []


def _json_response(start_response: Callable[..., Any], status: str, value: Any) -> list[bytes]:
    body = json.dumps(value, sort_keys=True).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return environ["wsgi.input"].read(length) if length > 0 else b""


def _query_action(environ: dict[str, Any]) -> str | None:
    return (parse_qs(environ.get("QUERY_STRING", "")).get("Action") or [None])[0] or _form_action(environ)


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _drain(result: Iterable[bytes]) -> list[bytes]:
    """Consume a WSGI response while the caller still holds the lock."""
    try:
        return list(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()


_TARGET_SERVICES = {"DynamoDB": "dynamodb", "DynamoDBStreams": "dynamodbstreams", "AmazonSQS": "sqs"}


def classify(environ: dict[str, Any]) -> tuple[str | None, str]:
    """(service, operation) of an AWS request; service None for moto's own pages."""
    path = environ.get("PATH_INFO", "")
    if path.startswith("/moto-api") or path == "/favicon.ico":
        return None, ""
    query = parse_qs(environ.get("QUERY_STRING", ""))
    service = _signing_service(environ.get("HTTP_AUTHORIZATION", ""), query)
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        prefix, _, operation = target.partition(".")
        service = _TARGET_SERVICES.get(prefix.split("_")[0], service or prefix.lower())
        return service, operation
    action = (query.get("Action") or [None])[0] or _form_action(environ)
    if action:
        return service or "unknown", action
    method = environ.get("REQUEST_METHOD", "GET")
    if service == "ses" and path.startswith("/v2/"):  # SES v2 signs as "ses" too; its paths tell it apart
        return "sesv2", _rest_operation("sesv2", method, path) or f"{method} {path}"
    return service or "unknown", f"{method} {path}"


@functools.cache
def _rest_routes(service: str) -> list[tuple[str, str, re.Pattern[str]]]:
    """(method, operation, path regex) of a REST service from botocore's model, most literal first."""
    model = botocore.session.get_session().get_service_model(service)
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri = http["requestUri"].split("?", 1)[0]
        parts = re.split(r"(\{[^}]+\})", uri)
        pattern = "".join(
            (".+" if part.endswith("+}") else "[^/]+") if part.startswith("{") else re.escape(part) for part in parts
        )
        routes.append((len(parts[0]), http["method"], name, re.compile(pattern)))
    routes.sort(key=lambda route: -route[0])
    return [(method, name, regex) for _, method, name, regex in routes]


def _rest_operation(service: str, method: str, path: str) -> str | None:
    for route_method, name, regex in _rest_routes(service):
        if route_method == method and regex.fullmatch(path):
            return name
    return None


def _signing_service(authorization: str, query: dict[str, list[str]]) -> str | None:
    """The service in a SigV4 credential scope: header or presigned query string."""
    credential = ""
    if "Credential=" in authorization:
        credential = authorization.split("Credential=", 1)[1].split(",", 1)[0]
    elif query.get("X-Amz-Credential"):
        credential = query["X-Amz-Credential"][0]
    parts = credential.strip().split("/")
    return parts[3].lower() if len(parts) == 5 else None


def _form_action(environ: dict[str, Any]) -> str | None:
    """Action of a query-protocol request (SNS, SES v1, STS ...), leaving the body readable."""
    if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if length <= 0:
        return None
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    return (parse_qs(body.decode("utf-8", "replace")).get("Action") or [None])[0]


def make_app() -> AwsEndpoint:
    """moto's server app (every service), wrapped by `AwsEndpoint`."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    _fix_moto_instance_tracking()
    _fix_moto_fifo_groups()
    _fix_moto_transaction_rollback()
    _fix_moto_stream_retention()
    _fix_moto_table_queries()
    _fix_moto_shard_iterators()
    _fix_moto_index_sorting()
    return AwsEndpoint(DomainDispatcherApplication(create_backend_app))


def _fix_moto_transaction_rollback() -> None:
    """A cancelled TransactWriteItems puts back exactly the items it touched, in the same table.

    moto 5.2.5 deep-copies every table a transaction names before running it and swaps the copies
    in when it is cancelled: time and memory in proportion to the whole table for every
    transaction (checkout p50 went 48 -> 303 ms between 100 and 800 orders), and the copy carried
    its own stream shard, so open shard iterators never saw another record. Here moto's copy of a
    table is the table itself, and what is kept instead is a copy of each item the transaction
    names, taken before it runs, and the stream's next sequence number: a cancelled transaction
    puts those items back (or removes the ones it created) and drops the stream records it added.
    """
    import moto.dynamodb.models as dynamodb_models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    original = DynamoDBBackend.transact_write_items
    if getattr(original, "_caisse_fixed", False):
        return

    class NoTableCopies:
        """The `copy` module as moto's DynamoDB backend sees it: whole tables are not copied."""

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    dynamodb_models.copy = NoTableCopies  # type: ignore[assignment]

    @functools.wraps(original)
    def transact_write_items(self: Any, transact_items: Any) -> Any:
        touched = _touched_items(self, transact_items)
        marks = {id(table): _next_sequence(table) for table, *_ in touched}
        try:
            return original(self, transact_items)
        except Exception:
            for table, hash_key, range_key, item in reversed(touched):
                _put_back(table, hash_key, range_key, item)
                if id(table) in marks:
                    _drop_records_from(table, marks.pop(id(table)))
            raise

    transact_write_items._caisse_fixed = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items


def _fix_moto_index_sorting() -> None:
    """An index Query sorts the index key's items by their plain values.

    moto 5.2.5 sorts every item of the index key with its DynamoType comparisons, which cast both
    values on each of the n log n comparisons (2 s per page of reconciliation at 1 000 orders). Key
    attributes are strings, numbers or binaries, which sort the same as their plain values.
    """
    from decimal import Decimal

    from moto.dynamodb.models.table import Table

    def plain(value: Any) -> tuple[int, Any]:
        if value is None:
            return (0, "")
        return (1, Decimal(value.value)) if value.type == "N" else (2, value.value)

    def sorted_items(self: Any, hash_key_attrs: Any, range_key_attrs: Any, items: list[Any]) -> list[Any]:
        names = self._generate_attr_to_sort_by(hash_key_attrs, range_key_attrs)
        items.sort(key=lambda item: tuple(plain(item.attrs.get(name)) for name in names))
        return items

    Table.sorted_items = sorted_items  # type: ignore[method-assign]


def _touched_items(backend: Any, transact_items: Any) -> list[tuple[Any, Any, Any, Any]]:
    """(table, hash key, range key, a copy of the item or None) for each write of a transaction;
    what moto will refuse anyway (unknown table, missing key) is left out."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    touched = []
    for entry in transact_items if isinstance(transact_items, list) else []:
        for kind, op in entry.items() if isinstance(entry, dict) else []:
            if kind not in ("Put", "Update", "Delete") or not isinstance(op, dict):
                continue
            table = backend.tables.get(op.get("TableName"))
            attrs = op.get("Item" if kind == "Put" else "Key") or {}
            if table is None or table.hash_key_attr not in attrs:
                continue
            if table.range_key_attr is not None and table.range_key_attr not in attrs:
                continue
            hash_key = DynamoType(attrs[table.hash_key_attr])
            range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr is not None else None
            touched.append((table, hash_key, range_key, copy.deepcopy(_stored(table, hash_key, range_key))))
    return touched


def _stored(table: Any, hash_key: Any, range_key: Any) -> Any:
    """The item as moto stores it (Table.items: {hash: item} or {hash: {range: item}}), or None."""
    if range_key is None:
        return table.items.get(hash_key)
    return table.items.get(hash_key, {}).get(range_key)


def _put_back(table: Any, hash_key: Any, range_key: Any, item: Any) -> None:
    """Store `item` (None: nothing) under its key, without a stream record."""
    if range_key is None:
        if item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item
        return
    rows = table.items[hash_key]
    if item is None:
        rows.pop(range_key, None)
        if not rows:
            del table.items[hash_key]
    else:
        rows[range_key] = item


def _next_sequence(table: Any) -> int | None:
    shard = getattr(table, "stream_shard", None)
    return None if shard is None else shard.starting_sequence_number + len(shard.items)


def _drop_records_from(table: Any, sequence: int | None) -> None:
    """Forget the stream records from `sequence` on (those a cancelled transaction added)."""
    shard = getattr(table, "stream_shard", None)
    if shard is not None and sequence is not None:
        del shard.items[max(0, sequence - shard.starting_sequence_number) :]


def _fix_moto_table_queries() -> None:
    """A Query on the table's own key reads that partition, not the whole table.

    moto 5.2.5 answers every Query by sorting all of the table's items, then keeping those of the
    partition asked for, so each webhook's Query of its order took longer with every order stored.
    Here, for the length of a Query without an index, the table's items are that partition's
    (moto's filtering, sorting and paging run as before). Index queries still read every item.
    """
    from moto.dynamodb.models.table import Table

    original_query, original_all_items = Table.query, Table.all_items
    if getattr(original_query, "_caisse_fixed", False):
        return
    partition = threading.local()

    @functools.wraps(original_query)
    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name or hash_key is None:
            return original_query(self, hash_key, *args, **kwargs)
        stored = self.items.get(hash_key)
        if self.range_key_attr is None:
            items = [] if stored is None else [stored]
        else:
            items = sorted((stored or {}).values(), key=lambda item: item.range_key)
        partition.items = (self, items)
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            partition.items = None

    @functools.wraps(original_all_items)
    def all_items(self: Any) -> list[Any]:
        current = getattr(partition, "items", None)
        return current[1] if current is not None and current[0] is self else original_all_items(self)

    query._caisse_fixed = True  # type: ignore[attr-defined]
    Table.query, Table.all_items = query, all_items  # type: ignore[method-assign]


STREAM_RETENTION = timedelta(hours=24)
STREAM_RECORDS_KEPT = 1000
"""Records a local stream keeps per shard: DynamoDB keeps 24 hours of them, and a local run makes
a day's worth in minutes; pollers read within seconds of the write, so the newest 1000 are plenty."""


def _fix_moto_stream_retention() -> None:
    """Trim each stream shard as DynamoDB does (24 h), and to its newest STREAM_RECORDS_KEPT
    records: moto keeps every record (two item images each) for ever. Sequence numbers stay as
    they were (the shard's first one moves up); an iterator older than what is kept reads from the
    oldest record kept, as a TRIM_HORIZON one would."""
    from moto.core.utils import utcnow
    from moto.dynamodb.models.table import StreamShard

    original_add, original_get = StreamShard.add, StreamShard.get
    if getattr(original_add, "_caisse_fixed", False):
        return

    def created(record: Any) -> Any:
        return record.record["dynamodb"]["ApproximateCreationDateTime"]

    @functools.wraps(original_add)
    def add(self: Any, old: Any, new: Any) -> None:
        original_add(self, old, new)
        oldest = utcnow() - STREAM_RETENTION
        expired = max(0, len(self.items) - STREAM_RECORDS_KEPT)
        while expired < len(self.items) and created(self.items[expired]) < oldest:
            expired += 1
        if expired >= STREAM_RECORDS_KEPT // 10:  # in batches: deleting a list's head moves the rest
            del self.items[:expired]
            self.starting_sequence_number += expired

    @functools.wraps(original_get)
    def get(self: Any, start: int, quantity: int) -> list[dict[str, Any]]:
        return original_get(self, max(start, self.starting_sequence_number), quantity)

    add._caisse_fixed = True  # type: ignore[attr-defined]
    StreamShard.add, StreamShard.get = add, get  # type: ignore[method-assign]


ITERATOR_LIFETIME = 15 * 60.0
"""Seconds a shard iterator stays valid, as in DynamoDB Streams."""


def _fix_moto_shard_iterators() -> None:
    """Shard iterators expire after 15 minutes, as in AWS: moto keeps every one it hands out
    (each GetRecords makes the next, ~1.5 KB), so a stream poller alone grew the process by tens
    of MB an hour. An expired or unknown iterator gets ExpiredIteratorException (moto: a 500),
    which consumers answer with a new iterator."""
    from moto.core.exceptions import JsonRESTError
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend, ShardIterator

    original_init, original_get_records = ShardIterator.__init__, DynamoDBStreamsBackend.get_records
    if getattr(original_init, "_caisse_fixed", False):
        return

    @functools.wraps(original_init)
    def __init__(self: Any, streams_backend: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, streams_backend, *args, **kwargs)
        now = time.monotonic()
        self.expires_at = now + ITERATOR_LIFETIME
        iterators = streams_backend.shard_iterators
        if len(iterators) >= getattr(streams_backend, "caisse_prune_at", 0):  # now and then: O(n)
            for arn in [arn for arn, iterator in iterators.items() if getattr(iterator, "expires_at", 0.0) <= now]:
                del iterators[arn]
            streams_backend.caisse_prune_at = max(64, 2 * len(iterators))

    @functools.wraps(original_get_records)
    def get_records(self: Any, iterator_arn: str, limit: int) -> Any:
        iterator = self.shard_iterators.get(iterator_arn)
        if iterator is None or getattr(iterator, "expires_at", 0.0) <= time.monotonic():
            raise JsonRESTError("ExpiredIteratorException", "Iterator expired: get a new one with GetShardIterator")
        return original_get_records(self, iterator_arn, limit)

    original_get_shard_iterator = DynamoDBStreamsBackend.get_shard_iterator

    @functools.wraps(original_get_shard_iterator)
    def get_shard_iterator(self: Any, arn: str, shard_id: str, *args: Any, **kwargs: Any) -> Any:
        # DynamoDB Streams answers a shard it does not have (an old stream's, a closed one's) with
        # ResourceNotFoundException; moto asserts, which the client sees as a 500 and retries.
        try:
            shard = self._get_table_from_arn(arn).stream_shard
        except Exception:  # noqa: BLE001 - moto's own not-found errors vary by version
            shard = None
        if shard is None or shard.id != shard_id:
            raise JsonRESTError("ResourceNotFoundException", f"Requested resource not found: Shard: {shard_id}")
        return original_get_shard_iterator(self, arn, shard_id, *args, **kwargs)

    __init__._caisse_fixed = True  # type: ignore[attr-defined]
    ShardIterator.__init__ = __init__  # type: ignore[method-assign]
    DynamoDBStreamsBackend.get_records = get_records  # type: ignore[method-assign]
    DynamoDBStreamsBackend.get_shard_iterator = get_shard_iterator  # type: ignore[method-assign]


class LiveInstances:
    """moto's list of a model's instances, holding weak references: it lists what is still alive
    (for /moto-api/data.json and S3's reset) without keeping anything alive."""

    def __init__(self, instances: Iterable[Any] = ()) -> None:
        self._refs: list[Callable[[], Any]] = []
        self._prune_at = 64
        for instance in instances:
            self.append(instance)

    def append(self, instance: Any) -> None:
        try:
            self._refs.append(weakref.ref(instance))
        except TypeError:  # no weak references to it: kept, as moto would
            self._refs.append(lambda kept=instance: kept)
        if len(self._refs) >= self._prune_at:
            self._refs = [ref for ref in self._refs if ref() is not None]
            self._prune_at = max(64, 2 * len(self._refs))

    def __iter__(self) -> Iterator[Any]:
        return iter([instance for ref in self._refs if (instance := ref()) is not None])

    def __len__(self) -> int:
        return sum(1 for ref in self._refs if ref() is not None)


def _fix_moto_instance_tracking() -> None:
    """moto's models append every instance they make to a class-wide list that nothing empties
    but a reset (moto.core.common_models.BaseModel): every item version, every table copy,
    stream record and queue message stays in memory for good (600 transactions took the process
    from 83 to 836 MB). Here those lists hold weak references."""
    from moto.core.common_models import BaseModel

    if getattr(BaseModel.__new__, "_caisse_fixed", False):
        return

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        instance = super(BaseModel, cls).__new__(cls)
        tracked = cls.__dict__.get("instances_tracked")
        if not isinstance(tracked, LiveInstances):
            tracked = LiveInstances(tracked or ())  # a plain list again after moto's reset
            cls.instances_tracked = tracked  # type: ignore[attr-defined]
        tracked.append(instance)
        return instance

    __new__._caisse_fixed = True  # type: ignore[attr-defined]
    BaseModel.__new__ = __new__  # type: ignore[method-assign,assignment]


def _fix_moto_fifo_groups() -> None:
    """Keep FIFO order when messages of a group come back from flight (moto 5.2.5 breaks it).

    When a batch partly failed and its messages of one group become visible again, moto checks them
    one by one against a clock that moves and a snapshot of blocked groups it refreshes only now and
    then, so a receive can skip the first and return the next (measured: a2 and a3 back, a3
    delivered first). Like SQS, here a group's messages are offered in order up to its first
    message still in flight, only messages in flight block a group, and the in-flight messages of
    a group come back together (SQS delivers none of them before the last one's timeout ends anyway).
    """
    from moto.sqs.models import Queue, SQSBackend

    if getattr(SQSBackend.receive_message, "caisse_fifo_fix", False):
        return

    def available(self: Any) -> list[Any]:
        """Visible messages; for FIFO, each group only up to its first message in flight or delayed."""
        out, blocked = [], set()
        for message in self._messages:
            if self.fifo_queue and message.group_id in blocked:
                continue
            if message.visible and not message.delayed:
                out.append(message)
            elif message.group_id is not None:
                blocked.add(message.group_id)
        return out

    def visible_count(self: Any) -> int:
        return sum(1 for m in self._messages if m.visible and not m.delayed)

    def pending_message_groups(self: Any) -> set[str]:
        return {m.group_id for m in self._pending_messages if m.group_id is not None and not m.visible}

    original = SQSBackend.receive_message

    @functools.wraps(original)
    def receive_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        queue = self.get_queue(queue_name)
        if queue.fifo_queue:
            back_at: dict[str, int] = {}
            for message in queue.pending_messages:
                if message.group_id is not None and not message.visible:
                    back_at[message.group_id] = max(back_at.get(message.group_id, 0), message.visible_at)
            for message in queue.pending_messages:
                if message.group_id in back_at:
                    message.visible_at = back_at[message.group_id]
        return original(self, queue_name, *args, **kwargs)

    # Each message sent to a FIFO queue is validated against `queue.attributes`, which moto
    # computes in full, message counts included (a walk over every message), for the one setting
    # it reads: sending n messages to a queue with a backlog cost n times the backlog. The
    # validation is given that setting alone.
    class _Settings:
        def __init__(self, queue: Any) -> None:
            self._queue = queue

        def __getattr__(self, name: str) -> Any:
            return getattr(self._queue, name)

        @property
        def attributes(self) -> dict[str, Any]:
            return {"ContentBasedDeduplication": self._queue.content_based_deduplication}

    from moto.sqs.models import DEDUPLICATION_TIME_IN_SECONDS

    original_add = Queue.add_message

    def add_message(self: Any, message: Any) -> None:
        """moto's add_message, reading the one setting instead of every attribute (same rule)."""
        if self.lambda_event_source_mappings:
            return original_add(self, message)
        if self.fifo_queue and (self.content_based_deduplication == "true" or message.deduplication_id):
            for m in self._messages:
                if m.deduplication_id == message.deduplication_id:
                    if (message.sent_timestamp - m.sent_timestamp) / 1000 < DEDUPLICATION_TIME_IN_SECONDS:
                        return None
        with self._messages_lock:
            self._messages.append(message)
            self._messages_lock.notify_all()
        return None

    Queue.add_message = add_message  # type: ignore[method-assign]
    validate = SQSBackend._validate_message
    SQSBackend._validate_message = lambda self, queue, *args, **kwargs: validate(  # type: ignore[method-assign]
        self, _Settings(queue), *args, **kwargs
    )
    receive_message.caisse_fifo_fix = True  # type: ignore[attr-defined]
    Queue.messages = property(available)  # type: ignore[method-assign,assignment]
    Queue.approximate_number_of_messages = property(visible_count)  # type: ignore[method-assign,assignment]
    Queue.pending_message_groups = property(pending_message_groups)  # type: ignore[method-assign,assignment]
    SQSBackend.receive_message = receive_message  # type: ignore[method-assign]


def serve(host: str = "127.0.0.1", port: int = 4566, *, log_requests: bool = False) -> BackgroundServer:
    """Start the endpoint in the background with moto's request handler (keeps S3 header spelling)."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class Handler(MotoRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            if log_requests:
                super().log_request(code, size)

    return BackgroundServer(make_app(), host, port, request_handler=Handler, name="caisse-aws").start()


def main(argv: list[str] | None = None) -> int:
    """`python -m caisse_local.aws`: serve until SIGTERM/SIGINT or until the parent process dies."""
    parser = argparse.ArgumentParser(description="Emulated AWS endpoint (moto) for the Caisse local stack.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566, help="0 picks a free port")
    parser.add_argument("--log-requests", action="store_true", help="print one line per AWS request")
    args = parser.parse_args(argv)

    parent = os.getppid()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server = serve(args.host, args.port, log_requests=args.log_requests)
    print(f"caisse-aws listening on {server.url}", flush=True)
    try:
        while not stop.wait(1.0):
            if os.getppid() != parent:
                print("caisse-aws: parent process is gone, exiting", file=sys.stderr, flush=True)
                break
    finally:
        server.stop()
    return 0


# --------------------------------------------------------------------------- provisioning


def client(service: str, endpoint_url: str, region: str = "us-east-1") -> Any:
    """A boto3 client for the emulated AWS."""
    session = boto3.session.Session(region_name=region, **LOCAL_CREDENTIALS)
    config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30)
    return session.client(service, endpoint_url=endpoint_url, config=config)  # type: ignore[call-overload]


@dataclass
class Stack:
    """What a provisioner needs: the template, the local stack context and AWS clients."""

    template: Template
    ctx: Context
    endpoint_url: str
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = client(service, self.endpoint_url, self.ctx.region)
        return self._clients[service]

    def props(self, logical_id: str) -> dict[str, Any]:
        return self.template.resolve(self.template.properties(logical_id), self.ctx) or {}

    def ref(self, logical_id: str) -> str:
        return str(self.template.ref(logical_id, self.ctx))


Provisioner = Callable[[Stack, str], dict[str, str]]


def _dynamodb_table(stack: Stack, logical_id: str) -> dict[str, str]:
    props = stack.props(logical_id)
    ddb = stack.client("dynamodb")
    name = stack.ref(logical_id)
    try:
        table = ddb.describe_table(TableName=name)["Table"]
    except ddb.exceptions.ResourceNotFoundException:
        table = ddb.create_table(**_create_table_args(name, props))["TableDescription"]
    ttl = props.get("TimeToLiveSpecification")
    if ttl and _true(ttl.get("Enabled")):
        status = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if status.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            ddb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
    pitr = props.get("PointInTimeRecoverySpecification") or {}
    if _true(pitr.get("PointInTimeRecoveryEnabled")):
        ddb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    attributes = {"Ref": name, "Arn": table["TableArn"]}
    if table.get("LatestStreamArn"):
        attributes["StreamArn"] = table["LatestStreamArn"]
    return attributes


def _create_table_args(name: str, props: dict[str, Any]) -> dict[str, Any]:
    provisioned = props.get("BillingMode", "PROVISIONED") == "PROVISIONED"
    args: dict[str, Any] = {
        "TableName": name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    if provisioned:
        args["ProvisionedThroughput"] = _throughput(props.get("ProvisionedThroughput"))
    gsis = []
    for gsi in props.get("GlobalSecondaryIndexes") or []:
        index = {k: gsi[k] for k in ("IndexName", "KeySchema", "Projection")}
        if provisioned:
            index["ProvisionedThroughput"] = _throughput(gsi.get("ProvisionedThroughput"))
        gsis.append(index)
    if gsis:
        args["GlobalSecondaryIndexes"] = gsis
    lsis = [
        {k: lsi[k] for k in ("IndexName", "KeySchema", "Projection")}
        for lsi in props.get("LocalSecondaryIndexes") or []
    ]
    if lsis:
        args["LocalSecondaryIndexes"] = lsis
    stream = props.get("StreamSpecification")
    if stream:
        args["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    sse = props.get("SSESpecification")
    if sse:
        args["SSESpecification"] = {"Enabled": _true(sse.get("SSEEnabled"))}
        for key in ("SSEType", "KMSMasterKeyId"):
            if sse.get(key):
                args["SSESpecification"][key] = sse[key]
    for key in ("Tags", "TableClass"):
        if props.get(key):
            args[key] = props[key]
    if "DeletionProtectionEnabled" in props:
        args["DeletionProtectionEnabled"] = _true(props["DeletionProtectionEnabled"])
    return args


def _throughput(value: dict[str, Any] | None) -> dict[str, int]:
    value = value or {}
    return {
        "ReadCapacityUnits": int(value.get("ReadCapacityUnits", 5)),
        "WriteCapacityUnits": int(value.get("WriteCapacityUnits", 5)),
    }


_SQS_ATTRIBUTES = (
    "ContentBasedDeduplication DeduplicationScope DelaySeconds FifoQueue FifoThroughputLimit "
    "KmsDataKeyReusePeriodSeconds KmsMasterKeyId MaximumMessageSize MessageRetentionPeriod "
    "ReceiveMessageWaitTimeSeconds SqsManagedSseEnabled VisibilityTimeout"
).split()


def _sqs_queue(stack: Stack, logical_id: str) -> dict[str, str]:
    props = stack.props(logical_id)
    sqs = stack.client("sqs")
    name = stack.template.get_att(logical_id, "QueueName", stack.ctx)
    attributes = {key: _attr(props[key]) for key in _SQS_ATTRIBUTES if key in props}
    for key in ("RedrivePolicy", "RedriveAllowPolicy"):
        if key in props:
            value = props[key]
            attributes[key] = value if isinstance(value, str) else json.dumps(value)
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        changed = {k: v for k, v in attributes.items() if k != "FifoQueue"}
        if changed:
            sqs.set_queue_attributes(QueueUrl=url, Attributes=changed)
    except sqs.exceptions.QueueDoesNotExist:
        sqs.create_queue(QueueName=name, Attributes=attributes)
    return {
        "Ref": stack.ref(logical_id),
        "Arn": stack.template.get_att(logical_id, "Arn", stack.ctx),
        "QueueName": name,
    }


def _sns_topic(stack: Stack, logical_id: str) -> dict[str, str]:
    props = stack.props(logical_id)
    sns = stack.client("sns")
    name = stack.template.get_att(logical_id, "TopicName", stack.ctx)
    attributes = {
        key: _attr(props[key])
        for key in ("DisplayName", "FifoTopic", "ContentBasedDeduplication", "KmsMasterKeyId")
        if key in props
    }
    topic_arn = sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
    for sub in props.get("Subscription") or []:
        _subscribe(sns, topic_arn, sub["Protocol"], sub["Endpoint"], {})
    return {"Ref": topic_arn, "TopicArn": topic_arn, "TopicName": name}


def _sns_subscription(stack: Stack, logical_id: str) -> dict[str, str]:
    props = stack.props(logical_id)
    attributes = {
        key: props[key] if isinstance(props[key], str) else json.dumps(props[key])
        for key in ("FilterPolicy", "FilterPolicyScope", "RawMessageDelivery", "RedrivePolicy")
        if key in props
    }
    if "RawMessageDelivery" in attributes:
        attributes["RawMessageDelivery"] = _attr(props["RawMessageDelivery"])
    sub_arn = _subscribe(stack.client("sns"), props["TopicArn"], props["Protocol"], props["Endpoint"], attributes)
    return {"Ref": sub_arn}


def _subscribe(sns: Any, topic_arn: str, protocol: str, endpoint: str, attributes: dict[str, str]) -> str:
    for existing in sns.list_subscriptions_by_topic(TopicArn=topic_arn).get("Subscriptions", []):
        if existing["Protocol"] == protocol and existing["Endpoint"] == endpoint:
            return existing["SubscriptionArn"]
    return sns.subscribe(
        TopicArn=topic_arn, Protocol=protocol, Endpoint=endpoint, Attributes=attributes, ReturnSubscriptionArn=True
    )["SubscriptionArn"]


S3NotificationHook = Callable[[Stack, str, dict[str, Any]], dict[str, Any]]
S3_NOTIFICATION_HOOKS: list[S3NotificationHook] = []
"""Called as hook(stack, bucket_logical_id, config) -> config before a bucket's notification
configuration (boto3 shape) is applied; the wiring of SAM S3 function events goes here."""


def _s3_bucket(stack: Stack, logical_id: str) -> dict[str, str]:
    props = stack.props(logical_id)
    s3 = stack.client("s3")
    name = stack.ref(logical_id)
    try:
        s3.head_bucket(Bucket=name)
    except s3.exceptions.ClientError:
        args: dict[str, Any] = {"Bucket": name}
        if stack.ctx.region != "us-east-1":
            args["CreateBucketConfiguration"] = {"LocationConstraint": stack.ctx.region}
        s3.create_bucket(**args)
    versioning = (props.get("VersioningConfiguration") or {}).get("Status")
    if versioning:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning})
    cors = (props.get("CorsConfiguration") or {}).get("CorsRules")
    if cors:
        s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": [_cors_rule(r) for r in cors]})
    notifications = _notification_config(props.get("NotificationConfiguration") or {})
    for hook in S3_NOTIFICATION_HOOKS:
        notifications = hook(stack, logical_id, notifications)
    if notifications:
        s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration=notifications)
    return {"Ref": name, "Arn": f"arn:aws:s3:::{name}"}


def _cors_rule(rule: dict[str, Any]) -> dict[str, Any]:
    out = {
        "AllowedMethods": rule["AllowedMethods"],
        "AllowedOrigins": rule["AllowedOrigins"],
    }
    for cfn, api in (("AllowedHeaders", "AllowedHeaders"), ("ExposedHeaders", "ExposeHeaders"), ("Id", "ID")):
        if rule.get(cfn):
            out[api] = rule[cfn]
    if rule.get("MaxAge") is not None:
        out["MaxAgeSeconds"] = int(rule["MaxAge"])
    return out


def _notification_config(cfn: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's NotificationConfiguration in the shape PutBucketNotificationConfiguration wants."""
    out: dict[str, Any] = {}
    for cfn_key, api_key, target_cfn, target_api in (
        ("LambdaConfigurations", "LambdaFunctionConfigurations", "Function", "LambdaFunctionArn"),
        ("QueueConfigurations", "QueueConfigurations", "Queue", "QueueArn"),
        ("TopicConfigurations", "TopicConfigurations", "Topic", "TopicArn"),
    ):
        entries = []
        for entry in cfn.get(cfn_key) or []:
            item: dict[str, Any] = {target_api: entry[target_cfn], "Events": [entry["Event"]]}
            rules = ((entry.get("Filter") or {}).get("S3Key") or {}).get("Rules")
            if rules:
                item["Filter"] = {"Key": {"FilterRules": rules}}
            entries.append(item)
        if entries:
            out[api_key] = entries
    if cfn.get("EventBridgeConfiguration"):
        out["EventBridgeConfiguration"] = {}
    return out


def _ssm_parameter(stack: Stack, logical_id: str) -> dict[str, str]:
    props = stack.props(logical_id)
    name = stack.ref(logical_id)
    args = {"Name": name, "Value": str(props["Value"]), "Type": props.get("Type", "String"), "Overwrite": True}
    if props.get("Description"):
        args["Description"] = props["Description"]
    stack.client("ssm").put_parameter(**args)
    return {"Ref": name}


def _ses_email_identity(stack: Stack, logical_id: str) -> dict[str, str]:
    """A verified identity: moto's SES v1 and v2 share one identity list, and anything in it may send
    (no verification email, no DKIM). GetEmailIdentity reports VerifiedForSendingStatus false anyway."""
    props = stack.props(logical_id)
    identity = stack.ref(logical_id)
    args: dict[str, Any] = {"EmailIdentity": identity}
    config_set = (props.get("ConfigurationSetAttributes") or {}).get("ConfigurationSetName")
    if config_set:
        args["ConfigurationSetName"] = config_set
    sesv2 = stack.client("sesv2")
    try:
        sesv2.get_email_identity(EmailIdentity=identity)
    except sesv2.exceptions.NotFoundException:
        sesv2.create_email_identity(**args)
    return {"Ref": identity}


def _ses_configuration_set(stack: Stack, logical_id: str) -> dict[str, str]:
    """Stored so sends naming it look right; moto accepts any ConfigurationSetName on send anyway."""
    props = stack.props(logical_id)
    name = stack.ref(logical_id)
    sesv2 = stack.client("sesv2")
    try:
        sesv2.get_configuration_set(ConfigurationSetName=name)
    except sesv2.exceptions.NotFoundException:
        args: dict[str, Any] = {"ConfigurationSetName": name}
        for key in ("DeliveryOptions", "ReputationOptions", "SendingOptions", "SuppressionOptions", "TrackingOptions"):
            if props.get(key):
                args[key] = props[key]
        sesv2.create_configuration_set(**args)
    return {"Ref": name}


def _ses_event_destination(stack: Stack, logical_id: str) -> dict[str, str]:
    """Recorded only: moto stores it (SES v1 API; v2 has no such route in moto) but never publishes
    events. Locally a bounce or complaint reaches its consumer when something publishes the SES
    event JSON to the destination's SNS topic (recorded here as TopicArn)."""
    props = stack.props(logical_id)
    config_set = str(props["ConfigurationSetName"])
    dest = props.get("EventDestination") or {}
    name = str(dest.get("Name") or f"{stack.ctx.stack_name}-{logical_id}")
    types = [str(t).lower() for t in dest.get("MatchingEventTypes") or []]
    topic = (dest.get("SnsDestination") or {}).get("TopicARN")
    v1 = {"Name": name, "Enabled": _true(dest.get("Enabled", False)), "MatchingEventTypes": types}
    if topic:
        v1["SNSDestination"] = {"TopicARN": topic}
    ses = stack.client("ses")
    try:
        ses.create_configuration_set_event_destination(ConfigurationSetName=config_set, EventDestination=v1)
    except ses.exceptions.EventDestinationAlreadyExistsException:
        pass
    attributes = {"Ref": name, "ConfigurationSetName": config_set, "MatchingEventTypes": ",".join(types)}
    if topic:
        attributes["TopicArn"] = str(topic)
    return attributes


def _kms_key(stack: Stack, logical_id: str) -> dict[str, str]:
    """A customer-managed key: moto's KMS really encrypts and decrypts (data keys, encryption
    context) but does not evaluate key policies, so the policy is stored and only the template's
    tests read it. Found again by a tag naming its logical id, so provisioning twice makes one key."""
    props = stack.props(logical_id)
    kms = stack.client("kms")
    tag = f"{stack.ctx.stack_name}:{logical_id}"
    for key in kms.list_keys()["Keys"]:
        tags = kms.list_resource_tags(KeyId=key["KeyId"]).get("Tags", [])
        if {"TagKey": "caisse:logical-id", "TagValue": tag} in tags:
            return {"Ref": key["KeyId"], "Arn": key["KeyArn"], "KeyId": key["KeyId"]}
    args: dict[str, Any] = {
        "Description": str(props.get("Description") or logical_id),
        "KeyUsage": props.get("KeyUsage", "ENCRYPT_DECRYPT"),
        "KeySpec": props.get("KeySpec", "SYMMETRIC_DEFAULT"),
        "Tags": [{"TagKey": "caisse:logical-id", "TagValue": tag}],
    }
    if props.get("KeyPolicy"):
        policy = props["KeyPolicy"]
        args["Policy"] = policy if isinstance(policy, str) else json.dumps(policy)
    metadata = kms.create_key(**args)["KeyMetadata"]
    if _true(props.get("EnableKeyRotation", False)):
        kms.enable_key_rotation(KeyId=metadata["KeyId"])
    return {"Ref": metadata["KeyId"], "Arn": metadata["Arn"], "KeyId": metadata["KeyId"]}


def _not_emulated(stack: Stack, logical_id: str) -> dict[str, str]:
    """Known types whose effect the local stack does not reproduce (access policies, alarms)."""
    return {"Ref": stack.ref(logical_id)}


RESOURCE_PROVISIONERS: dict[str, Provisioner] = {
    "AWS::DynamoDB::Table": _dynamodb_table,
    "AWS::SQS::Queue": _sqs_queue,
    "AWS::SNS::Topic": _sns_topic,
    "AWS::SNS::Subscription": _sns_subscription,
    "AWS::S3::Bucket": _s3_bucket,
    "AWS::SSM::Parameter": _ssm_parameter,
    "AWS::KMS::Key": _kms_key,
    "AWS::SES::EmailIdentity": _ses_email_identity,
    "AWS::SES::ConfigurationSet": _ses_configuration_set,
    "AWS::SES::ConfigurationSetEventDestination": _ses_event_destination,
    "AWS::SQS::QueuePolicy": _not_emulated,
    "AWS::SNS::TopicPolicy": _not_emulated,
    "AWS::CloudWatch::Alarm": _not_emulated,
}
"""How each resource type is created in the emulated AWS: fn(stack, logical_id) -> attributes
(including "Ref"), recorded in the Context so Ref/GetAtt resolve to what AWS answered."""


def provision(template: Template, ctx: Context, endpoint_url: str) -> dict[str, dict[str, str]]:
    """Create (or bring up to date) every resource the local stack emulates; safe to run twice.

    Resources are created in dependency order (Ref/GetAtt/Sub/DependsOn), so a queue's dead-letter
    queue exists before the queue that names it. Returns {logical_id: {"Type", "Ref", attrs...}}.
    """
    stack = Stack(template, ctx, endpoint_url)
    wanted = [
        lid
        for lid, res in template.resources.items()
        if res.get("Type") in RESOURCE_PROVISIONERS and template.enabled(lid, ctx)
    ]
    ignored: dict[str, list[str]] = defaultdict(list)
    for lid, res in template.resources.items():
        if res.get("Type") not in RESOURCE_PROVISIONERS:
            ignored[str(res.get("Type"))].append(lid)
    if ignored:
        log.debug(
            "nothing to emulate for: %s",
            "; ".join(f"{t}: {', '.join(ids)}" for t, ids in sorted(ignored.items())),
        )
    created: dict[str, dict[str, str]] = {}
    for lid in _dependency_order(template, wanted):
        resource_type = template.resources[lid]["Type"]
        attributes = RESOURCE_PROVISIONERS[resource_type](stack, lid)
        ctx.record(lid, **attributes)
        created[lid] = {"Type": resource_type, **attributes}
    return created


def _dependency_order(template: Template, logical_ids: list[str]) -> list[str]:
    wanted = set(logical_ids)
    deps: dict[str, set[str]] = {}
    for lid in logical_ids:
        resource = template.resources[lid]
        depends_on = resource.get("DependsOn") or []
        refs = set(iter_references(template.properties(lid))) | set(
            [depends_on] if isinstance(depends_on, str) else depends_on
        )
        deps[lid] = (refs & wanted) - {lid}
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(lid: str, path: tuple[str, ...]) -> None:
        if state.get(lid) == 2:
            return
        if state.get(lid) == 1:
            raise ValueError(f"circular dependency between resources: {' -> '.join((*path, lid))}")
        state[lid] = 1
        for dep in sorted(deps[lid]):
            visit(dep, (*path, lid))
        state[lid] = 2
        order.append(lid)

    for lid in logical_ids:
        visit(lid, ())
    return order


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _attr(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
