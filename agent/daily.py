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

from agent.config import DEFAULT_PROFILE
from agent.errors import PaperbriefError
from agent.models import ItemFailure, PaperFilter, RunReport
from agent.webhooks.post import PostResult
from store.state import meta_keys

if TYPE_CHECKING:
    from agent.digest.models import Digest
    from agent.pipeline import PaperAgent, Progress
    from store.seams import DigestHistory
    from store.state.db import StateDB

log = logging.getLogger(__name__)

#: How far back a run looks, at least: a source that failed yesterday and recovered today still
#: gets its papers into a digest (delivered papers are excluded, so nothing repeats).
LOOKBACK = timedelta(days=7)
#: ... and at most, after a long pause.
MAX_LOOKBACK = timedelta(days=30)
RESEND_EMPTY_AFTER = timedelta(hours=20)


class ProfileDelivery(BaseModel):
    """One reader's digest in a run."""

    profile: str
    digest_id: str
    shown: int
    accounted: int
    themes: int = 0
    delivered: bool = False
    delivered_to: list[str] = Field(default_factory=list)
    saved_in: Path | None = None
    posts: list[PostResult] = Field(
        default_factory=list, description="each chat webhook's outcome (URLs masked)"
    )


class DailyResult(BaseModel):
    report: RunReport
    digest_id: str | None = None
    digests: list[ProfileDelivery] = Field(default_factory=list)
    delivered: bool = False
    delivered_to: list[str] = Field(default_factory=list)
    written: list[Path] = Field(default_factory=list)
    saved_in: Path | None = None
    failed_step: str | None = None


def window_start(state: StateDB, now: datetime, key: str = meta_keys.RUN_WINDOW_END) -> datetime:
    start = now - LOOKBACK
    raw = state.get_meta(key)
    if raw:
        try:
            start = min(start, max(datetime.fromisoformat(raw), now - MAX_LOOKBACK))
        except ValueError:
            log.warning("ignoring unreadable %s=%r", key, raw)
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
    profiles: Sequence[str] | None = None,
) -> DailyResult:
    """One scheduled run: ingest once, then one digest per profile (every configured profile
    unless ``profiles`` names some). Raises LockedError when another run holds the store."""
    names = list(profiles or agent.settings.profile_names)
    for name in names:
        agent.settings.profile(name)  # an unknown name fails before any work
    with agent.writing(max(lock_wait, agent.lock_wait)):  # one lock for every step
        return _run(
            agent, email=email, out=out, skip_empty=skip_empty, now=now, progress=progress,
            profiles=names,
        )  # fmt: skip


def _run(
    agent: PaperAgent,
    *,
    email: Sequence[str] | None,
    out: Sequence[Path],
    skip_empty: bool,
    now: datetime | None,
    progress: Progress | None,
    profiles: Sequence[str],
) -> DailyResult:
    now = now or agent.clock()  # the agent's injected clock: tests run it at any date
    report = RunReport(step="run")
    result = DailyResult(report=report)

    # 1. ingest once for every reader: a failing source is recorded and named.
    ingest = agent.ingest(progress=progress)
    report.sources = ingest.sources
    report.failures.extend(ingest.failures)
    report.notes.extend(ingest.notes)  # e.g. a record cut to the size limits
    if not ingest.ok:
        result.failed_step = "ingest"
    delivered_all = True
    for name in profiles:
        delivery = _run_profile(agent, name, email, out, skip_empty, now, ingest, progress, result)
        result.digests.append(delivery)
        delivered_all = delivered_all and delivery.delivered
    first = result.digests[0] if result.digests else None
    if first is not None:
        result.digest_id, result.saved_in = first.digest_id, first.saved_in
        result.delivered_to = sorted({a for d in result.digests for a in d.delivered_to})
        report.counts["digest_papers"] = sum(d.shown for d in result.digests)
    result.delivered = delivered_all
    return result


def _run_profile(
    agent: PaperAgent, name: str, email: Sequence[str] | None, out: Sequence[Path],
    skip_empty: bool, now: datetime, ingest: RunReport, progress: Progress | None,
    result: DailyResult,
) -> ProfileDelivery:  # fmt: skip
    """Choose this reader's papers, summarize only the shown ones, digest, deliver."""
    from agent.digest.flow import DigestRequest, mark_delivered
    from agent.digest.render import write_digest

    report = result.report
    _sync_library(agent, name, result)
    key = meta_keys.run_window_end(None if name == DEFAULT_PROFILE else name)
    selection = agent.select(
        PaperFilter(since=window_start(agent.store.state, now, key)), now=now, profile=name
    )
    choice = agent.choose(selection, DigestRequest(now, profile_name=name))
    _summarize(agent, choice.shown_papers, report, result)
    digest = agent.digest(
        choice=choice, now=now, source_reports=ingest.sources, progress=progress, profile=name
    )
    report.counts["digest_themes"] = report.counts.get("digest_themes", 0) + len(digest.themes)
    delivery = ProfileDelivery(
        profile=name, digest_id=digest.id, shown=len(digest.papers),
        accounted=len(digest.papers) + len(digest.rest), themes=len(digest.themes),
        saved_in=agent.settings.layout.digest_folder(digest.id),
    )  # fmt: skip
    profile_to = agent.settings.profile(name).to
    recipients = list(email if email is not None else profile_to)
    for path in out:
        target = path if len(result.digests) == 0 else _per_profile(path, name)
        write_digest(digest, target)
        result.written.append(target)
    delivered = bool(out) or not recipients
    resent: list[str] = []
    if recipients:
        resent = _resend(agent, name, recipients, result)  # digests a refused address missed
        accepted = _email(agent, digest, recipients, skip_empty, now, result)
        delivered = accepted is not None
        delivery.delivered_to = accepted or []
    delivery.delivered = delivered
    if delivered:
        if not delivery.delivered_to and (digest.papers or digest.rest):
            # delivered by file or kept in the history only: still never repeat these papers
            mark_delivered(agent.history, digest, settings=agent.settings)
        agent.store.state.set_meta(key, (digest.window_end or now).isoformat())
    delivery.delivered_to = list(dict.fromkeys([*delivery.delivered_to, *resent]))
    _post(agent, digest, delivery, now, result)
    return delivery


