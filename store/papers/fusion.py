"""Reciprocal rank fusion of the dense and BM25 chunk rankings, grouped per paper.

RRF needs no score calibration between the arms, which matters here: cosine similarities and
BM25 scores live on unrelated scales and BM25's grows with the query's length.
"""

from __future__ import annotations

from dataclasses import dataclass

K_RRF = 60


@dataclass
class DenseChunk:
    chunk_id: str
    paper_id: str
    similarity: float
    text: str | None = None


@dataclass
class SparseChunk:
    chunk_id: str
    paper_id: str
    score: float


@dataclass
class PaperCandidate:
    """One paper's evidence: its best chunk by the ranking score, and each arm's best value."""

    paper_id: str
    score: float
    best_chunk_id: str
    best_chunk_text: str | None = None
    dense_similarity: float | None = None
    bm25_score: float | None = None


def _group(
    scored: dict[str, float],
    paper_of: dict[str, str],
    dense: list[DenseChunk],
    sparse: list[SparseChunk],
) -> list[PaperCandidate]:
    texts = {c.chunk_id: c.text for c in dense}
    best: dict[str, PaperCandidate] = {}
    for chunk_id, score in scored.items():
        pid = paper_of[chunk_id]
        cand = best.get(pid)
        if cand is None or score > cand.score:
            best[pid] = PaperCandidate(pid, score, chunk_id, texts.get(chunk_id))
    for c in dense:
        cand = best[c.paper_id]
        if cand.dense_similarity is None or c.similarity > cand.dense_similarity:
            cand.dense_similarity = c.similarity
    for s in sparse:
        cand = best[s.paper_id]
        if cand.bm25_score is None or s.score > cand.bm25_score:
            cand.bm25_score = s.score
    # Ties broken by id so results are deterministic.
    return sorted(best.values(), key=lambda c: (-c.score, c.paper_id))


def fuse(
    dense: list[DenseChunk], sparse: list[SparseChunk], *, k_rrf: int = K_RRF
) -> list[PaperCandidate]:
    """Chunk score = sum over arms of 1 / (k_rrf + rank); a paper scores its best chunk.

    A paper's other matching chunks add nothing (no bonus): a sum would favour long abstracts,
    and a bonus would need a measured weight we do not have yet.
    """
    scored: dict[str, float] = {}
    paper_of: dict[str, str] = {}
    for rank, c in enumerate(dense, start=1):
        scored[c.chunk_id] = scored.get(c.chunk_id, 0.0) + 1.0 / (k_rrf + rank)
        paper_of[c.chunk_id] = c.paper_id
    for rank, s in enumerate(sparse, start=1):
        scored[s.chunk_id] = scored.get(s.chunk_id, 0.0) + 1.0 / (k_rrf + rank)
        paper_of[s.chunk_id] = s.paper_id
    return _group(scored, paper_of, dense, sparse)


def rank_dense(dense: list[DenseChunk]) -> list[PaperCandidate]:
    """Dense only: a paper scores the cosine similarity of its best chunk."""
    return _group(
        {c.chunk_id: c.similarity for c in dense},
        {c.chunk_id: c.paper_id for c in dense},
        dense,
        [],
    )


def rank_sparse(sparse: list[SparseChunk]) -> list[PaperCandidate]:
    """BM25 only: a paper scores its best chunk's BM25 score."""
    return _group(
        {s.chunk_id: s.score for s in sparse}, {s.chunk_id: s.paper_id for s in sparse}, [], sparse
    )
