"""The digest as PaperAgent runs it: choose papers from the store, gather their summaries and
vectors, build, save to history, send, and remember what was sent.

Each step takes its collaborators explicitly (settings, store, history, summarizer, embedder,
llm); PaperAgent owns them and wires the calls. A daily run selects once and hands the same
Selection to the summarize, build and delivery steps.
"""

from __future__ import annotations

import json
import logging
import math
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from agent.config import DEFAULT_PROFILE
from agent.dates import parse_since
from agent.digest.build import build_digest, paper_date
from agent.digest.choose import Choice, Relevance, choose
from agent.digest.models import Digest, DigestOptions, Selection, SendResult
from agent.digest.naming import KeywordNamer, Progress, ThemeNamer
from agent.digest.relevance import InterestProfile
from agent.errors import DeliveryError, InputError
from agent.models import Paper, PaperFilter, SourceReport, SourceStatus, Summary
from agent.profiles.signal import reader_signal
from store.layout import safe_name
from store.state import meta_keys

if TYPE_CHECKING:
    from agent.config import DigestSettings, Settings
    from agent.digest.render import RenderedDigest
    from agent.llm.chat import ChatLLM
    from agent.summaries.summarizer import Summarizer
    from store import PaperStore
    from store.embedding.embedders import Embedder
    from store.seams import DigestHistory, ReaderSignals, StoredItem
    from store.state.db import StateDB

log = logging.getLogger(__name__)
FULL_LIST = "full.html"
#: A digest's window starts this far back when the filter gives no ``since``.
DEFAULT_SINCE = "1d"


@dataclass
class DigestRequest:
    """One digest's choices beyond which papers: PaperAgent.digest's keyword arguments.
    None means "from the settings / the store" for each."""

    now: datetime
    max_papers: int | None = None
    use_llm: bool = True  # False: name themes from keywords even when an LLM is configured
    profile: InterestProfile | None = None  # overrides the named profile's interests
    namer: ThemeNamer | None = None
    summaries: Mapping[str, Summary | None] | None = None
    source_reports: Sequence[SourceReport] | None = None
    save: bool = True
    profile_name: str = DEFAULT_PROFILE


def select_papers(
    store: PaperStore,
    history: DigestHistory | None,
    paper_filter: PaperFilter,
    *,
    include_sent: bool = False,
    now: datetime | None = None,
    profile: str = DEFAULT_PROFILE,
) -> Selection:
    """Papers dated in [since, until): announced/published date, else ingested-at. Papers an
    earlier digest carried are left out (and counted) unless ``include_sent``."""
    now = now or datetime.now(UTC)
    since, until = paper_filter.since, paper_filter.until
    start = parse_since(since if since is not None else DEFAULT_SINCE, now=now)
    end = parse_since(until, now=now) if until is not None else now
    assert start is not None and end is not None
    if start >= end:
        raise InputError(
            f"The digest window is empty: {start:%Y-%m-%d %H:%M} is not before "
            f"{end:%Y-%m-%d %H:%M}.",
            hint="Give --since an earlier date than --until.",
        )
    category, source = paper_filter.category, paper_filter.source
    # One query: papers without a published date carry their ingest time as published_ts
    # (PaperStore.date_undated_papers dates those of older stores once).
    papers = store.list_papers(
        since_ts=_epoch(start), until_ts=_epoch(end), source=source, category=category
    )
    excluded = 0
    if history is not None and not include_sent and papers:
        sent = history.sent_ids([p["id"] for p in papers], profile)
        excluded = len(sent)
        papers = [p for p in papers if p["id"] not in sent]
    return Selection(papers, start, end, excluded, category=category, source=source)


def _epoch(when: datetime) -> int:
    """Whole seconds, rounded up: list_papers' window is [since_ts, until_ts) in seconds."""
    return math.ceil(when.timestamp())


def interest_profile(wanted: DigestSettings) -> InterestProfile:
    """The typed interests of a ``[digest]`` group or ``[profiles.NAME]`` table."""
    return InterestProfile(
        interests=wanted.interests,
        keywords=wanted.keywords,
        seed_ids=wanted.seed_ids,
        not_interested=wanted.not_interested,
        min_score=wanted.min_score,
    )


