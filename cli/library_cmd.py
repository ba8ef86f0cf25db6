"""`paperbrief library import|list|remove` and `paperbrief rate`: what a reader tells paperbrief
about their taste, per profile; the digest's ranker learns from both."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli import output

if TYPE_CHECKING:
    from cli.state import AppState

# Shared option declarations: every reader command takes the same two.
Profile = Annotated[
    str | None,
    typer.Option(
        "--profile",
        "-p",
        help="Reader profile: a profiles.NAME table of the config file (default: the \\[digest] "
        "settings).",
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
MAX_SKIPS_SHOWN = 30


def register(app: typer.Typer, state: AppState) -> None:
    _register_library(app, state)
    _register_rate(app, state)


def _register_library(app: typer.Typer, state: AppState) -> None:
    library = typer.Typer(
        help="Your own papers (a Zotero/BibTeX/RIS/CSL-JSON/CSV export or an id list) as the "
        "taste the digest ranks by, one library per profile.",
        no_args_is_help=True,
    )
    app.add_typer(library, name="library")

    @library.command(
        "import",
        help="Import a library file into the profile (re-importing it updates, never piles up)."
        "\n\nThe whole file is read first: a malformed entry stops the import, naming its line, "
        "and nothing is stored. Ids not yet in the store are skipped, each with the command that "
        "fetches it.",
    )
    def import_(
        file: Annotated[
            Path,
            typer.Argument(
                help="BibTeX, RIS, CSL-JSON, Zotero CSV, or one arXiv id / DOI / title a line."
            ),
        ],
        profile: Profile = None,
        as_json: AsJson = False,
    ) -> None:
        report = state.agent().import_library(file, profile=profile)
        if as_json:
            output.print_json(report.model_dump(mode="json"))
            return
        _print_import(report)

    @library.command("list")
    def list_(profile: Profile = None, as_json: AsJson = False) -> None:
        """The profile's library: key, year and title of each item."""
        entries = state.agent().library(profile=profile)
        if as_json:
            output.print_json([e.model_dump(mode="json") for e in entries])
            return
        if not entries:
            output.err_console().print(
                "The library is empty: add papers with `paperbrief library import FILE`."
            )
            return
        _print_entries(entries)

    @library.command("remove")
    def remove(
        keys: Annotated[
            list[str] | None,
            typer.Argument(help="Keys from `library list` (a bare arXiv id or DOI works too)."),
        ] = None,
        everything: Annotated[
            bool, typer.Option("--all", help="Empty the profile's library.")
        ] = False,
        profile: Profile = None,
        as_json: AsJson = False,
    ) -> None:
        """Remove items from the profile's library (unknown keys: nothing is removed)."""
        agent = state.agent()
        removed = agent.remove_from_library(keys or [], profile=profile, everything=everything)
        remaining = len(agent.library(profile=profile))
        if as_json:
            output.print_json({"removed": removed, "remaining": remaining})
            return
        output.console().print(f"removed {removed}; {remaining} left in the library")


def _register_rate(app: typer.Typer, state: AppState) -> None:
    @app.command()
    def rate(
        paper_id: Annotated[str, typer.Argument(help="A stored paper's id (as search shows it).")],
        value: Annotated[str, typer.Argument(help="up, down, or clear to forget the rating.")],
        profile: Profile = None,
        as_json: AsJson = False,
    ) -> None:
        """Rate a paper up or down for a profile; its next digest ranks by it."""
        rating = state.agent().rate(paper_id, value, profile=profile)
        if as_json:
            output.print_json(rating.model_dump(mode="json"))
            return
        verb = {1: "rated up", -1: "rated down", 0: "cleared the rating of"}[rating.value]
        line = f"{rating.profile}: {verb} {rating.paper_id} {rating.title}"
        output.console().print(output.terminal_text(line), soft_wrap=True)


def _print_import(report: Any) -> None:
    """Keys, reasons and file names come from the user's file: printed as terminal_text."""
    con, err = output.console(), output.err_console()
    for skip in report.skipped[:MAX_SKIPS_SHOWN]:
        where = f"line {skip.line}" if skip.line else skip.key
        label = skip.key if skip.key == where else f"{skip.key} ({where})"
        line = f"  skipped {label}: {skip.reason}"
        err.print(output.terminal_text(line, style="yellow"), soft_wrap=True)
    if len(report.skipped) > MAX_SKIPS_SHOWN:
        err.print(f"  … and {len(report.skipped) - MAX_SKIPS_SHOWN} more skipped")
    con.print(
        output.terminal_text(
            f"{report.profile}: imported {report.imported} ({report.new} new) from {report.file} "
            f"({report.format}), "
            f"{report.duplicates} duplicates, {len(report.skipped)} skipped; "
            f"library size {report.total}"
        ),
        soft_wrap=True,
    )


def _print_entries(entries: list[Any]) -> None:
    from rich.table import Table

    table = Table(expand=True)
    table.add_column("key", ratio=2, overflow="fold")
    table.add_column("year", justify="right", width=4, no_wrap=True)
    table.add_column("title", ratio=3)
    text = output.terminal_text  # keys and titles come from the user's file
    for entry in entries:
        table.add_row(text(entry.key), str(entry.year or ""), text(entry.title))
    output.console().print(table)
    output.err_console().print(f"{len(entries)} items")
