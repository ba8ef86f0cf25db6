"""`paperbrief ingest`: pull new abstracts from the configured sources (or a file)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli import output

if TYPE_CHECKING:
    from cli.state import AppState


def register(app: typer.Typer, state: AppState) -> None:
    @app.command()
    def ingest(
        source: Annotated[
            list[str] | None,
            typer.Option(
                "--source",
                "-s",
                help="Source to pull: arxiv-rss, arxiv, hf (repeatable). "
                "Default: the `sources` setting.",
            ),
        ] = None,
        file: Annotated[
            Path | None,
            typer.Option(
                "--file",
                "-f",
                help="Ingest a local file (JSONL, CSV, arXiv Atom, HF JSON, "
                "or pasted text blocks).",
            ),
        ] = None,
        fmt: Annotated[
            str | None,
            typer.Option("--format", help="Force the file format: jsonl, csv, atom, hf, text."),
        ] = None,
        category: Annotated[
            list[str] | None,
            typer.Option(
                "--category", "-c", help="arXiv category (repeatable); default: settings."
            ),
        ] = None,
        query: Annotated[
            str | None,
            typer.Option("--query", "-q", help="arxiv: search query, e.g. all:diffusion"),
        ] = None,
        since: Annotated[
            str | None, typer.Option(help="arxiv/hf: first day of the window (2026-11-20, 3d).")
        ] = None,
        until: Annotated[str | None, typer.Option(help="arxiv/hf: last day of the window.")] = None,
        day: Annotated[str | None, typer.Option("--date", help="hf: one day's papers.")] = None,
        max_results: Annotated[
            int | None, typer.Option(help="arxiv: most papers to fetch.", min=1)
        ] = None,
        announce_type: Annotated[
            list[str] | None,
            typer.Option(help="arxiv-rss: new, cross, replace, replace-cross (repeatable)."),
        ] = None,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print the run report as JSON.")
        ] = False,
    ) -> None:
        """Fetch new papers and store them (embedded, deduplicated, resumable)."""
        from agent import FetchRequest, parse_day

        _check_file(file)
        request = FetchRequest(
            categories=category or None,
            query=query,
            since=parse_day(since),
            until=parse_day(until),
            day=parse_day(day),
            max_results=max_results,
            path=file,
            format=fmt,
            announce_types=announce_type or None,
        )
        agent = state.agent()
        with output.progress_bar(not as_json) as progress, _report_only(state.verbosity):
            report = agent.ingest(source or None, request=request, progress=progress)
        if as_json:
            output.print_json(report.model_dump(mode="json"))
        else:
            output.print_source_statuses(report)
            for note in report.notes:  # e.g. an over-long abstract that was cut
                output.err_console().print(note, markup=False, soft_wrap=True)
            output.console().print(output.report_line(report))
        raise typer.Exit(report.exit_code)


@contextmanager
def _report_only(verbosity: int) -> Iterator[None]:
    """The run report names each failed source and its fix; agent.ingest's warning about the
    same failure would print it twice (still shown with -v)."""
    logger = logging.getLogger("agent.ingest")
    level = logger.level
    if verbosity == 0:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _check_file(file: Path | None) -> None:
    """A --file that is not there is bad input: said once, before the store and the embedding
    model are loaded (not also as a failed source)."""
    from agent import InputError

    if file is not None and not file.expanduser().is_file():
        problem = "is a directory" if file.expanduser().is_dir() else "no such file"
        raise InputError(
            f"--file {file}: {problem}.",
            hint="Check the path (a relative one starts in the current directory).",
        )
