"""PaperAgent: the public entry that wires settings, sources, store and models together.

Every CLI command is a method here, so Python users get exactly what the terminal gets.
Heavy collaborators (Chroma, the ONNX embedder, the HTTP client) are built on first use and can
be injected for tests or embedding in other programs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from agent import errors
from agent.config import Settings
from agent.dates import parse_since, to_ts
from agent.models import (
    Paper,
    Progress,
    RunReport,
    SearchHit,
    Summary,
)

if TYPE_CHECKING:
    from agent.digest.models import Digest, SendResult
    from agent.llm.chat import ChatLLM
    from agent.qa.chat import ChatSession
    from agent.qa.engine import QAEngine
    from agent.qa.models import Answer, ToolCall
    from agent.sources.base import FetchRequest
    from agent.sources.http import HttpClient
    from agent.summaries.summarizer import Summarizer
    from store import Embedder, PaperStore

log = logging.getLogger(__name__)


@contextmanager
def store_errors() -> Iterator[None]:
    """Translate the store layer's own errors into paperbrief's hierarchy (store cannot import
    agent, so the bridge lives here)."""
    from store import errors as store_err

    try:
        yield
    except store_err.EmbeddingMismatch as exc:
        raise errors.EmbeddingMismatchError(str(exc), hint=exc.hint or None) from exc
    except store_err.StoreUnavailable as exc:
        raise errors.StoreUnavailable(str(exc), hint=exc.hint or None) from exc
    except store_err.EmbedderUnavailable as exc:
        raise errors.EmbedderError(str(exc), hint=exc.hint or None) from exc
    except store_err.StoreError as exc:
        raise errors.StoreError(str(exc), hint=exc.hint or None) from exc


def make_embedder(settings: Settings) -> Embedder:
    from store import make_embedder as _make

    with store_errors():
        if settings.embedding_provider == "openai":
            key = settings.embedding_api_key or settings.openai_api_key
            base = settings.embedding_base_url or settings.llm_base_url
            if key is None and base is None:
                raise errors.MissingKeyError(
                    "embedding_provider=openai needs an endpoint or an API key.",
                    hint="Set OPENAI_API_KEY (or PAPERBRIEF_EMBEDDING_BASE_URL for a local "
                    "server), or use embedding_provider=minilm.",
                )
            return _make(
                "openai",
                model=settings.embedding_model,
                base_url=base,
                api_key=key.get_secret_value() if key else "unused",
            )
        return _make(
            "minilm", threads=settings.embedding_threads, batch_size=settings.embedding_batch_size
        )


class PaperAgent:
    """``PaperAgent(Settings.load()).ingest()`` / ``.search("...")`` / ``.status()``."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        store: PaperStore | None = None,
        embedder: Embedder | None = None,
        http: HttpClient | None = None,
        llm: ChatLLM | None = None,
    ) -> None:
        self.settings = settings or Settings.load()
        self._store = store
        self._embedder = embedder
        self._http = http
        self._llm = llm
        self._llm_resolved = llm is not None
        self._summarizer: Summarizer | None = None
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

    def _open_store(self, *, allow_mismatch: bool = False) -> PaperStore:
        from store import PaperStore

        self.settings.home.mkdir(parents=True, exist_ok=True)
        with store_errors():
            return PaperStore(
                self.settings.home,
                self.embedder,
                chroma_url=self.settings.chroma_url,
                ef_search=self.settings.hnsw_ef_search,
                ef_construction=self.settings.hnsw_ef_construction,
                allow_mismatch=allow_mismatch,
            )

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
            from store.summary_cache import SummaryCache

            self.settings.home.mkdir(parents=True, exist_ok=True)
            self._summarizer = Summarizer(
                self.settings, llm=self.llm, cache=SummaryCache(self.settings.state_path)
            )
        return self._summarizer

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

    def __enter__(self) -> PaperAgent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- ingest -------------------------------------------------------------------------------
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

    # --- summaries -------------------------------------------------------------------------------
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
        return self.summarizer.get(paper) if paper else None

    # --- ask (issue 5): answers with citations ------------------------------------------------
    @property
    def qa(self) -> QAEngine:
        """The question-answering engine over this agent's store and the configured LLM (the
        extractive no-model engine when none is configured)."""
        engine = self._qa
        if engine is None:
            from agent.qa.engine import QAEngine

            engine = QAEngine(
                self.search,
                llm=self.llm,
                get_paper_fn=self.get_paper,
                settings=self.settings,
            )
            self._qa = engine
        return engine

    def ask(
        self,
        question: str,
        *,
        since: str | date | datetime | None = None,
        k: int | None = None,
        category: str | None = None,
        source: str | None = None,
        stream: Callable[[str], None] | None = None,
        agentic: bool | None = None,
        on_tool_call: Callable[[ToolCall], None] | None = None,
    ) -> Answer:
        """Answer from the stored papers, citing them as [1], [2], ...; or say plainly that they
        do not hold the answer (``refused``). ``stream`` gets each piece of text as it arrives."""
        return self.qa.ask(
            question, since=since, k=k, category=category, source=source, stream=stream,
            agentic=agentic, on_tool_call=on_tool_call,
        )  # fmt: skip

    async def aask(
        self,
        question: str,
        *,
        since: str | date | datetime | None = None,
        k: int | None = None,
        category: str | None = None,
        source: str | None = None,
        stream: Callable[[str], None] | None = None,
        agentic: bool | None = None,
        on_tool_call: Callable[[ToolCall], None] | None = None,
    ) -> Answer:
        """The async variant of :meth:`ask`."""
        return await self.qa.aask(
            question, since=since, k=k, category=category, source=source, stream=stream,
            agentic=agentic, on_tool_call=on_tool_call,
        )  # fmt: skip

    def chat(
        self,
        *,
        since: str | date | datetime | None = None,
        k: int | None = None,
        category: str | None = None,
        source: str | None = None,
    ) -> ChatSession:
        """A conversation: follow-ups are rewritten into standalone questions before retrieval."""
        from agent.qa.chat import ChatSession

        return ChatSession(self.qa, since=since, k=k, category=category, source=source)

    # --- digest -------------------------------------------------------------------------------
    def digest(
        self,
        *,
        since: str | date | datetime | None = "1d",
        until: str | date | datetime | None = None,
        category: str | None = None,
        source: str | None = None,
        include_sent: bool = False,
        max_papers: int | None = None,
        use_llm: bool = True,
        profile: Any = None,
        namer: Any = None,
        summaries: Any = None,
        source_reports: Any = None,
        now: datetime | None = None,
        save: bool = True,
        progress: Progress | None = None,
    ) -> Digest:
        """Themed digest of the papers in the window; saved under home/digests unless save=False."""
        from agent.digest.flow import make_digest

        with store_errors():
            return make_digest(
                self,
                since=since,
                until=until,
                category=category,
                source=source,
                include_sent=include_sent,
                max_papers=max_papers,
                use_llm=use_llm,
                profile=profile,
                namer=namer,
                summaries=summaries,
                source_reports=source_reports,
                now=now,
                save=save,
                progress=progress,
            )

    def send(
        self, digest: Digest, to: Sequence[str] | None = None, *, ssl_context: Any = None
    ) -> SendResult:
        """E-mail a digest (to ``email_to`` by default) and remember its papers as sent."""
        from agent.digest.flow import deliver

        return deliver(self, digest, to, ssl_context=ssl_context)


__all__ = ["PaperAgent", "Progress", "make_embedder", "store_errors"]
