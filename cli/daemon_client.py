"""The CLI's side of `paperbrief serve`: whether to look for the warm daemon, the --no-daemon
option, and the request (agent.serve.client.ask_daemon: None means answer in-process, so the
daemon only ever makes a command faster, never different).

Cheap to import (json; socket when a command runs): it runs before anything heavy is loaded.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from cli.state import AppState

log = logging.getLogger(__name__)

#: PAPERBRIEF_DAEMON=0 (or --no-daemon) answers in-process without looking for a daemon.
ENV = "PAPERBRIEF_DAEMON"

NoDaemon = Annotated[
    bool,
    typer.Option(
        "--no-daemon", help="Answer in this process even when `paperbrief serve` is running."
    ),
]


def wanted(no_daemon: bool = False) -> bool:
    """Look for a daemon? Not with --no-daemon or PAPERBRIEF_DAEMON=0, nor without Unix sockets
    and flock (`paperbrief serve` is POSIX only)."""
    if no_daemon or os.name != "posix":
        return False
    return os.environ.get(ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def request(
    state: AppState,
    op: str,
    args: dict[str, Any],
    *,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any] | None:
    """The daemon's result for ``op``, or None: then answer in-process (logged at debug)."""
    from agent import ask_daemon

    return ask_daemon(state.settings(), state.config, op, args, on_event=on_event)


__all__ = ["ENV", "NoDaemon", "request", "wanted"]
