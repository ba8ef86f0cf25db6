"""Keeping the BM25 index at the store's revision.

The index records the StateDB revision it was built at. After a write, the index that was fresh
before it is extended with what the write changed (an ``IndexDelta``), when no other writer
moved the revision in between; otherwise, and whenever a search finds the saved index stale
(a crash mid-write, another process), it is rebuilt from the chunks in Chroma.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from store.bm25_index import BM25Index, ChunkRow
from store.state import StateDB

log = logging.getLogger(__name__)

#: Every chunk of the live generation: its rows and their vectors (None when there are none).
ChunkSource = Callable[[], tuple[list[ChunkRow], np.ndarray | None]]


@dataclass
class IndexDelta:
    """What one upsert changed, so the BM25 index is updated rather than rebuilt from Chroma."""

    revisions: list[int] = field(default_factory=list)  # each batch's bump, in order
    drop: set[str] = field(default_factory=set)  # papers whose indexed chunks are replaced
    rows: list[ChunkRow] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)

    def replace(
        self,
        paper_ids: Sequence[str],
        ids: Sequence[str],
        docs: Sequence,
        metas: Sequence,
        vectors: Any,
    ) -> None:
        self.drop.update(paper_ids)
        self.rows.extend(
            ChunkRow.from_chroma(cid, meta, doc)
            for cid, meta, doc in zip(ids, metas, docs, strict=True)
        )
        if len(ids):
            self.vectors.append(np.asarray(vectors, dtype=np.float32))


class BM25Keeper:
    """The index in memory and under ``root``; ``chunks`` reads every chunk for a rebuild."""

    def __init__(self, root: Path, state: StateDB, chunks: ChunkSource) -> None:
        self.root = Path(root)
        self._state = state
        self._chunks = chunks
        self._index: BM25Index | None = None

    def is_fresh(self) -> bool:
        """Whether the saved index was built at the current revision (nothing is loaded)."""
        saved = BM25Index.saved_revision(self.root)
        return saved is not None and saved == self._state.revision()

    def rebuild(self) -> None:
        """Rebuild the index from the chunks in Chroma and save it."""
        revision = self._state.revision()  # read first: a write meanwhile leaves it stale
        rows, vectors = self._chunks()
        self._keep(BM25Index.build(rows, revision=revision, vectors=vectors), "rebuilt")

    def current(self) -> BM25Index:
        """The index at the current revision, rebuilt first when it is missing or stale."""
        index = self._at(self._state.revision())
        if index is not None:
            return index
        log.info(
            "BM25 index missing or stale (store revision %d): rebuilding from Chroma",
            self._state.revision(),
        )
        self.rebuild()
        assert self._index is not None
        return self._index

    def after_write(self, start_revision: int, delta: IndexDelta) -> None:
        """Extend the index that was fresh at ``start_revision`` when only this write's batches
        moved the revision since; otherwise rebuild it from Chroma."""
        revision = self._state.revision()
        if delta.revisions == list(range(start_revision + 1, revision + 1)):
            base = self._at(start_revision)
            vectors = np.concatenate(delta.vectors) if delta.vectors else None
            index = None
            if base is not None:
                index = base.updated(
                    drop_papers=delta.drop, rows=delta.rows, vectors=vectors, revision=revision
                )
            if index is not None:
                self._keep(index, f"updated (+{len(delta.rows)} chunks)")
                return
        self.rebuild()

    def forget(self) -> None:
        """Drop the copy in memory (the saved one stays)."""
        self._index = None

    def _keep(self, index: BM25Index, how: str) -> None:
        index.save(self.root)
        self._index = index
        log.info("BM25 index %s: %d chunks at revision %d", how, len(index), index.revision)

    def _at(self, revision: int) -> BM25Index | None:
        """The index built at ``revision`` (in memory or saved), else None."""
        if self._index is None or self._index.revision != revision:
            self._index = BM25Index.load(self.root)
        if self._index is not None and self._index.revision == revision:
            return self._index
        return None
