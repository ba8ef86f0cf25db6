"""Typed records that cross module boundaries: papers, search hits and run reports."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

#: progress(stage, done, total): what every long step reports; total is None when unknown.
Progress = Callable[[str, int, int | None], None]

_WS = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Collapse whitespace so re-wrapped feeds do not look like new versions."""
    return _WS.sub(" ", text or "").strip()


class Paper(BaseModel):
    """One paper as every source delivers it, normalised.

    ``id`` is the bare key: an arXiv id without version (``2401.01234``), a DOI
    (``doi:10.1234/x``) or a content hash (``sha:...``) for sources with neither.
    """

    id: str
    version: int | None = Field(None, description="arXiv version number, when known")
    title: str
    abstract: str
    authors: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    primary_category: str | None = None
    published: datetime | None = Field(None, description="first announced / submitted (UTC)")
    updated: datetime | None = Field(None, description="last revised (UTC)")
    source: str = Field(description="name of the source that delivered it, e.g. arxiv-rss")
    url: str | None = None
    pdf_url: str | None = None
    announce_type: str | None = Field(None, description="arXiv RSS: new, cross, replace, ...")
    extra: dict[str, Any] = Field(
        default_factory=dict,
        description="source-specific fields: upvotes, ai_summary, ai_keywords, github_repo, ...",
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def content_hash(self) -> str:
        """Changes exactly when the text we embed changes (the store's one definition, which
        also dates plain dicts that come without one)."""
        from store.papers.records import content_hash

        return content_hash(self.title, self.abstract)


#: A date as people give it: ``1d``, ``2w``, ``2026-11-20``, a date or a datetime.
Since = str | datetime | date | None


class PaperFilter(BaseModel):
    """Which stored papers a command looks at: a date window and an optional category/source.
    Dates are as people type them (``1d``, ``2w``, ``2026-11-20``) or datetimes. A paper is
    dated by its published date, or by when it was ingested when it has none (pasted pages):
    the same rule for search, ask, summarize and digest."""

    model_config = ConfigDict(frozen=True)

    # datetime before date (in Since): a datetime is also a date and must keep its time of day.
    since: Since = Field(None, description="window start; None = open")
    until: Since = Field(None, description="window end; None = now")
    category: str | None = Field(None, description="only this arXiv category, e.g. cs.LG")
    source: str | None = Field(None, description="only papers from this source, e.g. arxiv-rss")

    @classmethod
    def of(cls, given: PaperFilter | None, **fields: Since) -> PaperFilter:
        """``given``, or a filter from loose keyword arguments (None = unset); not both."""
        fields = {name: value for name, value in fields.items() if value is not None}
        if given is not None and fields:
            from agent.errors import InputError

            raise InputError(
                f"Give either a PaperFilter or {', '.join(fields)}, not both.",
                hint="Put every filter into the PaperFilter.",
            )
        return given or cls.model_validate(fields)


class SearchHit(BaseModel):
    """A paper returned by search, with the chunk that matched best."""

    paper: Paper
    score: float = Field(description="fused RRF score (higher is better)")
    dense_similarity: float | None = Field(
        None, description="cosine similarity of the best-matching chunk to the query"
    )
    bm25_score: float | None = None
    best_chunk: str = ""
    term_coverage: float | None = Field(
        None, description="share of the query's BM25 term weight found in the paper's chunks"
    )


class SourceStatus(StrEnum):
    OK = "ok"
    EMPTY = "empty"  # nothing announced: normal (weekends, holidays), not a failure
    FAILED = "failed"


class SourceReport(BaseModel):
    source: str
    status: SourceStatus = SourceStatus.OK
    fetched: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    message: str = ""
    hint: str = ""
    bad_input: bool = Field(
        False, description="failed on input the user gave (a file that cannot be read): exit 2"
    )


class ItemFailure(BaseModel):
    item: str
    step: str
    reason: str


def utcnow() -> datetime:
    return datetime.now(UTC)


class RunReport(BaseModel):
    """What one run did; the CLI prints it and derives the exit code from it."""

    step: str
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    sources: list[SourceReport] = Field(default_factory=list)
    failures: list[ItemFailure] = Field(default_factory=list)
    counts: dict[str, float] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)

    def total(self, field: str) -> int:
        return sum(getattr(s, field) for s in self.sources)

    @property
    def ok(self) -> bool:
        return not any(s.status is SourceStatus.FAILED for s in self.sources) and not self.failures

    @property
    def exit_code(self) -> int:
        """0 ok; 2 when a source failed on the user's input (fix it, do not retry); else 1."""
        if self.ok:
            return 0
        return 2 if any(s.bad_input for s in self.sources) else 1

    def finish(self) -> RunReport:
        self.finished_at = utcnow()
        return self


# =============================================================================================
# Summaries (issue 3): one plain-language summary per paper version, produced by an LLM, the
# no-model extractive engine, or taken from the source (HF ai_summary).
# =============================================================================================

SummaryMethod = Literal["json_schema", "function_calling", "json_mode", "extractive", "source"]
#: How a Usage's tokens were counted: reported by the API, counted with tiktoken, or not at all.
TokenCount = Literal["api", "tiktoken", "none"]


class KeyTerm(BaseModel):
    term: str = Field(description="a jargon term as the abstract writes it")
    meaning: str = Field(description="its meaning in plain words")


class Usage(BaseModel):
    """Tokens and money one summary cost (all attempts added up)."""

    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = Field(0.0, description="USD, from the llm_prices setting")
    counted: TokenCount = Field(
        "none", description="api = usage reported by the endpoint; tiktoken = counted locally"
    )

    def add(self, other: Usage) -> Usage:
        counted = self.counted if other.counted == "none" else other.counted
        if "tiktoken" in (self.counted, other.counted):
            counted = "tiktoken"
        return Usage(
            calls=self.calls + other.calls,
            tokens_in=self.tokens_in + other.tokens_in,
            tokens_out=self.tokens_out + other.tokens_out,
            cost=self.cost + other.cost,
            counted=counted,
        )


class Summary(BaseModel):
    """A summary a smart non-specialist understands in 20 seconds, tied to one paper version."""

    paper_id: str
    version: int | None = None
    content_hash: str = Field(description="Paper.content_hash of the text that was summarized")
    tldr: str = Field(description="one sentence, at most 30 words")
    summary: str = Field(description="2-4 plain sentences: problem, what they did, what they found")
    why_it_matters: str = Field(description="one sentence")
    key_terms: list[KeyTerm] = Field(default_factory=list, max_length=3)
    tags: list[str] = Field(default_factory=list, max_length=5)
    model: str = Field(description='the chat model, or "extractive" for the no-model engine')
    prompt_version: str = Field(description='prompt version, or the engine version ("ext-2")')
    method: SummaryMethod
    flagged: str | None = Field(
        None, description="why this summary failed a faithfulness check (kept, shown, flagged)"
    )
    notice: str | None = Field(
        None, description="a label shown with the summary, e.g. that no LLM was used"
    )
    created_at: datetime = Field(default_factory=utcnow)
    usage: Usage = Field(default_factory=Usage)


class SummaryDraft(BaseModel):
    """What the model is asked to return; lenient on purpose (limits are enforced afterwards)."""

    tldr: str = Field(description="one sentence, at most 25 words")
    summary: str = Field(description="2 to 4 short plain sentences: problem, method, finding")
    why_it_matters: str = Field(description="one sentence")
    key_terms: list[KeyTerm] = Field(
        default_factory=list, description="up to 3 jargon terms from the abstract, explained"
    )
    tags: list[str] = Field(default_factory=list, description="up to 5 short topic words")
