"""`paperbrief backfill`: store a long window of arXiv submissions, resumably."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from cli import output

if TYPE_CHECKING:
    from agent import BackfillResult
    from cli.state import AppState


def register(app: typer.Typer, state: AppState) -> None:
    @app.command()
    def backfill(
        since: Annotated[str, typer.Option(help="First day of the window: 365d, 12w, 2025-11-01.")],
        until: Annotated[
            str | None, typer.Option(help="Last day of the window (default: today).")
        ] = None,
        category: Annotated[
            list[str] | None,
            typer.Option(
                "--category",
                "--categories",
                "-c",
                help="arXiv categories (repeatable or comma-separated); default: settings.",
            ),
        ] = None,
        query: Annotated[
            str | None, typer.Option("--query", "-q", help="Only papers matching, e.g. all:llm")
        ] = None,
        page_size: Annotated[
            int, typer.Option(help="Papers per arXiv request (and per write).", min=1, max=2000)
        ] = 500,
        as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    ) -> None:
        """Store every arXiv paper submitted in a window (e.g. --since 365d); resumable.

        Pages through arXiv's API a day at a time, politely (one request every 3 s), writing
        each page as it arrives. Stop it any time (Ctrl-C) and run the same command again: it
        resumes where it stopped. Exit 1 when something is still missing."""
        from agent import run_backfill

        cats = [c.strip() for value in category or [] for c in value.split(",") if c.strip()]
        agent = state.agent()
        with _progress(not as_json) as progress:
            result = run_backfill(agent, since, until, categories=cats or None, query=query,
                                  page_size=page_size, progress=progress)  # fmt: skip
        if as_json:
            output.print_json(result.model_dump(mode="json") | {"complete": result.complete})
        else:
            _print_result(result)
        raise typer.Exit(0 if result.complete else 1)


@contextmanager
def _progress(enabled: bool) -> Iterator[output.Progress | None]:
    """One bar over the window's days, with the time left (days vary: weekends are empty)."""
    err = output.err_console()
    if not enabled or not err.is_terminal:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("backfill {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("days"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )
    task = bar.add_task("", total=None)

    def update(stage: str, done: int, total: int | None) -> None:
        bar.update(task, description=stage, completed=done, total=total)

    with bar:
        yield update


def _print_result(result: BackfillResult) -> None:
    covered = result.days_done + result.days_already
    minutes, seconds = divmod(int(result.seconds), 60)
    out = output.console()
    out.print(
        f"backfill {result.since}..{result.until} ({', '.join(result.categories)}): "
        f"new {result.new}, updated {result.updated}, unchanged {result.unchanged} "
        f"from {result.pages} pages in {minutes}m{seconds:02d}s",
        markup=False,
    )
    out.print(
        f"days covered {covered} of {result.days} (this run {result.days_done}, "
        f"earlier runs {result.days_already})"
        + (f"; resumed at {result.resumed_at}" if result.resumed_at else ""),
        markup=False,
    )
    err = output.err_console()
    for failure in result.failures[:20]:
        err.print(output.terminal_text(f"  skipped {failure.item}: {failure.reason}"))
    if not result.complete:
        err.print("Run the same command again to fetch what is missing.", markup=False)
