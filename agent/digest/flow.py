"""The digest as PaperAgent runs it: choose papers from the store, gather their summaries and
vectors, build, save to history, send, and remember what was sent.

Functions take the agent (anything with ``settings``, ``store``, ``embedder``) so PaperAgent's
``digest`` and ``send`` methods stay one line each, and tests can pass their own collaborators.
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from agent.dates import parse_since
from agent.digest.build import build_digest, paper_date
from agent.digest.models import Digest, SendResult
from agent.digest.naming import KeywordNamer, Progress, ThemeNamer
from agent.digest.relevance import InterestProfile
from agent.errors import DeliveryError, InputError
from agent.ingest import LAST_INGEST_PREFIX
from agent.models import SourceReport, Summary, Usage

if TYPE_CHECKING:
    from agent.config import Settings
    from agent.digest.render import RenderedDigest
    from store.digest_history import DigestHistory

log = logging.getLogger(__name__)
DEFAULT_SINCE = "1d"


@dataclass
class Selection:
    papers: list[dict[str, Any]]  # store records, newest first
    in_window: int
    excluded_sent: int
    start: datetime
    end: datetime


def history_for(settings: Settings) -> DigestHistory:
    from store.digest_history import DigestHistory

    return DigestHistory.in_home(settings.home)


def profile_from_settings(settings: Settings) -> InterestProfile | None:
    """The interest profile from the (proposed) ``interests``/``interest_*`` settings."""
    fields = {
        "interests": getattr(settings, "interests", None) or [],
        "keywords": getattr(settings, "interest_keywords", None) or [],
        "seed_ids": getattr(settings, "interest_seed_ids", None) or [],
        "not_interested": getattr(settings, "not_interested", None) or [],
        "min_score": getattr(settings, "digest_min_score", None),
    }
    profile = InterestProfile(**fields)
    return profile if profile.active or profile.not_interested else None


def select_papers(
    store: Any,
    history: DigestHistory | None,
    *,
    since: str | date | datetime | None = DEFAULT_SINCE,
    until: str | date | datetime | None = None,
    category: str | None = None,
    source: str | None = None,
    include_sent: bool = False,
    now: datetime | None = None,
) -> Selection:
    """Papers dated in [since, until): announced/published date, else ingested-at."""
    now = now or datetime.now(UTC)
    start = parse_since(since if since is not None else DEFAULT_SINCE, now=now)
    end = parse_since(until, now=now) if until is not None else now
    assert start is not None and end is not None
    if start >= end:
        raise InputError(
            f"The digest window is empty: {start:%Y-%m-%d %H:%M} is not before "
            f"{end:%Y-%m-%d %H:%M}.",
            hint="Give --since an earlier date than --until.",
        )
    dated = store.list_papers(
        since_ts=int(start.timestamp()),
        until_ts=int(end.timestamp()),
        source=source,
        category=category,
    )
    # Papers without a published date fall back to their ingest time. The store filters on
    # published_ts only, so those are found by a scan (see the report: an ingested_ts field
    # in the store would make this a query).
    seen = {p["id"] for p in dated}
    undated = [
        p
        for p in store.list_papers(source=source, category=category)
        if p["id"] not in seen and not p.get("published") and _in(paper_date(p), start, end)
    ]
    papers = dated + undated
    in_window = len(papers)
    excluded = 0
    if history is not None and not include_sent and papers:
        sent = history.sent_ids([p["id"] for p in papers])
        excluded = len(sent)
        papers = [p for p in papers if p["id"] not in sent]
    return Selection(papers, in_window, excluded, start, end)


def _in(when: datetime | None, start: datetime, end: datetime) -> bool:
    return when is not None and start <= when < end


def summaries_for(agent: Any, papers: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """paper id -> Summary (or None): ``agent.summary(id)`` when the agent has it, else the
    newest cached summary of the paper's current text."""
    getter = getattr(agent, "summary", None)
    if callable(getter):
        return {p["id"]: getter(p["id"]) for p in papers}
    from store.summary_cache import SummaryCache

    cache = SummaryCache(agent.settings.state_path)
    try:
        out: dict[str, Any] = {}
        for p in papers:
            raw = cache.latest(p["id"], content_hash=p.get("content_hash"))
            out[p["id"]] = Summary.model_validate_json(raw) if raw else None
        return out
    finally:
        cache.close()


def default_namer(agent: Any, history: DigestHistory | None) -> ThemeNamer:
    settings = agent.settings
    if not settings.llm_enabled:
        return KeywordNamer()
    from agent.digest.naming import LLMThemeNamer
    from agent.llm.chat import make_llm

    llm = getattr(agent, "llm", None)
    llm = llm if llm is not None and not callable(llm) else make_llm(settings)
    if llm is None:
        return KeywordNamer()
    return LLMThemeNamer(llm, cache=history, max_concurrency=settings.llm_max_concurrency)


