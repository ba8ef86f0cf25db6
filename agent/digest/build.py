"""Building a themed digest from papers already chosen: score, cap, group, name, assemble.

``build_digest`` is pure (no store, no network unless the namer has one): give it a Selection
of paper dicts, their vectors and their summaries, and it returns a ``Digest``. Choosing the
papers from the store and remembering what was sent live in ``agent.digest.flow``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np

from agent.digest.choose import Choice
from agent.digest.keywords import distinctive_terms
from agent.digest.models import (
    OTHER_THEME,
    Digest,
    DigestOptions,
    DigestPaper,
    DigestStats,
    RestPaper,
    Theme,
)
from agent.digest.naming import KeywordNamer, Progress, ThemeInput, ThemeNamer
from agent.digest.ranking import RankedPaper
from agent.digest.relevance import upvotes_of
from agent.digest.themes import cluster
from agent.models import Paper, SourceReport, SourceStatus, Summary, Usage
from agent.summaries.plain_text import latex_to_text

#: Clusters of the shown papers smaller than this fold into one "Other" group.
MIN_THEME_SIZE = 3
#: A paper not shown joins the nearest shown theme only when at least this close to its centre;
#: otherwise it is counted under its primary arXiv category.
THEME_JOIN_COSINE = 0.35
#: Below this many papers a "Top picks" section would only repeat the one theme.
MIN_PAPERS_FOR_TOP_PICKS = 6
AUTHORS_SHOWN = 3
_ARXIV_ID = re.compile(r"^(\d{4}\.\d{4,5}|[a-z\-]+(\.[A-Z]{2})?/\d{7})$")
_SENTENCE = re.compile(r"(.+?[.!?])(\s|$)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


class _Summary(Protocol):  # what the digest reads from a Summary
    tldr: str
    why_it_matters: str
    flagged: str | None
    model: str
    usage: Usage


def one_line(text: str | None, limit: int | None = None) -> str:
    """Untrusted text on one line: control characters and newlines become spaces."""
    text = " ".join(_CONTROL.sub(" ", text or "").split())
    if limit and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def http_url(url: str | None) -> str | None:
    """``url`` only if it is http(s): a ``javascript:`` URL must never become a link."""
    url = (url or "").strip()
    if url.lower().startswith(("https://", "http://")) and not _CONTROL.search(url):
        return url
    return None


def display_title(title: str | None, paper_id: str) -> str:
    """A title as the digest shows it: LaTeX as text, one line, at most 300 characters."""
    return one_line(latex_to_text(title or ""), 300) or paper_id


def safe_url(paper: Paper) -> str | None:
    """The paper's page: its own http(s) URL, else its arXiv or DOI page, else None."""
    url = http_url(paper.url)
    if url:
        return url
    if _ARXIV_ID.match(paper.id):
        return f"https://arxiv.org/abs/{paper.id}"
    if paper.id.startswith("doi:"):
        return "https://doi.org/" + paper.id[4:]
    return None


def short_authors(authors: Sequence[str]) -> str:
    names = [one_line(a, 60) for a in authors if a and a.strip()]
    if len(names) <= AUTHORS_SHOWN:
        return ", ".join(names)
    return ", ".join(names[:AUTHORS_SHOWN]) + " et al."


def first_sentence(text: str, limit: int = 280) -> str:
    text = one_line(text)
    match = _SENTENCE.match(text)
    return one_line(match.group(1) if match else text, limit)


def paper_date(record: Mapping[str, Any]) -> datetime | None:
    """Announced/published date, else when it was ingested (UTC)."""
    for key in ("published", "ingested_at"):
        value = record.get(key)
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        if isinstance(value, str) and value:
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def digest_paper(
    record: Mapping[str, Any], summary: _Summary | None, score: float, reasons: list[str]
) -> DigestPaper:
    paper = Paper.model_validate({k: v for k, v in record.items() if k != "ingested_at"})
    entry = DigestPaper(
        id=paper.id,
        title=display_title(paper.title, paper.id),
        url=safe_url(paper),
        authors=[one_line(a, 100) for a in paper.authors],
        authors_short=short_authors(paper.authors),
        date=paper_date(record),
        source=paper.source,
        categories=list(paper.categories),
        upvotes=upvotes_of(record),
        score=round(float(score), 4),
        reasons=reasons,
    )
    if summary is not None and one_line(summary.tldr):
        entry.tldr = one_line(summary.tldr, 400)
        entry.why_it_matters = one_line(summary.why_it_matters, 400) or None
        entry.flagged = (one_line(summary.flagged, 300) or None) if summary.flagged else None
        entry.summary_model = summary.model
    else:
        entry.tldr = first_sentence(paper.abstract)
        entry.summary_source = "abstract"
    return entry


