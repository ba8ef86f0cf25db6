"""`paperbrief run` (the scheduled daily job) and `paperbrief demo` (everything, offline)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli import output

if TYPE_CHECKING:
    from agent import DailyResult, DemoResult
    from cli.state import AppState


def register(app: typer.Typer, state: AppState) -> None:
    @app.command()
    def run(
        out: Annotated[
            list[Path] | None,
            typer.Option("--out", "-o", help="Also write the digest to FILE (.html/.md/.txt)."),
        ] = None,
        email: Annotated[
            list[str] | None,
            typer.Option(
                "--email", "-e", help="Recipients (default: the profile's `to`, or `\\[smtp] to`)."
            ),
        ] = None,
        skip_empty: Annotated[
            bool, typer.Option("--skip-empty", help="Send nothing when there is nothing new.")
        ] = False,
        wait: Annotated[  # 0.x spelling of the global `paperbrief --wait SECONDS run`
            float, typer.Option(hidden=True, min=0)
        ] = 0.0,
        as_json: Annotated[bool, typer.Option("--json", help="Print the run as JSON.")] = False,
        profile: Annotated[
            list[str] | None,
            typer.Option("--profile", "-p", help="Only this profile (repeat; default: all)."),
        ] = None,
    ) -> None:
        """The daily job: ingest every source, summarize what is new, build and deliver the
        digest. Safe to run twice: nothing duplicated or re-sent, cached work not re-billed."""
        from agent import check_address, format_for_path, run_daily

        for path in out or []:
            format_for_path(str(path))  # a bad suffix fails now, not after the work is done
        email = [check_address(a, what="--email") for a in email] if email else email
        agent = state.agent()
        with output.progress_bar(not as_json) as progress:
            result = run_daily(
                agent, email=email, out=out or [], skip_empty=skip_empty, lock_wait=wait,
                progress=progress, profiles=profile or None,
            )  # fmt: skip
        if as_json:
            output.print_json(result.model_dump(mode="json"))
        else:
            _print_run(result)
        raise typer.Exit(0 if result.failed_step is None and result.delivered else 1)

    @app.command()
    def demo(
        home: Annotated[
            Path | None,
            typer.Option(
                "--demo-home", help="Where the demo keeps its data (default: <home>/demo)."
            ),
        ] = None,
    ) -> None:
        """Show everything offline on a shipped sample of fictional papers: ingest, summaries,
        a themed digest (HTML), and two answered questions."""
        from agent import PaperAgent, demo_settings, run_demo

        settings = demo_settings(state.settings(), home)
        with PaperAgent(settings) as agent, output.progress_bar() as progress:
            result = run_demo(agent, progress=progress)
        _print_demo(result)


def _print_run(result: DailyResult) -> None:
    from rich.markup import escape

    output.print_source_statuses(result.report)
    con = output.console()
    for d in result.digests:  # one line per reader: two profiles are never added together
        con.print(
            f"digest {escape(d.profile)}: {d.shown} papers in {d.themes} themes, saved in "
            f"{escape(str(d.saved_in))}"
        )
        if d.delivered_to:
            con.print(f"  e-mailed to {escape(', '.join(d.delivered_to))}")
    for path in result.written:
        con.print(f"wrote {escape(str(path))}")
    posted = [p for d in result.digests for p in d.posts if p.status == "posted"]
    for post in posted:  # channels are masked URLs: service and host only
        again = " (retried)" if post.retried else ""
        con.print(f"posted {escape(post.digest_id)} to {escape(post.channel)}{again}")
    for note in result.report.notes:
        con.print(escape(note), soft_wrap=True)
    if result.failed_step:
        output.print_error(
            f"The {result.failed_step} step failed (see above); what could be done was done.",
            "Fix the problem named above and run again: finished work is not repeated.",
        )


def _print_demo(result: DemoResult) -> None:
    from rich.markdown import Markdown
    from rich.markup import escape
    from rich.text import Text

    con = output.console()
    t = result.seconds
    con.print(
        f"[bold]ingested[/] {result.ingest.total('new')} new / {result.ingest.total('fetched')} "
        f"fictional papers ({t['ingest']} s)"
    )
    con.print(
        f"[bold]summarized[/] {int(result.summarize.counts.get('summarized', 0))} "
        f"(+{int(result.summarize.counts.get('cached', 0))} cached) with the {result.engine} "
        f"engine ({t['summarize']} s)"
    )
    names = ", ".join(theme.name for theme in result.digest.themes)
    d = result.digest
    total = len(d.papers) + len(d.rest)
    con.print(Text(f"digest: {len(d.papers)} of {total} papers shown in {len(d.themes)} "
                   f"themes: {names} ({t['digest']} s)"))  # fmt: skip
    for answer in result.answers:
        con.rule(Text(answer.question))
        con.print(Markdown(answer.answer))
        for c in answer.citations:
            con.print(Text(f"[{c.n}] {c.title} ({c.id})"))
    con.rule()
    con.print(f"[bold]digest (HTML)[/]  {escape(str(result.digest_html))}")
    con.print(f"[bold]digest (text)[/]  {escape(str(result.digest_md))}")
    con.print(f"[bold]demo store[/]     {escape(str(result.home))}")
    if result.engine == "extractive":
        con.print(
            "No LLM was used. Set OPENAI_API_KEY or OPENAI_BASE_URL (Ollama, vLLM, llama.cpp) "
            "for written summaries, theme overviews and answers.",
            soft_wrap=True,
        )
    con.print("Next: `paperbrief init`, then `paperbrief run` every morning.")
