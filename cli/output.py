"""Consoles, logging set-up and report printing: the only place paperbrief writes to a terminal."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from agent import RunReport


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@cache
def console() -> Console:
    from rich.console import Console

    return Console()


@cache
def err_console() -> Console:
    from rich.console import Console

    return Console(stderr=True)


def setup_logging(verbosity: int) -> None:
    from rich.logging import RichHandler

    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    handler = RichHandler(console=err_console(), show_path=verbosity > 1, markup=False)
    root = logging.getLogger()
    handler.setLevel(level)
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Third-party chatter stays at WARNING unless -vv.
    for noisy in ("httpx", "httpcore", "chromadb", "openai", "urllib3", "bm25s"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbosity > 1 else logging.WARNING)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def terminal_text(text: str, style: str = "") -> Text:
    """Untrusted text (a title from a feed or a user's file) as a rich Text: brackets are not
    read as markup, and control characters (ESC sequences that recolour or retitle a terminal)
    are dropped."""
    from rich.text import Text

    return Text(_CONTROL.sub("", text), style=style)


def print_error(message: str, hint: str = "") -> None:
    from rich.markup import escape

    err_console().print(f"[bold red]Error:[/] {escape(message)}", soft_wrap=True)
    if hint:
        err_console().print(f"[bold]Fix:[/] {escape(hint)}", soft_wrap=True)


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Any]:
    """Yield a ``progress(stage, done, total)`` callback drawing a rich bar on stderr."""
    if not enabled or not err_console().is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console(),
        transient=True,
    )
    tasks: dict[str, Any] = {}

    def update(stage: str, done: int, total: int | None) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done, total=total)

    with bar:
        yield update


def report_line(report: RunReport) -> str:
    """The one-line summary every ingest ends with."""
    parts = [
        f"fetched {report.total('fetched')}",
        f"new {report.total('new')}",
        f"updated {report.total('updated')}",
        f"unchanged {report.total('unchanged')}",
        f"failed {report.total('failed') + sum(1 for s in report.sources if s.status == 'failed')}",
    ]
    return f"{report.step}: " + ", ".join(parts)


def print_source_statuses(report: RunReport) -> None:
    from rich.markup import escape

    out = err_console()
    for src in report.sources:
        if src.status == "failed":
            out.print(f"[red]✗ {escape(src.source)} failed:[/] {escape(src.message)}")
            if src.hint:
                out.print(f"  [bold]Fix:[/] {escape(src.hint)}")
        elif src.status == "empty":
            out.print(f"[yellow]○ {escape(src.source)}:[/] {escape(src.message)}")
        else:
            out.print(f"[green]✓ {escape(src.source)}[/] fetched {src.fetched}, new {src.new}")
    for failure in report.failures[:20]:
        out.print(f"[red]  skipped {escape(failure.item)}:[/] {escape(failure.reason)}")
    if len(report.failures) > 20:
        out.print(f"  … and {len(report.failures) - 20} more skipped records")