def _theme_doc(record: Mapping[str, Any], summary: _Summary | None) -> str:
    tags = " ".join(getattr(summary, "tags", []) or []) if summary is not None else ""
    return f"{record.get('title', '')}. {record.get('abstract', '')} {tags}"


def build_digest(
    choice: Choice,
    summaries: Mapping[str, _Summary | Summary | None],
    options: DigestOptions | None = None,
    *,
    namer: ThemeNamer | None = None,
    progress: Progress | None = None,
) -> Digest:
    """Assemble the digest of a ranked window: the shown papers (summaries of those only)
    grouped into named themes, small clusters folded into "Other", and every other paper of
    the window accounted for in ``rest``."""
    started = time.perf_counter()
    options = options or DigestOptions()
    now = options.now or datetime.now(UTC)
    namer = namer or KeywordNamer()
    selection, papers = choice.selection, choice.selection.papers
    stats = DigestStats(
        in_window=selection.in_window,
        excluded_sent=selection.excluded_sent,
        below_threshold=choice.below_threshold,
        over_cap=choice.over_cap,
    )
    entries = [
        _entry(papers[i], summaries.get(papers[i]["id"]), choice.scores[i]) for i in choice.shown
    ]
    digest = Digest(
        id=options.digest_id or now.strftime("%Y-%m-%dT%H%M%SZ"),
        created_at=now,
        window_start=selection.start,
        window_end=selection.end,
        category=selection.category,
        source=selection.source,
        profile_used=choice.regime not in ("default", "none"),
        ranked_by=choice.regime,
        ranking_note=choice.note,
        papers=entries,
        stats=stats,
    )
    usage = options.extra_usage
    centres: dict[str, np.ndarray] = {}
    if entries:
        records = [papers[i] for i in choice.shown]
        theme_usage, centres = _add_themes(
            digest, records, choice.vectors[choice.shown], summaries, namer,
            min_themes=options.min_themes, max_themes=options.max_themes, progress=progress,
        )  # fmt: skip
        usage = usage.add(theme_usage)
        if len(entries) >= MIN_PAPERS_FOR_TOP_PICKS:
            digest.top_picks = [p.id for p in entries[: options.top_picks]]
    digest.rest = _rest(choice, centres)
    digest.notes = source_notes(options.source_reports) + digest.notes
    if selection.in_library:
        digest.notes.append(f"{selection.in_library} paper(s) already in your library left out.")
    if not entries:
        digest.empty_reason = explain_empty(digest, options.source_reports, now)
    _count(digest, usage, namer)
    stats.build_seconds = round(time.perf_counter() - started, 3)
    return digest


def _entry(record: Mapping[str, Any], summary: _Summary | None, ranked: RankedPaper) -> DigestPaper:
    entry = digest_paper(record, summary, ranked.score, ranked.reasons)
    entry.because = one_line(latex_to_text(ranked.because), 200)
    return entry


def _rest(choice: Choice, centres: Mapping[str, np.ndarray]) -> list[RestPaper]:
    """The papers not shown, each under the shown theme it is closest to, else its primary
    arXiv category."""
    if not choice.rest:
        return []
    names = list(centres)
    groups: list[str | None] = [None] * len(choice.rest)
    if names:
        sims = choice.vectors[choice.rest] @ np.stack([centres[n] for n in names]).T
        for row, j in enumerate(sims.argmax(axis=1)):
            if sims[row, j] >= THEME_JOIN_COSINE:
                groups[row] = names[j]
    out = []
    for row, i in enumerate(choice.rest):
        record = choice.selection.papers[i]
        categories = record.get("categories") or []
        out.append(
            RestPaper(
                id=str(record["id"]),
                title=display_title(record.get("title"), str(record["id"])),
                url=http_url(record.get("url")),
                score=round(float(choice.scores[i].score), 4),
                group=groups[row] or (str(categories[0]) if categories else OTHER_THEME),
            )
        )
    return out


def _count(digest: Digest, usage: Usage, namer: ThemeNamer) -> None:
    stats, entries = digest.stats, digest.papers
    stats.selected = len(entries)
    stats.themes = len(digest.themes)
    stats.also_new = len(digest.also_new)
    stats.summaries_missing = sum(p.summary_source == "abstract" for p in entries)
    stats.flagged = sum(p.flagged is not None for p in entries)
    stats.llm_calls, stats.tokens_in, stats.tokens_out = (
        usage.calls,
        usage.tokens_in,
        usage.tokens_out,
    )
    stats.cost = round(usage.cost, 6)
    models = sorted({p.summary_model for p in entries if p.summary_model})
    if namer.label != "keywords" and digest.themes:
        models = sorted({*models, namer.label})
    stats.models = models


