"""Consoles, logging set-up and report printing: the only place paperbrief writes to a terminal."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID
    from rich.style import Style
    from rich.text import Text

    from agent import RunReport

#: progress(stage, done, total), as agent's long steps call it (total None: unknown).
Progress = Callable[[str, int, int | None], None]


# Terminal control in untrusted text (titles, abstracts, model output, file contents): whole
# sequences go, not just their ESC, so no "[31m" debris is left behind. OSC and the other string
# controls (DCS, SOS, PM, APC) run to their terminator (BEL or ST), or to the end if it is missing.
# A backslash after ESC is tolerated: Markdown answers arrive with "[" and "]" escaped.
_SEQUENCE = re.compile(
    r"(?:\x1b\\?\]|\x1b[PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\{1,2}|\x9c)?"
    r"|(?:\x1b\\?\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"  # CSI: colours, cursor moves
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?"  # any other ESC sequence
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # C0 but tab and newline; DEL; C1
_BREAKS = re.compile(r"[\t\n\r\v\f\x85\u2028\u2029]+")
_C1 = re.compile(r"[\x7f-\x9f]")


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
    handler.addFilter(_clean_record)
    root = logging.getLogger()
    handler.setLevel(level)
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Third-party chatter stays at WARNING unless -vv.
    for noisy in ("httpx", "httpcore", "chromadb", "openai", "urllib3", "bm25s"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbosity > 1 else logging.WARNING)


def _clean_record(record: logging.LogRecord) -> bool:
    """Log messages quote titles, files and servers' replies: cleaned like any terminal text."""
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: leave it to the handler's usual error report
        return True
    record.msg, record.args = clean(message), None
    return True


def print_json(data: Any) -> None:
    # JSON already escapes C0 controls; DEL and C1 (0x9b is a one-byte CSI) are escaped too, so
    # the same values reach a terminal inert.
    text = json.dumps(data, indent=2, default=str, ensure_ascii=False)
    sys.stdout.write(_C1.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n")
    sys.stdout.flush()


def clean(text: str, *, one_line: bool = False) -> str:
    """Untrusted text made safe for a terminal: escape sequences (colours, cursor moves, OSC
    titles and hyperlinks) and other control characters removed; tabs and newlines kept, or
    with ``one_line`` (titles, names) folded into single spaces. A password or token written
    into a URL (an endpoint quoted by an error or a log line) is masked."""
    from agent import mask_url

    text = mask_url(_SEQUENCE.sub("", text))
    if one_line:
        return " ".join(_CONTROL.sub("", _BREAKS.sub(" ", text)).split())
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def terminal_text(text: str, style: str | Style = "", *, one_line: bool = False) -> Text:
    """Untrusted text as a rich Text: ``clean``, and brackets are never read as markup."""
    from rich.text import Text

    return Text(clean(text, one_line=one_line), style=style)


def print_error(message: str, hint: str = "") -> None:
    from rich.markup import escape

    # Messages quote what they refuse (a file's line, a server's reply): cleaned like any input.
    err_console().print(f"[bold red]Error:[/] {escape(clean(message))}", soft_wrap=True)
    if hint:
        err_console().print(f"[bold]Fix:[/] {escape(clean(hint))}", soft_wrap=True)


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Progress | None]:
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
    tasks: dict[str, TaskID] = {}

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
    from rich.markup import escape as escape_markup

    def escape(text: str) -> str:  # messages quote feeds and files: untrusted
        return escape_markup(clean(text))

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
    for failure in report.failures[:20]:  # a record skipped, or a later step's failure
        what = "skipped" if failure.step == "fetch" else f"{failure.step} failed for"
        out.print(f"[red]  {what} {escape(failure.item)}:[/] {escape(failure.reason)}")
    if len(report.failures) > 20:
        out.print(f"  … and {len(report.failures) - 20} more skipped records")
