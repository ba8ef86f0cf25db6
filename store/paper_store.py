"""PaperStore: papers and their chunks in Chroma, a BM25 index beside them, state in SQLite.

Layout under ``home``: ``chroma/`` (embedded Chroma, unless chroma_url names a server),
``bm25/`` (the BM25 index), ``state.sqlite3`` (StateDB). Chroma holds two collections per
*generation*: ``pb_papers_gN`` (one record per paper: document = title + abstract, the mean of
its chunk vectors) and ``pb_chunks_gN`` (``<paper_id>#<n>``). ``reindex`` builds generation N+1
beside N and switches the pointer in StateDB when it is complete.

Crash consistency: per batch, chunks are written first and the paper record last. The paper
record, with its content_hash, is the commit marker: a paper whose record is missing or has
another hash is (re)processed by the next upsert, which also deletes any chunk of it that the
new text does not produce. The BM25 revision is bumped before every write batch, so a crash
leaves the BM25 index stale and the next search rebuilds it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from store import records as rec_mod
from store.bm25_index import BM25Index, ChunkRow
from store.chroma_conn import chroma_errors, open_client
from store.collections import Generation, GenerationManager, embedder_compatible
from store.embedder import Embedder
from store.errors import EmbeddingMismatch
from store.reading import ReadMixin, _slices
from store.results import StoreStats, UpsertResult
from store.search import SearchMixin
from store.state import StateDB

log = logging.getLogger(__name__)

#: Papers per write batch: large enough to sort chunks by length for embedding, small enough
#: that a crash loses little work and progress moves.
PAPERS_PER_BATCH = 64


@dataclass
class _IndexDelta:
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


class PaperStore(ReadMixin, SearchMixin):
    """The persistence layer: plain dicts in, plain dicts out."""

    def __init__(
        self,
        home: Path,
        embedder: Embedder,
        *,
        chroma_url: str | None = None,
        ef_search: int = 500,
        ef_construction: int = 200,
        allow_mismatch: bool = False,
        max_batch_size: int | None = None,
        papers_per_batch: int = PAPERS_PER_BATCH,
        on_write: Callable[[str, int], None] | None = None,
    ) -> None:
        """``max_batch_size`` caps records per Chroma call below the server's own limit;
        ``on_write(kind, n)`` is called after every Chroma write (kind "chunks", "papers",
        "delete"), for progress displays and crash tests."""
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.embedder = embedder
        self.chroma_url = chroma_url or None
        self.state = StateDB(self.home / "state.sqlite3")
        self._bm25_root = self.home / "bm25"
        self._bm25: BM25Index | None = None
        self._papers_per_batch = max(1, papers_per_batch)
        self._on_write = on_write
        self._mismatch: tuple[str, str] | None = None
        hnsw = {"space": "cosine", "ef_search": ef_search, "ef_construction": ef_construction}
        self._client: Any = None
        try:
            self._client = open_client(self.home / "chroma", self.chroma_url)
            with self._errors():
                limit = int(self._client.get_max_batch_size())
                self._max_batch = max(1, min(limit, max_batch_size or limit))
                self._gens = GenerationManager(self._client, self.state, hnsw)
                self._gen: Generation = self._gens.open_active(embedder)
                self._check_embedder(allow_mismatch)
        except BaseException:
            self.close()  # a store that failed to open holds no files or connections
            raise

    # --- plumbing -----------------------------------------------------------------------------
    def _errors(self) -> Any:
        return chroma_errors(self.chroma_url)

    @property
    def _papers(self) -> Any:
        return self._gen.papers

    @property
    def _chunks(self) -> Any:
        return self._gen.chunks

    def _where_label(self) -> str:
        return self.chroma_url or str(self.home / "chroma")

    def _check_embedder(self, allow_mismatch: bool) -> None:
        stored = self._gen.embedder_id
        current = self.embedder.model_id
        if stored is None or embedder_compatible(stored, current):
            if stored != current and self.embedder.dim:
                self._gens.record_embedder(self._gen, self.embedder)
            return
        if self._papers.count() == 0 and self._chunks.count() == 0:
            log.info("empty store: switching its embedder from %s to %s", stored, current)
            self._gens.record_embedder(self._gen, self.embedder)
            return
        if not allow_mismatch:
            raise EmbeddingMismatch(
                f"the store at {self._where_label()} was built with embedding model {stored}, "
                f"but the configured model is {current}",
                stored=stored,
                configured=current,
            )
        self._mismatch = (stored, current)

    def _require_matching_embedder(self) -> None:
        if self._mismatch:
            stored, current = self._mismatch
            raise EmbeddingMismatch(
                f"the store holds vectors of {stored}; they cannot be mixed with {current}",
                stored=stored,
                configured=current,
            )

    def _after_embed(self, vectors: np.ndarray) -> None:
        """An endpoint's dimension is only known after its first answer: check it then."""
        stored = self._gen.embedder_id
        if stored and not embedder_compatible(stored, self.embedder.model_id):
            raise EmbeddingMismatch(
                f"the store holds {stored} vectors; the endpoint returned "
                f"{vectors.shape[1]}-d vectors ({self.embedder.model_id})",
                stored=stored,
                configured=self.embedder.model_id,
            )
        if stored != self.embedder.model_id:
            self._gens.record_embedder(self._gen, self.embedder)

    def _written(self, kind: str, n: int) -> None:
        if self._on_write is not None:
            self._on_write(kind, n)

    def _upsert_rows(
        self, collection: Any, kind: str, ids: list[str], vectors: Any, docs: list, metas: list
    ) -> None:
        for sl in _slices(len(ids), self._max_batch):
            collection.upsert(
                ids=ids[sl], embeddings=vectors[sl], documents=docs[sl], metadatas=metas[sl]
            )
            self._written(kind, sl.stop - sl.start)

    def _get_all(self, collection: Any, *, where: dict | None, include: list[str]) -> dict:
        """collection.get over every match, paged (one call per max batch)."""
        out: dict[str, list] = {"ids": [], "metadatas": [], "documents": [], "embeddings": []}
        offset = 0
        while True:
            page = collection.get(
                where=where, include=include, limit=self._max_batch, offset=offset
            )
            out["ids"].extend(page["ids"])
            for key in ("metadatas", "documents", "embeddings"):
                if key in include and page[key] is not None:
                    out[key].extend(page[key])
            if len(page["ids"]) < self._max_batch:
                return out
            offset += len(page["ids"])

    # --- writing ------------------------------------------------------------------------------
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
            delta = _IndexDelta()
            for sl in _slices(len(batch_recs), self._papers_per_batch):
                self._upsert_batch(batch_recs[sl], result, delta)
                if progress is not None:
                    progress(sl.stop)
            if delta.revisions:
                self._update_bm25(start_revision, delta)
        return result

    def _upsert_batch(self, batch: list[dict], result: UpsertResult, delta: _IndexDelta) -> None:
        ids = [r["id"] for r in batch]
        got = self._papers.get(ids=ids, include=["metadatas", "documents", "embeddings"])
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

    def _write_embedded(self, recs: list[dict], delta: _IndexDelta) -> int:
        now = rec_mod.now_iso()
        batch = rec_mod.prepare_batch(recs, self.embedder.embed, lambda _rec: now)
        self._after_embed(batch.chunk_vectors)
        self._write_prepared(self._gen, batch)
        delta.replace(batch.paper_ids, batch.chunk_ids, batch.chunk_texts, batch.chunk_metas,
                      batch.chunk_vectors)  # fmt: skip
        return len(batch.chunk_ids)

    def _write_prepared(self, gen: Generation, batch: rec_mod.PreparedBatch) -> None:
        # 1. chunks, 2. chunks the new text no longer has, 3. paper records (the commit marker)
        self._upsert_rows(
            gen.chunks,
            "chunks",
            batch.chunk_ids,
            batch.chunk_vectors,
            batch.chunk_texts,
            batch.chunk_metas,
        )
        self._delete_stale_chunks(gen, batch.paper_ids, set(batch.chunk_ids))
        self._upsert_rows(
            gen.papers,
            "papers",
            batch.paper_ids,
            batch.paper_vectors,
            batch.paper_docs,
            batch.paper_metas,
        )

    def _delete_stale_chunks(self, gen: Generation, paper_ids: list[str], keep: set[str]) -> None:
        existing = self._get_all(gen.chunks, where={"paper_id": {"$in": paper_ids}}, include=[])[
            "ids"
        ]
        stale = [cid for cid in existing if cid not in keep]
        for sl in _slices(len(stale), self._max_batch):
            gen.chunks.delete(ids=stale[sl])
            self._written("delete", sl.stop - sl.start)

    def _write_metadata_only(
        self, items: list[tuple[dict, dict, tuple]], delta: _IndexDelta
    ) -> None:
        changed = [
            (rec, meta)
            for rec, meta, prev in items
            if rec_mod.chunk_fields(meta) != rec_mod.chunk_fields(prev[0])
        ]
        if changed:
            new_meta = {rec["id"]: meta for rec, meta in changed}
            got = self._chunks.get(
                where={"paper_id": {"$in": list(new_meta)}},
                include=["metadatas", "documents", "embeddings"],
            )
            metas = [
                rec_mod.chunk_metadata(new_meta[m["paper_id"]], m["paper_id"], int(m["n"]))
                for m in got["metadatas"]
            ]
            self._upsert_rows(
                self._chunks, "chunks", list(got["ids"]), got["embeddings"], got["documents"], metas
            )
            delta.replace(list(new_meta), got["ids"], got["documents"], metas, got["embeddings"])
        ids = [rec["id"] for rec, _, _ in items]
        vecs = np.asarray([prev[2] for _, _, prev in items], dtype=np.float32)
        docs = [prev[1] for _, _, prev in items]
        metas = [meta for _, meta, _ in items]
        self._upsert_rows(self._papers, "papers", ids, vecs, docs, metas)

    def stats(self) -> StoreStats:
        with self._errors():
            papers, chunks = self._papers.count(), self._chunks.count()
        saved = BM25Index.saved_revision(self._bm25_root)
        return StoreStats(
            papers=papers,
            chunks=chunks,
            path=str(self.home),
            chroma_url=self.chroma_url,
            embedder_id=self._gen.embedder_id,
            bm25_fresh=saved is not None and saved == self.state.revision(),
        )

    # --- maintenance --------------------------------------------------------------------------
    def rebuild_bm25(self) -> None:
        """Rebuild the BM25 index from the chunks in Chroma and save it."""
        revision = self.state.revision()  # read first: a write meanwhile leaves it stale
        with self._errors():
            got = self._get_all(
                self._chunks, where=None, include=["metadatas", "documents", "embeddings"]
            )
        rows = [
            ChunkRow.from_chroma(cid, meta, doc)
            for cid, meta, doc in zip(got["ids"], got["metadatas"], got["documents"], strict=True)
        ]
        vectors = np.asarray(got["embeddings"], dtype=np.float32) if rows else None
        self._keep_bm25(BM25Index.build(rows, revision=revision, vectors=vectors), "rebuilt")

    def _keep_bm25(self, index: BM25Index, how: str) -> None:
        index.save(self._bm25_root)
        self._bm25 = index
        log.info("BM25 index %s: %d chunks at revision %d", how, len(index), index.revision)

    def _update_bm25(self, start_revision: int, delta: _IndexDelta) -> None:
        """After an upsert: extend the index that was fresh before it, when no other writer
        moved the revision in between; otherwise rebuild it from Chroma."""
        revision = self.state.revision()
        if delta.revisions == list(range(start_revision + 1, revision + 1)):
            base = self._bm25_at(start_revision)
            vectors = np.concatenate(delta.vectors) if delta.vectors else None
            index = None
            if base is not None:
                index = base.updated(
                    drop_papers=delta.drop, rows=delta.rows, vectors=vectors, revision=revision
                )
            if index is not None:
                self._keep_bm25(index, f"updated (+{len(delta.rows)} chunks)")
                return
        self.rebuild_bm25()

    def _bm25_at(self, revision: int) -> BM25Index | None:
        """The BM25 index built at ``revision`` (in memory or saved), else None."""
        if self._bm25 is None or self._bm25.revision != revision:
            self._bm25 = BM25Index.load(self._bm25_root)
        if self._bm25 is not None and self._bm25.revision == revision:
            return self._bm25
        return None

    def _current_bm25(self) -> BM25Index:
        index = self._bm25_at(self.state.revision())
        if index is not None:
            return index
        log.info(
            "BM25 index missing or stale (store revision %d): rebuilding from Chroma",
            self.state.revision(),
        )
        self.rebuild_bm25()
        assert self._bm25 is not None
        return self._bm25

    def reindex(
        self,
        embedder_for_new: Embedder | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Re-embed every paper into a new generation, switch to it, drop the old one.

        A kill at any point before the switch leaves the old generation active and working;
        the half-built one is dropped by the next reindex. Returns papers re-embedded.
        """
        from store.reindex import rebuild_generation

        new_embedder = embedder_for_new or self.embedder
        with self._errors():
            new_gen, count = rebuild_generation(self, new_embedder, progress)
            self.state.bump_revision()
            old = self._gen
            self._gens.activate(new_gen, new_embedder)
            self._gen = new_gen
            self.embedder = new_embedder
            self._mismatch = None
            self._gens.drop(old.number)
            self.rebuild_bm25()
        log.info("reindexed %d papers into generation %d", count, new_gen.number)
        return count

    def close(self) -> None:
        self.state.close()
        self._bm25 = None
        close = getattr(self._client, "close", None)
        if callable(close):
            try:
                close()
            except Exception:  # closing a client that is already gone must not mask errors
                log.debug("chroma client close failed", exc_info=True)

    def __enter__(self) -> PaperStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
