"""A backfill from arXiv's query API that a person can leave running.

The window is walked one day of submissions at a time, newest day first (stopped half-way, the
store holds the recent half, the useful one). Each day is one small query (a few hundred to a
couple of thousand results, far from the API's 30,000 cap and from the deep offsets where its
paging goes wrong), paged in submission order through the shared arXiv throttle. Every page is
written to the store as it arrives, then the position is saved (agent.backfill.position): memory
holds one page, and a rerun after Ctrl-C, a crash or an outage starts at the page it was on.
The whole run holds the store's writer lock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from agent.backfill.position import BackfillPosition, position_key
from agent.dates import parse_day
from agent.errors import InputError, SourceError
from agent.models import ItemFailure, utcnow

if TYPE_CHECKING:
    from agent.models import Progress
    from agent.pipeline import PaperAgent
    from agent.sources.arxiv_api import ArxivApiSource

log = logging.getLogger(__name__)

#: Papers per API page (arXiv allows up to 2,000): a page is also one write to the store.
PAGE_SIZE = 500
#: Days this recent are never recorded as complete: papers are still being submitted to them.
UNSETTLED = timedelta(days=2)


class BackfillResult(BaseModel):
    """What one ``run_backfill`` stored, and how much of the window is covered."""

    since: date
    until: date
    categories: list[str]
    query: str | None = None
    days: int = Field(0, description="Days in the window.")
    days_done: int = Field(0, description="Days this run stored completely.")
    days_already: int = Field(0, description="Days an earlier run had stored: skipped.")
    resumed_at: str | None = Field(None, description="Day and offset a stopped run resumed at.")
    pages: int = 0
    fetched: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    failures: list[ItemFailure] = Field(default_factory=list)
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        return not self.failures and self.days_done + self.days_already == self.days


class _Run:
    """One backfill's loop state: the source, the store, the position and the tally."""

    def __init__(self, agent: PaperAgent, source: ArxivApiSource, key: str,
                 result: BackfillResult, page_size: int, today: date) -> None:  # fmt: skip
        self.agent, self.source, self.key = agent, source, key
        self.result, self.page_size, self.today = result, page_size, today
        self.position = BackfillPosition.load(agent.store.state, key)

    def day(self, day: date) -> None:
        """Page through one day; the position moves after each stored page."""
        from agent.sources.arxiv_api import API_MAX_RESULTS, build_search_query

        result, position = self.result, self.position
        search = build_search_query(result.categories, result.query, day, day)
        start = position.resume_at(day)
        if start and result.resumed_at is None:
            result.resumed_at = f"{day} at result {start}"
        while True:
            try:
                page = self.source.page(search, start, self.page_size)
            except SourceError as exc:
                exc.hint = (f"The backfill kept its position ({day}, result {start}): run the "
                            f"same command again to resume. {exc.hint}")  # fmt: skip
                raise
            result.pages += 1
            result.failures.extend(page.skipped)
            self._store(page.papers)
            start += page.entries
            position.day, position.start = day, start
            position.save(self.agent.store.state, self.key)
            total = min(page.total or 0, API_MAX_RESULTS)
            if page.entries == 0 and start < total:
                result.failures.append(ItemFailure(item=f"arxiv {day} results {start}-{total}",
                    step="fetch", reason="arXiv kept answering an empty page; run the "
                    "backfill again later to fetch the rest of this day"))  # fmt: skip
                return
            if page.entries == 0 or start >= total:
                break
        result.days_done += 1
        if day <= self.today - UNSETTLED:
            position.done.add(day)
        position.day, position.start = None, 0
        position.save(self.agent.store.state, self.key)

    def _store(self, papers: list) -> None:
        from agent.ingest import latest_versions
        from agent.sources.bounds import bound_paper

        if not papers:
            return
        kept = []
        for paper in latest_versions(papers):
            bounded, note = bound_paper(paper)
            if note:
                log.warning("%s", note)
            kept.append(bounded)
        stored = self.agent.store.upsert([p.model_dump(mode="json") for p in kept])
        self.result.fetched += len(papers)
        self.result.new += len(stored.new)
        self.result.updated += len(stored.updated)
        self.result.unchanged += len(stored.unchanged)


def run_backfill(
    agent: PaperAgent,
    since: str | date,
    until: str | date | None = None,
    *,
    categories: list[str] | None = None,
    query: str | None = None,
    page_size: int = PAGE_SIZE,
    progress: Progress | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> BackfillResult:
    """Store every paper submitted from ``since`` to ``until`` (days, inclusive; ``365d``
    works) in ``categories`` (default: the arxiv_categories setting), resuming where an
    earlier run with the same categories and query stopped. ``progress(stage, days, total)``
    is called after each day. Raises SourceError when arXiv stays unreachable (the position
    is kept) and LockedError when another run writes to the store."""
    from agent.sources.arxiv_api import ArxivApiSource
    from agent.sources.arxiv_rss import check_categories

    today = clock().date()
    first = parse_day(since) if isinstance(since, str) else since
    last = (parse_day(until) if isinstance(until, str) else until) or today
    if first is None or first > last:
        raise InputError(f"The backfill window starts after it ends ({first} > {last}).",
                         hint="Give --since on or before --until (e.g. --since 365d).")  # fmt: skip
    cats = check_categories(categories or agent.settings.arxiv.categories)
    query = query or agent.settings.arxiv.query or None
    result = BackfillResult(since=first, until=last, categories=cats, query=query,
                            days=(last - first).days + 1)  # fmt: skip
    began = time.monotonic()
    with agent.writing():
        source = ArxivApiSource(agent.settings, agent.http, clock=clock)
        run = _Run(agent, source, position_key(cats, query), result, page_size, today)
        try:
            for n, offset in enumerate(range(result.days)):
                day = last - timedelta(days=offset)
                if day in run.position.done:
                    result.days_already += 1
                else:
                    run.day(day)
                if progress is not None:
                    progress(f"{day} · {result.new} new", n + 1, result.days)
        finally:
            result.seconds = round(time.monotonic() - began, 1)
    log.info("backfill %s..%s: %d pages, %d new in %.0f s", first, last, result.pages,
             result.new, result.seconds)  # fmt: skip
    return result
