"""Reading papers back: by id, by date window, their vectors and chunks, and a consistency check.

A mixin of PaperStore, kept apart from the writing code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from store.chroma.batches import ChromaBatches, slices
from store.errors import StoreError
from store.papers import records as rec_mod
from store.papers.records import build_where


class ReadMixin:
    """Read methods of PaperStore; relies on its collections and paging helpers."""

    _batches: ChromaBatches
    _papers: Any
    _chunks: Any
    embedder: Any

    def _errors(self) -> Any: ...

    def get(self, paper_id: str) -> dict | None:
        found = self.get_many([paper_id])
        return found[0] if found else None

    def get_many(self, ids: Sequence[str]) -> list[dict]:
        """Papers in the order given; unknown ids are left out."""
        found = self._fetch_papers(ids)
        return [found[pid][0] for pid in ids if pid in found]

    def _fetch_papers(self, ids: Sequence[str]) -> dict[str, tuple[dict, range]]:
        """paper id -> (paper dict, the chunk slots its record commits)."""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, tuple[dict, range]] = {}
        with self._errors():
            for sl in slices(len(wanted), self._batches.size):
                got = self._papers.get(ids=wanted[sl], include=["metadatas", "documents"])
                for pid, meta, doc in zip(
                    got["ids"], got["metadatas"], got["documents"], strict=True
                ):
                    record = rec_mod.record_from_chroma(pid, doc or "", meta or {})
                    found[pid] = (record, rec_mod.chunk_slots(meta))
        return found

    def list_papers(
        self,
        *,
        since_ts: int | None = None,
        until_ts: int | None = None,
        source: str | None = None,
        category: str | None = None,
        limit: int | None = None,
    ) -> list[dict]:
        """Papers published in [since_ts, until_ts) (epoch seconds), newest first."""
        where = build_where(since_ts=since_ts, until_ts=until_ts, source=source, category=category)
        with self._errors():
            got = self._batches.get_all(self._papers, where=where, include=["metadatas"])
        order = sorted(
            zip(got["ids"], got["metadatas"], strict=True),
            key=lambda item: (-(item[1] or {}).get("published_ts", -(2**62)), item[0]),
        )
        if limit is not None:
            order = order[: max(0, limit)]
        return self.get_many([pid for pid, _ in order])

    def paper_vectors(self, ids: Sequence[str]) -> np.ndarray:
        """One L2-normalised vector per paper (the mean of its chunk vectors), in order."""
        vectors: dict[str, np.ndarray] = {}
        wanted = list(dict.fromkeys(ids))
        with self._errors():
            for sl in slices(len(wanted), self._batches.size):
                got = self._papers.get(ids=wanted[sl], include=["embeddings"])
                for pid, emb in zip(got["ids"], got["embeddings"], strict=True):
                    vectors[pid] = np.asarray(emb, dtype=np.float32)
        missing = [pid for pid in wanted if pid not in vectors]
        if missing:
            raise StoreError(
                f"no such papers in the store: {', '.join(missing[:5])}"
                + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""),
                hint="Ingest them first, or pass ids returned by list_papers/search.",
            )
        dim = self.embedder.dim or (len(next(iter(vectors.values()))) if vectors else 0)
        if not ids:
            return np.zeros((0, dim), dtype=np.float32)
        return np.stack([vectors[pid] for pid in ids])

    def chunks_of(self, paper_id: str) -> list[dict]:
        """The chunks a paper's record commits, in order: ``{"id", "n", "text"}`` (a write that
        died part-way may have left others beside them)."""
        with self._errors():
            record = self._papers.get(ids=[paper_id], include=["metadatas"])
            got = self._chunks.get(where={"paper_id": paper_id}, include=["metadatas", "documents"])
        slots = rec_mod.chunk_slots(record["metadatas"][0] if record["ids"] else None)
        rows = [
            {"id": cid, "n": int((meta or {}).get("n", -1)), "text": doc or ""}
            for cid, meta, doc in zip(got["ids"], got["metadatas"], got["documents"], strict=True)
        ]
        return sorted((r for r in rows if r["n"] in slots), key=lambda r: r["n"])

    def verify(self) -> dict[str, int]:
        """Consistency counts: ``orphan_chunks`` (no paper record, or outside the record's chunk
        slots: left by a crash until the next write repairs it) and ``missing_chunks``
        (chunks a committed paper should have but does not; always 0 unless Chroma lost data)."""
        with self._errors():
            papers = self._batches.get_all(self._papers, where=None, include=["metadatas"])
            chunks = self._batches.get_all(self._chunks, where=None, include=["metadatas"])
        slots = {
            pid: rec_mod.chunk_slots(meta)
            for pid, meta in zip(papers["ids"], papers["metadatas"], strict=True)
        }
        seen: set[tuple[str, int]] = set()
        orphans = 0
        for meta in chunks["metadatas"]:
            pid, n = str((meta or {}).get("paper_id")), int((meta or {}).get("n", -1))
            if pid not in slots or n not in slots[pid]:
                orphans += 1
            else:
                seen.add((pid, n))
        expected = sum(len(r) for r in slots.values())
        return {
            "papers": len(slots),
            "chunks": len(chunks["ids"]),
            "orphan_chunks": orphans,
            "missing_chunks": expected - len(seen),
        }
