"""PaperAgent: the public entry that wires settings, sources, store and models together.

Every CLI command is a method here, so Python users get exactly what the terminal gets.
Heavy collaborators (Chroma, the ONNX embedder, the HTTP client) are built on first use and can
be injected for tests or embedding in other programs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from agent import errors, storage
from agent.config import Settings
from agent.dates import parse_since, to_ts
from agent.digest.methods import DigestMethods
from agent.lock import StoreLock, writes
from agent.models import Paper, Progress, RunReport, SearchHit, Summary
from agent.profiles.methods import ReaderMethods
from agent.qa.methods import QAMethods
from agent.storage import make_embedder, store_errors

if TYPE_CHECKING:
    from agent.llm.chat import ChatLLM
    from agent.qa.engine import QAEngine
    from agent.sources.base import FetchRequest
    from agent.sources.http import HttpClient
    from agent.summaries.summarizer import Summarizer
    from store import Embedder, PaperStore
    from store.digest_history import DigestHistory
    from store.reader_signals import ReaderSignals

log = logging.getLogger(__name__)


class PaperAgent(QAMethods, ReaderMethods, DigestMethods):
    """``PaperAgent(Settings.load()).ingest()`` / ``.search("...")`` / ``.status()``."""

    # The mixins' methods that write hold the writer lock like the rest.
    import_library = writes(ReaderMethods.import_library)
    sync_library = writes(ReaderMethods.sync_library)
    remove_from_library = writes(ReaderMethods.remove_from_library)
    rate = writes(ReaderMethods.rate)
    digest = writes(DigestMethods.digest)
    send = writes(DigestMethods.send)

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        store: PaperStore | None = None,
        embedder: Embedder | None = None,
        http: HttpClient | None = None,
        llm: ChatLLM | None = None,
        lock_wait: float = 0.0,
    ) -> None:
        self.settings = settings or Settings.load()
        self.lock_wait = lock_wait
        self._writer: StoreLock | None = None
        self._store = store
        self._embedder = embedder
        self._http = http
        self._llm = llm
        self._llm_resolved = llm is not None
        self._summarizer: Summarizer | None = None
        self._history: DigestHistory | None = None
        self._signals: ReaderSignals | None = None
        self._qa: QAEngine | None = None

    # --- collaborators --------------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.settings)
        return self._embedder

    @property
    def store(self) -> PaperStore:
        if self._store is None:
            self._store = self._open_store()
        return self._store

    def _open_store(self, *, allow_mismatch: bool = False, warm: bool = False) -> PaperStore:
        from store import PaperStore

        self.settings.home.mkdir(parents=True, exist_ok=True)
        with store_errors():
            return PaperStore(
                self.settings.home,
                self.embedder,
                chroma_url=self.settings.store.chroma_url,
                ef_search=self.settings.store.hnsw_ef_search,
                ef_construction=self.settings.store.hnsw_ef_construction,
                allow_mismatch=allow_mismatch,
                warm_embedder=warm,
            )

    def reopen_store(self) -> None:
        """Close the store and open it again on next use (a long-lived process calls this when
        another process wrote: a Chroma client keeps the view it loaded). The model stays."""
        if self._store is not None:
            self._store.close()
            self._store = None

    @property
    def llm(self) -> ChatLLM | None:
        """The configured chat model, or None: then every step uses its no-model engine."""
        if not self._llm_resolved:
            from agent.llm.chat import make_llm

            self._llm = make_llm(self.settings)
            self._llm_resolved = True
        return self._llm

    @property
    def summarizer(self) -> Summarizer:
        if self._summarizer is None:
            from agent.summaries.summarizer import Summarizer

            self._summarizer = Summarizer(
                self.settings, llm=self.llm, cache=storage.open_summary_cache(self.settings)
            )
        return self._summarizer

    @property
    def history(self) -> DigestHistory:
        """Saved digests, the papers they sent and cached theme names (opened once)."""
        if self._history is None:
            self._history = storage.open_history(self.settings)
        return self._history

    @property
    def signals(self) -> ReaderSignals:
        """Each profile's library and ratings (opened once)."""
        if self._signals is None:
            self._signals = storage.open_signals(self.settings)
        return self._signals

    @property
    def http(self) -> HttpClient:
        if self._http is None:
            from agent.sources.http import HttpClient

            self._http = HttpClient.from_settings(self.settings)
        return self._http

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._http is not None:
            self._http.close()
            self._http = None
        if self._summarizer is not None and self._summarizer.cache is not None:
            self._summarizer.cache.close()
            self._summarizer = None
        if self._history is not None:
            self._history.close()
            self._history = None
        if self._signals is not None:
            self._signals.close()
            self._signals = None

    def __enter__(self) -> PaperAgent:
        return self

    def writing(self, wait: float | None = None) -> AbstractContextManager[None]:
        """Hold the store's writer lock (every writing method takes it; it nests), waiting up
        to ``wait`` (default: the ``lock_wait`` given) before raising LockedError."""
        if self._writer is None:
            self._writer = StoreLock(self.settings.home, self.settings.store.chroma_url)
        return self._writer.hold(self.lock_wait if wait is None else wait)

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- ingest -------------------------------------------------------------------------------
    @writes
    def ingest(
        self,
        sources: Sequence[str] | None = None,
        *,
        request: FetchRequest | None = None,
        progress: Progress | None = None,
    ) -> RunReport:
        """Fetch from each source and store what is new. One source failing never stops the others;
        its failure is in the report (and makes ``report.ok`` false)."""
        from agent.ingest import ingest_sources

        with store_errors():
            self.store.date_undated_papers()
            return ingest_sources(
                self.settings, self.store, self.http, sources, request=request, progress=progress
            )

    # --- search -------------------------------------------------------------------------------
    def search(
        self,
        query: str,
        *,
        k: int = 10,
        since: str | date | datetime | None = None,
        category: str | None = None,
        source: str | None = None,
        mode: str = "hybrid",
    ) -> list[SearchHit]:
        """Hybrid (dense + BM25, reciprocal-rank fusion) search over the stored chunks."""
        if not query.strip():
            raise errors.InputError(
                "The search query is empty.", hint="Give a few words to search."
            )
        with store_errors():
            if self._store is None and mode != "bm25":  # the query will embed: load meanwhile
                self._store = self._open_store(warm=True)
            hits = self.store.search(
                query,
                k=k,
                since_ts=to_ts(parse_since(since)),
                category=category,
                source=source,
                mode=mode,  # type: ignore[arg-type]
            )
        return [
            SearchHit(
                paper=Paper.model_validate(h.paper),
                score=h.score,
                dense_similarity=h.dense_similarity,
                bm25_score=h.bm25_score,
                best_chunk=h.chunk,
                term_coverage=h.term_coverage,
            )
            for h in hits
        ]

    def get_paper(self, paper_id: str) -> Paper | None:
        with store_errors():
            data = self.store.get(paper_id)
        return Paper.model_validate(data) if data else None

    # --- housekeeping ---------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        from agent.ingest import LAST_INGEST_PREFIX
        from agent.sources import SOURCE_NAMES

        with store_errors():
            stats = self.store.stats()
            marks = self.store.state.watermarks()
            runs = {
                name: json.loads(self.store.state.get_meta(LAST_INGEST_PREFIX + name) or "null")
                for name in SOURCE_NAMES
            }
        return {
            "papers": stats.papers,
            "chunks": stats.chunks,
            "store": stats.chroma_url or stats.path,
            "home": str(self.settings.home),
            "embedding_model": stats.embedder_id,
            "bm25_fresh": stats.bm25_fresh,
            "last_ingest": {name: run for name, run in runs.items() if run},
            "watermarks": {k: {"value": v, "at": at} for k, (v, at) in marks.items()},
        }

    @writes
    def reindex(self, progress: Progress | None = None) -> RunReport:
        """Re-embed every stored paper with the configured embedding model."""
        report = RunReport(step="reindex")
        if self._store is None:
            self._store = self._open_store(allow_mismatch=True)

        def step(done: int, total: int | None = None) -> None:
            if progress:
                progress("re-embedding", done, total)

        with store_errors():
            count = self.store.reindex(self.embedder, progress=step)
        report.counts["papers"] = count
        return report.finish()

    def check_llm(self) -> dict[str, Any]:
        """One tiny structured request: endpoint, model, method and latency, or error and hint."""
        from agent.llm.chat import check_endpoint

        return check_endpoint(self.settings)

    # --- summaries -------------------------------------------------------------------------------
    @writes
    def summarize(
        self,
        *,
        since: str | date | datetime | None = None,
        limit: int | None = None,
        ids: Sequence[str] | None = None,
        force: bool = False,
        max_cost: float | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> RunReport:
        """Summarize stored papers (newest first): cached summaries cost nothing, ``force``
        regenerates, ``max_cost`` (USD) stops before the run would exceed it."""
        with store_errors():
            if ids is not None:
                records = self.store.get_many(list(ids))
            else:
                records = self.store.list_papers(since_ts=to_ts(parse_since(since)), limit=limit)
            papers = [Paper.model_validate(r) for r in records]
            return self.summarizer.run(papers, force=force, max_cost=max_cost, progress=progress)

    def summary(self, paper_id: str) -> Summary | None:
        """The stored summary of a paper's current version, if any."""
        paper = self.get_paper(paper_id)
        with store_errors():
            return self.summarizer.get(paper) if paper else None


__all__ = ["PaperAgent", "Progress"]
