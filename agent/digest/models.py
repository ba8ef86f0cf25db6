"""Typed records of a themed digest: what was picked, how it was grouped, what the run cost.

A ``Digest`` holds everything the renderers need (no store, no LLM), so a saved digest's JSON
can be rendered again later exactly as it was sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field

from agent.models import SourceReport, Usage, utcnow

SummarySource = Literal["summary", "abstract"]
#: The theme that gathers the shown papers of clusters too small to be themes; always last.
OTHER_THEME = "Other"


@dataclass
class Selection:
    """The papers one digest covers, as the store returned them, and how they were chosen.

    Chosen once per run and handed on: the summarize step, the build and the delivery all see
    the same papers."""

    papers: list[dict[str, Any]]  # store records, newest first
    start: datetime | None = None
    end: datetime | None = None
    excluded_sent: int = 0  # in the window but left out: an earlier digest carried them
    in_library: int = 0  # in the window but already in the reader's library
    category: str | None = None
    source: str | None = None

    @property
    def in_window(self) -> int:
        return len(self.papers) + self.excluded_sent

    @property
    def ids(self) -> list[str]:
        return [p["id"] for p in self.papers]


class DigestOptions(BaseModel):
    """How to build a digest from a selection (everything but the papers and collaborators)."""

    now: datetime | None = Field(None, description="the build time; None = now")
    digest_id: str | None = Field(None, description="None = the build time, e.g. 2026-11-24T0630Z")
    max_papers: int | None = Field(None, ge=1, description="keep the N highest-scoring papers")
    top_picks: int = Field(3, ge=0, description="papers in the top-picks section")
    min_themes: int = Field(3, ge=1)
    max_themes: int = Field(8, ge=1)
    source_reports: list[SourceReport] = Field(
        default_factory=list, description="how each source fared; failures become notes"
    )
    extra_usage: Usage = Field(
        default_factory=Usage, description="cost spent before the build (e.g. summaries)"
    )


class DigestPaper(BaseModel):
    """One paper as the digest shows it. Text fields are already one-line and trimmed; they are
    still untrusted and the renderers escape them."""

    id: str
    title: str
    url: str | None = Field(None, description="http(s) page of the paper; None when unsafe/unknown")
    authors: list[str] = Field(default_factory=list)
    authors_short: str = ""
    date: datetime | None = Field(None, description="announced/published, else ingested-at (UTC)")
    source: str = ""
    categories: list[str] = Field(default_factory=list)
    upvotes: int | None = Field(None, description="Hugging Face upvotes, when known")
    tldr: str = Field("", description="the summary's tldr, or the abstract's first sentence")
    why_it_matters: str | None = None
    summary_source: SummarySource = "summary"
    summary_model: str | None = None
    flagged: str | None = Field(None, description="why the summary failed a check, if it did")
    score: float = Field(0.0, description="relevance (profile) or recency score; higher first")
    because: str = Field("", description="one short line: why this paper was picked")
    reasons: list[str] = Field(default_factory=list, description="why it scored as it did")


class RestPaper(BaseModel):
    """A paper of the window not shown in detail: counted in the mail, listed in the saved
    full digest. ``group`` is the theme it is nearest to, else its primary category."""

    id: str
    title: str
    url: str | None = None
    score: float = 0.0
    group: str = ""


class Theme(BaseModel):
    name: str
    overview: str = Field("", description="2-3 sentences on what connects the papers")
    paper_ids: list[str] = Field(default_factory=list, description="most relevant first")
    keywords: list[str] = Field(default_factory=list, description="distinctive terms (c-TF-IDF)")
    score: float = Field(0.0, description="relevance of the theme; themes are sorted by it")
    named_by: str = Field("keywords", description='"keywords" or "llm:<model>"')
    cached: bool = Field(False, description="the name came from the theme-name cache")


class DigestStats(BaseModel):
    in_window: int = Field(0, description="papers dated inside the window (after filters)")
    excluded_sent: int = Field(0, description="left out because an earlier digest sent them")
    below_threshold: int = Field(0, description="left out by the relevance threshold")
    over_cap: int = Field(0, description="left out by max_papers")
    selected: int = 0
    themes: int = 0
    also_new: int = 0
    summaries_missing: int = Field(0, description="papers shown with their abstract's first line")
    flagged: int = Field(0, description="papers whose summary failed a check")
    llm_calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = Field(0.0, description="USD spent by this run (theme names + new summaries)")
    models: list[str] = Field(default_factory=list, description="models behind summaries/themes")
    naming_failures: int = Field(0, description="themes that fell back to keyword names")
    build_seconds: float = 0.0


class Digest(BaseModel):
    """A themed digest. ``papers`` is ordered by score; themes and lists refer to paper ids."""

    id: str = Field(description="e.g. 2026-11-24T0630Z; names the history folder")
    created_at: datetime = Field(default_factory=utcnow)
    window_start: datetime | None = None
    window_end: datetime | None = None
    category: str | None = None
    source: str | None = None
    profile_used: bool = False
    papers: list[DigestPaper] = Field(default_factory=list)
    top_picks: list[str] = Field(default_factory=list)
    themes: list[Theme] = Field(default_factory=list)
    rest: list[RestPaper] = Field(
        default_factory=list, description="the window's other papers, best first"
    )
    profile: str = Field("default", description="the reader profile it was ranked for")
    ranked_by: str = Field(
        "", description="library, nearest, interests, keywords or default (no profile)"
    )
    ranking_note: str = Field("", description="one sentence for the reader: how it was ranked")
    full_list: str | None = Field(
        None, description="path or link of the saved digest that lists every paper"
    )
    stats: DigestStats = Field(default_factory=DigestStats)
    empty_reason: str | None = Field(None, description="why there is nothing new, when empty")
    notes: list[str] = Field(default_factory=list, description="e.g. sources that failed")

    @property
    def empty(self) -> bool:
        return not self.papers

    def paper(self, paper_id: str) -> DigestPaper:
        return self._index()[paper_id]

    def papers_of(self, ids: list[str]) -> list[DigestPaper]:
        index = self._index()
        return [index[i] for i in ids if i in index]

    def _index(self) -> dict[str, DigestPaper]:
        return {p.id: p for p in self.papers}

    @property
    def subject(self) -> str:
        """Mail subject: the profile (unless the default), date and counts only, never a
        paper's title (titles are untrusted). A reader of two profiles tells them apart."""
        day = self.created_at.strftime("%a %d %b %Y")
        if self.profile != "default":  # the field's default, agent.config.DEFAULT_PROFILE
            day = f"{self.profile} · {day}"
        if self.empty:
            return f"paperbrief {day}: nothing new"
        n, t = len(self.papers), len(self.themes)
        total = n + len(self.rest)
        papers = f"{n} new paper{'s' if n != 1 else ''}"
        if self.rest:
            papers = f"{n} of {total:,} new papers"
        themes = f"{t} theme{'s' if t != 1 else ''}"
        return f"paperbrief {day}: {papers} in {themes}"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def also_new(self) -> list[str]:
        """Ids of the window's other papers, best first (derived from ``rest``)."""
        return [p.id for p in self.rest]

    def rest_groups(self) -> list[tuple[str, int]]:
        """(theme or category, count) of the papers not shown in detail, largest first."""
        counts: dict[str, int] = {}
        for paper in self.rest:
            counts[paper.group or "Other"] = counts.get(paper.group or "Other", 0) + 1
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    def ranked(self) -> list[dict[str, Any]]:
        """The papers shown in detail, best first: what ``digest --json`` prints as ``ranked``."""
        order = sorted(self.papers, key=lambda p: -p.score)
        return [
            {"id": p.id, "title": p.title, "score": p.score, "because": p.because} for p in order
        ]

    def as_json(self) -> dict[str, Any]:
        """The shape ``paperbrief digest --json`` prints: counts and ids first, details after."""
        return {
            "id": self.id,
            "created_at": self.created_at.isoformat(),
            "window": {
                "start": self.window_start.isoformat() if self.window_start else None,
                "end": self.window_end.isoformat() if self.window_end else None,
            },
            "subject": self.subject,
            "papers": len(self.papers),
            "themes": [
                {
                    "name": t.name,
                    "overview": t.overview,
                    "papers": list(t.paper_ids),
                    "keywords": list(t.keywords),
                    "named_by": t.named_by,
                }
                for t in self.themes
            ],
            "also_new": list(self.also_new),
            "also_new_count": len(self.rest),
            "also_new_by_group": [{"name": n, "count": c} for n, c in self.rest_groups()],
            "full_list": self.full_list,
            "ranked": self.ranked(),
            "profile": self.profile,
            "ranked_by": self.ranked_by,
            "ranking_note": self.ranking_note,
            "top_picks": list(self.top_picks),
            "empty_reason": self.empty_reason,
            "notes": list(self.notes),
            "stats": self.stats.model_dump(),
            "items": [p.model_dump(mode="json") for p in self.papers],
        }


class SendResult(BaseModel):
    """What the SMTP server accepted."""

    message_id: str
    subject: str
    accepted: list[str] = Field(default_factory=list)
    refused: dict[str, str] = Field(default_factory=dict, description="address -> server reply")
    server: str = Field("", description="host:port (security)")

    def refusals(self, digest_id: str) -> list[str]:
        """One line per refused recipient, as `digest --send` and `run` print it: the address,
        the server's reply, and that the next run sends it again (agent.digest.refused)."""
        return [
            f"The SMTP server {self.server} refused {address}: {reply}. The next `paperbrief "
            f"run` sends digest {digest_id} to {address} again."
            for address, reply in self.refused.items()
        ]
