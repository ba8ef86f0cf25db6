"""Writing papers into the store: upsert, and the write order that makes it crash-consistent.

Per batch, chunks are written first and the paper record last. The paper record, with its
content_hash, is the commit marker: a paper whose record is missing or has another hash is
(re)processed by the next upsert, which also deletes any chunk of it that the new text does not
produce. The revision is bumped before every write batch, so a crash leaves the BM25 index
stale and the next search rebuilds it.

``write_prepared`` is shared with the reindex, which writes into a generation that is not live
yet; ``WriteMixin`` is PaperStore's upsert, kept apart from reading and searching.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from store import records as rec_mod
from store.bm25_keeper import BM25Keeper, IndexDelta
from store.chroma_batches import ChromaBatches, slices
from store.collections import Generation
from store.embedder import Embedder
from store.results import UpsertResult
from store.state import StateDB


def write_prepared(batches: ChromaBatches, gen: Generation, batch: rec_mod.PreparedBatch) -> None:
    """1. chunks, 2. delete chunks the new text no longer has, 3. paper records (the marker)."""
    batches.upsert(gen.chunks, "chunks", batch.chunk_ids, batch.chunk_vectors,
                   batch.chunk_texts, batch.chunk_metas)  # fmt: skip
    keep = set(batch.chunk_ids)
    existing = batches.get_all(
        gen.chunks, where={"paper_id": {"$in": batch.paper_ids}}, include=[]
    )["ids"]
    batches.delete(gen.chunks, [cid for cid in existing if cid not in keep])
    batches.upsert(gen.papers, "papers", batch.paper_ids, batch.paper_vectors,
                   batch.paper_docs, batch.paper_metas)  # fmt: skip


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
            start_revision = self.state.revision()
            delta = IndexDelta()
            for sl in slices(len(batch_recs), self._papers_per_batch):
                self._upsert_batch(batch_recs[sl], result, delta)
                if progress is not None:
                    progress(sl.stop)
            if delta.revisions:
                self._bm25.after_write(start_revision, delta)
        return result

    def _upsert_batch(self, batch: list[dict], result: UpsertResult, delta: IndexDelta) -> None:
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
            new_meta = rec_mod.paper_metadata(
                rec,
                ingested_at=str(prev_meta.get("ingested_at") or rec_mod.now_iso()),
                n_chunks=int(prev_meta.get("n_chunks", 0)),
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
        # before writing: a crash mid-batch leaves BM25 stale
        delta.revisions.append(self.state.bump_revision())
        if to_embed:
            result.chunks += self._write_embedded(to_embed, delta)
        if meta_only:
            self._write_metadata_only(meta_only, delta)

    def _write_embedded(self, recs: list[dict], delta: IndexDelta) -> int:
        now = rec_mod.now_iso()
        batch = rec_mod.prepare_batch(recs, self.embedder.embed, lambda _rec: now)
        self._after_embed(batch.chunk_vectors)
        write_prepared(self._batches, self._gen, batch)
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
            metas = [
                rec_mod.chunk_metadata(new_meta[m["paper_id"]], m["paper_id"], int(m["n"]))
                for m in got["metadatas"]
            ]
            self._batches.upsert(
                gen.chunks, "chunks", list(got["ids"]), got["embeddings"], got["documents"], metas
            )
            delta.replace(list(new_meta), got["ids"], got["documents"], metas, got["embeddings"])
        ids = [rec["id"] for rec, _, _ in items]
        vecs = np.asarray([prev[2] for _, _, prev in items], dtype=np.float32)
        docs = [prev[1] for _, _, prev in items]
        metas = [meta for _, meta, _ in items]
        self._batches.upsert(gen.papers, "papers", ids, vecs, docs, metas)