def last_ingest_reports(agent: Any, since: datetime) -> list[SourceReport]:
    """How each configured source fared in its last ingest, if that ran inside the window
    (PaperAgent.ingest leaves ``last_ingest:<source>`` in the state meta)."""
    state = getattr(agent.store, "state", None)
    if state is None:
        return []
    reports = []
    for name in agent.settings.sources:
        raw = state.get_meta(f"{LAST_INGEST_PREFIX}{name}")
        if not raw:
            continue
        try:
            entry = json.loads(raw)
            at = datetime.fromisoformat(entry.pop("at"))
            report = SourceReport(source=name, **entry)
        except (ValueError, KeyError, TypeError):
            continue
        if at >= since:
            reports.append(report)
    return reports


def make_digest(
    agent: Any,
    *,
    since: str | date | datetime | None = DEFAULT_SINCE,
    until: str | date | datetime | None = None,
    category: str | None = None,
    source: str | None = None,
    include_sent: bool = False,
    max_papers: int | None = None,
    profile: InterestProfile | None = None,
    namer: ThemeNamer | None = None,
    use_llm: bool = True,
    summaries: Mapping[str, Any] | None = None,
    source_reports: Sequence[SourceReport] | None = None,
    extra_usage: Usage | None = None,
    now: datetime | None = None,
    save: bool = True,
    progress: Progress | None = None,
) -> Digest:
    """Select, build and (unless ``save=False``) save a digest to the history folder.

    ``use_llm=False`` names themes from keywords even when an LLM is configured."""
    settings = agent.settings
    history = history_for(settings)
    try:
        now = now or datetime.now(UTC)
        sel = select_papers(
            agent.store,
            history,
            since=since,
            until=until,
            category=category,
            source=source,
            include_sent=include_sent,
            now=now,
        )
        ids = [p["id"] for p in sel.papers]
        vectors = agent.store.paper_vectors(ids) if ids else np.zeros((0, 1), np.float32)
        profile = profile if profile is not None else profile_from_settings(settings)
        seeds = None
        if profile is not None and profile.seed_ids:
            known = [p["id"] for p in agent.store.get_many(profile.seed_ids)]
            seeds = agent.store.paper_vectors(known) if known else None
        if progress:
            progress("reading summaries", 0, len(ids))
        summaries = summaries if summaries is not None else summaries_for(agent, sel.papers)
        reports = (
            source_reports if source_reports is not None else last_ingest_reports(agent, sel.start)
        )
        digest = build_digest(
            sel.papers,
            vectors,
            summaries,
            profile=profile,
            embedder=agent.embedder if profile else None,
            namer=namer or (default_namer(agent, history) if use_llm else KeywordNamer()),
            now=now,
            seed_vectors=seeds,
            max_papers=max_papers or getattr(settings, "digest_max_papers", None),
            window_start=sel.start,
            window_end=sel.end,
            in_window=sel.in_window,
            excluded_sent=sel.excluded_sent,
            source_reports=reports,
            extra_usage=extra_usage,
            digest_id=_unique_id(history, now),
            category=category,
            source=source,
            progress=progress,
        )
        if save:
            save_digest(history, digest)
        return digest
    finally:
        history.close()


def _unique_id(history: DigestHistory, now: datetime) -> str:
    base = now.astimezone(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    candidate, n = base, 1
    while history.exists(candidate):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def save_digest(
    history: DigestHistory, digest: Digest, rendered: RenderedDigest | None = None
) -> Path:
    from agent.digest.render import render_all

    rendered = rendered or render_all(digest)
    return history.save(
        digest.id,
        {
            "digest.html": rendered.html,
            "digest.md": rendered.md,
            "digest.txt": rendered.txt,
            "digest.json": digest.model_dump_json(indent=2),
        },
        created_at=digest.created_at.isoformat(),
        subject=digest.subject,
        papers=len(digest.papers),
        themes=len(digest.themes),
        window_start=digest.window_start.isoformat() if digest.window_start else None,
        window_end=digest.window_end.isoformat() if digest.window_end else None,
    )


def deliver(
    agent: Any,
    digest: Digest,
    to: Sequence[str] | None = None,
    *,
    ssl_context: ssl.SSLContext | None = None,
) -> SendResult:
    """E-mail the digest, then remember its papers as sent. The digest is saved first, so a
    failed send still leaves it in the history folder (named in the error's hint)."""
    from agent.digest.mail import send_digest
    from agent.digest.render import render_all

    settings = agent.settings
    recipients = list(to or settings.email_to)
    history = history_for(settings)
    try:
        rendered = render_all(digest)
        folder = save_digest(history, digest, rendered)
        try:
            result = send_digest(
                digest, recipients, settings, rendered=rendered, ssl_context=ssl_context
            )
        except DeliveryError as exc:
            history.mark_failed(digest.id, str(exc))
            exc.hint = f"{exc.hint} The digest is saved in {folder}.".strip()
            raise
        history.mark_sent(digest.id, [p.id for p in digest.papers], result.accepted)
        return result
    finally:
        history.close()
