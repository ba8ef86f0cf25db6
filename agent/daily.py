"""The daily job: ingest -> summarize -> digest -> deliver, in one process, under one lock.

Safe to run as often as a scheduler likes: ingest is idempotent (content hashes), summaries and
theme names are cached, papers an earlier run delivered (by mail or to a file) are left out, so
the window can look back generously without repeating anything, and an empty digest is not mailed
again when one was delivered in the last ``RESEND_EMPTY_AFTER``. A run killed part-way leaves
the window cursor where it was, so the next run covers the same papers again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from agent.errors import PaperbriefError
from agent.lock import RunLock
from agent.models import ItemFailure, PaperFilter, RunReport

if TYPE_CHECKING:
    from agent.digest.models import Digest, Selection
    from agent.pipeline import PaperAgent, Progress
    from store.digest_history import DigestHistory
    from store.state import StateDB

log = logging.getLogger(__name__)

#: meta key holding the end of the last delivered window (ISO).
WINDOW_KEY = "run:last_window_end"
#: How far back a run looks, at least: a source that failed yesterday and recovered today still
#: gets its papers into a digest (delivered papers are excluded, so nothing repeats).
LOOKBACK = timedelta(days=7)
#: ... and at most, after a long pause.
MAX_LOOKBACK = timedelta(days=30)
RESEND_EMPTY_AFTER = timedelta(hours=20)


class DailyResult(BaseModel):
    report: RunReport
    digest_id: str | None = None
    delivered: bool = False
    delivered_to: list[str] = Field(default_factory=list)
    written: list[Path] = Field(default_factory=list)
    saved_in: Path | None = None
    failed_step: str | None = None


def window_start(state: StateDB, now: datetime) -> datetime:
    start = now - LOOKBACK
    raw = state.get_meta(WINDOW_KEY)
    if raw:
        try:
            start = min(start, max(datetime.fromisoformat(raw), now - MAX_LOOKBACK))
        except ValueError:
            log.warning("ignoring unreadable %s=%r", WINDOW_KEY, raw)
    return start


def run_daily(
    agent: PaperAgent,
    *,
    email: Sequence[str] | None = None,
    out: Sequence[Path] = (),
    skip_empty: bool = False,
    lock_wait: float = 0.0,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> DailyResult:
    """One scheduled run. Raises LockedError when another run holds the store."""
    with RunLock(agent.settings.home, wait=lock_wait):
        return _run(agent, email=email, out=out, skip_empty=skip_empty, now=now, progress=progress)


def _run(
    agent: PaperAgent,
    *,
    email: Sequence[str] | None,
    out: Sequence[Path],
    skip_empty: bool,
    now: datetime | None,
    progress: Progress | None,
) -> DailyResult:
    from agent.digest.render import write_digest

    now = now or datetime.now(UTC)
    report = RunReport(step="run")
    result = DailyResult(report=report)

    # 1. ingest: a failing source is recorded and named; the others still feed the digest.
    ingest = agent.ingest(progress=progress)
    report.sources = ingest.sources
    report.failures.extend(ingest.failures)
    if not ingest.ok:
        result.failed_step = "ingest"

    # 2. choose the digest's papers, once; summarize exactly those (cached ones cost nothing).
    selection = agent.select(PaperFilter(since=window_start(agent.store.state, now)), now=now)
    _summarize(agent, selection, report, result)

    # 3. digest those papers (saved in the history folder whatever happens next).
    digest = agent.digest(
        selection=selection, now=now, source_reports=ingest.sources, progress=progress
    )
    result.digest_id = digest.id
    report.counts["digest_papers"] = len(digest.papers)
    report.counts["digest_themes"] = len(digest.themes)
    result.saved_in = agent.settings.layout.digest_folder(digest.id)

    # 4. deliver.
    recipients = list(email if email is not None else agent.settings.smtp.to)
    for path in out:
        write_digest(digest, path)
        result.written.append(path)
    delivered = bool(out) or not recipients
    if recipients:
        delivered = _email(agent, digest, recipients, skip_empty, now, report, result)
    result.delivered = delivered
    if delivered:
        if not result.delivered_to and digest.papers:
            # delivered by file or kept in the history only: still never repeat these papers
            agent.history.mark_sent(digest.id, [p.id for p in digest.papers])
        agent.store.state.set_meta(WINDOW_KEY, (digest.window_end or now).isoformat())
    return result


def _summarize(
    agent: PaperAgent, selection: Selection, report: RunReport, result: DailyResult
) -> None:
    if not selection.papers:
        return
    summary_report = agent.summarize(ids=selection.ids)
    report.failures.extend(summary_report.failures)
    for key, value in summary_report.counts.items():
        report.counts[f"summarize_{key}"] = value
    report.notes.extend(summary_report.notes[:1])
    if summary_report.failures:
        result.failed_step = result.failed_step or "summarize"


def _email(
    agent: PaperAgent,
    digest: Digest,
    recipients: list[str],
    skip_empty: bool,
    now: datetime,
    report: RunReport,
    result: DailyResult,
) -> bool:
    if digest.empty:
        if skip_empty:
            report.notes.append("Nothing new: no e-mail sent (--skip-empty).")
            return True
        last = _last_sent(agent.history)
        if last is not None and now - last < RESEND_EMPTY_AFTER:
            report.notes.append(
                f"Nothing new since the digest sent at {last:%Y-%m-%d %H:%M} UTC: not e-mailing "
                "an empty note again."
            )
            return True
    try:
        sent = agent.send(digest, recipients)
    except PaperbriefError as exc:
        report.failures.append(ItemFailure(item=digest.id, step="deliver", reason=str(exc)))
        result.failed_step = result.failed_step or "deliver"
        log.error("delivery failed: %s", exc)
        return False
    result.delivered_to = sent.accepted
    return True


def _last_sent(history: DigestHistory) -> datetime | None:
    for run in history.runs(limit=20):
        if run.get("status") == "sent" and run.get("sent_at"):
            return _aware(datetime.fromisoformat(run["sent_at"]))
    return None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
