"""PaperAgent's digest methods: select the window, choose what a reader sees, build, send.

A mixin so the facade stays one class (``PaperAgent.digest(...)``) while this capability keeps
its code in its own folder; PaperAgent wraps ``digest`` and ``send`` in the writer lock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from agent import errors
from agent.config import DEFAULT_PROFILE
from agent.models import PaperFilter, Progress, Since, Summary
from agent.storage import store_errors

if TYPE_CHECKING:
    import ssl

    from agent.config import Settings
    from agent.digest.choose import Choice
    from agent.digest.flow import DigestRequest
    from agent.digest.models import Digest, Selection, SendResult
    from agent.digest.naming import ThemeNamer
    from agent.digest.relevance import InterestProfile
    from agent.llm.chat import ChatLLM
    from agent.models import SourceReport
    from agent.summaries.summarizer import Summarizer
    from store import Embedder, PaperStore
    from store.digest_history import DigestHistory
    from store.reader_signals import ReaderSignals


class DigestMethods:
    # Provided by PaperAgent (declared here for type checkers only).
    settings: Settings
    store: PaperStore
    embedder: Embedder
    history: DigestHistory
    signals: ReaderSignals
    summarizer: Summarizer
    llm: ChatLLM | None

    def writing(self, wait: float | None = None) -> AbstractContextManager[None]: ...

    def select(
        self, paper_filter: PaperFilter | None = None, *, include_sent: bool = False,
        now: datetime | None = None, profile: str | None = None,
    ) -> Selection:  # fmt: skip
        """The papers a digest of ``paper_filter`` would carry (``since`` defaults to 1d): those
        dated in the window, less the ones an earlier digest of this profile delivered unless
        ``include_sent``."""
        from agent.digest.flow import select_papers

        with store_errors():
            if not self.store.undated_are_dated:  # once per store made before 0.3
                with self.writing():
                    self.store.date_undated_papers()
            return select_papers(self.store, self.history, paper_filter or PaperFilter(),
                                 include_sent=include_sent, now=now,
                                 profile=profile or DEFAULT_PROFILE)  # fmt: skip

    def choose(self, selection: Selection, request: DigestRequest) -> Choice:
        """Rank a selection for its reader and choose the papers shown in detail (the daily run
        summarizes exactly those before building the digest)."""
        from agent.digest.flow import plan_digest

        with store_errors():
            return plan_digest(selection, request, settings=self.settings, store=self.store,
                               signals=self.signals, embedder=self.embedder)  # fmt: skip

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

        now = now or datetime.now(UTC)
        wanted = PaperFilter.of(paper_filter, since=since, until=until, category=category,
                                source=source)  # fmt: skip
        if (selection is not None or choice is not None) and (
            wanted != PaperFilter() or include_sent
        ):
            raise errors.InputError(
                "Give a selection or a filter, not both.",
                hint="Pass the filter to select(), then its selection here.",
            )
        name = profile if isinstance(profile, str) else DEFAULT_PROFILE
        request = DigestRequest(now, max_papers, use_llm,
                                None if isinstance(profile, str) else profile, namer, summaries,
                                source_reports, save, profile_name=name)  # fmt: skip
        if choice is None:
            if selection is None:
                selection = self.select(wanted, include_sent=include_sent, now=now, profile=name)
            choice = self.choose(selection, request)
        with store_errors():
            return make_digest(
                choice, request, settings=self.settings, store=self.store,
                history=self.history, summarizer=self.summarizer, llm=self.llm,
                progress=progress,
            )  # fmt: skip

    def send(
        self, digest: Digest, to: Sequence[str] | None = None, *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> SendResult:  # fmt: skip
        """E-mail a digest (to ``smtp.to`` by default) and remember its papers as sent."""
        from agent.digest.flow import deliver

        return deliver(self.settings, self.history, digest, to, ssl_context=ssl_context)


__all__ = ["DigestMethods"]
