"""A BM25 index over the same chunks as the dense index (PyStemmer terms), saved beside Chroma.

Local Chroma has no sparse ranking, and exact rare terms (model names, dataset ids) are where
dense retrieval is weakest, so the hybrid search fuses both. The index records the StateDB
revision it was built at; a store whose revision moved on treats it as stale and rebuilds it.

It is a list of immutable segments (store.bm25.segment: raw term counts, no corpus-wide
statistics), the rows dropped since (``alive``), and the corpus statistics BM25 needs (document
frequencies, live row count, total length) kept up to date incrementally. Scores are computed at
query time from the raw counts (Lucene/Robertson BM25, k1 1.5, b 0.75, as bm25s scores), so a
write of a few papers appends one small segment (:meth:`BM25Index.updated`) and its cost is
proportional to the write, while the scores are exactly those of a full rebuild (each row's sum
runs over the query terms in the same order whatever segment holds it). Small segments are
merged like a binary counter (two neighbours of similar size become one), so there are at most
about log2(store/batch) of them. Each chunk's filter fields (published_ts, source, categories)
live here too, so filters are exact masks over the scores rather than over-fetch-and-drop.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from store.bm25 import files as bm25_files
from store.bm25.segment import COLUMNS, Segment, SegmentVectors
from store.bm25.tokens import idf, ids_of, tokenize, tokenize_query

_NO_TS = np.iinfo(np.int64).min
K1, B = 1.5, 0.75
#: Past this many segments the tail is merged whatever its sizes (up to MAX_SEGMENT_ROWS).
MAX_SEGMENTS = 16
#: A merge never makes a segment bigger than this many rows. A merge holds ~5.6 KB per merged
#: row in flight (every token several times over, the vectors twice): merging a 15,000-chunk
#: tail added 86 MB to an ingest's peak, and merging a whole 20,000-paper store ~300 MB.
#: Capped, a write's peak is flat however big the store is (~40 MB at most), and a
#: 100,000-paper store (~350,000 chunks) is ~50 segments, which a query walks in a few ms.
MAX_SEGMENT_ROWS = 8192


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


def _columns(rows: Sequence[ChunkRow]) -> dict[str, list]:
    return {
        "chunk_ids": [r.id for r in rows],
        "paper_ids": [r.paper_id for r in rows],
        "published_ts": [r.published_ts for r in rows],
        "sources": [r.source for r in rows],
        "categories": [list(r.categories) for r in rows],
    }


class BM25Index:
    """Chunk-level BM25 with metadata masks. Build with :meth:`build`, persist with :meth:`save`."""

    def __init__(
        self, segments: list[Segment], *, revision: int, dead: np.ndarray | None = None
    ) -> None:
        self.segments = [s for s in segments if len(s)]
        self.revision = revision
        sizes = [len(s) for s in self.segments]
        self._starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        n = int(self._starts[-1])
        cols = {k: list(itertools.chain.from_iterable(s.columns[k] for s in self.segments))
                for k in COLUMNS}  # fmt: skip
        #: every row's chunk id, dead rows included (``chunk_ids`` lists the live ones)
        self.row_ids: list[str] = cols["chunk_ids"]
        self.paper_ids: list[str] = cols["paper_ids"]  # per row, dead rows included
        published = [_NO_TS if ts is None else int(ts) for ts in cols["published_ts"]]
        self._published = np.array(published, dtype=np.int64)
        self._sources = np.array([s or "" for s in cols["sources"]], dtype=object)
        self._categories: list[list[str]] = cols["categories"]
        self._lengths = (np.concatenate([s.lengths for s in self.segments]) if n
                         else np.zeros(0, dtype=np.int64))  # fmt: skip
        terms = itertools.chain.from_iterable(s.terms for s in self.segments)
        self.vocab: dict[str, int] = {t: i for i, t in enumerate(terms)} if n else {}
        self.alive = np.ones(n, dtype=bool)
        self.df = np.zeros(len(self.vocab), dtype=np.int64)
        for segment in self.segments:
            self.df += segment.doc_freqs(len(self.vocab))
        if dead is not None and len(dead):
            self._kill(np.asarray(dead, dtype=np.int64))
        #: float16 chunk vectors by row, for exact filtered search; None unless every segment
        #: has them
        self.vectors: SegmentVectors | None = None
        if self.segments and all(s.vectors is not None for s in self.segments):
            self.vectors = SegmentVectors(self.segments, self._starts)
        self._norm: np.ndarray | None = None
        self._positions: dict[str, int] | None = None
        self._paper_rows: dict[str, list[int]] | None = None
        self._by_category: dict[str, np.ndarray] | None = None

    def _kill(self, rows: np.ndarray) -> None:
        rows = rows[self.alive[rows]]
        self.alive[rows] = False
        for row in rows:
            k = int(np.searchsorted(self._starts, row, side="right") - 1)
            self.df[self.segments[k].row_terms(int(row - self._starts[k]))] -= 1

    def __len__(self) -> int:
        return int(self.alive.sum())

    @property
    def chunk_ids(self) -> list[str]:
        """The ids of the chunks in the index (rows dropped by later writes left out)."""
        return [self.row_ids[i] for i in np.flatnonzero(self.alive)]

    def position(self, chunk_id: str) -> int | None:
        """Row of a live chunk id (built on first use: a dict over every chunk)."""
        if self._positions is None:
            live = np.flatnonzero(self.alive)
            self._positions = {self.row_ids[i]: int(i) for i in live}
        return self._positions.get(chunk_id)

    @classmethod
    def build(
        cls, rows: Iterable[ChunkRow], *, revision: int, vectors: np.ndarray | None = None
    ) -> BM25Index:
        """``vectors`` (one row per chunk, optional) are kept as float16 for exact search
        within a filter."""
        rows = list(rows)
        if vectors is not None and len(vectors) != len(rows):
            raise ValueError(f"{len(vectors)} vectors for {len(rows)} chunks")
        vocab: dict[str, int] = {"": 0}  # id 0: never a query term; keeps a stop-word corpus valid
        ids = ids_of(tokenize([r.text for r in rows]), vocab)
        segment = Segment.from_ids(_columns(rows), ids, first_term=0, terms=list(vocab),
                                   vectors=vectors)  # fmt: skip
        return cls([segment], revision=revision)

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
        tokenized and only their segment is new; scores equal a full rebuild's. None when the
        vectors do not match (this index has them and the new rows not, or the reverse):
        rebuild from Chroma then."""
        if not len(self):
            return BM25Index.build(rows, revision=revision, vectors=vectors)
        if rows and (self.vectors is None) != (vectors is None):
            return None
        vocab = dict(self.vocab)
        first = len(vocab)
        ids = ids_of(tokenize([r.text for r in rows]), vocab)
        terms = list(itertools.islice(vocab, first, None))
        segments = list(self.segments)
        if rows:
            segments.append(Segment.from_ids(_columns(rows), ids, first_term=first, terms=terms,
                                             vectors=vectors))  # fmt: skip
        dead = np.flatnonzero(~self.alive)
        drop = [r for pid in drop_papers for r in self._rows_of(pid)]
        dead = np.union1d(dead, np.asarray(drop, dtype=np.int64))
        return _merged(segments, dead, revision)

    # --- persistence (the format is store.bm25.files') ---------------------------------------
    def save(self, root: Path) -> None:
        """Write the segments not on disk yet and a new manifest, then point CURRENT at it."""
        bm25_files.write(root, self.revision, self.segments, np.flatnonzero(~self.alive))

    @staticmethod
    def saved_revision(root: Path) -> int | None:
        return bm25_files.saved_revision(root)

    @classmethod
    def load(cls, root: Path) -> BM25Index | None:
        """The saved index, or None when there is none (or it is unreadable: rebuild then)."""
        files = bm25_files.read(root)
        if files is None:
            return None
        return cls(files.segments, revision=files.revision, dead=files.dead)

    # --- search ---------------------------------------------------------------------------
    def mask(
        self,
        since_ts: int | None,
        until_ts: int | None,
        category: str | None,
        source: str | None,
    ) -> np.ndarray | None:
        """The live rows passing the filters; None when there are no filters and no dead rows."""
        if since_ts is None and until_ts is None and category is None and source is None:
            return None if self.alive.all() else self.alive.copy()
        mask = self.alive.copy()
        if since_ts is not None:
            mask &= (self._published != _NO_TS) & (self._published >= since_ts)
        if until_ts is not None:
            mask &= (self._published != _NO_TS) & (self._published < until_ts)
        if source is not None:
            mask &= self._sources == source
        if category is not None:
            if self._by_category is None:
                positions: dict[str, list[int]] = {}
                for i, cats in enumerate(self._categories):
                    for cat in cats:
                        positions.setdefault(cat, []).append(i)
                self._by_category = {k: np.asarray(v) for k, v in positions.items()}
            in_cat = np.zeros(len(self.row_ids), dtype=bool)
            idx = self._by_category.get(category)
            if idx is not None:
                in_cat[idx] = True
            mask &= in_cat
        return mask

    def scores(self, query: str) -> np.ndarray | None:
        """BM25 of every row (dead ones included, they are masked later); None: no term known."""
        tids = [self.vocab[t] for t in tokenize_query(query) if t in self.vocab]
        if not tids:
            return None
        n_live = len(self)
        if self._norm is None:  # per row, once per index: the part of BM25 the query lacks
            avgdl = float(self._lengths[self.alive].sum()) / max(n_live, 1)
            self._norm = K1 * (1 - B + B * self._lengths / avgdl)
        scores = np.zeros(len(self.row_ids), dtype=np.float64)
        for tid in tids:
            weight = idf(int(self.df[tid]), n_live)
            for segment, start in zip(self.segments, self._starts, strict=False):
                rows, tf = segment.postings(tid)
                if not len(rows):
                    continue
                at = rows.astype(np.int64) + start
                tf = tf.astype(np.float64)
                scores[at] += weight * tf / (tf + self._norm[at])
        return scores

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
        if n <= 0 or not len(self):
            return []
        scores = self.scores(query)
        if scores is None:
            return []
        mask = self.mask(since_ts, until_ts, category, source)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        candidates = np.flatnonzero(scores > 0)
        if len(candidates) > n:
            top = np.argpartition(-scores[candidates], n - 1)[:n]
            candidates = candidates[top]
        order = candidates[np.argsort(-scores[candidates], kind="stable")]
        return [(self.row_ids[i], self.paper_ids[i], float(scores[i])) for i in order]

    def term_coverage(self, query: str, paper_ids: Iterable[str]) -> dict[str, float]:
        """Per paper, the share of the query's term weight (BM25's idf) that its chunks contain.

        Lexical evidence beside the cosine: a broad question ("which papers use reanalysis
        data?") can sit far from every chunk in embedding space while its rare terms are all in
        one paper. A query term no chunk contains weighs as a term of document frequency 0.
        Empty when the query has no terms.
        """
        tokens = tokenize_query(query)
        if not tokens or not len(self):
            return {}
        n_docs = len(self)
        rows_of = {pid: set(self._rows_of(pid)) for pid in dict.fromkeys(paper_ids)}
        covered = dict.fromkeys(rows_of, 0.0)
        total = 0.0
        for token in tokens:
            tid = self.vocab.get(token)
            weight = idf(int(self.df[tid]) if tid is not None else 0, n_docs)
            total += weight
            if tid is None:
                continue
            for pid, rows in rows_of.items():
                if any(self._holds(row, tid) for row in rows):
                    covered[pid] += weight
        return {pid: w / total for pid, w in covered.items()} if total else {}

    def _holds(self, row: int, tid: int) -> bool:
        k = int(np.searchsorted(self._starts, row, side="right") - 1)
        local, _ = self.segments[k].postings(tid)
        at = np.searchsorted(local, row - self._starts[k])
        return bool(at < len(local) and local[at] == row - self._starts[k])

    def _rows_of(self, paper_id: str) -> list[int]:
        """The live rows of one paper."""
        if self._paper_rows is None:
            rows: dict[str, list[int]] = {}
            for i, pid in enumerate(self.paper_ids):
                rows.setdefault(pid, []).append(i)
            self._paper_rows = rows
        return [r for r in self._paper_rows.get(paper_id, []) if self.alive[r]]

    def dense_exact(
        self, query_vec: np.ndarray, mask: np.ndarray | None, n: int
    ) -> list[tuple[str, float]]:
        """Exact cosine top ``n`` among the live chunks the mask allows, from the float16
        copy: (chunk_id, similarity), best first. Needs ``vectors``."""
        vectors = self.vectors
        if vectors is None:
            raise ValueError("this index holds no vectors")
        rows = np.flatnonzero(self.alive if mask is None else mask & self.alive)
        if len(rows) == 0 or n <= 0:
            return []
        sims = vectors[rows] @ np.asarray(query_vec, dtype=np.float32)
        top = np.argpartition(-sims, n - 1)[:n] if len(sims) > n else np.arange(len(sims))
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(self.row_ids[rows[i]], float(sims[i])) for i in top]


