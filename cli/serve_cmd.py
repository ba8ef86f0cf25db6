"""`paperbrief serve`: keep a warm process that answers `search` and `ask` in milliseconds."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cli import output

if TYPE_CHECKING:
    from cli.state import AppState


def register(app: typer.Typer, state: AppState) -> None:
    @app.command()
    def serve() -> None:
        """Answer `search` and `ask` from a warm process on a Unix socket in the home.

        Runs in the foreground until Ctrl-C or SIGTERM (run it under systemd, launchd or tmux).
        `search` and `ask` use it when it serves the same home, config file and settings, and
        answer by themselves otherwise; it reopens the store when another process writes and
        reloads the config file when it changes.
        """
        from agent import Settings, serve_daemon

        started = time.perf_counter()
        state.settings()  # a broken config fails here, before anything is claimed
        err = output.err_console()

        def ready(socket: Path) -> None:
            err.print(
                f"paperbrief serve: ready in {time.perf_counter() - started:.1f} s; answering "
                f"search and ask for {state.settings().home} on {socket}. Stop with Ctrl-C or "
                "SIGTERM.",
                markup=False,
                highlight=False,
            )

        serve_daemon(
            lambda: Settings.load(state.config, home=state.home), state.config, on_ready=ready
        )
        err.print("paperbrief serve: stopped.", markup=False, highlight=False)
