"""Run a WSGI app on loopback in a background thread.

The emulated AWS endpoint, the local API and the tests all need a real HTTP server they can start
and stop quickly and cleanly; werkzeug's threaded server in a daemon thread does that.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

__all__ = ["BackgroundServer", "RawHeadersRequestHandler", "free_port"]


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (there is a small race; port 0 on a server avoids it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class RawHeadersRequestHandler(WSGIRequestHandler):
    """Also puts the headers exactly as the client sent them (names, order, repeats) in the environ.

    WSGI folds names to HTTP_UPPER_CASE and merges repeats; API Gateway events keep the client's
    spelling, so the local API reads `environ["caisse.raw_headers"]`.
    """

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        environ["caisse.raw_headers"] = list(self.headers.items())
        return environ

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Quiet by default: the local stack logs what matters itself."""


class BackgroundServer:
    """A threaded werkzeug server for `app` in a daemon thread; a context manager.

    `port=0` picks a free port; `.url` tells which. `stop()` is bounded: it stops accepting, waits
    at most `timeout` seconds for the loop to end and closes the socket; in-flight requests run in
    daemon threads and never block shutdown.
    """

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        request_handler: type[WSGIRequestHandler] | None = None,
        name: str = "caisse-server",
    ):
        self.app = app
        self.host = host
        self.port = port
        self.request_handler = request_handler or RawHeadersRequestHandler
        self.name = name
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("server not started")
        return f"http://{self.host}:{self.port}"

    def start(self) -> BackgroundServer:
        if self._server is not None:
            return self
        server = make_server(self.host, self.port, self.app, threaded=True, request_handler=self.request_handler)
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        if thread is not None and thread.is_alive():
            done = threading.Thread(target=server.shutdown, daemon=True)
            done.start()
            done.join(timeout)
            thread.join(timeout)
        server.server_close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
