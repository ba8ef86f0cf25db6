"""`paperbrief ask` and `paperbrief chat`: answers with citations from the stored papers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli import daemon_client, output

if TYPE_CHECKING:
    from rich.console import Console

    from agent import Answer, ChatSession, Citation, ToolCall
    from cli.state import AppState

Run = Callable[[Callable[[str], None] | None, Callable[["ToolCall"], None] | None], "Answer"]

K_HELP = "Papers given to the model as context (default: `\\[ask] k`, 6)."
SINCE_HELP = "Only papers published since (7d, 2w, 2026-11-20)."
AGENTIC_HELP = (
    "Let the model search again (tool calls, up to 3 rounds) or use one retrieval; default: "
    "decided per question."
)
JSON_HELP = "Print {question, answer, refused, citations: [{n, id, title, url}], model, usage}."

Question = Annotated[str, typer.Argument(help="Your question about the stored papers.")]
K = Annotated[int | None, typer.Option("--k", "-k", help=K_HELP, min=1, max=50)]
Since = Annotated[str | None, typer.Option(help=SINCE_HELP)]
Category = Annotated[str | None, typer.Option("--category", "-c", help="Only this arXiv category.")]
Source = Annotated[str | None, typer.Option(help="Only papers from this source.")]
Agentic = Annotated[
    bool | None, typer.Option("--agentic/--single", help=AGENTIC_HELP, show_default=False)
]
AsJson = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
NoStream = Annotated[bool, typer.Option("--no-stream", help="Print the answer when complete.")]
AskVerbose = Annotated[
    bool, typer.Option("--verbose", help="Show tool calls, evidence and token usage.")
]
ChatVerbose = Annotated[
    bool, typer.Option("--verbose", help="Show rewritten questions and tool calls.")
]


def register(app: typer.Typer, state: AppState) -> None:
    @app.command()
    def ask(
        question: Question,
        k: K = None,
        since: Since = None,
        category: Category = None,
        source: Source = None,
        agentic: Agentic = None,
        as_json: AsJson = False,
        no_stream: NoStream = False,
        verbose: AskVerbose = False,
        no_daemon: daemon_client.NoDaemon = False,
    ) -> None:
        """Answer a question from the stored papers, citing them as [1], [2], ...

        Says so plainly (and names the closest papers) when the papers do not hold the answer.
        """
        filters = dict(since=since, k=k, category=category, source=source, agentic=agentic)
        show = verbose or state.verbosity > 0
        run = asker(state, question, filters, daemon=daemon_client.wanted(no_daemon))
        if as_json:
            print_answer_json(run(None, None), verbose=show)
            return
        answer = render_answer(run, stream=not no_stream, verbose=show)
        print_sources(answer)
        print_notes(answer, verbose=show)

    @app.command()
    def chat(
        k: K = None,
        since: Since = None,
        category: Category = None,
        source: Source = None,
        verbose: ChatVerbose = False,
    ) -> None:
        """A conversation about the stored papers; follow-ups may say "those" or "it".

        Commands: /sources, /since 7d, /clear, /quit.
        """
        session = state.agent().chat(since=since, k=k, category=category, source=source)
        converse(session, verbose=verbose or state.verbosity > 0)


def asker(state: AppState, question: str, filters: dict[str, Any], *, daemon: bool) -> Run:
    """``run(stream, on_tool)``: the answer from `paperbrief serve` when one serves this home and
    settings (streamed and tool calls relayed as they come), else from this process."""

    def run(
        stream: Callable[[str], None] | None, on_tool: Callable[[ToolCall], None] | None
    ) -> Answer:
        if daemon:
            args = {"question": question, **filters, "stream": stream is not None}
            args["tool_calls"] = on_tool is not None

            def relay(event: dict[str, Any]) -> None:
                if event["event"] == "delta" and stream is not None:
                    stream(event["text"])
                elif event["event"] == "tool_call" and on_tool is not None:
                    from agent import ToolCall

                    on_tool(ToolCall.model_validate(event["call"]))

            result = daemon_client.request(state, "ask", args, on_event=relay)
            if result is not None:
                from agent import Answer

                return Answer.model_validate(result["answer"])
        return state.agent().ask(question, stream=stream, on_tool_call=on_tool, **filters)

    return run


def print_answer_json(answer: Answer, *, verbose: bool) -> None:
    data = answer.to_json()
    if verbose:
        data["tool_calls"] = [t.model_dump(mode="json") for t in answer.tool_calls]
        data["evidence"] = answer.evidence
        data["term_coverage"] = answer.term_coverage
        data["answerable_log_odds"] = answer.answerable_log_odds
        data["refusal_reason"] = answer.refusal_reason
    output.print_json(data)


def converse(session: ChatSession, *, verbose: bool) -> None:
    """Read questions and /commands until /quit or end of input; one failed turn (a dropped
    connection, a bad /since) is reported and the conversation goes on."""
    from agent import CHAT_HELP, PaperbriefError

    out = output.console()
    out.print(f"paperbrief chat. {CHAT_HELP}", markup=False, highlight=False)
    while True:
        try:
            line = out.input("you> ")
        except (EOFError, KeyboardInterrupt):
            break
        if not line.strip():
            continue
        try:
            result = session.command(line)
            if result is not None:
                if result.kind == "quit":
                    break
                if result.citations:
                    print_sources_list(out, "Sources", result.citations)
                elif result.message:
                    out.print(output.clean(result.message), markup=False, highlight=False)
                continue

            def ask_line(
                stream: Callable[[str], None] | None,
                on_tool: Callable[[ToolCall], None] | None,
                question: str = line,
            ) -> Answer:
                return session.ask(question, stream=stream, on_tool_call=on_tool)

            answer = render_answer(ask_line, stream=True, verbose=verbose)
        except PaperbriefError as exc:
            output.print_error(str(exc), exc.hint)
            continue
        if verbose and answer.standalone_question and answer.standalone_question != line:
            searched = output.clean(answer.standalone_question, one_line=True)
            output.err_console().print(f"(searched: {searched})", markup=False, highlight=False)
        print_sources(answer, compact=True)
        print_notes(answer, verbose=verbose, once=True)


# --- rendering -----------------------------------------------------------------------------------
def render_answer(run: Run, *, stream: bool, verbose: bool) -> Answer:
    """Stream the answer as live Markdown on a terminal; print it whole elsewhere. Model text
    is untrusted: terminal controls are removed before Markdown sees it."""
    from rich.markdown import Markdown

    out = output.console()
    tool_console = out if out.is_terminal else output.err_console()

    def on_tool(call: ToolCall) -> None:
        if verbose:
            line = output.clean(f"tool {call.describe()}", one_line=True)
            tool_console.print(line, markup=False, highlight=False)

    if not (stream and out.is_terminal):
        answer = run(None, on_tool)
        out.print(Markdown(output.clean(answer.answer)))
        return answer
    from rich.live import Live

    pieces: list[str] = []
    with Live(
        Markdown(""), console=out, refresh_per_second=12, vertical_overflow="visible"
    ) as live:

        def on_delta(delta: str) -> None:
            pieces.append(delta)
            live.update(Markdown(output.clean("".join(pieces))))

        answer = run(on_delta, on_tool)
        # The checked answer replaces the stream: stripped citations, or a refusal sentence.
        live.update(Markdown(output.clean(answer.answer)))
    return answer


def print_sources(answer: Answer, *, compact: bool = False) -> None:
    out = output.console()
    if not answer.citations:
        return
    label = "Closest papers" if answer.refused else "Sources"
    print_sources_list(out, label, answer.citations, compact=compact)


def print_sources_list(
    out: Console, label: str, citations: Sequence[Citation], *, compact: bool = False
) -> None:
    from rich.text import Text

    out.print(Text(f"\n{label}", style="bold"))
    for c in citations:
        # Titles, ids and URLs are untrusted: cleaned, and Text never reads them as markup.
        line = Text()
        line.append(f"[{c.n}] ", style="bold")
        line.append(output.clean(c.paper.title, one_line=True))
        meta = [c.paper.id]
        if c.paper.published:
            meta.append(c.paper.published.date().isoformat())
        if c.paper.url and not compact:
            meta.append(c.paper.url)
        line.append("  " + output.clean(" · ".join(meta), one_line=True), style="dim")
        out.print(line)


_noticed: set[str] = set()


def print_notes(answer: Answer, *, verbose: bool, once: bool = False) -> None:
    err = output.err_console()
    if answer.flagged:
        warning = output.clean(f"Warning: {answer.flagged}")
        err.print(warning, style="yellow", markup=False, highlight=False)
    if answer.removed_citations:
        err.print(
            f"Removed {answer.removed_citations} citation(s) to papers that were not retrieved.",
            style="yellow",
            markup=False,
            highlight=False,
        )
    if answer.notice and not (once and answer.notice in _noticed):
        _noticed.add(answer.notice)
        err.print(output.clean(answer.notice), style="dim", markup=False, highlight=False)
    if verbose:
        u = answer.usage
        evidence = f"{answer.evidence:.3f}" if answer.evidence is not None else "n/a"
        if answer.term_coverage is not None:
            evidence += f", term coverage {answer.term_coverage:.2f}"
        if answer.answerable_log_odds is not None:
            evidence += f", answerable log-odds {answer.answerable_log_odds:+.2f}"
        if answer.refusal_reason:
            evidence += f", refused: {answer.refusal_reason}"
        err.print(
            f"engine {answer.engine} · model {answer.model} · best evidence {evidence} · "
            f"{u.calls} call(s), {u.tokens_in} tokens in, {u.tokens_out} out, ${u.cost:.5f}",
            style="dim",
            markup=False,
            highlight=False,
        )