def _merged(segments: list[Segment], dead: np.ndarray, revision: int) -> BM25Index:
    """The index over ``segments`` less ``dead`` rows, after merging the tail like a binary
    counter (while the older neighbour is no bigger than all after it; the whole tail past
    MAX_SEGMENTS), never into a segment above MAX_SEGMENT_ROWS, and after rewriting alone any
    older segment that is more than half dead. The other segments are shared as they are."""
    sizes = [len(s) for s in segments]
    cut = len(segments)
    while (
        cut >= 2
        and (sizes[cut - 2] <= sum(sizes[cut - 1 :]) or len(segments) > MAX_SEGMENTS)
        and sum(sizes[cut - 1 :]) <= MAX_SEGMENT_ROWS  # the tail this step would make
    ):
        cut -= 1
    groups = [[k] for k in range(cut)]
    if cut < len(segments):
        groups.append(list(range(cut, len(segments))))
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    out: list[Segment] = []
    out_dead: list[np.ndarray] = []
    row = 0
    for group in groups:
        lo, hi = int(starts[group[0]]), int(starts[group[-1] + 1])
        local = dead[(dead >= lo) & (dead < hi)] - lo
        # A wholly dead segment stays (its rows masked): the vocabulary is every segment's
        # terms in order, and an emptied segment would vanish with the terms it added.
        if len(group) > 1 or hi - lo < 2 * len(local) < 2 * (hi - lo):
            merged = _merge([segments[k] for k in group], local)
            out.append(merged)
            row += len(merged)
        else:
            out.append(segments[group[0]])
            out_dead.append(local + row)
            row += hi - lo
    kept = np.concatenate(out_dead) if out_dead else np.empty(0, dtype=np.int64)
    return BM25Index(out, revision=revision, dead=kept)


