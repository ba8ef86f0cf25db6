"""One immutable slice of the BM25 index: a batch of chunks, their term counts and filter fields.

A segment holds, for its rows only: every chunk's token ids (``tokens`` + ``offsets``, ids into
the index-wide vocabulary), its postings (term-major CSC of raw term frequencies: for term t,
``rows[indptr[t]:indptr[t + 1]]`` are the segment's rows holding it, ``tf`` how often), the
per-chunk filter columns and, optionally, the float16 chunk vectors. Nothing in it depends on
the rest of the corpus (no idf, no average length), so a write appends a segment built from
its own chunks alone and BM25 is scored at query time from the raw counts
(store.bm25.index): the cost of a write is proportional to the write, not the store.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_META = "chunks.json"
_ARRAYS = ("tokens", "offsets", "indptr", "rows", "tf")
#: The per-chunk lists a segment keeps, saved in chunks.json under these names.
COLUMNS = ("chunk_ids", "paper_ids", "published_ts", "sources", "categories")


@dataclass
class Segment:
    """Build with :meth:`from_ids`; ``terms`` are the vocabulary entries this segment added
    (ids ``first_term`` ...), saved with it so the vocabulary is the concatenation of all
    segments' ``terms``."""

    columns: dict[str, list]
    tokens: np.ndarray  # int32, every row's term ids, concatenated
    offsets: np.ndarray  # int64, len(rows) + 1
    indptr: np.ndarray  # int64, one past the highest term id this segment holds + 1
    rows: np.ndarray  # int32, local row per posting, sorted within each term
    tf: np.ndarray  # int32 (float counts are never needed)
    first_term: int
    terms: list[str]
    vectors: np.ndarray | None = None
    name: str | None = None  # its folder once saved (segments never change after that)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @classmethod
    def from_ids(
        cls,
        columns: dict[str, list],
        ids: list[list[int]],
        *,
        first_term: int,
        terms: list[str],
        vectors: np.ndarray | None,
    ) -> Segment:
        lengths = np.fromiter((len(t) for t in ids), dtype=np.int64, count=len(ids))
        offsets = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        flat = np.fromiter(itertools.chain.from_iterable(ids), dtype=np.int32,
                           count=int(offsets[-1]))  # fmt: skip
        return cls.from_tokens(columns, flat, offsets, first_term=first_term, terms=terms,
                               vectors=vectors)  # fmt: skip

    @classmethod
    def from_tokens(
        cls,
        columns: dict[str, list],
        flat: np.ndarray,
        offsets: np.ndarray,
        *,
        first_term: int,
        terms: list[str],
        vectors: np.ndarray | None,
    ) -> Segment:
        n = len(offsets) - 1
        if vectors is not None:
            vectors = np.asarray(vectors, dtype=np.float16).reshape(n, -1) if n else None
        row_of = np.repeat(np.arange(n, dtype=np.int64), np.diff(offsets))
        keys = np.asarray(flat, dtype=np.int64) * max(n, 1) + row_of
        pairs, tf = np.unique(keys, return_counts=True)  # sorted by term, then row
        term = pairs // max(n, 1)
        top = int(term[-1]) + 1 if len(term) else 0
        indptr = np.searchsorted(term, np.arange(top + 1)).astype(np.int64)
        return cls(
            columns=columns,
            tokens=np.asarray(flat, dtype=np.int32),
            offsets=np.asarray(offsets, dtype=np.int64),
            indptr=indptr,
            rows=(pairs % max(n, 1)).astype(np.int32),
            tf=tf.astype(np.int32),
            first_term=first_term,
            terms=terms,
            vectors=vectors,
        )

    def postings(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        """(local rows, term frequencies) of one term id; empty when this segment lacks it."""
        if term + 1 >= len(self.indptr):
            return self.rows[:0], self.tf[:0]
        lo, hi = self.indptr[term], self.indptr[term + 1]
        return self.rows[lo:hi], self.tf[lo:hi]

    def doc_freqs(self, vocab_size: int) -> np.ndarray:
        """How many of this segment's rows hold each term (0 past its highest term)."""
        out = np.zeros(vocab_size, dtype=np.int64)
        counts = np.diff(self.indptr)
        out[: len(counts)] = counts
        return out

    def row_terms(self, row: int) -> np.ndarray:
        """The distinct term ids of one row."""
        return np.unique(self.tokens[self.offsets[row] : self.offsets[row + 1]])

    # --- persistence --------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        folder.mkdir()
        meta = {"first_term": self.first_term, "terms": self.terms, **self.columns}
        (folder / _META).write_text(json.dumps(meta), encoding="utf-8")
        for key in _ARRAYS:
            np.save(folder / f"{key}.npy", getattr(self, key))
        if self.vectors is not None:
            np.save(folder / "vectors.npy", np.asarray(self.vectors, dtype=np.float16))
        self.name = folder.name
        # From now on read the arrays from the files, as a loaded segment does: the index a
        # writer keeps between batches then holds postings and vectors (~2 KB a chunk) in the
        # page cache rather than its heap, so its memory does not grow batch after batch.
        for key in _ARRAYS:
            setattr(self, key, np.load(folder / f"{key}.npy", mmap_mode="r"))
        if self.vectors is not None:
            self.vectors = np.load(folder / "vectors.npy", mmap_mode="r")

    @classmethod
    def load(cls, folder: Path) -> Segment:
        """Arrays come back memory-mapped: a query reads only its terms' postings."""
        meta = json.loads((folder / _META).read_text(encoding="utf-8"))
        arrays = {key: np.load(folder / f"{key}.npy", mmap_mode="r") for key in _ARRAYS}
        vectors = None
        if (folder / "vectors.npy").is_file():
            vectors = np.load(folder / "vectors.npy", mmap_mode="r")
        columns = {key: meta[key] for key in COLUMNS}
        segment = cls(columns=columns, first_term=int(meta["first_term"]), terms=meta["terms"],
                      vectors=vectors, name=folder.name, **arrays)  # fmt: skip
        n = len(segment)
        if any(len(columns[key]) != n for key in COLUMNS) or (
            vectors is not None and len(vectors) != n
        ):
            raise ValueError(f"segment {folder.name} is inconsistent")
        return segment


class SegmentVectors:
    """The chunk vectors of every segment, read by global row (never concatenated whole)."""

    def __init__(self, segments: Sequence[Segment], starts: np.ndarray) -> None:
        self._segments, self._starts = segments, starts

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        which = np.searchsorted(self._starts, rows, side="right") - 1
        dim = next(s.vectors.shape[1] for s in self._segments if s.vectors is not None)
        out = np.empty((len(rows), dim), dtype=np.float32)
        for k in np.unique(which):
            pick = which == k
            out[pick] = self._segments[k].vectors[rows[pick] - self._starts[k]]
        return out