def plan_digest(
    selection: Selection,
    request: DigestRequest,
    *,
    settings: Settings,
    store: PaperStore,
    signals: ReaderSignals,
    embedder: Embedder,
) -> Choice:
    """Rank the selection for the request's profile and choose the papers shown in detail."""
    wanted = settings.profile(request.profile_name)
    interests = request.profile if request.profile is not None else interest_profile(wanted)
    if not interests.categories:  # "new in your categories: cs.LG" when nothing else is known
        interests = interests.model_copy(
            update={"categories": list(wanted.categories or settings.arxiv.categories)}
        )
    selection = _keep_categories(selection, wanted.categories)
    items = signals.items(request.profile_name)
    selection = _without_library(selection, items)
    ids = selection.ids
    vectors = store.paper_vectors(ids) if ids else np.zeros((0, 1), np.float32)
    signal = reader_signal(
        request.profile_name, items, signals=signals, store=store, embedder=embedder,
        seed_ids=interests.seed_ids,
    )  # fmt: skip
    return choose(
        selection,
        vectors,
        [paper_date(p) for p in selection.papers],
        request.now,
        relevance=Relevance(interests, embedder, signal),
        max_papers=request.max_papers or wanted.max_papers,
    )


def _keep_categories(selection: Selection, categories: Sequence[str]) -> Selection:
    if not categories:
        return selection
    keep = set(categories)
    papers = [p for p in selection.papers if keep & set(p.get("categories") or [])]
    return replace(selection, papers=papers)


def _without_library(selection: Selection, items: Sequence[StoredItem]) -> Selection:
    """Papers the reader already has in their library are not news to them."""
    from agent.profiles.library import title_key

    if not items:
        return selection
    keys = {s.key for s in items}
    papers = [
        p
        for p in selection.papers
        if f"arxiv:{p['id']}" not in keys and title_key(str(p.get("title") or "")) not in keys
    ]
    return replace(selection, papers=papers, in_library=len(selection.papers) - len(papers))


def summaries_of(
    summarizer: Summarizer, papers: Sequence[Mapping[str, Any]]
) -> dict[str, Summary | None]:
    """paper id -> its stored summary (the configured model's, else the newest), or None."""
    return {p["id"]: summarizer.get(Paper.model_validate(p)) for p in papers}


def default_namer(
    settings: Settings, llm: ChatLLM | None, history: DigestHistory | None
) -> ThemeNamer:
    """The LLM names themes when one is configured (names cached in the history)."""
    if llm is None or not settings.llm_enabled:
        return KeywordNamer()
    from agent.digest.naming import LLMThemeNamer

    return LLMThemeNamer(llm, cache=history, max_concurrency=settings.llm.max_concurrency)


def last_ingest_reports(
    state: StateDB, sources: Sequence[str], since: datetime | None
) -> list[SourceReport]:
    """How each configured source fared in its last ingest, if that ran inside the window
    (PaperAgent.ingest leaves ``last_ingest:<source>`` in the state meta)."""
    reports = []
    for name in sources:
        raw = state.get_meta(meta_keys.last_ingest(name))
        if not raw:
            continue
        try:
            entry = json.loads(raw)
            at = datetime.fromisoformat(entry.pop("at"))
            report = SourceReport(source=name, **entry)
        except (ValueError, KeyError, TypeError):
            continue
        if since is None or at >= since:
            reports.append(report)
    return reports


