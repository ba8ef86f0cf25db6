"""PaperStore: papers and their chunks in Chroma, a BM25 index beside them, state in SQLite.

Layout under ``home`` (store.layout): ``chroma/`` (embedded Chroma, unless chroma_url names a
server), ``bm25/`` (the BM25 index), ``state.sqlite3`` (StateDB). Chroma holds two collections
per *generation*: ``pb_papers_gN`` (one record per paper: document = title + abstract, the mean
of its chunk vectors) and ``pb_chunks_gN`` (``<paper_id>#<n>``). ``reindex`` builds generation
N+1 beside N and switches the pointer in StateDB when it is complete.

This module opens the store and guards which embedder may write to it; writing (and its crash
consistency) is in store.papers.writing, reading in store.papers.reading, search in
store.papers.search, and keeping the BM25 index fresh in store.bm25.keeper.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from store.backends import Backends
from store.bm25.index import BM25Index, ChunkRow
from store.bm25.keeper import BM25Keeper
from store.chroma.batches import ChromaBatches
from store.chroma.conn import chroma_errors, open_client
from store.chroma.generations import Generation, GenerationManager, embedder_compatible
from store.chroma.read_retry import retry_transient, retrying_read
from store.embedding.embedders import Embedder
from store.errors import EmbeddingMismatchError
from store.layout import StoreLayout
from store.papers.reading import ReadMixin
from store.papers.records import chunk_slots
from store.papers.reindex import rebuild_generation
from store.papers.search import SearchMixin
from store.papers.writing import WriteMixin
from store.phases import phase
from store.results import StoreStats
from store.state.db import StateDB

log = logging.getLogger(__name__)

#: Papers per write batch: large enough to sort chunks by length for embedding, small enough
#: that a crash loses little work and progress moves.
PAPERS_PER_BATCH = 64


def _warm_in_background(embedder: Embedder) -> None:
    """Load the model while the caller imports and opens Chroma: the ONNX session and the
    tokenizer are built in C++/Rust with the GIL released, so on two cores the ~0.3 s of a
    cold `search` overlaps the import. A failure is left for the first embed to report."""

    def warm() -> None:
        try:
            embedder.warm()
        except Exception:
            log.debug("embedder warm-up failed; the first embed will say why", exc_info=True)

    threading.Thread(target=warm, name="paperbrief-embedder-warm", daemon=True).start()


class PaperStore(ReadMixin, WriteMixin, SearchMixin):
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
        warm_embedder: bool = False,
    ) -> None:
        """``max_batch_size`` caps records per Chroma call below the server's own limit;
        ``on_write(kind, n)`` is called after every Chroma write (kind "chunks", "papers",
        "delete"), for progress displays and crash tests. ``warm_embedder`` loads the
        embedding model in a thread while Chroma opens, for a query that will need it."""
        if warm_embedder:
            _warm_in_background(embedder)
        self.layout = StoreLayout(home)
        self.home = self.layout.home
        self.home.mkdir(parents=True, exist_ok=True)
        self.embedder = embedder
        self.chroma_url = chroma_url or None
        revisions = Backends(self.home, self.chroma_url).revision_log()
        self.state = StateDB(self.layout.state_db, revisions=revisions)
        self._bm25 = BM25Keeper(self.layout.bm25, self.state, self._chunk_rows)
        self._papers_per_batch = max(1, papers_per_batch)
        self._mismatch: tuple[str, str] | None = None
        hnsw = {"space": "cosine", "ef_search": ef_search, "ef_construction": ef_construction}
        self._client: Any = None
        self._gen: Generation
        self._read_depth = 0
        try:

            def connect() -> None:
                with phase("Chroma client open"):
                    self._client = open_client(self.layout.chroma, self.chroma_url)
                with self._errors(), phase("collections open"):
                    limit = int(self._client.get_max_batch_size())
                    self._batches = ChromaBatches(min(limit, max_batch_size or limit), on_write)
                    self._gens = GenerationManager(self._client, self.state, hnsw)
                    self._gen = self._gens.open_active(embedder, where=self._where_label())
                    self._check_embedder(allow_mismatch)

            retry_transient(connect)  # opening reads too: another writer can disturb it
        except BaseException:
            self.close()  # a store that failed to open holds no files or connections
            raise

    # Reads retry on the errors a concurrent writer causes (store.chroma.read_retry).
    search = retrying_read(SearchMixin.search)
    get_many = retrying_read(ReadMixin.get_many)
    list_papers = retrying_read(ReadMixin.list_papers)
    paper_vectors = retrying_read(ReadMixin.paper_vectors)
    chunks_of = retrying_read(ReadMixin.chunks_of)
    verify = retrying_read(ReadMixin.verify)

    # --- plumbing -----------------------------------------------------------------------------
    def _reopen(self) -> None:
        """A fresh Chroma client on the same generation (the old one's view can be stale)."""
        close = getattr(self._client, "close", None)
        if callable(close):
            try:
                close()
            except Exception:
                log.debug("chroma client close failed", exc_info=True)
        self._client = open_client(self.layout.chroma, self.chroma_url)
        self._gens = GenerationManager(self._client, self.state, self._gens.hnsw)
        self._gen = self._gens.reopen(self._gen)

    def _errors(self) -> Any:
        return chroma_errors(self.chroma_url)

    @property
    def _papers(self) -> Any:
        return self._gen.papers

    @property
    def _chunks(self) -> Any:
        return self._gen.chunks

    def _where_label(self) -> str:
        return self.chroma_url or str(self.layout.chroma)

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
        if self.embedder.adopt(stored):  # kernels "auto": a store keeps the vectors it has
            return
        if not allow_mismatch:
            raise EmbeddingMismatchError(
                f"the store at {self._where_label()} was built with embedding model {stored}, "
                f"but the configured model is {current}",
                stored=stored,
                configured=current,
            )
        self._mismatch = (stored, current)

    def _require_matching_embedder(self) -> None:
        if self._mismatch:
            stored, current = self._mismatch
            raise EmbeddingMismatchError(
                f"the store holds vectors of {stored}; they cannot be mixed with {current}",
                stored=stored,
                configured=current,
            )

    def _after_embed(self, vectors: np.ndarray) -> None:
        """An endpoint's dimension is only known after its first answer: check it then."""
        stored = self._gen.embedder_id
        if stored and not embedder_compatible(stored, self.embedder.model_id):
            raise EmbeddingMismatchError(
                f"the store holds {stored} vectors; the endpoint returned "
                f"{vectors.shape[1]}-d vectors ({self.embedder.model_id})",
                stored=stored,
                configured=self.embedder.model_id,
            )
        if stored != self.embedder.model_id:
            self._gens.record_embedder(self._gen, self.embedder)

    @retrying_read
    def stats(self) -> StoreStats:
        with self._errors():
            papers, chunks = self._papers.count(), self._chunks.count()
        return StoreStats(
            papers=papers,
            chunks=chunks,
            path=str(self.home),
            chroma_url=self.chroma_url,
            embedder_id=self._gen.embedder_id,
            bm25_fresh=self._bm25.is_fresh(),
        )

    # --- the BM25 index -----------------------------------------------------------------------
    def rebuild_bm25(self) -> None:
        """Rebuild the BM25 index from the chunks in Chroma and save it."""
        self._bm25.rebuild()

    def _current_bm25(self) -> BM25Index:
        with phase("BM25 index (loaded on first use)"):
            return self._bm25.current()

    def _chunk_rows(self) -> tuple[list[ChunkRow], np.ndarray | None]:
        """Every chunk of the live generation, for a BM25 rebuild, less those outside their
        record's slots (a dead write's leftovers: the record commits the other version)."""
        with self._errors():
            papers = self._batches.get_all(self._papers, where=None, include=["metadatas"])
            got = self._batches.get_all(
                self._chunks, where=None, include=["metadatas", "documents", "embeddings"]
            )
        slots = {
            pid: chunk_slots(meta)
            for pid, meta in zip(papers["ids"], papers["metadatas"], strict=True)
        }
        keep = [
            i
            for i, meta in enumerate(got["metadatas"])
            if (pid := str((meta or {}).get("paper_id"))) not in slots
            or int((meta or {}).get("n", -1)) in slots[pid]
        ]
        rows = [ChunkRow.from_chroma(got["ids"][i], got["metadatas"][i], got["documents"][i])
                for i in keep]  # fmt: skip
        vectors = np.asarray(got["embeddings"], dtype=np.float32)[keep] if rows else None
        return rows, vectors

    # --- maintenance --------------------------------------------------------------------------
    def reindex(
        self,
        embedder_for_new: Embedder | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Re-embed every paper into a new generation, switch to it, drop the old one.

        A kill at any point before the switch leaves the old generation active and working;
        the half-built one is dropped by the next reindex. Returns papers re-embedded.
        """
        new_embedder = embedder_for_new or self.embedder
        with self._errors():
            new_gen, count = rebuild_generation(
                self._gens,
                self._gen,
                new_embedder,
                self._batches,
                page_size=self._papers_per_batch,
                progress=progress,
            )
            token, _ = self.state.begin_write()
            try:
                old = self._gen
                self._gens.activate(new_gen, new_embedder)
                self._gen = new_gen
                self.embedder = new_embedder
                self._mismatch = None
                self._gens.drop(old.number)
            finally:
                self.state.end_write(token)
            self._bm25.rebuild()
        log.info("reindexed %d papers into generation %d", count, new_gen.number)
        return count

    def close(self) -> None:
        self.state.close()
        self._bm25.forget()
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
