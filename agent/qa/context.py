"""The papers an answer may use: retrieved, numbered, fenced as data; and the refusal gate.

A ``Context`` numbers papers in the order they arrive (first search, then any tool calls), so a
citation ``[n]`` always means the same paper for the whole answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from agent.models import Paper, PaperFilter, SearchHit, Since
from agent.qa.models import Citation
from agent.summaries.extractive import clean_text
from prompts import FENCE_END, FENCE_START, fence

#: What the model replies when the papers do not answer the question. Shared by the prompts
#: (as the ``$refusal_marker`` variable) and the code that detects it.
REFUSAL_MARKER = "NOT_IN_PAPERS"
_MARKER_RE = re.compile(r"NOT[ _-]?IN[ _-]?PAPERS", re.IGNORECASE)
#: Characters of abstract per paper in the prompt; abstracts rarely exceed it.
MAX_ABSTRACT_CHARS = 2400


class SearchFn(Protocol):
    def __call__(
        self,
        query: str,
        *,
        k: int,
        since: Since = None,
        category: str | None = None,
        source: str | None = None,
    ) -> list[SearchHit]: ...


GetPaperFn = Callable[[str], Paper | None]


class Filters(PaperFilter):
    """The asker's filters (``until`` unused: a question looks at everything since)."""

    def describe(self) -> str:
        parts = []
        if self.since is not None:
            since = self.since
            shown = since.date().isoformat() if isinstance(since, datetime) else str(since)
            parts.append(f"published since {shown}")
        if self.category:
            parts.append(f"in {self.category}")
        if self.source:
            parts.append(f"from {self.source}")
        return " ".join(parts)


@dataclass
class Context:
    """Numbered papers, each with the chunk that matched and its similarity to the question."""

    entries: list[Citation] = field(default_factory=list)
    chunks: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def numbers(self) -> range:
        return range(1, len(self.entries) + 1)

    def number_of(self, paper_id: str) -> int | None:
        for entry in self.entries:
            if entry.paper.id == paper_id:
                return entry.n
        return None

    def add(
        self,
        paper: Paper,
        *,
        similarity: float | None = None,
        chunk: str = "",
        coverage: float | None = None,
    ) -> int:
        """The paper's number, adding it if new."""
        known = self.number_of(paper.id)
        if known is not None:
            return known
        n = len(self.entries) + 1
        self.entries.append(Citation(n=n, paper=paper, similarity=similarity, coverage=coverage))
        self.chunks[paper.id] = chunk
        return n

    def add_hits(self, hits: Iterable[SearchHit]) -> list[int]:
        return [
            self.add(
                h.paper, similarity=h.dense_similarity, chunk=h.best_chunk, coverage=h.term_coverage
            )
            for h in hits
        ]

    def get(self, n: int) -> Citation:
        return self.entries[n - 1]

    def citations(self, numbers: Iterable[int]) -> list[Citation]:
        return [self.get(n) for n in sorted(set(numbers)) if 1 <= n <= len(self.entries)]

    def render(self, numbers: Iterable[int] | None = None) -> str:
        """The papers as fenced data blocks for a prompt (all of them, or ``numbers``)."""
        chosen = self.entries if numbers is None else self.citations(numbers)
        return "\n\n".join(render_paper(c) for c in chosen)

    @property
    def best_similarity(self) -> float | None:
        sims = [c.similarity for c in self.entries if c.similarity is not None]
        return max(sims) if sims else None

    @property
    def best_coverage(self) -> float | None:
        covs = [c.coverage for c in self.entries if c.coverage is not None]
        return max(covs) if covs else None


def render_paper(citation: Citation) -> str:
    """One paper between the fence markers; the markers are stripped from its text first."""
    paper = citation.paper
    abstract = clean_text(paper.abstract)
    if len(abstract) > MAX_ABSTRACT_CHARS:
        abstract = abstract[:MAX_ABSTRACT_CHARS].rsplit(" ", 1)[0] + " …"
    published = paper.published.date().isoformat() if paper.published else "unknown"
    cats = ", ".join(paper.categories[:3]) or "none"
    return (
        f"{FENCE_START}\n[{citation.n}] id: {fence(paper.id)}\n"
        f"Title: {fence(clean_text(paper.title))}\n"
        f"Published: {published} | Categories: {fence(cats)}\n"
        f"Abstract: {fence(abstract)}\n{FENCE_END}"
    )


def retrieve(search_fn: SearchFn, question: str, *, k: int, filters: Filters) -> list[SearchHit]:
    """Hybrid search (dense + BM25 over chunks, RRF, one hit per paper), k papers."""
    return search_fn(
        question, k=k, since=filters.since, category=filters.category, source=filters.source
    )


def weak_evidence(
    best_similarity: float | None,
    threshold: float,
    best_coverage: float | None,
    min_coverage: float,
) -> bool:
    """True when even the best chunk is too far from the question to answer from, and no paper
    holds most of the question's rare terms either (a broad "which papers use X?" sits far from
    every chunk in embedding space, yet names X).

    No similarity at all (a BM25-only store) cannot be judged here: the model's own refusal and
    the citation check still apply.
    """
    if best_similarity is None or best_similarity >= threshold:
        return False
    return (best_coverage or 0.0) < min_coverage


def says_refusal(text: str) -> bool:
    """Did the model answer with the refusal marker (rather than with an answer)?"""
    if not _MARKER_RE.search(text):
        return False
    rest = _MARKER_RE.sub(" ", text)
    return len(re.findall(r"[A-Za-z]{3,}", rest)) < 8


def strip_marker(text: str) -> str:
    return re.sub(r"[ \t]{2,}", " ", _MARKER_RE.sub("", text)).strip()


def refusal_text(closest: list[Citation], filters: Filters) -> str:
    """One sentence saying the store does not hold the answer, naming the closest papers."""
    scope = filters.describe()
    where = f"the papers I have {scope}".rstrip() if scope else "the papers I have"
    if not closest:
        return f"I found nothing in {where} that matches this question."
    names = [f"“{md_escape(clean_text(c.paper.title))}” [{c.n}]" for c in closest]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    closest_word = "the closest is" if len(names) == 1 else "the closest are"
    return f"None of {where} answers this question; {closest_word} {listed}."


def md_escape(text: str) -> str:
    """Untrusted text must not become Markdown structure (links, emphasis, fake citations)."""
    return re.sub(r"([\\`*_\[\]<>])", r"\\\1", text)


__all__ = [
    "REFUSAL_MARKER",
    "Context",
    "Filters",
    "GetPaperFn",
    "SearchFn",
    "md_escape",
    "refusal_text",
    "render_paper",
    "retrieve",
    "says_refusal",
    "strip_marker",
    "weak_evidence",
]
