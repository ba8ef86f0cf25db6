"""Writing papers into the store: upsert, and the write order that makes it crash-consistent.

Per batch, chunks are written first and the paper record last. The paper record, with its
content_hash and its chunk slots, is the commit marker: a new version's chunks go to slots the
old version does not use, the record switches the slots, and only then are the old chunks
deleted; a paper whose record is missing or has another hash is (re)processed by the next
upsert. Every write is registered in StateDB (``begin_write``: the revision moves) with the
papers it touches, and unregistered at its end (the revision moves again); a write whose
process died is repaired by the next one, which deletes the chunks its papers' records do not
commit. So a crash leaves the BM25 index stale and the next search rebuilds it.

``write_prepared`` is shared with the reindex, which writes into a generation that is not live
yet; ``WriteMixin`` is PaperStore's upsert, kept apart from reading and searching.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from store.bm25.keeper import BM25Keeper, IndexDelta
from store.chroma.batches import ChromaBatches, slices
from store.chroma.generations import Generation
from store.chroma.read_retry import retry_transient
from store.embedding.embedders import Embedder
from store.papers import records as rec_mod
from store.results import UpsertResult
from store.state import meta_keys
from store.state.db import StateDB


def release_freed_memory() -> None:
    """Hand the heap pages freed by a write back to the OS (glibc only; elsewhere nothing).

    A batch frees its records, chunks, vectors and Chroma's buffers, but glibc keeps the freed
    pages in per-thread arenas (Chroma's Rust threads and onnxruntime's each have theirs), so
    a long ingest's RSS crept up batch after batch. ``malloc_trim`` returns them (~1 ms)."""
    global _malloc_trim
    if _malloc_trim is None:
        try:
            _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim: Any = None


def write_prepared(batches: ChromaBatches, gen: Generation, batch: rec_mod.PreparedBatch) -> None:
    """1. chunks (in free slots), 2. paper records (the commit), 3. delete the chunks the
    records no longer name."""
    batches.upsert(gen.chunks, "chunks", batch.chunk_ids, batch.chunk_vectors,
                   batch.chunk_texts, batch.chunk_metas)  # fmt: skip
    batches.upsert(gen.papers, "papers", batch.paper_ids, batch.paper_vectors,
                   batch.paper_docs, batch.paper_metas)  # fmt: skip
    keep = set(batch.chunk_ids)
    existing = batches.get_all(
        gen.chunks, where={"paper_id": {"$in": batch.paper_ids}}, include=[]
    )["ids"]
    batches.delete(gen.chunks, [cid for cid in existing if cid not in keep])


def repair_papers(batches: ChromaBatches, gen: Generation, paper_ids: list[str]) -> int:
    """Delete the chunks of these papers that their records do not commit (left by a write
    that died between its chunks and its records, or between its records and the clean-up).
    Papers without a record keep their chunks: the next upsert of the paper completes them."""
    if not paper_ids:
        return 0
    got = gen.papers.get(ids=paper_ids, include=["metadatas"])
    metas = zip(got["ids"], got["metadatas"], strict=True)
    slots = {pid: rec_mod.chunk_slots(meta) for pid, meta in metas}
    if not slots:
        return 0
    chunks = batches.get_all(
        gen.chunks, where={"paper_id": {"$in": list(slots)}}, include=["metadatas"]
    )
    stale = [
        cid
        for cid, meta in zip(chunks["ids"], chunks["metadatas"], strict=True)
        if int((meta or {}).get("n", -1)) not in slots[str((meta or {}).get("paper_id"))]
    ]
    batches.delete(gen.chunks, stale)
    return len(stale)


