"""What ``ask`` returns: an answer, the papers it cites, and how it was made.

Kept apart from ``agent.models`` so the question-answering code can grow without touching the
shared records; ``agent.models`` / ``agent`` re-export these names.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from agent.models import Paper, Usage

Engine = Literal["llm", "extractive"]
#: Why an answer was refused: too little evidence, no papers, the answerability check, the model.
RefusalReason = Literal["weak_evidence", "no_papers", "not_answerable", "model"]


class Citation(BaseModel):
    """Paper number ``n`` of the answer's context, as the answer text cites it (``[n]``)."""

    n: int = Field(ge=1)
    paper: Paper
    similarity: float | None = Field(
        None, description="cosine of the paper's best chunk to the question, when retrieved"
    )
    coverage: float | None = Field(
        None, description="share of the question's BM25 term weight in the paper, when retrieved"
    )

    @property
    def id(self) -> str:
        return self.paper.id

    @property
    def title(self) -> str:
        return self.paper.title

    @property
    def url(self) -> str | None:
        return self.paper.url

    @property
    def published(self) -> datetime | None:
        return self.paper.published

    def brief(self) -> dict[str, Any]:
        """The plain-data form ``--json`` prints."""
        return {
            "n": self.n,
            "id": self.id,
            "title": self.title,
            "url": self.url,
            "published": self.published.isoformat() if self.published else None,
        }


class ToolCall(BaseModel):
    """One tool call the model made while answering (shown with ``--verbose``)."""

    round: int = Field(description="1-based round of the tool-calling loop")
    name: str
    args: dict[str, Any] = Field(default_factory=dict)
    result_ids: list[str] = Field(default_factory=list, description="papers the call returned")
    error: str | None = None
    seconds: float = 0.0

    def describe(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.args.items() if v not in (None, ""))
        outcome = f"error: {self.error}" if self.error else f"{len(self.result_ids)} paper(s)"
        ids = f" {', '.join(self.result_ids)}" if self.result_ids and not self.error else ""
        return f"round {self.round}: {self.name}({args}) -> {outcome}{ids}"


class Answer(BaseModel):
    """An answer tied to papers: every ``[n]`` in ``answer`` is one of ``citations``."""

    question: str
    answer: str = Field(description="Markdown text citing papers as [1], [2], ...")
    refused: bool = Field(
        False, description="the store does not hold the answer; the text says so in one sentence"
    )
    citations: list[Citation] = Field(
        default_factory=list,
        description="papers the answer cites, by n; for a refusal, the closest papers it names",
    )
    retrieved: list[Citation] = Field(
        default_factory=list, description="every paper that was in the context, by n"
    )
    removed_citations: int = Field(
        0, description="citation numbers that pointed to no paper in the context, removed"
    )
    flagged: str | None = Field(None, description="why the answer is suspect, e.g. cites nothing")
    engine: Engine = "llm"
    model: str | None = Field(None, description='chat model name, or "extractive"')
    usage: Usage = Field(default_factory=Usage)
    tool_calls: list[ToolCall] = Field(default_factory=list)
    standalone_question: str | None = Field(
        None, description="the query actually searched (a chat follow-up rewritten)"
    )
    evidence: float | None = Field(
        None, description="best-chunk cosine similarity of the best retrieved paper"
    )
    term_coverage: float | None = Field(
        None, description="largest share of the question's term weight found in one paper"
    )
    answerable_log_odds: float | None = Field(
        None, description="the model's log-odds that the top paper reports what was asked"
    )
    refusal_reason: RefusalReason | None = None
    notice: str | None = Field(None, description="a label shown with the answer (extractive)")

    @property
    def papers(self) -> list[Paper]:
        return [c.paper for c in self.citations]

    def to_json(self) -> dict[str, Any]:
        """``{question, answer, refused, citations: [{n, id, title, url}], model, usage}``."""
        return {
            "question": self.question,
            "answer": self.answer,
            "refused": self.refused,
            "citations": [
                {k: v for k, v in c.brief().items() if k != "published"} for c in self.citations
            ],
            "model": self.model,
            "usage": self.usage.model_dump(mode="json"),
            "engine": self.engine,
            "flagged": self.flagged,
            "removed_citations": self.removed_citations,
        }


__all__ = ["Answer", "Citation", "Engine", "ToolCall"]
