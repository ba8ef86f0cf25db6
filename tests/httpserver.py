"""A scripted local HTTP server for tests: routes answer from a list, every request is recorded.

    with LocalHTTPServer() as srv:
        srv.route("/rss/cs.LG", [Resp(503), Resp(200, body)])  # served in order, last repeats
        url = srv.url("/rss")
        ...
        srv.requests  # [Recorded(path, query, headers, started, finished), ...]

A route may also be a callable ``(Recorded) -> Resp`` to answer by query string.
``Resp(reset=True)`` closes the connection without an answer (a "connection reset").
A big or slow body: ``Resp(chunks=fn)`` sends what ``fn()`` yields, as it yields it (a 500 MB
answer without holding it), with ``length`` as its Content-Length (None: none, the connection
closes at the end); ``Resp(drip=s)`` waits ``s`` seconds before each chunk (a trickle; the body
goes a byte at a time when no ``chunks`` are given). ``srv.sent`` counts the body bytes written.
``unused_port()`` gives a port with nothing listening, for "unreachable host" tests.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest


@dataclass
class Resp:
    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering
    reset: bool = False  # drop the connection instead of answering
    chunks: Callable[[], Iterable[bytes]] | None = None  # a body sent as it is produced
    length: int | None = None  # the Content-Length of ``chunks`` (None: none, then close)
    drip: float = 0.0  # seconds before each chunk (or byte) of the body

    @property
    def data(self) -> bytes:
        return self.body.encode("utf-8") if isinstance(self.body, str) else self.body


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    started: float  # time.monotonic() when the request arrived
    finished: float = 0.0  # ... and when the answer was sent

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


Route = list[Resp] | Callable[[Recorded], Resp]


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up early (a body over its size cap, a deadline) is what the test is
    about, not a server error: no traceback for it in the test output."""

    def handle_error(self, request: object, client_address: object) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]  # typeshed: socket


class LocalHTTPServer:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.sent = 0  # body bytes written, over every answer
        self._routes: dict[str, Route] = {}
        self._served: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # --- setup --------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, responses: Route) -> None:
        with self._lock:
            self._routes[path] = responses
            self._served[path] = 0

    def requests_to(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    def start(self) -> LocalHTTPServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LocalHTTPServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- serving ------------------------------------------------------------------------------
    def _next(self, record: Recorded) -> Resp:
        with self._lock:
            self.requests.append(record)
            route = self._routes.get(record.path)
            if route is None:
                return Resp(404, f"no route for {record.path}")
            if callable(route):
                return route(record)
            index = min(self._served[record.path], len(route) - 1)
            self._served[record.path] += 1
            return route[index]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                record = Recorded(
                    method="GET",
                    path=parts.path,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    started=time.monotonic(),
                )
                resp = server._next(record)
                if resp.delay:
                    time.sleep(resp.delay)
                if resp.reset:
                    record.finished = time.monotonic()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if resp.chunks is not None or resp.drip:
                    self._stream(resp)
                    record.finished = time.monotonic()
                    return
                data = resp.data
                self.send_response(resp.status)
                for name, value in resp.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
                server.sent += len(data)
                record.finished = time.monotonic()

            def _stream(self, resp: Resp) -> None:
                data = resp.data
                if resp.chunks is not None:
                    pieces, length = resp.chunks(), resp.length
                else:
                    pieces, length = (data[i : i + 1] for i in range(len(data))), len(data)
                self.send_response(resp.status)
                for name, value in resp.headers.items():
                    self.send_header(name, value)
                if length is not None:
                    self.send_header("Content-Length", str(length))
                else:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                try:
                    for piece in pieces:
                        if resp.drip:
                            time.sleep(resp.drip)
                        self.wfile.write(piece)
                        self.wfile.flush()
                        server.sent += len(piece)
                except (BrokenPipeError, ConnectionResetError):  # the client stopped reading
                    self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep test output clean

        return Handler


def unused_port() -> int:
    """A port on 127.0.0.1 with nothing listening (bound briefly, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def http_server() -> Iterator[LocalHTTPServer]:
    """Import this fixture into a test module (``from httpserver import http_server``)."""
    with LocalHTTPServer() as srv:
        yield srv