def _merge(segments: list[Segment], dead: np.ndarray) -> Segment:
    """One segment holding the live rows of ``segments`` (rows numbered from the first)."""
    flat = np.concatenate([np.asarray(s.tokens) for s in segments])
    bases = np.cumsum([0] + [int(s.offsets[-1]) for s in segments])
    offsets = np.concatenate(
        [np.asarray(s.offsets[:-1]) + base for s, base in zip(segments, bases, strict=False)]
        + [bases[-1:]]
    ).astype(np.int64)
    n = len(offsets) - 1
    live = np.setdiff1d(np.arange(n), dead)
    lengths = np.diff(offsets)[live]
    keep = np.repeat(live, lengths)
    starts = np.repeat(offsets[live], lengths)
    within = np.arange(len(keep)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    new_flat = flat[starts + within] if len(keep) else flat[:0]
    new_offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    columns = {k: [v for s in segments for v in s.columns[k]] for k in COLUMNS}
    columns = {k: [v[i] for i in live] for k, v in columns.items()}
    vectors = None
    if all(s.vectors is not None for s in segments):
        vectors = np.concatenate([np.asarray(s.vectors) for s in segments])[live]
    terms = [t for s in segments for t in s.terms]
    return Segment.from_tokens(columns, new_flat, new_offsets, first_term=segments[0].first_term,
                               terms=terms, vectors=vectors)  # fmt: skip
