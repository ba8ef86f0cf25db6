"""Search over the store: dense (Chroma HNSW over chunks), BM25, or both fused (RRF).

Kept apart from PaperStore's writing code; it reads through the same collections.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np

from store.papers.fusion import (
    DenseChunk,
    PaperCandidate,
    SparseChunk,
    fuse,
    rank_dense,
    rank_sparse,
)
from store.papers.records import build_where
from store.phases import phase
from store.results import StoreHit

if TYPE_CHECKING:
    from store.bm25.index import BM25Index
    from store.embedding.embedders import Embedder

log = logging.getLogger(__name__)

SearchMode = Literal["hybrid", "dense", "bm25"]
_Row = TypeVar("_Row", DenseChunk, SparseChunk)
#: Papers fetched beyond k per round, in case some chunks belong to papers without a record
#: (left by a crashed upsert that the next one has not completed yet).
_SLACK = 5


class SearchMixin:
    """``search`` for PaperStore; relies on its collections, embedder and BM25 index."""

    embedder: Embedder
    _chunks: Any
    #: Filters that leave at most this many chunks are scored exactly on the local float16 copy
    #: of the vectors; broader ones over-fetch from HNSW (cheaper above ~8k rows, measured).
    exact_filter_max: int = 8_000
    #: HNSW over-fetch stops here (n=800 ~23 ms, n=1600 ~140 ms at 52k chunks); a filter that
    #: would need more is scored exactly instead.
    overfetch_max: int = 800
    #: Each arm fetches 4x more chunks while the ones it has belong to fewer than k papers
    #: (a long paper's many chunks crowd the list), up to this many chunks.
    fetch_max: int = 2_000

    def _errors(self) -> Any: ...
    def _require_matching_embedder(self) -> None: ...
    def _current_bm25(self) -> BM25Index:
        raise NotImplementedError  # PaperStore's

    def _fetch_papers(self, ids: Any) -> dict[str, tuple[dict, range]]:
        raise NotImplementedError  # ReadMixin's

    def _after_embed(self, vectors: np.ndarray) -> None: ...

    def search(
        self,
        query: str,
        *,
        k: int = 10,
        since_ts: int | None = None,
        category: str | None = None,
        source: str | None = None,
        mode: SearchMode = "hybrid",
        until_ts: int | None = None,
    ) -> list[StoreHit]:
        """The k best papers for ``query``, one hit per paper, best first.

        hybrid = dense top-N chunks + BM25 top-N chunks (N = max(50, 8k), more while an arm's
        chunks name fewer than k papers) fused by reciprocal rank (k_rrf 60); a paper scores its
        best chunk. Filters apply to both arms.
        """
        if mode not in ("hybrid", "dense", "bm25"):
            raise ValueError(f"unknown search mode {mode!r}: use hybrid, dense or bm25")
        if k <= 0 or not query.strip():
            return []
        n = max(50, 8 * k)
        filters: dict[str, Any] = {
            "since_ts": since_ts,
            "until_ts": until_ts,
            "category": category,
            "source": source,
        }
        query_vec: np.ndarray | None = None
        dense: list[DenseChunk] = []
        sparse: list[SparseChunk] = []
        with self._errors():
            if mode in ("hybrid", "dense"):
                self._require_matching_embedder()  # before any BM25 rebuild a mismatch makes moot
            # Every mode needs it: filter masks, the sparse arm, and the hits' term coverage.
            bm25 = self._current_bm25()
            if mode in ("hybrid", "dense"):
                with phase("query embedding"):
                    query_vec = np.asarray(self.embedder.embed_query(query), dtype=np.float32)
                self._after_embed(query_vec[None, :])
                with phase("dense query"):
                    dense = self._for_papers(
                        lambda m: self._dense_chunks(query_vec, m, filters, bm25), n, k
                    )
            if mode in ("hybrid", "bm25"):
                with phase("BM25 query"):
                    sparse = self._for_papers(
                        lambda m: [SparseChunk(*row) for row in bm25.search(query, m, **filters)],
                        n,
                        k,
                    )
            if mode == "hybrid":
                ranked = fuse(dense, sparse)
            elif mode == "dense":
                ranked = rank_dense(dense)
            else:
                ranked = rank_sparse(sparse)
            with phase("fetching records"):
                chosen = self._with_records(ranked, k)
                self._complete(chosen, query_vec)
            coverage = bm25.term_coverage(query, [c.paper_id for c, _, _ in chosen])
        return [
            StoreHit(
                paper=paper,
                score=float(c.score),
                dense_similarity=c.dense_similarity,
                bm25_score=c.bm25_score,
                chunk=c.best_chunk_text or "",
                term_coverage=coverage.get(c.paper_id),
            )
            for c, paper, _ in chosen
        ]

    def _for_papers(self, fetch: Callable[[int], list[_Row]], n: int, k: int) -> list[_Row]:
        """``fetch(n)``, and while its full answer names fewer than k papers, ``fetch`` 4x more
        (up to fetch_max chunks): one paper's 200 chunks must not leave 3 papers for k=10."""
        want = n
        while True:
            rows = fetch(want)
            if len(rows) < want or want >= self.fetch_max:
                return rows
            if len({row.paper_id for row in rows}) >= k:
                return rows
            log.debug("%d chunks name fewer than %d papers; fetching more", len(rows), k)
            want = min(4 * want, self.fetch_max)

    def _query(self, query_vec: np.ndarray, n: int, where: dict | None = None) -> list[DenseChunk]:
        # Distances only: metadata and documents for 80 rows cost more than the search itself;
        # the paper id is in the chunk id and the k winners' texts are fetched afterwards.
        res = self._chunks.query(
            query_embeddings=[query_vec], n_results=n, where=where, include=["distances"]
        )
        if not res["ids"] or not res["ids"][0]:
            return []
        return [
            DenseChunk(cid, cid.rsplit("#", 1)[0], 1.0 - float(dist))
            for cid, dist in zip(res["ids"][0], res["distances"][0], strict=True)
        ]

    def _dense_chunks(
        self, query_vec: np.ndarray, n: int, filters: dict[str, Any], index: BM25Index
    ) -> list[DenseChunk]:
        """Top n chunks by cosine that pass the filters.

        Chroma's ``where`` costs ~60-200 ms at 50k chunks whatever its selectivity (measured), so
        the filters are evaluated on the local mirror in the BM25 index instead: up to
        exact_filter_max allowed chunks (or any number, when over-fetching would need more than
        overfetch_max) are scored exactly from its float16 vectors; a broader filter
        over-fetches from HNSW and drops the rest; Chroma's ``where`` is the fallback for
        indexes without vectors.
        """
        if all(v is None for v in filters.values()):
            return self._query(query_vec, n)
        mask = index.mask(**filters)
        allowed = int(mask.sum()) if mask is not None else len(index)
        if allowed == 0:
            return []
        fetch = int(np.ceil(n * len(index) / allowed * 1.5))
        if index.vectors is not None and (
            allowed <= self.exact_filter_max or fetch > self.overfetch_max
        ):
            return [
                DenseChunk(cid, cid.rsplit("#", 1)[0], sim)
                for cid, sim in index.dense_exact(query_vec, mask, n)
            ]
        if fetch <= self.overfetch_max:
            rows = self._query(query_vec, fetch)
            kept = []
            for row in rows:
                pos = index.position(row.chunk_id)
                if pos is not None and mask is not None and mask[pos]:
                    kept.append(row)
            if len(kept) >= n or len(rows) < fetch:
                return kept[:n]
        return self._query(query_vec, n, build_where(**filters))

    def _with_records(
        self, ranked: list[PaperCandidate], k: int
    ) -> list[tuple[PaperCandidate, dict, range]]:
        """The top k candidates that have a paper record, with the record and its chunk slots."""
        chosen: list[tuple[PaperCandidate, dict, range]] = []
        pos = 0
        while len(chosen) < k and pos < len(ranked):
            window = ranked[pos : pos + k - len(chosen) + _SLACK]
            pos += len(window)
            papers = self._fetch_papers([c.paper_id for c in window])
            for cand in window:
                if cand.paper_id not in papers:
                    log.debug("chunk of %s has no paper record yet; skipped", cand.paper_id)
                elif len(chosen) < k:
                    record, slots = papers[cand.paper_id]
                    if _slot(cand.best_chunk_id) not in slots:
                        # a chunk a killed update left behind (cleaned at the next write): the
                        # paper is judged by the chunks its record commits, in _complete
                        cand.best_chunk_id = f"{cand.paper_id}#{slots.start}"
                        cand.best_chunk_text = cand.dense_similarity = None
                    chosen.append((cand, record, slots))
        return chosen

    def _complete(
        self, chosen: list[tuple[PaperCandidate, dict, range]], query_vec: np.ndarray | None
    ) -> None:
        """Fill in, with one lookup by chunk id, the best chunk's text where only BM25 saw it
        and the best-chunk cosine of papers found by BM25 alone: that cosine is the evidence
        strength callers use to decide whether to answer at all."""
        need_sim = {}
        if query_vec is not None:
            need_sim = {c.paper_id: c for c, _, _ in chosen if c.dense_similarity is None}
        need_text = {c.best_chunk_id: c for c, _, _ in chosen if c.best_chunk_text is None}
        ids = set(need_text)
        for cand, _, slots in chosen:
            if cand.paper_id in need_sim:
                ids.update(f"{cand.paper_id}#{n}" for n in slots)
        if not ids:
            return
        include = ["documents", "embeddings"] if need_sim else ["documents"]
        got = self._chunks.get(ids=sorted(ids), include=include)
        for i, cid in enumerate(got["ids"]):
            if cid in need_text:
                need_text[cid].best_chunk_text = got["documents"][i]
            found = need_sim.get(cid.rsplit("#", 1)[0])
            if found is not None and query_vec is not None:
                sim = float(np.asarray(got["embeddings"][i], dtype=np.float32) @ query_vec)
                if found.dense_similarity is None or sim > found.dense_similarity:
                    found.dense_similarity = sim


def _slot(chunk_id: str) -> int:
    """``<paper id>#<slot>`` -> slot (-1 when the id has no slot)."""
    _, _, slot = chunk_id.rpartition("#")
    return int(slot) if slot.isdigit() else -1
