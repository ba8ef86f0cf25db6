"""`paperbrief serve`: a warm process that answers the CLI's `search` and `ask` over a Unix socket.

A fresh `paperbrief search` spends about a second before its first result: importing chromadb
and onnxruntime, loading the model, Chroma's first reads. This process pays that once and then
answers each question in tens of milliseconds; the CLI tries it first and answers in-process
when it is not there (agent.serve.protocol says how they talk and who may be served).

It is never stale: every request goes through WarmAgent, which reopens the store when another
process wrote and rebuilds the agent when the config file changed.

Safety: the socket is created mode 0600 (umask) inside the home, or in a 0700 directory of this
user when the home's path is too long for a socket name; there is no TCP. One daemon per socket:
a lock file (flock, released by the kernel even on SIGKILL) says whether a live daemon holds it,
so a socket file left by a killed daemon is removed and one still in use is never stolen.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import signal
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from io import BufferedIOBase
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from agent.errors import ConfigError, LockedError, PaperbriefError
from agent.serve import protocol
from agent.serve.warm import WarmAgent

if TYPE_CHECKING:
    from agent.config import Settings
    from agent.pipeline import PaperAgent
    from agent.qa.models import ToolCall

log = logging.getLogger(__name__)

Emit = Callable[[dict[str, Any]], None]
#: How often the daemon looks for another process's writes between questions.
REFRESH_EVERY = 5.0


class Daemon:
    """Owns the lock, the socket and the server; ``run()`` serves until ``stop()`` or a signal."""

    def __init__(self, warm: WarmAgent, *, home: Path, config: str | None) -> None:
        self.warm = warm
        self.home = str(home.expanduser().resolve())
        self.config = config
        self.socket = protocol.socket_path(home)
        self._lock_file: BinaryIO | None = None
        self._server: _Server | None = None
        self._digest: tuple[int, str] | None = None  # (id of the settings object, its digest)
        self._stopping = threading.Event()

    # --- start and stop -------------------------------------------------------------------------
    def claim(self) -> None:
        """Take the socket for this process, or raise LockedError naming the daemon that has it.

        The flock on ``<socket>.lock`` is the truth: held, a live daemon serves here; free, any
        socket file left is a dead daemon's and goes.
        """
        if not protocol.safe_socket(self.socket, create_dir=True):
            raise ConfigError(
                f"{self.socket} (or its directory) belongs to another user or is not a socket.",
                hint=f"Remove {self.socket} if it is yours, or run with another --home.",
            )
        lock_path = self.socket.with_name(self.socket.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        lock = os.fdopen(fd, "r+b")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = lock.read().decode(errors="replace").strip() or "unknown"
            lock.close()
            raise LockedError(
                f"A paperbrief daemon (pid {holder}) already serves {self.home} on {self.socket}.",
                hint="Use that one, or stop it (kill the pid above) before starting another.",
            ) from None
        lock.truncate(0)
        lock.write(str(os.getpid()).encode())
        lock.flush()
        self._lock_file = lock
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()
            log.info("removed %s, left by a daemon that is gone", self.socket)

    def listen(self) -> None:
        """Bind the socket (0600 from the start: the umask is set around bind) and listen."""
        assert self._lock_file is not None, "claim() first"
        self._server = _Server(str(self.socket), self)

    def run(self, *, ready: Callable[[], None] | None = None) -> None:
        """Serve until SIGTERM/SIGINT (or ``stop()``), then finish the requests in flight and
        remove the socket."""
        assert self._server is not None, "listen() first"
        server = self._server

        def on_signal(signum: int, _frame: object) -> None:
            log.info("signal %d: stopping", signum)
            # shutdown() waits for serve_forever, which runs in this very thread: not from here.
            threading.Thread(target=server.shutdown, daemon=True).start()

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        threading.Thread(target=self._refresh, name="refresh", daemon=True).start()
        try:
            if ready is not None:
                ready()
            server.serve_forever(poll_interval=0.2)
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
            self.close()

    def _refresh(self) -> None:
        """Reopen the store after another process wrote, and load it once writes have been
        quiet for a tick: the first question after the daily run is then as quick as any.
        While a backfill writes batch after batch, only the (cheap) reopen happens."""
        current: object = None
        pending = False
        while not self._stopping.wait(REFRESH_EVERY):
            try:
                with self.warm.use() as agent:  # reopens when the revision moved
                    store = agent.store
                if store is not current:
                    current, pending = store, current is not None
                elif pending:
                    log.info("the store changed: loading it again before the next question")
                    self.warm.warm_up()
                    pending = False
            except Exception as exc:  # the next question meets (and reports) the same failure
                log.debug("refresh failed: %s", exc)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()

    def close(self) -> None:
        """Stop listening, wait for requests in flight, remove the socket, free the lock."""
        self._stopping.set()
        if self._server is not None:
            self._server.server_close()
            self._server = None
            with contextlib.suppress(FileNotFoundError):
                self.socket.unlink()
        if self._lock_file is not None:
            self._lock_file.close()  # releases the flock
            self._lock_file = None
        self.warm.close()

    # --- one request ------------------------------------------------------------------------------
    def answer(self, request: dict[str, Any], emit: Emit) -> dict[str, Any]:
        """The final reply to one request; ``emit`` sends events before it (a streamed ask)."""
        if request.get("v") != protocol.PROTOCOL:
            why = f"protocol {request.get('v')!r}, not {protocol.PROTOCOL}"
            return protocol.unavailable_reply(why)
        op = request.get("op")
        if op == "ping":
            return {"ok": True, "result": {"pid": os.getpid(), "home": self.home}}
        if op not in _OPS:
            return protocol.unavailable_reply(f"unknown operation {op!r}")
        try:
            with self.warm.use() as agent:
                mismatch = self._mismatch(request, agent.settings)
                if mismatch:
                    log.debug("not serving a client: %s", mismatch)
                    return protocol.unavailable_reply(mismatch)
                try:
                    return {"ok": True, "result": _OPS[op](agent, request.get("args") or {}, emit)}
                except PaperbriefError as exc:
                    return protocol.error_reply(exc)
        except PaperbriefError as exc:
            # Raised before the question was asked (the config file no longer loads, the store
            # cannot be opened): the client loads its own and says what is wrong, if anything.
            log.warning("cannot serve: %s", exc)
            return protocol.unavailable_reply(f"daemon not ready: {exc}")

    def _mismatch(self, request: dict[str, Any], settings: Settings) -> str | None:
        if request.get("home") != self.home or protocol.home_of(settings) != self.home:
            return f"another home ({request.get('home')!r}; this daemon serves {self.home!r})"
        if request.get("config") != self.config:
            return f"another config file ({request.get('config')!r}, not {self.config!r})"
        if self._digest is None or self._digest[0] != id(settings):
            self._digest = (id(settings), protocol.settings_digest(settings))
        if request.get("settings") != self._digest[1]:
            return "other settings (environment variables differ from the daemon's)"
        return None


# --- operations ---------------------------------------------------------------------------------
def _search(agent: PaperAgent, args: dict[str, Any], emit: Emit) -> dict[str, Any]:
    hits = agent.search(
        str(args.get("query", "")),
        k=int(args.get("k", 10)),
        since=args.get("since"),
        category=args.get("category"),
        source=args.get("source"),
    )
    empty = None
    if not hits and (info := agent.status())["papers"] == 0:
        empty = str(info["store"])
    return {"hits": [h.model_dump(mode="json") for h in hits], "empty_store": empty}


def _ask(agent: PaperAgent, args: dict[str, Any], emit: Emit) -> dict[str, Any]:
    def on_delta(text: str) -> None:
        emit({"event": "delta", "text": text})

    def on_tool_call(call: ToolCall) -> None:
        emit({"event": "tool_call", "call": call.model_dump(mode="json")})

    answer = agent.ask(
        str(args.get("question", "")),
        since=args.get("since"),
        k=args.get("k"),
        category=args.get("category"),
        source=args.get("source"),
        agentic=args.get("agentic"),
        stream=on_delta if args.get("stream") else None,
        on_tool_call=on_tool_call if args.get("tool_calls") else None,
    )
    return {"answer": answer.model_dump(mode="json")}


_OPS: dict[str, Callable[[PaperAgent, dict[str, Any], Emit], dict[str, Any]]] = {
    "search": _search,
    "ask": _ask,
}


# --- the socket server ----------------------------------------------------------------------------
class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        started = time.perf_counter()
        send = _Sender(self.wfile)
        try:
            line = self.rfile.readline(protocol.MAX_REQUEST)
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            send(protocol.unavailable_reply(f"bad request: {exc}"))
            return
        try:
            reply = self.server.daemon.answer(request, send)
        except Exception:  # a bug here must not take the daemon down; the client falls back
            log.exception("request %s failed", request.get("op"))
            reply = protocol.unavailable_reply("internal error in the daemon (see its log)")
        send(reply)
        took = (time.perf_counter() - started) * 1000
        log.debug("%s answered in %.0f ms", request.get("op"), took)


class _Sender:
    """Writes JSON lines to one client; a client that hung up is noted, not an error."""

    def __init__(self, wfile: BufferedIOBase) -> None:
        self.wfile = wfile
        self.gone = False

    def __call__(self, message: dict[str, Any]) -> None:
        if self.gone:
            return
        try:
            self.wfile.write(protocol.dump(message))
            self.wfile.flush()
        except OSError:  # BrokenPipe, ConnectionReset: the client stopped waiting (Ctrl-C)
            self.gone = True


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    # Requests in flight finish before server_close() returns (a clean SIGTERM).
    daemon_threads = False
    block_on_close = True
    request_queue_size = 64

    def __init__(self, path: str, daemon: Daemon) -> None:
        self.daemon = daemon
        self.path = path
        super().__init__(path, _Handler)

    def server_bind(self) -> None:
        with _umask(0o177):
            self.socket.bind(self.path)
        os.chmod(self.path, 0o600)  # whatever the umask did, say so explicitly


@contextlib.contextmanager
def _umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def serve_daemon(
    load: Callable[[], Settings], config: Path | str | None, *, on_ready: Callable[[Path], None]
) -> None:
    """`paperbrief serve`: claim the socket, warm up, answer until Ctrl-C or SIGTERM.

    ``load`` builds the settings (again when the config file changes); ``config`` is the
    ``--config`` given (None: the default lookup); ``on_ready(socket)`` runs once it listens.
    """
    if os.name != "posix":
        raise ConfigError(
            "paperbrief serve needs Unix sockets (Linux, macOS, WSL).",
            hint="Run search and ask without it: they answer by themselves.",
        )
    settings = load()  # a broken config fails here, before anything is claimed
    config_path = protocol.config_file(config)
    warm = WarmAgent(load, config=Path(config_path) if config_path else None)
    daemon = Daemon(warm, home=settings.home, config=config_path)
    daemon.claim()
    try:
        warm.warm_up()  # before listening: until ready, clients answer in-process
        daemon.listen()
    except BaseException:
        daemon.close()
        raise
    daemon.run(ready=lambda: on_ready(daemon.socket))


def ping(path: Path, timeout: float = 1.0) -> dict[str, Any] | None:
    """The pid and home of the daemon answering on ``path``, or None."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(path))
            s.sendall(protocol.dump({"v": protocol.PROTOCOL, "op": "ping"}))
            reply = json.loads(s.makefile("rb").readline())
    except (OSError, ValueError):
        return None
    return reply.get("result") if reply.get("ok") else None


__all__ = ["Daemon", "ping", "serve_daemon"]
