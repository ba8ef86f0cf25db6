"""A scripted OpenAI-compatible HTTP server for tests (real sockets, no patched clients).

Usage::

    from tests.openai_server import OpenAIServer, Reply, chat_completion, structured

    with OpenAIServer() as server:                      # 127.0.0.1, free port, own thread
        server.queue(Reply(status=500, body=error_body("json_schema unsupported")))
        server.queue(structured({"answer": "ok"}))      # answers in the style asked for
        settings = Settings(llm_base_url=server.url, openai_api_key="test")
        ...
        server.requests[0].json["response_format"]      # every request is recorded

Endpoints: ``POST /v1/chat/completions`` and ``GET /v1/models``. Each chat request is answered
by the first queued item, else by the handler (``OpenAIServer(handler=fn)`` or
``server.handler = fn``), else with a plain "ok" completion. A queued item or handler result
may be:

- a ``Reply(status, body, delay, headers)``; ``body`` a dict (sent as JSON) or str/bytes;
- a dict: a 200 reply with that body;
- a callable ``fn(request_json) -> Reply | dict`` evaluated when the request arrives.

``structured(payload)`` builds such a callable that returns ``payload`` in whatever style the
request asked for: a forced tool call when it sent ``tools``, JSON content for
``response_format`` json_schema / json_object, text otherwise. Requests with ``"stream": true``
get the completion as SSE chunks ending in ``data: [DONE]`` (with a usage chunk when
``stream_options.include_usage`` is set). Pass ``api_key="..."`` to answer 401 to requests
without ``Authorization: Bearer <key>``; ``delay`` sleeps before answering (timeouts).

A server that is not the OpenAI API: ``html_page("Open WebUI")`` answers 200 with a web page.

A server that answers at a trickle: ``Reply(drip=s)`` sends the headers at once, then the body
(JSON or SSE) one byte every ``s`` seconds; ``dripping(item, s)`` wraps any scripted item so.
A huge reply: ``Reply(body=...)`` with a long content (``text_reply("x" * 10_000_000)``).

A slow local server like llama.cpp: ``OpenAIServer(slots=1)`` computes one request at a time,
and ``Reply(work=s)`` (or ``working(item, s)``) is ``s`` seconds of computing that holds a slot
and goes on after the client gave up, so later requests queue behind abandoned ones.
``server.peak_in_flight`` is the most chat requests it was handling at once;
``server.computed`` the (start, end) times of each finished computation.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "OpenAIServer",
    "RecordedRequest",
    "Reply",
    "chat_completion",
    "dripping",
    "error_body",
    "html_page",
    "sse_chunks",
    "structured",
    "text_reply",
    "tool_call",
    "working",
]


@dataclass
class Reply:
    status: int = 200
    body: dict[str, Any] | str | bytes | None = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    work: float = 0.0  # seconds computing in a server slot, finished even if the client left
    drip: float = 0.0  # seconds between the body's bytes (a trickling server)


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    json: Any
    time: float


Handler = Callable[[Any], "Reply | dict[str, Any]"]
Scripted = Reply | dict[str, Any] | Handler


# --- bodies -----------------------------------------------------------------------------------
def tool_call(name: str, arguments: dict[str, Any] | str, call_id: str = "call_1") -> dict:
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}


def chat_completion(
    content: str | None = None,
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    model: str = "test-model",
    usage: tuple[int, int] | None = (50, 20),
    finish_reason: str | None = None,
    top_logprobs: dict[str, float] | None = None,
) -> dict[str, Any]:
    """A /v1/chat/completions response body; ``usage=None`` omits the usage block.
    ``top_logprobs`` ({token: logprob}) become the first token's log-probabilities."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    body: dict[str, Any] = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": finish_reason or ("tool_calls" if tool_calls else "stop"),
            }
        ],
    }
    if top_logprobs:
        first = max(top_logprobs, key=lambda t: top_logprobs[t])
        body["choices"][0]["logprobs"] = {
            "content": [
                {
                    "token": first,
                    "logprob": top_logprobs[first],
                    "bytes": None,
                    "top_logprobs": [
                        {"token": t, "logprob": lp, "bytes": None} for t, lp in top_logprobs.items()
                    ],
                }
            ]
        }
    if usage is not None:
        body["usage"] = {
            "prompt_tokens": usage[0],
            "completion_tokens": usage[1],
            "total_tokens": usage[0] + usage[1],
        }
    return body


