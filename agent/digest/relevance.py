"""What a reader typed about their interests, and the lexical part of relevance.

``InterestProfile`` holds the typed interests, keywords, seed papers and "not interested"
terms; ``keyword_adjustment`` turns keyword and "not interested" hits into a bonus or penalty
with the reasons the reader sees. Cosines of MiniLM vectors sit around 0.1 for unrelated and
0.5+ for close texts, so keyword bonuses of 0.1 move a paper by about one "notch" of
similarity. The ranking itself (library, ratings, interests, or the no-profile order) is
``agent.digest.ranking``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np
from pydantic import BaseModel, Field

KEYWORD_BONUS = 0.1
TITLE_BONUS = 0.1  # on top of KEYWORD_BONUS when the keyword is in the title
KEYWORD_CAP = 0.3
AVOID_PENALTY = 0.3
AVOID_CAP = 0.6


class TextEmbedder(Protocol):
    def embed(self, texts: list[str]) -> np.ndarray: ...


class InterestProfile(BaseModel):
    """What the reader cares about; every part is optional."""

    interests: list[str] = Field(
        default_factory=list, description="free-text interests, e.g. 'retrieval for long documents'"
    )
    keywords: list[str] = Field(default_factory=list, description="words that should rank higher")
    seed_ids: list[str] = Field(default_factory=list, description="papers like the ones you want")
    not_interested: list[str] = Field(
        default_factory=list, description="terms that push a paper down"
    )
    min_score: float | None = Field(None, description="drop papers scoring below this")
    categories: list[str] = Field(
        default_factory=list,
        description="the reader's arXiv categories: with no profile, a pick says it is new in one",
    )

    @property
    def active(self) -> bool:
        return bool(self.interests or self.keywords or self.seed_ids)


def _term_pattern(term: str) -> re.Pattern[str]:
    # Word boundaries only where the term starts/ends with a word character ("C++" still works).
    start = r"\b" if term[:1].isalnum() else ""
    end = r"\b" if term[-1:].isalnum() else ""
    return re.compile(start + re.escape(term) + end, re.IGNORECASE)


def _hits(terms: Sequence[str], text: str) -> list[str]:
    return [t for t in terms if t.strip() and _term_pattern(t.strip()).search(text)]


def keyword_adjustment(
    paper: Mapping[str, object], profile: InterestProfile
) -> tuple[float, list[str]]:
    """Keyword bonus minus "not interested" penalty for one paper, with the reader-facing
    reasons ("mentions 'state space'", "you are not interested in 'survey'")."""
    title = str(paper.get("title") or "")
    body = title + "\n" + str(paper.get("abstract") or "")
    found = _hits(profile.keywords, body)
    in_title = set(_hits(found, title))
    bonus = min(
        KEYWORD_CAP, sum(KEYWORD_BONUS + (TITLE_BONUS if k in in_title else 0) for k in found)
    )
    reasons = []
    if found:
        reasons.append("mentions " + ", ".join(f"'{k}'" for k in found))
    avoided = _hits(profile.not_interested, body)
    penalty = min(AVOID_CAP, AVOID_PENALTY * len(avoided))
    if avoided:
        reasons.append("you are not interested in " + ", ".join(f"'{k}'" for k in avoided))
    return bonus - penalty, reasons


def upvotes_of(paper: Mapping[str, object]) -> int | None:
    extra = paper.get("extra")
    if isinstance(extra, Mapping):
        value = extra.get("upvotes")
        if isinstance(value, int | float) and not isinstance(value, bool):
            return int(value)
    return None
