"""`paperbrief status`, `reindex` and `config show`: looking after the store and settings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cli import output

if TYPE_CHECKING:
    from cli.state import AppState


def register(app: typer.Typer, state: AppState) -> None:
    config_app = typer.Typer(help="Inspect the effective configuration.", no_args_is_help=True)
    app.add_typer(config_app, name="config")

    @app.command()
    def status(
        as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
    ) -> None:
        """Counts of papers and chunks, last ingest per source, store path, embedding model."""
        from rich.text import Text

        info = state.agent().status()
        if as_json:
            output.print_json(info)
            return
        con = output.console()
        con.print(f"[bold]papers[/]          {info['papers']}")
        con.print(f"[bold]chunks[/]          {info['chunks']}")
        con.print(f"[bold]store[/]           {info['store']}")
        con.print(f"[bold]embedding model[/] {info['embedding_model']}")
        bm25 = "fresh" if info["bm25_fresh"] else "stale (rebuilt on next search)"
        con.print(f"[bold]BM25 index[/]      {bm25}")
        if info["last_ingest"]:
            con.print("[bold]last ingest[/]")
            for name, run in sorted(info["last_ingest"].items()):
                line = f"  {name}: {run['status']} at {run['at']}, fetched {run['fetched']}, "
                con.print(
                    Text(
                        line
                        + f"new {run['new']}"
                        + (f" ({run['message']})" if run["message"] else "")
                    )
                )
            for key, mark in sorted(info["watermarks"].items()):
                con.print(Text(f"  cursor {key}: up to {mark['value']}"))
        else:
            con.print("[bold]last ingest[/]     never: run `paperbrief ingest`")

    @app.command()
    def reindex() -> None:
        """Re-embed every stored paper with the configured embedding model (after changing it)."""
        with output.progress_bar() as progress:
            report = state.agent().reindex(progress=progress)
        output.console().print(f"reindex: {int(report.counts.get('papers', 0))} papers re-embedded")

    @config_app.command("show")
    def config_show(
        as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
    ) -> None:
        """Print the effective settings (file + environment + defaults), secrets masked."""
        from agent import default_config_path

        settings = state.settings()
        data = settings.masked()
        if as_json:
            output.print_json(data)
            return
        from pydantic import BaseModel
        from rich.table import Table
        from rich.text import Text

        source = state.config or default_config_path()
        output.err_console().print(
            f"config file: {source}" + ("" if source.exists() else " (absent)")
        )
        text = output.terminal_text  # values may come from anywhere: the file, the environment
        table = Table("setting", "value", "meaning", expand=True)
        for name, field in type(settings).model_fields.items():
            group = field.annotation
            if not (isinstance(group, type) and issubclass(group, BaseModel)):
                table.add_row(name, text(str(data[name])), Text(field.description or ""))
                continue
            table.add_section()  # one block per [group] of the config file
            for key, sub in group.model_fields.items():
                value, meaning = text(str(data[name][key])), Text(sub.description or "")
                table.add_row(f"{name}.{key}", value, meaning)
        output.console().print(table)