def error_body(message: str, *, type_: str = "invalid_request_error", code: str | None = None):
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


def text_reply(text: str, **kw: Any) -> Reply:
    return Reply(body=chat_completion(text, **kw))


def html_page(title: str = "Open WebUI", status: int = 200) -> Reply:
    """What a web app on the endpoint's host answers: HTML, not the API's JSON."""
    page = f"<!doctype html><html><head><title>{title}</title></head><body>app</body></html>"
    return Reply(status, page, headers={"Content-Type": "text/html; charset=utf-8"})


def working(item: Scripted, seconds: float) -> Handler:
    """``item`` (a Reply, a body or a handler) answered after ``seconds`` of slot-bound work."""

    def handle(request: Any) -> Reply:
        reply = item(request) if callable(item) and not isinstance(item, Reply | dict) else item
        reply = reply if isinstance(reply, Reply) else Reply(body=reply)
        return Reply(reply.status, reply.body, reply.delay, dict(reply.headers), work=seconds)

    return handle


def dripping(item: Scripted, seconds_per_byte: float) -> Handler:
    """``item`` (a Reply, a body or a handler) sent one byte every ``seconds_per_byte``."""

    def handle(request: Any) -> Reply:
        reply = item(request) if callable(item) and not isinstance(item, Reply | dict) else item
        reply = reply if isinstance(reply, Reply) else Reply(body=reply)
        return Reply(reply.status, reply.body, reply.delay, dict(reply.headers), reply.work,
                     drip=seconds_per_byte)  # fmt: skip

    return handle


def structured(payload: dict[str, Any] | str, **kw: Any) -> Handler:
    """A handler answering with ``payload`` in the structured style the request asked for.

    A str payload is sent verbatim (use it for malformed JSON).
    """

    def handle(request: Any) -> dict[str, Any]:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        tools = request.get("tools") or []
        if tools:
            choice = request.get("tool_choice")
            name = (
                choice["function"]["name"]
                if isinstance(choice, dict) and "function" in choice
                else tools[0]["function"]["name"]
            )
            return chat_completion(None, tool_calls=[tool_call(name, text)], **kw)
        return chat_completion(text, **kw)

    return handle


