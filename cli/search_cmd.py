"""`paperbrief search`: hybrid search over the stored papers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cli import daemon_client, output

if TYPE_CHECKING:
    from agent import SearchHit
    from cli.state import AppState


def register(app: typer.Typer, state: AppState) -> None:
    @app.command()
    def search(
        query: Annotated[str, typer.Argument(help="What to look for, in your own words.")],
        k: Annotated[int, typer.Option("--k", "-k", help="How many papers to show.", min=1)] = 10,
        since: Annotated[
            str | None, typer.Option(help="Only papers published since (7d, 2026-11-20).")
        ] = None,
        category: Annotated[
            str | None, typer.Option("--category", "-c", help="Only this arXiv category.")
        ] = None,
        source: Annotated[str | None, typer.Option(help="Only papers from this source.")] = None,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print [{id, title, score, url}] as JSON.")
        ] = False,
        no_daemon: daemon_client.NoDaemon = False,
    ) -> None:
        """Find papers by meaning and by exact words (dense + BM25, reciprocal-rank fusion)."""
        filters = dict(k=k, since=since, category=category, source=source)
        hits, empty_store = find(state, query, filters, daemon=daemon_client.wanted(no_daemon))
        if empty_store is not None:
            output.err_console().print(
                f"The store at {empty_store} is empty: nothing has been ingested yet. "
                "Fill it with `paperbrief ingest` (the configured sources) or "
                "`paperbrief ingest --file papers.jsonl`.",
                markup=False,
            )
            if as_json:
                output.print_json([])
            return
        if as_json:
            output.print_json(
                [
                    {
                        "id": h.paper.id,
                        "title": h.paper.title,
                        "score": round(h.score, 6),
                        "url": h.paper.url,
                        "published": h.paper.published,
                        "similarity": h.dense_similarity,
                    }
                    for h in hits
                ]
            )
            return
        if not hits:
            output.err_console().print("No papers match. Try other words or a wider --since.")
            return
        from rich.table import Table

        table = Table(show_lines=False, expand=True)
        table.add_column("#", justify="right", width=3)
        table.add_column("id", no_wrap=True)
        table.add_column("title", ratio=1)
        table.add_column("published", no_wrap=True)
        table.add_column("score", justify="right")
        text = output.terminal_text  # ids and titles come from feeds and files: untrusted
        for n, hit in enumerate(hits, 1):
            published = hit.paper.published.date().isoformat() if hit.paper.published else ""
            title = text(hit.paper.title, one_line=True)
            table.add_row(str(n), text(hit.paper.id), title, published, f"{hit.score:.4f}")
        output.console().print(table)


def find(
    state: AppState, query: str, filters: dict, *, daemon: bool
) -> tuple[list[SearchHit], str | None]:
    """The hits, and the store's name when it holds no paper at all: from `paperbrief serve`
    when one serves this home and settings, else in this process (the same results)."""
    if daemon:
        result = daemon_client.request(state, "search", {"query": query, **filters})
        if result is not None:
            from agent import SearchHit

            hits = [SearchHit.model_validate(h) for h in result["hits"]]
            return hits, result["empty_store"]
    agent = state.agent()
    hits = agent.search(query, **filters)
    if not hits and (info := agent.status())["papers"] == 0:
        return hits, str(info["store"])
    return hits, None
