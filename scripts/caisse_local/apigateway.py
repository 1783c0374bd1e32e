"""Local API Gateway (REST API, Lambda proxy integration) as a WSGI app.

Requests reach the handlers as the same payload-v1 proxy events API Gateway sends, and the
gateway's own answers are the ones clients see in AWS: 403 "Missing Authentication Token" for an
unknown route, 401 for a bad staff token (the function is not invoked), 502 when the function
fails or answers something that is not a proxy response, 413 over 10 MB. Like REST APIs, `path`
and `pathParameters` keep the client's percent-encoding; query strings are decoded.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wsgi import get_input_stream

from . import authorizer as cognito
from .runtime import FunctionError, FunctionPool, FunctionTimeout, TooManyRequests
from .template import Context, Route, Template, TemplateError

__all__ = ["MAX_BODY_BYTES", "ApiGateway", "Verifier", "match_route"]

MAX_BODY_BYTES = 10 * 1024 * 1024
"""API Gateway's payload limit."""

INTEGRATION_TIMEOUT = 29.0
"""API Gateway REST gives up on the integration after 29 s (504)."""

Verifier = Callable[[str], Mapping[str, str]]
"""Takes the token from the Authorization header; returns claims or raises (any exception = 401)."""

StartResponse = Callable[..., Any]


# --------------------------------------------------------------------------- routing


def _split(path: str) -> list[str]:
    path = path.strip("/")
    return path.split("/") if path else []


def _match(template: list[str], segments: list[str]) -> tuple[tuple[int, ...], dict[str, str]] | None:
    """Score how specifically `template` matches: literal 2, {param} 1, {proxy+} 0, per segment."""
    params: dict[str, str] = {}
    score: list[int] = []
    for i, part in enumerate(template):
        if part.startswith("{") and part.endswith("+}"):
            rest = segments[i:]
            if not rest or rest == [""]:
                return None
            params[part[1:-2]] = "/".join(rest)
            score.append(0)
            return tuple(score), params
        if i >= len(segments):
            return None
        seg = segments[i]
        if part.startswith("{") and part.endswith("}"):
            if not seg:
                return None
            params[part[1:-1]] = seg
            score.append(1)
        elif unquote(seg) == part:
            score.append(2)
        else:
            return None
    if len(segments) != len(template):
        return None
    return tuple(score), params


def match_route(routes: Iterable[Route], method: str, raw_path: str) -> tuple[Route, dict[str, str]] | None:
    """The route API Gateway picks: the most literal path, then an exact method over ANY."""
    segments = _split(raw_path)
    best: tuple[tuple[tuple[int, ...], int], Route, dict[str, str]] | None = None
    for route in routes:
        if route.method not in (method, "ANY"):
            continue
        matched = _match(_split(route.path), segments)
        if matched is None:
            continue
        key = (matched[0], 1 if route.method == method else 0)
        if best is None or key > best[0]:
            best = (key, route, matched[1])
    return None if best is None else (best[1], best[2])


# --------------------------------------------------------------------------- the gateway


