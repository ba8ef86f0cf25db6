"""Keeping the BM25 index at the store's revision.

The index records the StateDB revision it was built at. After a write, the index that was fresh
before it is extended with what the write changed (an ``IndexDelta``: one new segment and the
dropped rows, see store.bm25.index, so the cost follows the write, not the store), when no
other writer moved the revision in between; otherwise, and whenever a search finds the saved
index stale (a crash mid-write, another process), it is rebuilt from the chunks in Chroma.
Which index may be saved is the subject of :class:`BM25Keeper`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from store.bm25 import files as bm25_files
from store.bm25.index import BM25Index, ChunkRow
from store.seams import Snapshot
from store.state.db import StateDB

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
    #: False when the write also changed chunks it does not describe (a repair): rebuild then
    complete: bool = True

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
    """The index in memory and under ``root``; ``chunks`` reads every chunk for a rebuild.

    Only a *proven* index is saved: one built from a read during which no write was in flight
    and the revision did not move (:meth:`StateDB.snapshot` before and after), or the writer's
    own extension of a proven index by exactly what it wrote. While a write is in flight a
    reader searches the index proven before it began; lacking one, it rebuilds into memory
    only, for as long as that same write stays in flight: a save labelled with a revision must
    hold every chunk committed at that revision.
    """

    def __init__(self, root: Path, state: StateDB, chunks: ChunkSource) -> None:
        self.root = Path(root)
        self._state = state
        self._chunks = chunks
        self._index: BM25Index | None = None
        self._key: Snapshot | None = None  # the snapshot self._index is exact for

    def is_fresh(self) -> bool:
        """Whether the saved index was built at the current revision (nothing is loaded)."""
        saved = BM25Index.saved_revision(self.root)
        snap = self._state.snapshot()
        return saved is not None and saved == snap.revision and snap.quiet

    def rebuild(self) -> None:
        """Rebuild the index from the chunks in Chroma; save it if the read was consistent."""
        self._rebuild(self._state.snapshot())

    def current(self) -> BM25Index:
        """The index for the store as it is now, rebuilt first when it is missing or stale."""
        snap = self._state.snapshot()
        if self._index is not None and self._key == snap:
            return self._index
        if snap.quiet:
            index = self._proven_at(snap.revision)
            if index is not None:
                return index
        elif len(snap.live) == 1:
            # One write in flight, begun at revision - 1: the index proven then holds every
            # paper committed before it, which beats re-reading every chunk per search.
            index = self._proven_at(snap.revision - 1)
            if index is not None:
                return index
        log.info(
            "BM25 index missing or stale (store revision %d%s): rebuilding from Chroma",
            snap.revision,
            "" if snap.quiet else ", a write in flight",
        )
        return self._rebuild(snap)

    def after_write(self, start: Snapshot, delta: IndexDelta) -> None:
        """Extend the index that was exact at ``start`` by this write's ``delta`` when nothing
        else wrote since; otherwise rebuild it from Chroma."""
        now = self._state.snapshot()
        ours = delta.revisions == list(range(start.revision + 1, now.revision + 1))
        if ours and delta.complete and start.quiet and now.quiet:
            base = self._proven_at(start.revision)
            vectors = np.concatenate(delta.vectors) if delta.vectors else None
            index = None
            if base is not None:
                index = base.updated(
                    drop_papers=delta.drop, rows=delta.rows, vectors=vectors, revision=now.revision
                )
            if index is not None:
                self._keep(index, now, f"updated (+{len(delta.rows)} chunks)")
                return
        self._rebuild(now)

    def forget(self) -> None:
        """Drop the copy in memory (the saved one stays)."""
        self._index = None
        self._key = None

    def _rebuild(self, before: Snapshot) -> BM25Index:
        rows, vectors = self._chunks()
        after = self._state.snapshot()
        index = BM25Index.build(rows, revision=before.revision, vectors=vectors)
        if before.quiet and after == before:
            self._keep(index, before, "rebuilt")
        else:
            # Read while a write was in flight: good for this search, never saved.
            self._index, self._key = index, (before if after == before else None)
            log.info("BM25 index rebuilt in memory only (a write was in flight)")
        return index

    def _keep(self, index: BM25Index, snap: Snapshot, how: str) -> None:
        """Save a proven index, unless the store moved on meanwhile (then it is only kept in
        memory until the snapshot changes: a later revision's save must never be replaced
        by an older one)."""
        with bm25_files.save_lock(self.root):
            saved = self._state.snapshot() == snap
            if saved:
                index.save(self.root)
        self._index, self._key = index, snap
        log.info("BM25 index %s: %d chunks at revision %d%s", how, len(index), index.revision,
                 "" if saved else " (not saved: the store moved on)")  # fmt: skip

    def _proven_at(self, revision: int) -> BM25Index | None:
        """The proven index built at ``revision`` (in memory or saved), else None."""
        quiet = Snapshot(revision)
        if self._index is not None and self._key == quiet:
            return self._index
        loaded = BM25Index.load(self.root)
        if loaded is not None and loaded.revision == revision:
            self._index, self._key = loaded, quiet
            return loaded
        return None
