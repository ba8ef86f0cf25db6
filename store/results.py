"""What the store hands back: search hits, statistics, upsert outcomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StoreHit:
    """One paper found by search, with the chunk that matched best.

    ``score`` ranks the hits (hybrid: fused RRF score; dense: best-chunk cosine; bm25: best-chunk
    BM25). ``dense_similarity`` is the cosine similarity of the paper's closest chunk to the query
    (None in bm25 mode): the evidence strength for deciding whether the store can answer at all.
    ``term_coverage`` is the lexical side of that evidence: the share of the query's BM25 term
    weight found in the paper's chunks.
    """

    paper: dict[str, Any]
    score: float
    dense_similarity: float | None
    bm25_score: float | None
    chunk: str
    term_coverage: float | None = None


@dataclass(frozen=True)
class StoreStats:
    papers: int
    chunks: int
    path: str
    chroma_url: str | None
    embedder_id: str | None
    bm25_fresh: bool


@dataclass
class UpsertResult:
    """Paper ids by what happened to them; ``chunks`` = chunks embedded by this call."""

    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    chunks: int = 0
