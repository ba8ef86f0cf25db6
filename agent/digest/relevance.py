"""How much a paper matters to its reader: an interest profile turned into one score per paper.

With a profile, the score is the best cosine similarity of the paper's vector to any free-text
interest or seed paper, plus a bonus per keyword hit (title hits count double) minus a penalty
per "not interested" term. Cosines of MiniLM vectors sit around 0.1 for unrelated and 0.5+ for
close texts, so keyword bonuses of 0.1 move a paper by about one "notch" of similarity.

Without a profile, the score is recency (halving every 3 days) plus a little for HF upvotes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

import numpy as np
from pydantic import BaseModel, Field

KEYWORD_BONUS = 0.1
TITLE_BONUS = 0.1  # on top of KEYWORD_BONUS when the keyword is in the title
KEYWORD_CAP = 0.3
AVOID_PENALTY = 0.3
AVOID_CAP = 0.6
RECENCY_HALF_LIFE_DAYS = 3.0
UPVOTE_WEIGHT = 0.25


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


def score_with_profile(
    papers: Sequence[Mapping[str, object]],
    vectors: np.ndarray,
    profile: InterestProfile,
    *,
    embedder: TextEmbedder | None = None,
    seed_vectors: np.ndarray | None = None,
) -> list[tuple[float, list[str]]]:
    """(score, reasons) per paper, in input order. ``vectors`` are L2-normalised rows."""
    n = len(papers)
    sim = np.zeros(n, dtype=np.float32)
    best_reason: list[str] = [""] * n
    if profile.interests and embedder is not None and n:
        interest_vecs = np.asarray(embedder.embed(list(profile.interests)), dtype=np.float32)
        sims = vectors @ interest_vecs.T  # (n, interests)
        idx = sims.argmax(axis=1)
        sim = sims[np.arange(n), idx]
        best_reason = [f"close to interest '{profile.interests[i]}'" for i in idx]
    if seed_vectors is not None and len(seed_vectors) and n:
        seed_sims = vectors @ np.asarray(seed_vectors, dtype=np.float32).T
        seed_best = seed_sims.max(axis=1)
        for i in np.nonzero(seed_best > sim)[0]:
            best_reason[i] = "close to a seed paper"
        sim = np.maximum(sim, seed_best)

    out: list[tuple[float, list[str]]] = []
    for i, paper in enumerate(papers):
        reasons = [f"{best_reason[i]} ({sim[i]:.2f})"] if best_reason[i] else []
        adjust, why = keyword_adjustment(paper, profile)
        out.append((float(sim[i]) + adjust, reasons + why))
    return out


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


def score_by_recency(
    papers: Sequence[Mapping[str, object]], dates: Sequence[datetime | None], now: datetime
) -> list[tuple[float, list[str]]]:
    """Newest first, nudged by Hugging Face upvotes where the source gave them."""
    out: list[tuple[float, list[str]]] = []
    for paper, when in zip(papers, dates, strict=True):
        age_days = max(0.0, (now - when).total_seconds() / 86400) if when else 30.0
        score = 0.5 ** (age_days / RECENCY_HALF_LIFE_DAYS)
        reasons = []
        upvotes = upvotes_of(paper)
        if upvotes:
            score += UPVOTE_WEIGHT * min(1.0, math.log1p(upvotes) / math.log1p(100))
            reasons.append(f"{upvotes} upvotes on Hugging Face")
        out.append((score, reasons))
    return out


def upvotes_of(paper: Mapping[str, object]) -> int | None:
    extra = paper.get("extra")
    if isinstance(extra, Mapping):
        value = extra.get("upvotes")
        if isinstance(value, int | float) and not isinstance(value, bool):
            return int(value)
    return None
