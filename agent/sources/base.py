"""The one interface every source implements, and what a fetch returns."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, Field

from agent.models import ItemFailure, Paper


class FetchRequest(BaseModel):
    """Options of one fetch; each source reads the ones that apply to it."""

    categories: list[str] | None = Field(None, description="arXiv categories (default: settings)")
    query: str | None = Field(None, description="arxiv: search_query")
    since: date | None = Field(None, description="arxiv/hf: first day of the window")
    until: date | None = Field(None, description="arxiv/hf: last day of the window (inclusive)")
    day: date | None = Field(None, description="hf: one day's papers")
    max_results: int | None = None
    path: Path | None = Field(None, description="file: the file to read")
    format: str | None = Field(None, description="file: jsonl, csv, atom, hf, text (auto if None)")
    announce_types: list[str] | None = Field(None, description="arxiv-rss: which to keep")


class FetchResult(BaseModel):
    papers: list[Paper] = Field(default_factory=list)
    empty_reason: str | None = Field(
        None, description="set when nothing was announced: a normal day off, not a failure"
    )
    watermark: str | None = Field(
        None, description="opaque marker to store once the papers are safely ingested"
    )
    skipped: list[ItemFailure] = Field(
        default_factory=list, description="records that could not be read (the rest still are)"
    )


#: ``Paper.extra`` key under which a source lists what reading a record changed or dropped (an
#: invisible character taken out of an id, a date it could not read); ingest moves each into
#: the run report's notes and does not store the key.
INPUT_NOTES = "input_notes"


def with_note(paper: Paper, note: str) -> Paper:
    """``paper`` with ``note`` added to its input notes (see INPUT_NOTES)."""
    notes = [*paper.extra.get(INPUT_NOTES, []), note]
    return paper.model_copy(update={"extra": {**paper.extra, INPUT_NOTES: notes}})


def take_notes(paper: Paper) -> tuple[Paper, list[str]]:
    """``paper`` without its input notes, and the notes."""
    if INPUT_NOTES not in paper.extra:
        return paper, []
    extra = dict(paper.extra)
    notes = [str(n) for n in extra.pop(INPUT_NOTES) or []]
    return paper.model_copy(update={"extra": extra}), notes


class Source(Protocol):
    name: str

    def fetch(self, request: FetchRequest, *, watermark: str | None = None) -> FetchResult:
        """Fetch papers. Raise a SourceError/InputError when the whole fetch failed."""
        ...


@runtime_checkable
class BatchSource(Source, Protocol):
    """A source that can hand out a large input ``size`` papers at a time (files)."""

    def fetch_batches(self, request: FetchRequest, size: int) -> Iterator[FetchResult]: ...
