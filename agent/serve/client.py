"""The client side of `paperbrief serve`: one question to the warm daemon, or None.

``ask_daemon(settings, config, "search", {...})`` returns the daemon's result, or None when
there is no daemon for this home, config file and settings (or it failed): the caller then does
the work itself, so the daemon only ever makes a command faster, never different. A
PaperbriefError the command would have raised in-process (a bad --since, an empty query) comes
back as the same error.

Cheap to import (json; socket when a question is asked): the CLI calls it before anything heavy
is loaded.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.serve import protocol

if TYPE_CHECKING:
    import socket

    from agent.config import Settings

log = logging.getLogger(__name__)

#: Connecting to a live Unix socket takes microseconds; a daemon that does not accept in this
#: long is stuck, and the command answers itself.
CONNECT_TIMEOUT = 0.5
#: Longest wait for the next line of an answer (an ask behind another client's LLM call).
READ_TIMEOUT = 600.0


def ask_daemon(
    settings: Settings,
    config: Path | None,
    op: str,
    args: dict[str, Any],
    *,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any] | None:
    """The result of ``op`` from the daemon serving this home, config file (``config``: the
    ``--config`` given, None for the default lookup) and settings, or None: then answer
    in-process (logged at debug). A PaperbriefError the command raised comes back raised."""
    from store.phases import phase

    path = protocol.socket_path(settings.home)
    if not protocol.safe_socket(path):
        log.warning("not using %s: it is not this user's socket", path)
        return None
    message = {
        "v": protocol.PROTOCOL,
        "op": op,
        "home": protocol.home_of(settings),
        "config": protocol.config_file(config),
        "settings": protocol.settings_digest(settings),
        "args": args,
    }
    try:
        with phase("daemon connect"):
            conn = _connect(str(path))
    except OSError as exc:  # no daemon, or a dead one's socket
        log.debug("no daemon on %s (%s): answering in-process", path, exc)
        return None
    try:
        with conn, phase(f"daemon {op}"):
            reply = _exchange(conn, protocol.dump(message), on_event)
    except (OSError, ValueError) as exc:  # it died, hung or answered garbage
        log.debug("the daemon on %s failed (%s): answering in-process", path, exc)
        return None
    if reply.get("ok"):
        log.debug("answered by the daemon on %s", path)
        return reply.get("result")
    error = reply.get("error") or {}
    if error.get("kind") == "error":
        raise protocol.rebuild_error(error)
    log.debug("daemon on %s cannot answer (%s): answering in-process", path, error.get("reason"))
    return None


def _connect(path: str) -> socket.socket:
    import socket  # ~9 ms: not for `paperbrief --help`

    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(CONNECT_TIMEOUT)
        s.connect(path)
    except OSError:
        s.close()
        raise
    return s


def _exchange(
    s: socket.socket, data: bytes, on_event: Callable[[dict[str, Any]], None] | None
) -> dict[str, Any]:
    s.settimeout(READ_TIMEOUT)
    s.sendall(data)
    with s.makefile("rb") as lines:
        for line in lines:
            message = json.loads(line)
            if not isinstance(message, dict):
                raise ValueError(f"not a message: {line[:80]!r}")
            if "event" not in message:
                return message
            if on_event is not None:
                on_event(message)
    raise ConnectionResetError("the daemon closed the connection before answering")


__all__ = ["ask_daemon"]
