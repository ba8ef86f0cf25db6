"""PaperAgent: the public entry that wires settings, sources, store and models together.

Every CLI command is a method here, so Python users get exactly what the terminal gets. The
collaborators live in one ``Services`` object (agent.services), built on first use and
injectable for tests or embedding in other programs; each method hands the capability's entry
function the collaborators it needs. Methods that write hold the store's writer lock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING

from agent import errors
from agent.config import DEFAULT_PROFILE, Settings
from agent.dates import parse_since, to_ts
from agent.lock import StoreLock, writes
from agent.models import Paper, PaperFilter, Progress, RunReport, SearchHit, Since, Summary, utcnow
from agent.services import Clock, Services

if TYPE_CHECKING:
    import ssl
    from datetime import datetime

    from agent.digest.choose import Choice
    from agent.digest.flow import DigestRequest
    from agent.digest.models import Digest, Selection, SendResult
    from agent.digest.naming import ThemeNamer
    from agent.digest.refused import Resend
    from agent.digest.relevance import InterestProfile
    from agent.ingest import StoreStatus
    from agent.llm.chat import ChatLLM
    from agent.llm.endpoints import EndpointCheck
    from agent.models import SourceReport
    from agent.profiles.library import LibraryEntry, LibraryImport, LibrarySync
    from agent.profiles.signal import Rating
    from agent.qa.chat import ChatSession
    from agent.qa.engine import QAEngine
    from agent.qa.models import Answer, ToolCall
    from agent.qa.search import SearchMode
    from agent.sources.base import FetchRequest
    from agent.sources.http import HttpClient
    from agent.summaries.summarizer import Summarizer
    from store import Embedder, PaperStore
    from store.seams import DigestHistory, ReaderSignals
    from store.state.health import Restored


class PaperAgent:
    """``PaperAgent(Settings.load()).ingest()`` / ``.search("...")`` / ``.status()``."""

    def __init__(
        self, settings: Settings | None = None, *, store: PaperStore | None = None,
        embedder: Embedder | None = None, http: HttpClient | None = None,
        llm: ChatLLM | None = None, clock: Clock = utcnow, lock_wait: float = 0.0,
    ) -> None:  # fmt: skip
        self.services = Services(settings or Settings.load(), store=store, embedder=embedder,
                                 http=http, llm=llm, clock=clock)  # fmt: skip
        self.settings = self.services.settings
        self.clock = clock
        self.lock_wait = lock_wait
        self._writer: StoreLock | None = None
        self._qa: QAEngine | None = None

    # --- collaborators (agent.services) ----------------------------------------------------
    @property
    def store(self) -> PaperStore:
        return self.services.store

    @property
    def embedder(self) -> Embedder:
        return self.services.embedder

    @property
    def llm(self) -> ChatLLM | None:
        """The configured chat model, or None: then every step uses its no-model engine."""
        return self.services.llm

    @property
    def http(self) -> HttpClient:
        return self.services.http

    @property
    def summarizer(self) -> Summarizer:
        return self.services.summarizer

    @property
    def history(self) -> DigestHistory:
        """Saved digests, the papers they sent and cached theme names."""
        return self.services.history

    @property
    def signals(self) -> ReaderSignals:
        """Each profile's library and ratings."""
        return self.services.signals

    def reopen_store(self) -> None:
        """Close the store and open it again on next use (a long-lived process calls this when
        another process wrote: a Chroma client keeps the view it loaded). The model stays."""
        self.services.reopen_store()

    def close(self) -> None:
        self.services.close()

    def __enter__(self) -> PaperAgent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def writing(self, wait: float | None = None) -> AbstractContextManager[None]:
        """Hold the store's writer lock (every writing method takes it; it nests), waiting up
        to ``wait`` (default: the ``lock_wait`` given) before raising LockedError."""
        if self._writer is None:
            self._writer = StoreLock(self.settings.home, self.settings.store.chroma_url)
        return self._writer.hold(self.lock_wait if wait is None else wait)

    # --- ingest, search, housekeeping ------------------------------------------------------
    @writes
    def ingest(
        self, sources: Sequence[str] | None = None, *, request: FetchRequest | None = None,
        progress: Progress | None = None,
    ) -> RunReport:  # fmt: skip
        """Fetch from each source and store what is new. One source failing never stops the others;
        its failure is in the report (and makes ``report.ok`` false)."""
        from agent.ingest import ingest_sources

        self.store.date_undated_papers()
        return ingest_sources(self.settings, self.store, self.http, sources, request=request,
                              progress=progress)  # fmt: skip

    def search(
        self, query: str, *, k: int = 10, since: Since = None, category: str | None = None,
        source: str | None = None, mode: SearchMode = "hybrid",
    ) -> list[SearchHit]:  # fmt: skip
        """Hybrid (dense + BM25, reciprocal-rank fusion) search over the stored chunks."""
        from agent.qa.search import require_query, search_papers

        require_query(query)
        # The query will be embedded: load the model while the store opens.
        warm = mode != "bm25" and not self.services.store_is_open
        store = self.services.open_store(warm=True) if warm else self.store
        return search_papers(store, query, k=k, since=since, category=category, source=source,
                             mode=mode)  # fmt: skip

    def get_paper(self, paper_id: str) -> Paper | None:
        from agent.qa.search import get_paper

        return get_paper(self.store, paper_id)

    def status(self) -> StoreStatus:
        """The store's size and embedding model, and each source's last ingest."""
        from agent.ingest import store_status

        return store_status(self.settings, self.store)

    @writes
    def reindex(self, progress: Progress | None = None) -> RunReport:
        """Re-embed every stored paper with the configured embedding model."""
        report = RunReport(step="reindex")
        opened = self.services.store_is_open
        store = self.store if opened else self.services.open_store(allow_mismatch=True)

        def step(done: int, total: int | None = None) -> None:
            if progress:
                progress("re-embedding", done, total)

        report.counts["papers"] = store.reindex(self.embedder, progress=step)
        return report.finish()

    @writes
    def restore_state(self) -> Restored:
        """Put the state file's backup back in place of a damaged one, which is kept aside
        (`paperbrief doctor --restore-state`); StateDamaged when there is no sound backup. Call
        it before anything opens the state (the store, the history, ratings)."""
        from store.state.health import restore_state

        return restore_state(self.settings.layout.state_db)

    def check_llm(self) -> EndpointCheck:
        """One tiny structured request: endpoint, model, method and latency, or error and hint."""
        from agent.llm.check import check_endpoint

        return check_endpoint(self.settings)

    # --- summaries -------------------------------------------------------------------------
    @writes
    def summarize(
        self, *, since: Since = None, limit: int | None = None, ids: Sequence[str] | None = None,
        force: bool = False, max_cost: float | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> RunReport:  # fmt: skip
        """Summarize stored papers (newest first): cached summaries cost nothing, ``force``
        regenerates, ``max_cost`` (USD) stops before the run would exceed it."""
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

    # --- digests (agent.digest.flow) -------------------------------------------------------
    def select(
        self, paper_filter: PaperFilter | None = None, *, include_sent: bool = False,
        now: datetime | None = None, profile: str | None = None,
    ) -> Selection:  # fmt: skip
        """The papers a digest of ``paper_filter`` would carry (``since`` defaults to 1d): those
        dated in the window, less the ones an earlier digest of this profile delivered unless
        ``include_sent``."""
        from agent.digest.flow import select_papers

        if not self.store.undated_are_dated:  # once per store made before 0.3
            with self.writing():
                self.store.date_undated_papers()
        return select_papers(self.store, self.history, paper_filter or PaperFilter(),
                             include_sent=include_sent, now=now or self.clock(),
                             profile=profile or DEFAULT_PROFILE)  # fmt: skip

    def choose(self, selection: Selection, request: DigestRequest) -> Choice:
        """Rank a selection for its reader and choose the papers shown in detail (the daily run
        summarizes exactly those before building the digest)."""
        from agent.digest.flow import plan_digest

        return plan_digest(selection, request, settings=self.settings, store=self.store,
                           signals=self.signals, embedder=self.embedder)  # fmt: skip

    @writes
    def digest(
        self, paper_filter: PaperFilter | None = None, *,
        since: Since = None, until: Since = None, category: str | None = None,
        source: str | None = None, selection: Selection | None = None,
        choice: Choice | None = None, include_sent: bool = False,
        max_papers: int | None = None, use_llm: bool = True,
        profile: str | InterestProfile | None = None,
        namer: ThemeNamer | None = None, summaries: Mapping[str, Summary | None] | None = None,
        source_reports: Sequence[SourceReport] | None = None, now: datetime | None = None,
        save: bool = True, progress: Progress | None = None,
    ) -> Digest:  # fmt: skip
        """The digest of the window (``since`` defaults to 1d), ranked for a reader profile
        (a ``[profiles.NAME]`` name; an InterestProfile overrides the interests), or of a
        ``selection`` from :meth:`select` / a ``choice`` from :meth:`choose`. The best
        ``max_papers`` are shown in detail, the rest counted; saved under home/digests unless
        ``save=False``."""
        from agent.digest.flow import DigestRequest, make_digest

        wanted = PaperFilter.of(paper_filter, since=since, until=until, category=category,
                                source=source)  # fmt: skip
        given = selection is not None or choice is not None
        if given and (wanted != PaperFilter() or include_sent):
            raise errors.InputError(
                "Give a selection or a filter, not both.",
                hint="Pass the filter to select(), then its selection here.",
            )
        name = profile if isinstance(profile, str) else DEFAULT_PROFILE
        request = DigestRequest(now or self.clock(), max_papers, use_llm,
                                None if isinstance(profile, str) else profile, namer, summaries,
                                source_reports, save, profile_name=name)  # fmt: skip
        if choice is None:
            if selection is None:
                selection = self.select(wanted, include_sent=include_sent, now=request.now,
                                        profile=name)  # fmt: skip
            choice = self.choose(selection, request)
        return make_digest(choice, request, settings=self.settings, store=self.store,
                           history=self.history, summarizer=self.summarizer, llm=self.llm,
                           progress=progress)  # fmt: skip

    @writes
    def send(
        self, digest: Digest, to: Sequence[str] | None = None, *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> SendResult:  # fmt: skip
        """E-mail a digest (to ``smtp.to`` by default) and remember its papers as sent, and
        the recipients the server refused, for ``resend_refused`` to try again."""
        from agent.digest.flow import deliver

        return deliver(self.settings, self.history, digest, to, ssl_context=ssl_context,
                       state=self.store.state)  # fmt: skip

    @writes
    def resend_refused(
        self, *, profile: str | None = None, only: Sequence[str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> list[Resend]:  # fmt: skip
        """Send each digest the server refused for one of the profile's recipients (of
        ``only``, when given) to them again (`paperbrief run` does it first); one Resend per
        address and digest."""
        from agent.digest.refused import resend_refused

        return resend_refused(self.settings, self.history, self.store.state,
                              self._profile_name(profile), now=self.clock(), only=only,
                              ssl_context=ssl_context)  # fmt: skip

    # --- readers' libraries and ratings (agent.profiles) -----------------------------------
    @writes
    def import_library(self, path: Path | str, *, profile: str | None = None) -> LibraryImport:
        """Read a BibTeX / RIS / CSL-JSON / Zotero CSV / id-list file whole, embed its items and
        keep them as the profile's library (a bad entry raises before anything is stored)."""
        from agent.profiles.library import import_library, lookup_arxiv

        name = self._profile_name(profile)
        return import_library(
            Path(path), profile=name, signals=self.signals, embedder=self.embedder,
            store=self.store, lookup=lambda ids: lookup_arxiv(ids, self.settings, self.http),
        )  # fmt: skip

    @writes
    def sync_library(self, *, profile: str | None = None) -> LibrarySync:
        """Re-import the profile's configured ``library`` files that changed since last time;
        a missing or broken file is reported in the result, the stored library kept."""
        from agent.profiles.library import sync_library_files

        name = self._profile_name(profile)
        return sync_library_files(
            self.settings.profile(name).library, profile=name, state=self.store.state,
            do_import=lambda path: self.import_library(path, profile=name),
        )  # fmt: skip

    def library(self, *, profile: str | None = None) -> list[LibraryEntry]:
        from agent.profiles.library import list_library

        return list_library(self._profile_name(profile), self.signals)

    @writes
    def remove_from_library(
        self, keys: Sequence[str] = (), *, profile: str | None = None, everything: bool = False
    ) -> int:
        from agent.profiles.library import remove_from_library

        name = self._profile_name(profile)
        return remove_from_library(name, self.signals, list(keys), everything=everything)

    @writes
    def rate(self, paper_id: str, value: str, *, profile: str | None = None) -> Rating:
        """``up``, ``down`` or ``clear``: the profile's ranker learns from it at the next digest."""
        from agent.profiles.signal import rate

        name = self._profile_name(profile)
        return rate(paper_id, value, profile=name, store=self.store, signals=self.signals)

    def _profile_name(self, profile: str | None) -> str:
        name = profile or DEFAULT_PROFILE
        self.settings.profile(name)  # raises ConfigError naming the known profiles
        return name

    # --- questions (agent.qa) --------------------------------------------------------------
    @property
    def qa(self) -> QAEngine:
        """The question-answering engine over this agent's store and the configured LLM (the
        extractive no-model engine when none is configured)."""
        if self._qa is None:
            from agent.qa.engine import QAEngine

            self._qa = QAEngine(self.search, llm=self.llm, get_paper_fn=self.get_paper,
                                settings=self.settings)  # fmt: skip
        return self._qa

    def ask(
        self, question: str, *, since: Since = None, k: int | None = None,
        category: str | None = None, source: str | None = None,
        stream: Callable[[str], None] | None = None, agentic: bool | None = None,
        on_tool_call: Callable[[ToolCall], None] | None = None,
    ) -> Answer:  # fmt: skip
        """Answer from the stored papers, citing them as [1], [2], ...; or say plainly that they
        do not hold the answer (``refused``). ``stream`` gets each piece of text as it arrives."""
        return self.qa.ask(
            question, since=since, k=k, category=category, source=source, stream=stream,
            agentic=agentic, on_tool_call=on_tool_call,
        )  # fmt: skip

    async def aask(
        self, question: str, *, since: Since = None, k: int | None = None,
        category: str | None = None, source: str | None = None,
        stream: Callable[[str], None] | None = None, agentic: bool | None = None,
        on_tool_call: Callable[[ToolCall], None] | None = None,
    ) -> Answer:  # fmt: skip
        """The async variant of :meth:`ask`."""
        return await self.qa.aask(
            question, since=since, k=k, category=category, source=source, stream=stream,
            agentic=agentic, on_tool_call=on_tool_call,
        )  # fmt: skip

    def chat(
        self, *, since: Since = None, k: int | None = None, category: str | None = None,
        source: str | None = None,
    ) -> ChatSession:  # fmt: skip
        """A conversation: follow-ups are rewritten into standalone questions before retrieval."""
        from agent.qa.chat import ChatSession

        return ChatSession(self.qa, since=since, k=k, category=category, source=source)


__all__ = ["PaperAgent", "Progress"]
