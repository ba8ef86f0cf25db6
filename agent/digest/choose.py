"""Choosing what a digest shows: rank the whole window for its reader, keep the best
``max_papers`` for the detailed part, and account for every other paper compactly.

Choosing comes before summaries on purpose: only the shown papers are summarized and their
themes named, so a 1,000-paper day costs about ``max_papers`` + themes LLM calls, not 1,000.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import numpy as np

from agent.digest.models import Selection
from agent.digest.ranking import MIN_POSITIVES, RankedPaper, RankInputs, rank
from agent.digest.relevance import InterestProfile, TextEmbedder
from agent.profiles.signal import ReaderSignal

NOTES = {
    "library": "Ranked for you by a model of your library and ratings ({signal}).",
    "nearest": "Ranked by closeness to your library and ratings ({signal}); from {min} liked "
    "items on, a model learns from them.",
    "interests": "Ranked by your interests and keywords. Import your library "
    "(`paperbrief library import FILE`) or rate papers to rank by your own papers.",
    "keywords": "Ranked by your keywords. Add interests, import your library or rate papers "
    "for a finer ranking.",
    "default": "No profile yet: ranked by Hugging Face upvotes where known, how central a paper "
    "is to the day's papers, then recency. Import your library with "
    "`paperbrief library import FILE` to rank by your own papers.",
}


@dataclass
class Relevance:
    """Everything that says what the reader wants; any part may be empty."""

    profile: InterestProfile | None = None
    embedder: TextEmbedder | None = None
    signal: ReaderSignal | None = None

    @property
    def active(self) -> bool:
        has_profile = self.profile is not None and (
            self.profile.active or bool(self.profile.not_interested)
        )
        return has_profile or (self.signal is not None and self.signal.size > 0)


@dataclass
class Choice:
    """The window ranked: which papers are shown in detail, which are only counted."""

    selection: Selection
    vectors: np.ndarray
    ranked: list[RankedPaper]
    shown: list[int]  # indexes into selection.papers, best first
    rest: list[int]  # the other papers of the window, best first
    regime: str
    note: str
    below_threshold: int = 0
    over_cap: int = 0

    @cached_property
    def scores(self) -> dict[int, RankedPaper]:
        """Each paper's ranking entry by its index in the selection."""
        return {r.index: r for r in self.ranked}

    @property
    def shown_papers(self) -> list[dict]:
        return [self.selection.papers[i] for i in self.shown]


def choose(
    selection: Selection,
    vectors: np.ndarray,
    dates: Sequence[datetime | None],
    now: datetime,
    *,
    relevance: Relevance | None = None,
    max_papers: int | None = None,
) -> Choice:
    relevance = relevance or Relevance()
    papers = selection.papers
    vectors = np.asarray(vectors, dtype=np.float32)
    vectors = vectors.reshape(len(papers), -1) if papers else np.zeros((0, 1), np.float32)
    ranked, regime = rank(
        RankInputs(papers, vectors, dates, now),
        relevance.profile,
        relevance.signal,
        relevance.embedder,
    )
    order = [r.index for r in ranked]
    min_score = relevance.profile.min_score if relevance.profile else None
    by_index = {r.index: r for r in ranked}
    eligible = order if min_score is None else [i for i in order if by_index[i].score >= min_score]
    cap = max_papers if max_papers is not None else len(eligible)
    shown = eligible[:cap]
    shown_set = set(shown)
    rest = [i for i in order if i not in shown_set]
    signal = relevance.signal
    note = NOTES.get(regime, "").format(
        signal=f"{signal.size} liked, {len(signal.disliked_labels)} disliked" if signal else "",
        min=MIN_POSITIVES,
    )
    return Choice(
        selection=selection,
        vectors=vectors,
        ranked=ranked,
        shown=shown,
        rest=rest,
        regime=regime,
        note=note,
        below_threshold=len(order) - len(eligible),
        over_cap=max(0, len(eligible) - cap),
    )
