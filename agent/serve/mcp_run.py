"""Running `paperbrief mcp`: the transport (stdio, or streamable HTTP on a checked address),
the warm agent behind the tools, and the warm-up beside the transport.

HTTP binds to loopback unless the caller allows otherwise: the server has no authentication,
so a public address would hand the store (and, with --allow-writes, the ratings) to anyone who
can reach the port.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from agent.serve.mcp_server import build_server

if TYPE_CHECKING:
    from agent.config import Settings
    from agent.serve.warm import WarmAgent

log = logging.getLogger(__name__)

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    import ipaddress

    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_http(value: str, *, allow_remote: bool = False) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) -> (host, port); a non-loopback host only with
    ``allow_remote``, since the server has no authentication."""
    from agent.errors import InputError

    host, sep, port_text = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InputError(
            f"Cannot read --http {value!r}.",
            hint="Give HOST:PORT, e.g. --http 127.0.0.1:8765 (or [::1]:8765).",
        )
    if not allow_remote and not is_loopback(host):
        raise InputError(
            f"Refusing to serve MCP on {host}: it is not a loopback address, and the server has "
            "no authentication, so anyone who can reach the port could read your store.",
            hint="Use --http 127.0.0.1:PORT, or add --allow-remote to serve other machines "
            "(behind a proxy that authenticates).",
        )
    return host, int(port_text)


def check_port(host: str, port: int) -> None:
    """Fail with a clear message now, not with uvicorn's exit after the warm-up started."""
    import socket

    from agent.errors import InputError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise InputError(
                f"Cannot listen on {host}:{port}: {exc.strerror or exc}.",
                hint="Pick another port, or stop the program that uses this one.",
            ) from None


def serve_mcp(
    load: Callable[[], Settings],
    *,
    config: Path | None = None,
    lock_wait: float = 0.0,
    allow_writes: bool = False,
    http: str | None = None,
    allow_remote: bool = False,
    announce: Callable[[str], None] | None = None,
) -> None:
    """``paperbrief mcp``: serve the store over stdio, or streamable HTTP on ``http``
    (``HOST:PORT``, loopback unless ``allow_remote``). ``load`` builds the settings (again when
    the ``config`` file changes); ``announce`` gets the HTTP endpoint once the port is free."""
    from agent.pipeline import PaperAgent
    from agent.serve.warm import WarmAgent

    address = parse_http(http, allow_remote=allow_remote) if http else None
    if address is not None:
        check_port(*address)
    load()  # a broken config fails here, once, with its hint; not at every tool call
    warm = WarmAgent(
        load, config=config, make_agent=lambda settings: PaperAgent(settings, lock_wait=lock_wait)
    )
    if address is not None and announce is not None:
        announce(url_of(*address))
    serve(warm, allow_writes=allow_writes, http=address)


def serve(
    warm: WarmAgent,
    *,
    allow_writes: bool = False,
    http: tuple[str, int] | None = None,
) -> None:
    """Warm up in the background and serve until the client goes away (stdio) or Ctrl-C (HTTP).

    The warm-up (store, model, BM25 index) runs beside the transport so ``initialize`` is
    answered at once; a tool call that arrives meanwhile waits for it on the warm agent's lock.
    """
    server = build_server(warm, allow_writes=allow_writes)
    warming = threading.Thread(target=_warm_up, args=(warm,), name="warm-up", daemon=True)
    warming.start()
    try:
        if http is None:
            server.run("stdio")
        else:
            host, port = http
            server.run("streamable-http", host=host, port=port)
    finally:
        # A client that leaves during the warm-up should not wait for it: the thread is a
        # daemon and holds nothing that needs closing (the writer lock is never taken there).
        if not warming.is_alive():
            warm.close()


def _warm_up(warm: WarmAgent) -> None:
    started = time.perf_counter()
    try:
        warm.warm_up()
    except Exception as exc:  # the first tool call meets the same error and reports it
        log.warning("warm-up failed: %s", exc)
    else:
        log.info("warmed up in %.2f s (store, model, BM25 index)", time.perf_counter() - started)


def url_of(host: str, port: int) -> str:
    """The endpoint a client connects to."""
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/mcp"


__all__ = ["check_port", "is_loopback", "parse_http", "serve", "serve_mcp", "url_of"]