class WriteMixin:
    """``upsert`` for PaperStore; relies on its live generation, embedder and BM25 keeper."""

    state: StateDB
    embedder: Embedder
    _gen: Generation
    _batches: ChromaBatches
    _bm25: BM25Keeper
    _papers_per_batch: int

    def _errors(self) -> Any: ...
    def _require_matching_embedder(self) -> None: ...
    def _after_embed(self, vectors: np.ndarray) -> None: ...
    def _reopen(self) -> None: ...

    def upsert(
        self, records: Sequence[dict], progress: Callable[[int], None] | None = None
    ) -> UpsertResult:
        """Insert new papers, re-embed changed ones, refresh metadata of the rest.

        ``progress(done)`` gets the number of records handled so far after each batch.
        """
        self._require_matching_embedder()
        by_id: dict[str, dict] = {}
        for record in records:
            rec = rec_mod.normalise_record(record)
            by_id.pop(rec["id"], None)  # the last copy of an id wins
            by_id[rec["id"]] = rec
        batch_recs = list(by_id.values())
        result = UpsertResult()
        with self._errors():
            start = self.state.snapshot()
            write = _Write(self.state, self._batches, self._gen)
            try:
                for sl in slices(len(batch_recs), self._papers_per_batch):
                    self._upsert_batch(batch_recs[sl], result, write)
                    if progress is not None:
                        progress(sl.stop)
            except BaseException:
                write.abandon()
                raise
            if write.end():
                self._bm25.after_write(start, write.delta)
        release_freed_memory()
        return result

    def _upsert_batch(self, batch: list[dict], result: UpsertResult, write: _Write) -> None:
        ids = [r["id"] for r in batch]
        got = self._gen.papers.get(ids=ids, include=["metadatas", "documents", "embeddings"])
        embeddings = got["embeddings"] if got["embeddings"] is not None else []
        old = {
            pid: (meta, doc, emb)
            for pid, meta, doc, emb in zip(
                got["ids"], got["metadatas"], got["documents"], embeddings, strict=True
            )
        }
        to_embed: list[dict] = []
        meta_only: list[tuple[dict, dict, tuple]] = []
        for rec in batch:
            prev = old.get(rec["id"])
            if prev is None:
                to_embed.append(rec)
                result.new.append(rec["id"])
                continue
            prev_meta = prev[0] or {}
            if prev_meta.get("content_hash") != rec["content_hash"]:
                to_embed.append(rec)
                result.updated.append(rec["id"])
                continue
            # Same text: the chunks already stored are right (the record is the commit
            # marker), so only metadata is rewritten, and only if it changed.
            slots = rec_mod.chunk_slots(prev_meta)
            new_meta = rec_mod.paper_metadata(
                rec,
                ingested_at=str(prev_meta.get("ingested_at") or rec_mod.now_iso()),
                n_chunks=slots.stop,
                chunk_base=slots.start,
            )
            if prev_meta.get("version") != rec["version"]:
                result.updated.append(rec["id"])
                meta_only.append((rec, new_meta, prev))
            else:
                result.unchanged.append(rec["id"])
                if rec_mod.comparable(new_meta) != rec_mod.comparable(prev_meta):
                    meta_only.append((rec, new_meta, prev))
        if not to_embed and not meta_only:
            return
        # Registered before writing: a crash mid-batch leaves BM25 stale and is repaired.
        write.touch([r["id"] for r in to_embed] + [r["id"] for r, _, _ in meta_only])
        if to_embed:
            old_slots = {pid: rec_mod.chunk_slots(meta) for pid, (meta, _, _) in old.items()}
            result.chunks += self._write_embedded(to_embed, write.delta, old_slots)
        if meta_only:
            self._write_metadata_only(meta_only, write.delta)

    def _write_embedded(
        self, recs: list[dict], delta: IndexDelta, old_slots: dict[str, range]
    ) -> int:
        now = rec_mod.now_iso()
        batch = rec_mod.prepare_batch(recs, self.embedder.embed, lambda _rec: now, old_slots)
        self._after_embed(batch.chunk_vectors)
        # Chroma 1.5.9 can fail a large store's write with "Error in compaction: Failed to apply
        # logs to the metadata segment" (chroma-core/chroma#5366, #5552; here once at ~60,000
        # papers). The same batch written again on a fresh client went through, and the batch
        # is idempotent (fixed ids; chunks, then records, then clean-up), so write it again.
        retry_transient(
            lambda: write_prepared(self._batches, self._gen, batch),
            on_retry=self._reopen,
        )
        delta.replace(batch.paper_ids, batch.chunk_ids, batch.chunk_texts, batch.chunk_metas,
                      batch.chunk_vectors)  # fmt: skip
        return len(batch.chunk_ids)

    def _write_metadata_only(
        self, items: list[tuple[dict, dict, tuple]], delta: IndexDelta
    ) -> None:
        """Same text, new metadata: rewrite the records around their stored vectors; chunks
        too when a field they carry (dates, source, categories) changed."""
        gen = self._gen
        changed = [
            (rec, meta)
            for rec, meta, prev in items
            if rec_mod.chunk_fields(meta) != rec_mod.chunk_fields(prev[0])
        ]
        if changed:
            new_meta = {rec["id"]: meta for rec, meta in changed}
            got = gen.chunks.get(
                where={"paper_id": {"$in": list(new_meta)}},
                include=["metadatas", "documents", "embeddings"],
            )
            rows = [  # only the chunks the records commit (not a dead write's leftovers)
                (cid, m, doc, emb)
                for cid, m, doc, emb in zip(
                    got["ids"], got["metadatas"], got["documents"], got["embeddings"], strict=True
                )
                if int(m["n"]) in rec_mod.chunk_slots(new_meta[m["paper_id"]])
            ]
            cids, docs = [r[0] for r in rows], [r[2] for r in rows]
            embs = np.asarray([r[3] for r in rows], dtype=np.float32)
            metas = [
                rec_mod.chunk_metadata(new_meta[m["paper_id"]], m["paper_id"], int(m["n"]))
                for _, m, _, _ in rows
            ]
            if rows:
                self._batches.upsert(gen.chunks, "chunks", cids, embs, docs, metas)
            delta.replace(list(new_meta), cids, docs, metas, embs)
        ids = [rec["id"] for rec, _, _ in items]
        vecs = np.asarray([prev[2] for _, _, prev in items], dtype=np.float32)
        docs = [prev[1] for _, _, prev in items]
        metas = [meta for _, meta, _ in items]
        self._batches.upsert(gen.papers, "papers", ids, vecs, docs, metas)

    def date_undated_papers(self) -> int:
        """Once per store: papers stored before undated papers were dated by their ingest time
        (0.2) get that date, so a date window is one query on ``published_ts``. A metadata-only
        rewrite through upsert (chunks' filter fields and BM25 follow); call under the writer
        lock. Returns how many papers it dated."""
        if self.state.get_meta(meta_keys.UNDATED_DATED):
            return 0
        with self._errors():
            got = self._batches.get_all(self._gen.papers, where=None, include=["metadatas"])
        ids = [
            pid
            for pid, meta in zip(got["ids"], got["metadatas"], strict=True)
            if "published_ts" not in (meta or {})
        ]
        if ids:
            self.upsert(self.get_many(ids))  # type: ignore[attr-defined]
        self.state.set_meta(meta_keys.UNDATED_DATED, "1")
        return len(ids)

    @property
    def undated_are_dated(self) -> bool:
        return bool(self.state.get_meta(meta_keys.UNDATED_DATED))


class _Write:
    """One upsert's registration in StateDB, begun at its first change (an upsert that changes
    nothing leaves the revision alone); the first thing it does is repair dead writes."""

    def __init__(self, state: StateDB, batches: ChromaBatches, gen: Generation) -> None:
        self.state, self.batches, self.gen = state, batches, gen
        self.delta = IndexDelta()
        self.token: str | None = None

    def touch(self, paper_ids: list[str]) -> None:
        if self.token is None:
            self.token, revision = self.state.begin_write()
            self.delta.revisions.append(revision)
            for dead in self.state.dead_writes():
                if repair_papers(self.batches, self.gen, dead.papers):
                    self.delta.complete = False  # chunks went that the delta does not know
                self.state.forget_write(dead.token)
        self.state.note_papers(self.token, paper_ids)

    def end(self) -> bool:
        """Unregister; whether anything was written."""
        if self.token is None:
            return False
        self.delta.revisions.append(self.state.end_write(self.token))
        self.token = None
        return True

    def abandon(self) -> None:
        """The write failed part-way: leave it for the next writer to repair."""
        if self.token is not None:
            self.state.abandon_write(self.token)
            self.token = None