def _add_themes(
    digest: Digest,
    records: Sequence[Mapping[str, Any]],
    vectors: np.ndarray,
    summaries: Mapping[str, _Summary | Summary | None],
    namer: ThemeNamer,
    *,
    min_themes: int,
    max_themes: int,
    progress: Progress | None,
) -> tuple[Usage, dict[str, np.ndarray]]:
    result = cluster(vectors, min_themes=min_themes, max_themes=max_themes, min_size=MIN_THEME_SIZE)
    entries = digest.papers
    docs = [_theme_doc(r, summaries.get(r["id"])) for r in records]
    keywords = distinctive_terms(
        [[docs[i] for i in group] for group in result.groups],
        background=[docs[i] for i in result.leftovers],
    )
    inputs = [
        ThemeInput(papers=[entries[i] for i in group], keywords=kw)
        for group, kw in zip(result.groups, keywords, strict=True)
    ]
    named = namer.name_themes(inputs, progress) if inputs else []
    usage = Usage()
    themes = []
    for theme_in, name in zip(inputs, named, strict=True):
        usage = usage.add(name.usage)
        if name.failed:
            digest.stats.naming_failures += 1
        scores = sorted((p.score for p in theme_in.papers), reverse=True)
        themes.append(
            Theme(
                name=name.name,
                overview=name.overview,
                paper_ids=[p.id for p in theme_in.papers],  # already in score order
                keywords=theme_in.keywords,
                score=round(float(np.mean(scores[:3])), 4),
                named_by=name.named_by,
                cached=name.cached,
            )
        )
    themes.sort(key=lambda t: (-t.score, -len(t.paper_ids), t.name))
    centres = {
        t.name: _centre(vectors, [i for i, p in enumerate(entries) if p.id in set(t.paper_ids)])
        for t in themes
    }
    other = [entries[i].id for i in result.leftovers]
    if other:
        themes.append(Theme(name=OTHER_THEME, paper_ids=other, named_by="fold"))
    digest.themes = themes
    if digest.stats.naming_failures:
        digest.notes.append(
            f"{digest.stats.naming_failures} theme(s) kept keyword names: the model failed."
        )
    return usage, centres


def _centre(vectors: np.ndarray, rows: list[int]) -> np.ndarray:
    centre = vectors[rows].mean(axis=0)
    norm = float(np.linalg.norm(centre))
    return centre / norm if norm else centre


def source_notes(reports: Sequence[SourceReport]) -> list[str]:
    return [
        f"Source {r.source} failed: {one_line(r.message, 200)}"
        for r in reports
        if r.status is SourceStatus.FAILED
    ]


def explain_empty(digest: Digest, reports: Sequence[SourceReport], now: datetime) -> str:
    """Why there is nothing to send: an empty day is news, not silence."""
    stats = digest.stats
    reasons: list[str] = []
    failed = [r for r in reports if r.status is SourceStatus.FAILED]
    if reports and len(failed) == len(reports):
        names = "; ".join(f"{r.source} ({one_line(r.message, 160)})" for r in failed)
        reasons.append(f"Every source failed: {names}.")
    elif failed:
        reasons.append("Some sources failed: " + ", ".join(r.source for r in failed) + ".")
    for r in reports:
        if r.status is SourceStatus.EMPTY:
            reasons.append(f"{r.source}: {one_line(r.message, 200) or 'nothing announced'}.")
    if stats.excluded_sent and stats.excluded_sent >= stats.in_window:
        reasons.append(f"All {stats.excluded_sent} papers in the window were in earlier digests.")
    if stats.below_threshold:
        reasons.append(f"{stats.below_threshold} papers scored below your relevance threshold.")
    if not reasons:
        start = digest.window_start or now
        if _only_weekend(start, digest.window_end or now):
            reasons.append(
                "It is the weekend: arXiv announces no new papers on Saturdays and Sundays."
            )
        elif stats.in_window == 0:
            reasons.append(
                f"No papers were announced or ingested since {start:%a %d %b %Y %H:%M} UTC."
            )
    return " ".join(reasons) or "Nothing new matched."


def _only_weekend(start: datetime, end: datetime) -> bool:
    """True when every day the window touches is a Saturday or Sunday (UTC)."""
    day, last = start.astimezone(UTC).date(), end.astimezone(UTC).date()
    if (last - day).days > 2:
        return False
    while day <= last:
        if day.weekday() < 5:
            return False
        day = day.fromordinal(day.toordinal() + 1)
    return True
