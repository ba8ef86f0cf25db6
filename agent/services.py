"""The collaborators every capability takes, held in one object: ``Services``.

Settings, the clock, the store, the embedder, the HTTP client, the chat model, the summarizer,
digest history and reader signals. Each is injected or built from the settings on first use,
so importing and constructing costs nothing until a command needs Chroma or the ONNX model.
PaperAgent holds one ``Services`` and hands each capability the collaborators it names.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from agent import storage
from agent.config import Settings
from agent.models import utcnow
from agent.storage import make_embedder

if TYPE_CHECKING:
    from agent.llm.chat import ChatLLM
    from agent.sources.http import HttpClient
    from agent.summaries.summarizer import Summarizer
    from store import Embedder, PaperStore
    from store.seams import DigestHistory, ReaderSignals

#: What tells the time: ``agent.models.utcnow`` unless a test or a replay injects another.
Clock = Callable[[], datetime]


class Services:
    """``Services(settings, store=..., embedder=..., http=..., llm=..., clock=...)``: what is
    given is used as is; the rest is built from ``settings`` when first asked for."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: PaperStore | None = None,
        embedder: Embedder | None = None,
        http: HttpClient | None = None,
        llm: ChatLLM | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._store = store
        self._embedder = embedder
        self._http = http
        self._llm = llm
        self._llm_resolved = llm is not None
        self._summarizer: Summarizer | None = None
        self._history: DigestHistory | None = None
        self._signals: ReaderSignals | None = None

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.settings)
        return self._embedder

    @property
    def store(self) -> PaperStore:
        if self._store is None:
            self._store = self.open_store()
        return self._store

    @property
    def store_is_open(self) -> bool:
        return self._store is not None

    def open_store(self, *, allow_mismatch: bool = False, warm: bool = False) -> PaperStore:
        """Open the store now (``warm``: load the embedder meanwhile; ``allow_mismatch``: a
        store built by another embedding model, for reindex) and keep it as ``store``."""
        from store import PaperStore

        self.settings.home.mkdir(parents=True, exist_ok=True)
        self._store = PaperStore(
            self.settings.home,
            self.embedder,
            chroma_url=self.settings.store.chroma_url,
            ef_search=self.settings.store.hnsw_ef_search,
            ef_construction=self.settings.store.hnsw_ef_construction,
            allow_mismatch=allow_mismatch,
            warm_embedder=warm,
        )
        return self._store

    def reopen_store(self) -> None:
        """Close the store; it opens again on next use. The embedder stays loaded."""
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
        """Close what was opened (each opens again if used after)."""
        self.reopen_store()
        if self._http is not None:
            self._http.close()
            self._http = None
        if self._summarizer is not None:
            if self._summarizer.cache is not None:
                self._summarizer.cache.close()
            self._summarizer = None
        if self._history is not None:
            self._history.close()
            self._history = None
        if self._signals is not None:
            self._signals.close()
            self._signals = None


__all__ = ["Clock", "Services"]