def make_digest(
    choice: Choice,
    request: DigestRequest,
    *,
    settings: Settings,
    store: PaperStore,
    history: DigestHistory,
    summarizer: Summarizer,
    llm: ChatLLM | None,
    progress: Progress | None = None,
) -> Digest:
    """Build the digest of a chosen window (summaries and theme names for the shown papers
    only) and, unless ``request.save`` is false, save it with its full list."""
    shown = choice.shown_papers
    if progress:
        progress("reading summaries", 0, len(shown))
    summaries = request.summaries
    if summaries is None:
        summaries = summaries_of(summarizer, shown)
    reports = request.source_reports
    if reports is None:
        reports = last_ingest_reports(store.state, settings.sources, choice.selection.start)
    namer = request.namer or (
        default_namer(settings, llm, history) if request.use_llm else KeywordNamer()
    )
    suffix = "" if request.profile_name == DEFAULT_PROFILE else f"-{request.profile_name}"
    options = DigestOptions(
        now=request.now,
        digest_id=_unique_id(history, request.now, suffix),
        source_reports=list(reports),
    )
    digest = build_digest(choice, summaries, options, namer=namer, progress=progress)
    digest.profile = request.profile_name
    failed = any(r.status is SourceStatus.FAILED for r in reports)
    if digest.empty and not failed and (stats := store.stats()).papers == 0:
        # Not "try another window" or "it is the weekend": there is nothing to choose from.
        digest.empty_reason = (
            f"The store at {stats.chroma_url or stats.path} is empty: nothing has been ingested "
            "yet. Fill it with `paperbrief ingest` (the configured sources) or `paperbrief "
            "ingest --file papers.jsonl`; `paperbrief run` ingests before building the digest."
        )
    if request.save:
        digest.full_list = str(history.digests_dir / safe_name(digest.id) / FULL_LIST)
        save_digest(history, digest)
    return digest


def _unique_id(history: DigestHistory, now: datetime, suffix: str = "") -> str:
    base = now.astimezone(UTC).strftime("%Y-%m-%dT%H%M%SZ") + suffix
    candidate, n = base, 1
    while history.exists(candidate):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def save_digest(
    history: DigestHistory,
    digest: Digest,
    rendered: RenderedDigest | None = None,
) -> Path:
    """Write the digest's files and history row. The feed is not touched: it carries delivered
    digests only, and ``mark_delivered`` rebuilds it."""
    from agent.digest.render import render_all

    rendered = rendered or render_all(digest)
    folder = history.save(
        digest.id,
        {
            "digest.html": rendered.html,
            "digest.md": rendered.md,
            "digest.txt": rendered.txt,
            "digest.json": digest.model_dump_json(indent=2),
            FULL_LIST: rendered.full_html,
            "full.md": rendered.full_md,
        },
        created_at=digest.created_at.isoformat(),
        subject=digest.subject,
        papers=len(digest.papers),
        themes=len(digest.themes),
        window_start=digest.window_start.isoformat() if digest.window_start else None,
        window_end=digest.window_end.isoformat() if digest.window_end else None,
        profile=digest.profile,
    )
    return folder


def mark_delivered(
    history: DigestHistory, digest: Digest, recipients: Sequence[str] = (), *,
    settings: Settings,
) -> None:  # fmt: skip
    """The digest reached its reader (mail, chat, or a file ``run`` wrote): its papers never
    come back, and its profile's feed gains its entry (a feed that cannot be written is
    logged, the delivery stands)."""
    from agent.digest.feed import update_feed

    history.mark_sent(digest.id, digest_ids(digest), recipients)
    update_feed(settings, history, digest.profile)


def digest_ids(digest: Digest) -> list[str]:
    """Every paper a delivered digest accounts for: shown in detail, or counted and listed in
    its full list. None of them comes back in the reader's next digest."""
    return [p.id for p in digest.papers] + [p.id for p in digest.rest]


def deliver(
    settings: Settings,
    history: DigestHistory,
    digest: Digest,
    to: Sequence[str] | None = None,
    *,
    ssl_context: ssl.SSLContext | None = None,
    state: StateDB | None = None,
) -> SendResult:
    """E-mail the digest, then remember its papers as sent. The digest is saved first, so a
    failed send still leaves it in the history folder (named in the error's hint). With
    ``state``, each recipient the server refused is remembered for the next run to send the
    digest to again (agent.digest.refused)."""
    from agent.digest.mail import send_digest
    from agent.digest.refused import remember
    from agent.digest.render import render_all

    recipients = list(to or settings.smtp.to)
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
    mark_delivered(history, digest, result.accepted, settings=settings)
    if state is not None:
        remember(state, digest, result, digest.created_at)  # the digest's (injected) clock
    return result