def sse_chunks(body: dict[str, Any], *, include_usage: bool = False, pieces: int = 3) -> bytes:
    """A chat.completion body as the SSE stream an OpenAI server would send."""
    choice = body["choices"][0]
    message = choice["message"]
    base = {k: body[k] for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return base | {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    events = [chunk({"role": "assistant", "content": ""})]
    content = message.get("content") or ""
    step = max(1, -(-len(content) // pieces))
    events += [chunk({"content": content[i : i + step]}) for i in range(0, len(content), step)]
    for i, call in enumerate(message.get("tool_calls") or []):
        events.append(chunk({"tool_calls": [{"index": i, **call}]}))
    events.append(chunk({}, choice.get("finish_reason") or "stop"))
    if include_usage and body.get("usage"):
        events.append(base | {"choices": [], "usage": body["usage"]})
    lines = [f"data: {json.dumps(e)}\n\n" for e in events] + ["data: [DONE]\n\n"]
    return "".join(lines).encode()


# --- the server ---------------------------------------------------------------------------------
class OpenAIServer:
    def __init__(
        self,
        handler: Handler | None = None,
        *,
        models: Iterable[str] = ("test-model",),
        api_key: str | None = None,
        slots: int | None = None,
    ) -> None:
        self.handler = handler
        self.models = list(models)
        self.api_key = api_key
        self._slots = threading.Semaphore(slots) if slots else None
        self.in_flight = 0
        self.peak_in_flight = 0
        self.computed: list[tuple[float, float]] = []
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Scripted] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._address: tuple[Any, ...] | None = None
        self._thread: threading.Thread | None = None

    # lifecycle
    def start(self) -> OpenAIServer:
        outer = self

        class _H(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                outer._serve(self, "GET")

            def do_POST(self) -> None:
                outer._serve(self, "POST")

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        httpd.daemon_threads = True
        httpd.block_on_close = False
        self._httpd = httpd
        self._address = httpd.server_address[:2]
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._address is not None, "start() the server first"
        host, port = self._address
        return f"http://{host}:{port}/v1"

    # scripting
    def queue(self, *items: Scripted) -> None:
        with self._lock:
            self._queue.extend(items)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    # serving
    def _next(self, request_json: Any) -> Reply:
        with self._lock:
            item: Scripted | None = self._queue.popleft() if self._queue else None
        if item is None:
            item = self.handler or text_reply("ok")
        if callable(item) and not isinstance(item, Reply | dict):
            item = item(request_json)
        return item if isinstance(item, Reply) else Reply(body=item)

    def _serve(self, h: BaseHTTPRequestHandler, method: str) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = raw.decode("utf-8", "replace")
        path = h.path.split("?")[0]
        with self._lock:
            self.requests.append(
                RecordedRequest(method, path, _lower(h.headers), body, time.time())
            )
        if self.api_key is not None and h.headers.get("Authorization") != f"Bearer {self.api_key}":
            reply = Reply(401, error_body("Incorrect API key provided.", code="invalid_api_key"))
        elif method == "GET" and path.endswith("/models"):
            data = [{"id": m, "object": "model", "owned_by": "test"} for m in self.models]
            reply = Reply(body={"object": "list", "data": data})
        elif method == "POST" and path.endswith("/chat/completions"):
            with self._lock:
                self.in_flight += 1
                self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            try:
                reply = self._next(body)
                if reply.work and not self._compute(reply.work):
                    return
            finally:
                with self._lock:
                    self.in_flight -= 1
        else:
            reply = Reply(404, error_body(f"no route {method} {path}"))
        if reply.delay and self._stopping.wait(reply.delay):
            return
        self._write(h, reply, body)

    def _compute(self, seconds: float) -> bool:
        """Hold a slot for ``seconds`` whether or not the client still waits; False if the
        server is stopping."""
        with self._slots or contextlib.nullcontext():
            started = time.time()
            if self._stopping.wait(seconds):
                return False
            with self._lock:
                self.computed.append((started, time.time()))
        return True

    def _write(self, h: BaseHTTPRequestHandler, reply: Reply, request: Any) -> None:
        headers = dict(reply.headers)
        stream = isinstance(request, dict) and request.get("stream") and reply.status == 200
        if stream and isinstance(reply.body, dict) and "choices" in reply.body:
            opts = request.get("stream_options") or {}
            payload = sse_chunks(reply.body, include_usage=bool(opts.get("include_usage")))
            headers.setdefault("Content-Type", "text/event-stream")
        elif isinstance(reply.body, dict):
            payload = json.dumps(reply.body).encode()
            headers.setdefault("Content-Type", "application/json")
        else:
            payload = reply.body.encode() if isinstance(reply.body, str) else reply.body or b""
            headers.setdefault("Content-Type", "text/plain")
        try:
            h.send_response(reply.status)
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            if not reply.drip:
                h.wfile.write(payload)
                return
            for i in range(len(payload)):
                h.wfile.write(payload[i : i + 1])
                h.wfile.flush()
                if self._stopping.wait(reply.drip):
                    return
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            pass


def _lower(headers: Any) -> dict[str, str]:
    """Header names lower-cased, so tests can look them up regardless of the client's casing."""
    return {k.lower(): v for k, v in headers.items()}