class ApiGateway:
    """WSGI app: routes -> function pools, with Cognito-style authorizers and CORS preflight."""

    def __init__(
        self,
        routes: Iterable[Route],
        pools: Mapping[str, FunctionPool],
        authorizers: Mapping[str, Verifier] | None = None,
        *,
        account_id: str = "123456789012",
    ):
        self.routes = list(routes)
        self.pools = dict(pools)
        self.authorizers = dict(authorizers or {})
        self.account_id = account_id
        for route in self.routes:
            if route.function not in self.pools:
                raise ValueError(f"no FunctionPool for {route.function} ({route.method} {route.path})")
            if route.authorizer and route.authorizer not in self.authorizers:
                raise ValueError(f"no verifier for authorizer {route.authorizer} ({route.method} {route.path})")

    @classmethod
    def from_template(cls, template: Template, ctx: Context, pools: Mapping[str, FunctionPool]) -> ApiGateway:
        """Routes from template.yaml; Cognito user-pool authorizers use the local staff tokens."""
        routes = template.api_routes(ctx)
        authorizers: dict[str, Verifier] = {}
        for route in routes:
            if not route.authorizer or route.authorizer in authorizers:
                continue
            api = template.api_properties(route.api, ctx)
            config = ((api.get("Auth") or {}).get("Authorizers") or {}).get(route.authorizer)
            if not config or "UserPoolArn" not in config:
                raise TemplateError(
                    f"authorizer {route.authorizer} of {route.api}: only Cognito user-pool authorizers run locally"
                )
            authorizers[route.authorizer] = cognito.verify
        return cls(routes, pools, authorizers, account_id=ctx.account_id)

    # ---------------------------------------------------------------- WSGI
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        raw_path = _raw_path(environ)
        try:
            body = _read_body(environ)  # read first: an unread body would poison a kept-alive connection
        except RequestEntityTooLarge:
            _discard_body(environ)
            return _gateway_error(
                start_response, 413, "Request Too Long", "RequestTooLarge", extra=[("Connection", "close")]
            )
        if method == "OPTIONS":
            preflight = self._preflight(raw_path)
            if preflight is not None:
                return _send(start_response, 204, preflight, b"")
        found = match_route(self.routes, method, raw_path)
        if found is None:
            return _gateway_error(start_response, 403, "Missing Authentication Token", "MissingAuthenticationToken")
        route, path_params = found
        headers = _client_headers(environ)
        claims = None
        if route.authorizer:
            claims = self._authorize(route.authorizer, headers)
            if claims is None:
                return _gateway_error(start_response, 401, "Unauthorized", "UnauthorizedException")
        event = self._event(environ, route, method, raw_path, path_params, headers, body, claims)
        return self._integrate(start_response, route, event)

    def _authorize(self, name: str, headers: list[tuple[str, str]]) -> dict[str, str] | None:
        values = [v for k, v in headers if k.lower() == "authorization"]
        if not values:
            return None
        token = values[-1].strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        try:
            return {str(k): str(v) for k, v in self.authorizers[name](token).items()}
        except Exception:  # noqa: BLE001 - any verifier failure is a 401, never a 500
            return None

    def _preflight(self, raw_path: str) -> list[tuple[str, str]] | None:
        """SAM adds an OPTIONS mock method to every path of an Api with Cors; this is its answer."""
        segments = _split(raw_path)
        on_path = [r for r in self.routes if _match(_split(r.path), segments) is not None]
        if not on_path or any(r.method == "OPTIONS" for r in on_path):
            return None
        cors = next((r.cors for r in on_path if r.cors is not None), None)
        if cors is None:
            return None
        methods = cors.allow_methods or ",".join(sorted({r.method for r in on_path} | {"OPTIONS"}))
        headers = [("Access-Control-Allow-Origin", cors.allow_origin), ("Access-Control-Allow-Methods", methods)]
        if cors.allow_headers:
            headers.append(("Access-Control-Allow-Headers", cors.allow_headers))
        if cors.expose_headers:
            headers.append(("Access-Control-Expose-Headers", cors.expose_headers))
        if cors.max_age:
            headers.append(("Access-Control-Max-Age", cors.max_age))
        if cors.allow_credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        return headers

    def _event(
        self,
        environ: dict[str, Any],
        route: Route,
        method: str,
        raw_path: str,
        path_params: dict[str, str],
        headers: list[tuple[str, str]],
        body: bytes,
        claims: dict[str, str] | None,
    ) -> dict[str, Any]:
        single: dict[str, str] = {}
        multi: dict[str, list[str]] = {}
        spelling: dict[str, str] = {}
        for name, value in headers:
            name = spelling.setdefault(name.lower(), name)
            single[name] = value
            multi.setdefault(name, []).append(value)
        query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        query_single: dict[str, str] = {}
        query_multi: dict[str, list[str]] = {}
        for name, value in query:
            query_single[name] = value
            query_multi.setdefault(name, []).append(value)
        now = time.time()
        host = single.get(spelling.get("host", "Host"), environ.get("SERVER_NAME", "localhost"))
        request_id = str(uuid.uuid4())
        source_ip = environ.get("REMOTE_ADDR", "127.0.0.1")
        request_context: dict[str, Any] = {
            "resourceId": hashlib.sha256(f"{route.api_id}{route.path}".encode()).hexdigest()[:6],
            "resourcePath": route.path,
            "httpMethod": method,
            "extendedRequestId": base64.b64encode(uuid.uuid4().bytes[:12]).decode().rstrip("="),
            "requestTime": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": f"/{route.stage}{raw_path}",
            "accountId": self.account_id,
            "protocol": environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "stage": route.stage,
            "domainPrefix": host.split(".")[0].split(":")[0],
            "requestTimeEpoch": int(now * 1000),
            "requestId": request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": source_ip,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": single.get(spelling.get("user-agent", "User-Agent")),
                "user": None,
            },
            "domainName": host,
            "apiId": route.api_id,
        }
        if claims is not None:
            request_context["authorizer"] = {"claims": claims}
        body_text: str | None
        is_base64 = False
        if not body:
            body_text = None
        else:
            try:
                body_text = body.decode("utf-8")
            except UnicodeDecodeError:
                body_text = base64.b64encode(body).decode("ascii")
                is_base64 = True
        return {
            "resource": route.path,
            "path": raw_path,
            "httpMethod": method,
            "headers": single or None,
            "multiValueHeaders": multi or None,
            "queryStringParameters": query_single or None,
            "multiValueQueryStringParameters": query_multi or None,
            "pathParameters": path_params or None,
            "stageVariables": None,
            "requestContext": request_context,
            "body": body_text,
            "isBase64Encoded": is_base64,
        }

    def _integrate(self, start_response: StartResponse, route: Route, event: dict[str, Any]) -> Iterable[bytes]:
        pool = self.pools[route.function]
        request_id = event["requestContext"]["requestId"]
        gateway_limited = pool.spec.timeout > INTEGRATION_TIMEOUT
        try:
            result = pool.invoke(event, timeout=min(pool.spec.timeout, INTEGRATION_TIMEOUT))
        except TooManyRequests as exc:
            print(f"[{route.function}] throttled: {exc}", file=sys.stderr, flush=True)
            return _gateway_error(start_response, 429, "Too Many Requests", "ThrottledException", request_id)
        except FunctionTimeout as exc:
            print(f"[{route.function}] {exc}", file=sys.stderr, flush=True)
            if gateway_limited:
                return _gateway_error(
                    start_response, 504, "Endpoint request timed out", "IntegrationTimeout", request_id
                )
            return _internal_error(start_response, request_id)
        except FunctionError as exc:
            print(f"[{route.function}] {exc}\n{exc.traceback}", file=sys.stderr, flush=True)
            return _internal_error(start_response, request_id)
        try:
            status, headers, body = _proxy_response(result)
        except ValueError as exc:
            print(f"[{route.function}] malformed Lambda proxy response: {exc}", file=sys.stderr, flush=True)
            return _internal_error(start_response, request_id)
        headers.append(("x-amzn-RequestId", request_id))
        return _send(start_response, status, headers, body)


