"""The one interface every source implements, and what a fetch returns."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Protocol

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


class Source(Protocol):
    name: str

    def fetch(self, request: FetchRequest, *, watermark: str | None = None) -> FetchResult:
        """Fetch papers. Raise a SourceError/InputError when the whole fetch failed."""
        ...
