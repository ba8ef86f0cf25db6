"""Search over the stored papers, as typed records: the hits of ``paperbrief search``, the
retrieval step of ``ask`` and the MCP/daemon tools, and one paper by id."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from agent import errors
from agent.dates import parse_since, to_ts
from agent.models import Paper, SearchHit, Since

if TYPE_CHECKING:
    from store import PaperStore

#: dense + BM25 fused by reciprocal rank (the default), or one of them alone.
SearchMode = Literal["hybrid", "dense", "bm25"]


def search_papers(
    store: PaperStore,
    query: str,
    *,
    k: int = 10,
    since: Since = None,
    category: str | None = None,
    source: str | None = None,
    mode: SearchMode = "hybrid",
) -> list[SearchHit]:
    """The ``k`` best papers for ``query`` (one hit per paper, with its best chunk)."""
    require_query(query)
    hits = store.search(
        query, k=k, since_ts=to_ts(parse_since(since)), category=category, source=source,
        mode=mode,
    )  # fmt: skip
    return [
        SearchHit(
            paper=Paper.model_validate(h.paper),
            score=h.score,
            dense_similarity=h.dense_similarity,
            bm25_score=h.bm25_score,
            best_chunk=h.chunk,
            term_coverage=h.term_coverage,
        )
        for h in hits
    ]


def require_query(query: str) -> None:
    """Raise InputError for an empty query (before any store is opened)."""
    if not query.strip():
        raise errors.InputError("The search query is empty.", hint="Give a few words to search.")


def get_paper(store: PaperStore, paper_id: str) -> Paper | None:
    """The stored paper with this id, or None."""
    data = store.get(paper_id)
    return Paper.model_validate(data) if data else None


__all__ = ["SearchMode", "get_paper", "require_query", "search_papers"]