# --------------------------------------------------------------------------- helpers


def _raw_path(environ: dict[str, Any]) -> str:
    """The path as the client sent it (still percent-encoded), without the query string."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        path = raw.split("?", 1)[0]
        if "://" in path:  # absolute-form request target
            path = "/" + path.split("://", 1)[1].partition("/")[2]
    else:
        path = quote(environ.get("PATH_INFO", "/"))
    return path or "/"


def _client_headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    """Headers as sent (names, order, repeats) when the server recorded them; else rebuilt from WSGI."""
    raw = environ.get("caisse.raw_headers")
    if raw is not None:
        headers = [(str(k), str(v)) for k, v in raw]
    else:
        headers = []
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                headers.append((key[5:].replace("_", "-").title(), value))
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
                headers.append((key.replace("_", "-").title(), value))
    present = {k.lower() for k, _ in headers}
    added = {
        "X-Forwarded-For": environ.get("REMOTE_ADDR", "127.0.0.1"),
        "X-Forwarded-Port": str(environ.get("SERVER_PORT", "80")),
        "X-Forwarded-Proto": environ.get("wsgi.url_scheme", "http"),
        "X-Amzn-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}",
    }
    headers.extend((k, v) for k, v in added.items() if k.lower() not in present)
    return headers


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = get_input_stream(environ, max_content_length=MAX_BODY_BYTES)
    return stream.read()


def _discard_body(environ: dict[str, Any], limit: int = 4 * MAX_BODY_BYTES) -> None:
    """Read a refused body (within reason) so the client gets the 413 instead of a reset connection."""
    try:
        remaining = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    if remaining > limit:
        return
    stream = environ["wsgi.input"]
    while remaining > 0:
        chunk = stream.read(min(remaining, 1 << 16))
        if not chunk:
            break
        remaining -= len(chunk)


def _proxy_response(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Validate a Lambda proxy response like API Gateway does; ValueError when malformed."""
    if not isinstance(result, dict):
        raise ValueError(f"expected an object, got {type(result).__name__}")
    unknown = set(result) - {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}
    if unknown:
        raise ValueError(f"unexpected keys {sorted(unknown)}")
    if "statusCode" not in result:
        raise ValueError("statusCode is missing")
    status = result["statusCode"]
    if isinstance(status, bool) or not str(status).isdigit() or not 100 <= int(status) <= 599:
        raise ValueError(f"bad statusCode {status!r}")
    headers: list[tuple[str, str]] = []
    multi = result.get("multiValueHeaders") or {}
    single = result.get("headers") or {}
    if not isinstance(multi, dict) or not isinstance(single, dict):
        raise ValueError("headers and multiValueHeaders must be objects")
    for name, values in multi.items():
        if not isinstance(values, list):
            raise ValueError(f"multiValueHeaders[{name!r}] must be a list")
        headers.extend((str(name), _header_value(v)) for v in values)
    taken = {str(k).lower() for k in multi}
    headers.extend((str(k), _header_value(v)) for k, v in single.items() if str(k).lower() not in taken)
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/json"))
    body = result.get("body")
    if body is None:
        data = b""
    elif not isinstance(body, str):
        raise ValueError(f"body must be a string, got {type(body).__name__}")
    elif result.get("isBase64Encoded"):
        try:
            data = base64.b64decode(body, validate=True)
        except ValueError as exc:
            raise ValueError(f"isBase64Encoded but body is not base64: {exc}") from exc
    else:
        data = body.encode("utf-8")
    return int(status), headers, data


def _header_value(value: Any) -> str:
    text = "true" if value is True else "false" if value is False else str(value)
    if "\r" in text or "\n" in text:
        raise ValueError("header values cannot contain line breaks")
    try:
        text.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise ValueError(f"header value {text!r} is not latin-1") from exc
    return text


def _status_line(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"{code} Unknown"


def _send(start_response: StartResponse, status: int, headers: list[tuple[str, str]], body: bytes) -> list[bytes]:
    headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
    headers.append(("Content-Length", str(len(body))))
    start_response(_status_line(status), headers)
    return [body]


def _gateway_error(
    start_response: StartResponse,
    status: int,
    message: str,
    error_type: str,
    request_id: str | None = None,
    extra: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    body = json.dumps({"message": message}).encode()
    headers = [
        ("Content-Type", "application/json"),
        ("x-amzn-ErrorType", error_type),
        ("x-amzn-RequestId", request_id or str(uuid.uuid4())),
        *(extra or []),
    ]
    return _send(start_response, status, headers, body)


def _internal_error(start_response: StartResponse, request_id: str) -> list[bytes]:
    return _gateway_error(start_response, 502, "Internal server error", "InternalServerErrorException", request_id)
