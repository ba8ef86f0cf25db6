"""A BM25 index over the same chunks as the dense index (bm25s + PyStemmer), saved beside Chroma.

Local Chroma has no sparse ranking, and exact rare terms (model names, dataset ids) are where
dense retrieval is weakest, so the hybrid search fuses both. The index records the StateDB
revision it was built at; a store whose revision moved on treats it as stale and rebuilds it.
Each chunk's token ids are kept too (``tokens.npy`` + ``offsets.npy``), so a write of a few
papers updates the index (:meth:`BM25Index.updated`) instead of re-reading every chunk from
Chroma and re-tokenizing it. Each chunk's filter fields (published_ts, source, categories) live
here too, so filters are exact masks over the scores rather than over-fetch-and-drop.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from store import bm25_files
from store.bm25_files import IndexFiles
from store.bm25_tokens import idf, ids_of, tokenize, tokenize_query

_NO_TS = np.iinfo(np.int64).min


@dataclass
class ChunkRow:
    """One chunk as the index needs it: its text and the fields search filters on."""

    id: str
    paper_id: str
    text: str
    published_ts: int | None = None
    source: str | None = None
    categories: list[str] = field(default_factory=list)

    @classmethod
    def from_chroma(cls, chunk_id: str, meta: dict | None, document: str | None) -> ChunkRow:
        meta = meta or {}
        return cls(
            id=chunk_id,
            paper_id=str(meta.get("paper_id", chunk_id.rsplit("#", 1)[0])),
            text=document or "",
            published_ts=meta.get("published_ts"),
            source=meta.get("source"),
            categories=list(meta.get("categories") or []),
        )


class BM25Index:
    """Chunk-level BM25 with metadata masks. Build with :meth:`build`, persist with :meth:`save`."""

    def __init__(
        self,
        retriever: Any,
        *,
        revision: int,
        chunk_ids: list[str],
        paper_ids: list[str],
        published_ts: list[int | None],
        sources: list[str | None],
        categories: list[list[str]],
        vectors: np.ndarray | None = None,
        tokens: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        self.retriever = retriever
        #: every chunk's token ids (into the retriever's vocabulary) as (flat ids, row offsets)
        self.tokens = tokens
        #: float16 copy of the chunk vectors (row i = chunk_ids[i]) for exact filtered search
        self.vectors = vectors
        self.revision = revision
        self.chunk_ids = chunk_ids
        self.paper_ids = paper_ids
        self._published = np.array(
            [_NO_TS if ts is None else int(ts) for ts in published_ts], dtype=np.int64
        )
        self._sources = np.array([s or "" for s in sources], dtype=object)
        self._categories = categories
        positions: dict[str, list[int]] = {}
        for i, cats in enumerate(categories):
            for cat in cats:
                positions.setdefault(cat, []).append(i)
        self._by_category = {k: np.asarray(v) for k, v in positions.items()}
        self._positions: dict[str, int] | None = None
        self._paper_rows: dict[str, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.chunk_ids)

    def position(self, chunk_id: str) -> int | None:
        """Row of a chunk id (built on first use: a dict over every chunk)."""
        if self._positions is None:
            self._positions = {cid: i for i, cid in enumerate(self.chunk_ids)}
        return self._positions.get(chunk_id)

    @classmethod
    def build(
        cls, rows: Iterable[ChunkRow], *, revision: int, vectors: np.ndarray | None = None
    ) -> BM25Index:
        """``vectors`` (one row per chunk, optional) are kept as float16 for exact search
        within a filter."""
        rows = list(rows)
        # bm25s adds an empty token to every vocabulary (and fails on an empty one: chunks of
        # stop words only); give it id 0 up front so ids stay contiguous as the vocabulary grows.
        vocab: dict[str, int] = {"": 0}
        return cls._assemble(rows, ids_of(tokenize([r.text for r in rows]), vocab), vocab,
                             revision=revision, vectors=vectors)  # fmt: skip

    def updated(
        self,
        *,
        drop_papers: set[str],
        rows: Sequence[ChunkRow],
        vectors: np.ndarray | None,
        revision: int,
    ) -> BM25Index | None:
        """A new index: this one without the chunks of ``drop_papers``, plus ``rows`` (whose
        papers must be in ``drop_papers`` if they were indexed before). Only the new rows are
        tokenized; the scores are recomputed over all chunks, so they equal a full rebuild's.
        None when this index cannot be extended (saved before token ids were kept, or without
        vectors while new ones come): rebuild from Chroma then."""
        if not len(self):
            return BM25Index.build(rows, revision=revision, vectors=vectors)
        if self.tokens is None or (rows and (self.vectors is None) != (vectors is None)):
            return None
        keep = np.flatnonzero([pid not in drop_papers for pid in self.paper_ids])
        flat, offsets = self.tokens
        vocab = dict(self.retriever.vocab_dict)
        kept_ids = [flat[offsets[i] : offsets[i + 1]].tolist() for i in keep]
        new_ids = ids_of(tokenize([r.text for r in rows]), vocab)
        kept_rows = [
            ChunkRow(
                id=self.chunk_ids[i],
                paper_id=self.paper_ids[i],
                text="",
                published_ts=None if self._published[i] == _NO_TS else int(self._published[i]),
                source=self._sources[i] or None,
                categories=self._categories[i],
            )
            for i in keep
        ]
        if self.vectors is not None:
            parts = [np.asarray(self.vectors[keep], dtype=np.float16)]
            if rows:
                parts.append(np.asarray(vectors, dtype=np.float16).reshape(len(rows), -1))
            vectors = np.concatenate(parts)
        return BM25Index._assemble(
            kept_rows + list(rows), kept_ids + new_ids, vocab, revision=revision, vectors=vectors
        )

    @classmethod
    def _assemble(
        cls,
        rows: list[ChunkRow],
        ids: list[list[int]],
        vocab: dict[str, int],
        *,
        revision: int,
        vectors: np.ndarray | None,
    ) -> BM25Index:
        if vectors is not None:
            vectors = np.asarray(vectors, dtype=np.float16)
            if len(vectors) != len(rows):
                raise ValueError(f"{len(vectors)} vectors for {len(rows)} chunks")
        retriever, tokens = None, None
        if rows:
            import bm25s

            retriever = bm25s.BM25()
            # Ids are contiguous (0..len(vocab)-1), as bm25s's per-term arrays need.
            retriever.index((ids, vocab), show_progress=False)
            lengths = np.fromiter((len(t) for t in ids), dtype=np.int64, count=len(ids))
            offsets = np.zeros(len(ids) + 1, dtype=np.int64)
            np.cumsum(lengths, out=offsets[1:])
            flat = np.fromiter(itertools.chain.from_iterable(ids), dtype=np.int32,
                               count=int(offsets[-1]))  # fmt: skip
            tokens = (flat, offsets)
        return cls(
            retriever,
            revision=revision,
            chunk_ids=[r.id for r in rows],
            paper_ids=[r.paper_id for r in rows],
            published_ts=[r.published_ts for r in rows],
            sources=[r.source for r in rows],
            categories=[list(r.categories) for r in rows],
            vectors=vectors,
            tokens=tokens,
        )

    # --- persistence (the format is store.bm25_files') ---------------------------------------
    def save(self, root: Path) -> None:
        """Write into a fresh folder, then point CURRENT at it."""
        columns = {
            "chunk_ids": self.chunk_ids,
            "paper_ids": self.paper_ids,
            "published_ts": [None if t == _NO_TS else int(t) for t in self._published],
            "sources": [s or None for s in self._sources],
            "categories": self._categories,
        }
        bm25_files.write(
            root, IndexFiles(self.revision, self.retriever, columns, self.vectors, self.tokens)
        )

    @staticmethod
    def saved_revision(root: Path) -> int | None:
        return bm25_files.saved_revision(root)

    @classmethod
    def load(cls, root: Path) -> BM25Index | None:
        """The saved index, or None when there is none (or it is unreadable: rebuild then)."""
        files = bm25_files.read(root)
        if files is None:
            return None
        return cls(
            files.retriever,
            revision=files.revision,
            vectors=files.vectors,
            tokens=files.tokens,
            **files.columns,
        )

    # --- search ---------------------------------------------------------------------------
    def mask(
        self,
        since_ts: int | None,
        until_ts: int | None,
        category: str | None,
        source: str | None,
    ) -> np.ndarray | None:
        if since_ts is None and until_ts is None and category is None and source is None:
            return None
        mask = np.ones(len(self.chunk_ids), dtype=bool)
        if since_ts is not None:
            mask &= (self._published != _NO_TS) & (self._published >= since_ts)
        if until_ts is not None:
            mask &= (self._published != _NO_TS) & (self._published < until_ts)
        if source is not None:
            mask &= self._sources == source
        if category is not None:
            in_cat = np.zeros(len(self.chunk_ids), dtype=bool)
            idx = self._by_category.get(category)
            if idx is not None:
                in_cat[idx] = True
            mask &= in_cat
        return mask

    def search(
        self,
        query: str,
        n: int,
        *,
        since_ts: int | None = None,
        until_ts: int | None = None,
        category: str | None = None,
        source: str | None = None,
    ) -> list[tuple[str, str, float]]:
        """Top ``n`` chunks as (chunk_id, paper_id, score), best first; only chunks that share a
        term with the query and pass the filters."""
        if self.retriever is None or n <= 0:
            return []
        vocab = self.retriever.vocab_dict
        tokens = [t for t in tokenize_query(query) if t in vocab]
        if not tokens:
            return []
        scores = np.asarray(self.retriever.get_scores(tokens), dtype=np.float32)
        mask = self.mask(since_ts, until_ts, category, source)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        candidates = np.flatnonzero(scores > 0)
        if len(candidates) > n:
            top = np.argpartition(-scores[candidates], n - 1)[:n]
            candidates = candidates[top]
        order = candidates[np.argsort(-scores[candidates], kind="stable")]
        return [(self.chunk_ids[i], self.paper_ids[i], float(scores[i])) for i in order]

    def term_coverage(self, query: str, paper_ids: Iterable[str]) -> dict[str, float]:
        """Per paper, the share of the query's term weight (BM25's idf) that its chunks contain.

        Lexical evidence beside the cosine: a broad question ("which papers use reanalysis
        data?") can sit far from every chunk in embedding space while its rare terms are all in
        one paper. A query term no chunk contains weighs as a term of document frequency 0.
        Empty when the query has no terms.
        """
        tokens = tokenize_query(query)
        if not tokens or self.retriever is None:
            return {}
        vocab = self.retriever.vocab_dict
        n_docs = len(self.chunk_ids)
        # bm25s keeps its scores as a CSC matrix: one column per term, its rows (sorted) are the
        # chunks holding the term. Only the k wanted papers' few rows are looked up in each.
        indptr = self.retriever.scores["indptr"]
        indices = self.retriever.scores["indices"]
        rows_of = {pid: self._rows_of_paper(pid) for pid in dict.fromkeys(paper_ids)}
        covered = dict.fromkeys(rows_of, 0.0)
        total = 0.0
        for token in tokens:
            col = vocab.get(token)
            column = indices[indptr[col] : indptr[col + 1]] if col is not None else indices[:0]
            weight = idf(len(column), n_docs)
            total += weight
            if not len(column):
                continue
            for pid, rows in rows_of.items():
                at = np.minimum(np.searchsorted(column, rows), len(column) - 1)
                if np.any(column[at] == rows):
                    covered[pid] += weight
        return {pid: w / total for pid, w in covered.items()} if total else {}

    def _rows_of_paper(self, paper_id: str) -> np.ndarray:
        if self._paper_rows is None:
            rows: dict[str, list[int]] = {}
            for i, pid in enumerate(self.paper_ids):
                rows.setdefault(pid, []).append(i)
            self._paper_rows = {pid: np.asarray(r) for pid, r in rows.items()}
        return self._paper_rows.get(paper_id, np.empty(0, dtype=np.int64))

    def dense_exact(
        self, query_vec: np.ndarray, mask: np.ndarray | None, n: int
    ) -> list[tuple[str, float]]:
        """Exact cosine top ``n`` among the chunks the mask allows, from the float16 copy:
        (chunk_id, similarity), best first. Needs ``vectors``."""
        if self.vectors is None:
            raise ValueError("this index holds no vectors")
        rows = np.arange(len(self.chunk_ids)) if mask is None else np.flatnonzero(mask)
        if len(rows) == 0 or n <= 0:
            return []
        sims = np.asarray(self.vectors[rows], dtype=np.float32) @ np.asarray(
            query_vec, dtype=np.float32
        )
        top = np.argpartition(-sims, n - 1)[:n] if len(sims) > n else np.arange(len(sims))
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(self.chunk_ids[rows[i]], float(sims[i])) for i in top]