def _post(
    agent: PaperAgent, digest: Digest, delivery: ProfileDelivery, now: datetime,
    result: DailyResult,
) -> None:  # fmt: skip
    """Post the digest to the profile's chat webhooks (and retry earlier failed posts). Only
    a delivered digest is posted: when the mail failed, its papers come back in the next run's
    digest, which then goes to mail and chat alike, so chat never sees them twice."""
    from agent.webhooks import post_to_chat, webhooks_for

    urls = webhooks_for(agent.settings, delivery.profile)
    if not urls:
        return
    report = result.report
    if not delivery.delivered:
        report.notes.append(
            f"{delivery.profile}: not posted to chat because the e-mail failed; the next run "
            "posts these papers with its digest."
        )
        return
    posts = post_to_chat(agent, digest, urls, now=now)
    delivery.posts = posts.results
    for failed in posts.failed:
        report.notes.append(
            f"{delivery.profile}: posting digest {failed.digest_id} to {failed.channel} failed: "
            f"{failed.reason} The next run posts it there again."
        )
    if posts.failed:
        result.failed_step = result.failed_step or "webhook"


def _sync_library(agent: PaperAgent, name: str, result: DailyResult) -> None:
    """Re-import this reader's configured library files that changed; a broken one fails the
    'library' step (exit 1, named) but the digest still goes out on the library kept."""
    sync = agent.sync_library(profile=name)
    report = result.report
    for done in sync.imported:
        report.notes.append(
            f"{name}: re-imported {done.file}: {done.new} new, library size {done.total}"
            + (f", {len(done.skipped)} skipped" if done.skipped else "")
        )
    for path, reason in sync.failed.items():
        report.failures.append(ItemFailure(item=path, step="library", reason=reason))
        report.notes.append(f"{name}: library file {path} was not imported: {reason}")
        result.failed_step = result.failed_step or "library"


def _per_profile(path: Path, name: str) -> Path:
    return path.with_name(f"{path.stem}-{name}{path.suffix}")


def _summarize(
    agent: PaperAgent, papers: Sequence[dict], report: RunReport, result: DailyResult
) -> None:
    """Summaries for the shown papers only (cached ones cost nothing)."""
    if not papers:
        return
    summary_report = agent.summarize(ids=[p["id"] for p in papers])
    report.failures.extend(summary_report.failures)
    for key, value in summary_report.counts.items():
        report.counts[f"summarize_{key}"] = report.counts.get(f"summarize_{key}", 0) + value
    report.notes.extend(summary_report.notes[:1])
    if summary_report.failures:
        result.failed_step = result.failed_step or "summarize"


def _resend(
    agent: PaperAgent, name: str, recipients: Sequence[str], result: DailyResult
) -> list[str]:
    """Send earlier digests to the recipients the server refused them for (those still among
    ``recipients``); the addresses that now took one. A refusal again fails the step, named."""
    report, taken = result.report, []
    for resend in agent.resend_refused(profile=name, only=recipients):
        if resend.ok:
            taken.append(resend.address)
            report.notes.append(
                f"{name}: sent digest {resend.digest_id} to {resend.address}, which the server "
                "had refused."
            )
            continue
        item = ItemFailure(item=resend.address, step="deliver", reason=resend.reason)
        report.failures.append(item)
        result.failed_step = result.failed_step or "deliver"
    return taken


def _email(
    agent: PaperAgent,
    digest: Digest,
    recipients: list[str],
    skip_empty: bool,
    now: datetime,
    result: DailyResult,
) -> list[str] | None:
    """Mail the digest: the addresses the server accepted ([] when an empty digest needs no
    mail), or None when sending failed (named in the report)."""
    report = result.report
    if digest.empty:
        if skip_empty:
            report.notes.append("Nothing new: no e-mail sent (--skip-empty).")
            return []
        last = _last_sent(agent.history, digest.profile)
        if last is not None and now - last < RESEND_EMPTY_AFTER:
            report.notes.append(
                f"Nothing new since the digest sent at {last:%Y-%m-%d %H:%M} UTC: not e-mailing "
                "an empty note again."
            )
            return []
    try:
        sent = agent.send(digest, recipients)
    except PaperbriefError as exc:
        report.failures.append(ItemFailure(item=digest.id, step="deliver", reason=str(exc)))
        result.failed_step = result.failed_step or "deliver"
        log.error("delivery failed: %s", exc)
        return None
    # each refused address is remembered by agent.send: the next run sends it this digest
    for address, reason in zip(sent.refused, sent.refusals(digest.id), strict=True):
        report.failures.append(ItemFailure(item=address, step="deliver", reason=reason))
        result.failed_step = result.failed_step or "deliver"
    return list(sent.accepted)


def _last_sent(history: DigestHistory, profile: str) -> datetime | None:
    """When this reader's last digest was mailed (another reader's mail does not count)."""
    for run in history.runs(limit=20):
        if (
            run.get("status") == "sent"
            and run.get("sent_at")
            and run.get("profile", DEFAULT_PROFILE) == profile
        ):
            return _aware(datetime.fromisoformat(run["sent_at"]))
    return None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
