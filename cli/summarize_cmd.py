"""`paperbrief summarize`, `paperbrief show ID` and `paperbrief llm check`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli import output

if TYPE_CHECKING:
    from agent import Paper, PaperAgent, RunReport, Summary

REPORT_KEYS = ("summarized", "cached", "failed", "flagged", "llm_calls", "tokens_in", "tokens_out")


def register(app: typer.Typer, get_agent: Callable[[], PaperAgent]) -> None:
    """Add `summarize`, `show` and the `llm` group (`llm check`) to ``app``."""

    @app.command()
    def summarize(
        since: Annotated[
            str | None, typer.Option(help="Only papers published since (7d, 2026-11-20).")
        ] = None,
        limit: Annotated[
            int | None, typer.Option(help="Summarize at most this many papers.", min=1)
        ] = None,
        force: Annotated[
            bool, typer.Option("--force", help="Regenerate even when a cached summary exists.")
        ] = False,
        max_cost: Annotated[
            float | None,
            typer.Option("--max-cost", help="Stop before the run would cost more (USD).", min=0),
        ] = None,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print the run report as JSON.")
        ] = False,
    ) -> None:
        """Write a plain-language summary of every new paper (cached; reruns cost nothing)."""
        agent = get_agent()
        with output.progress_bar(enabled=not as_json) as update:
            callback = (lambda done, total: update("summarize", done, total)) if update else None
            report = agent.summarize(
                since=since, limit=limit, force=force, max_cost=max_cost, progress=callback
            )
        if as_json:
            output.print_json(report_json(report))
        else:
            print_report(report)
        raise typer.Exit(report.exit_code)

    @app.command()
    def show(
        paper_id: Annotated[str, typer.Argument(help="Paper id, e.g. 2401.01234.")],
        as_json: Annotated[
            bool, typer.Option("--json", help="Print paper + summary as JSON.")
        ] = False,
    ) -> None:
        """Print one paper with its summary."""
        from agent import InputError

        agent = get_agent()
        paper = agent.get_paper(paper_id)
        if paper is None:
            raise InputError(
                f"No paper {paper_id!r} in the store.",
                hint="Check the id with `paperbrief search`, or ingest it first.",
            )
        summary = agent.summary(paper_id)
        if as_json:
            output.print_json(
                {
                    "paper": paper.model_dump(mode="json"),
                    "summary": summary.model_dump(mode="json") if summary else None,
                }
            )
            return
        print_paper(paper, summary)

    llm_app = typer.Typer(help="Check the language model endpoint.", no_args_is_help=True)
    app.add_typer(llm_app, name="llm")

    @llm_app.command("check")
    def check(
        as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    ) -> None:
        """Send one tiny request: endpoint, model, structured-output method and latency."""
        result = get_agent().check_llm()
        if as_json:
            output.print_json(result)
        else:
            print_check(result)
        raise typer.Exit(0 if result.get("ok") else 1)


def report_json(report: RunReport) -> dict[str, Any]:
    counts = report.counts
    data: dict[str, Any] = {k: int(counts.get(k, 0)) for k in REPORT_KEYS}
    data["cost"] = round(counts.get("cost", 0.0), 6)
    data["seconds"] = counts.get("seconds", 0.0)
    for key, value in counts.items():
        data.setdefault(key, value)
    data["failures"] = [f.model_dump() for f in report.failures]
    data["notes"] = report.notes
    data["ok"] = report.ok
    return data


def print_report(report: RunReport) -> None:
    from rich.table import Table

    escape = _escape

    c = report.counts
    table = Table(title="summarize", show_header=True)
    for col in ("summarized", "cached", "failed", "flagged", "calls", "tokens in", "tokens out"):
        table.add_column(col, justify="right")
    table.add_column("cost", justify="right")
    table.add_column("time", justify="right")
    table.add_row(
        *(str(int(c.get(k, 0))) for k in REPORT_KEYS),
        f"${c.get('cost', 0.0):.4f}",
        f"{c.get('seconds', 0.0):.1f}s",
    )
    out = output.console()
    out.print(table)
    if "fk_summary_grade" in c:
        out.print(
            f"Reading grade (Flesch-Kincaid): summaries {c['fk_summary_grade']:.1f}, "
            f"abstracts {c.get('fk_abstract_grade', 0.0):.1f}"
        )
    err = output.err_console()
    for failure in report.failures[:20]:
        err.print(f"[red]✗ {escape(failure.item)}:[/] {escape(failure.reason)}")
    if len(report.failures) > 20:
        err.print(f"  … and {len(report.failures) - 20} more failures")
    for note in report.notes:
        err.print(f"[yellow]Note:[/] {escape(note)}")


def print_paper(paper: Paper, summary: Summary | None) -> None:
    from rich.panel import Panel
    from rich.style import Style

    escape = _escape

    out = output.console()
    meta = [paper.id + (f"v{paper.version}" if paper.version else "")]
    if paper.published:
        meta.append(paper.published.date().isoformat())
    if paper.categories:
        meta.append(", ".join(paper.categories))
    out.print(f"[bold]{escape(paper.title)}[/]")
    out.print(f"[dim]{escape(' · '.join(meta))}[/]")
    if paper.authors:
        names = ", ".join(paper.authors[:8]) + (" et al." if len(paper.authors) > 8 else "")
        out.print(escape(names))
    if paper.url:
        url = output.clean(paper.url, one_line=True)
        out.print(output.terminal_text(url, style=Style(link=url)))
    if summary is None:
        out.print(
            Panel(
                "No summary yet. Run `paperbrief summarize` to write one.",
                title="summary",
                border_style="yellow",
            )
        )
    else:
        out.print(Panel(summary_text(summary), title="summary", border_style=_border(summary)))
    out.print(Panel(escape(paper.abstract), title="abstract", border_style="dim"))


def _border(summary: Summary) -> str:
    return "red" if summary.flagged else ("yellow" if summary.notice else "green")


def _escape(text: str) -> str:
    """Paper or model text as rich markup: terminal controls removed, brackets escaped."""
    from rich.markup import escape

    return escape(output.clean(text))


def summary_text(summary: Summary) -> str:
    """Rich markup for a summary; every piece of model or paper text is escaped."""
    escape = _escape
    lines = [f"[bold]TL;DR[/] {escape(summary.tldr)}", "", escape(summary.summary)]
    if summary.why_it_matters:
        lines += ["", f"[bold]Why it matters[/] {escape(summary.why_it_matters)}"]
    if summary.key_terms:
        lines.append("")
        lines += [f"• [bold]{escape(k.term)}[/]: {escape(k.meaning)}" for k in summary.key_terms]
    if summary.tags:
        lines += ["", "[dim]tags:[/] " + escape(", ".join(summary.tags))]
    if summary.flagged:
        lines += ["", f"[bold red]Flagged:[/] {escape(summary.flagged)}"]
    if summary.notice:
        lines += ["", f"[yellow]{escape(summary.notice)}[/]"]
    lines += ["", f"[dim]{escape(summary.model)} · {summary.method} · {summary.prompt_version}[/]"]
    return "\n".join(lines)


def print_check(result: Mapping[str, Any]) -> None:
    from rich.markup import escape

    out = output.console()
    # the endpoint may carry a login: output.clean masks it (agent.mask_url), as everywhere
    out.print(f"endpoint: {escape(output.clean(str(result.get('endpoint')), one_line=True))}")
    out.print(f"model:    {escape(output.clean(str(result.get('model')), one_line=True))}")
    if result.get("ok"):
        out.print(f"method:   {result.get('method')}")
        out.print(f"latency:  {result.get('latency_s')} s")
        out.print("[green]✓ the endpoint answers with structured output[/]")
    else:
        output.print_error(str(result.get("error")), str(result.get("hint") or ""))
