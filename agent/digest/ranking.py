"""Ranking a window of papers for one reader, with a reason for every pick.

Three regimes, chosen by how much the reader has told us:

* **library and ratings** (at least ``MIN_POSITIVES`` liked items): a linear classifier over the
  stored embeddings, in the spirit of arxiv-sanity's per-tag SVM: liked items (library entries,
  papers rated up) are the positives; the day's other papers are the negatives, papers rated
  down count as strong negatives. The nearest liked item names the reason. How this model was
  chosen (``bench/bench_ranking.py``, simulated readers of a labelled mixed corpus, precision@5):
  linear SVM .767, logistic regression .757, library centroid .707, nearest item .643, typed
  interests only .553, and blending the SVM with the nearest item's cosine only lowered it.
* **interests and keywords only**: the best cosine to a typed interest plus keyword bonuses.
* **nothing at all**: what a newcomer would expect on an unfamiliar day: Hugging Face upvotes
  where known, then how central the paper is to the day (mean cosine to its nearest neighbours
  in the window), then recency.

Interests, keywords and "not interested" terms count in every regime. Every score comes with a
``because`` that holds (``agent.digest.reasons``): the nearest liked item or the interest that
matched when it is close enough to say so, a keyword it mentions, else "a weaker match"; never
a paper rated down.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from agent.digest.reasons import (
    WEAK_PICK,
    choose_reason,
    default_reasons,
    interest_reasons,
    liked_reasons,
)
from agent.digest.relevance import (
    InterestProfile,
    TextEmbedder,
    keyword_adjustment,
    upvotes_of,
)
from agent.profiles.signal import ReaderSignal

#: Fewer liked items than this and a classifier would fit noise: use nearest-item cosine only.
MIN_POSITIVES = 3
#: Weight of a paper rated down against one unlabelled paper of the day.
DOWN_WEIGHT = 5.0
CENTRALITY_NEIGHBOURS = 10
RECENCY_HALF_LIFE_DAYS = 3.0


@dataclass
class RankedPaper:
    index: int  # position in the input
    score: float
    because: str
    reasons: list[str]


@dataclass
class RankInputs:
    papers: Sequence[Mapping[str, object]]
    vectors: np.ndarray  # (n, d) unit rows, one per paper
    dates: Sequence[datetime | None]
    now: datetime


def rank(
    inputs: RankInputs,
    profile: InterestProfile | None = None,
    signal: ReaderSignal | None = None,
    embedder: TextEmbedder | None = None,
) -> tuple[list[RankedPaper], str]:
    """Papers best first, and the name of the regime that ranked them."""
    n = len(inputs.papers)
    if n == 0:
        return [], "none"
    vectors = np.asarray(inputs.vectors, dtype=np.float32)
    base = np.zeros(n, dtype=np.float32)
    # Each candidate reason with its margin over the cosine that makes it true (reasons.py).
    claims: list[list[tuple[str, float]]] = [[] for _ in range(n)]
    regime = "default"
    if signal is not None and signal.size:
        base, liked_why, liked_margin = _from_signal(vectors, signal)
        regime = "library" if signal.size >= MIN_POSITIVES else "nearest"
        for i in range(n):
            claims[i].append((liked_why[i], float(liked_margin[i])))
    interest_sim, interest_why, interest_margin = _interest_similarity(vectors, profile, embedder)
    if interest_sim is not None:
        if regime == "default":
            base, regime = interest_sim, "interests"
        else:  # a typed interest still counts when it matches better than the library does
            base = np.maximum(base, interest_sim)
        for i in range(n):
            claims[i].append((interest_why[i], float(interest_margin[i])))
    default_why: list[str] = []
    if regime == "default" and not (profile and profile.keywords):
        base, default_why = _default_scores(inputs, vectors, profile)
    ranked = []
    for i, paper in enumerate(inputs.papers):
        adjust, reasons = keyword_adjustment(paper, profile) if profile else (0.0, [])
        mentions = next((r for r in reasons if r.startswith("mentions ")), "")
        # With a profile: a claim that holds, a keyword it has, or plainly a weaker match.
        why = default_why[i] if default_why else choose_reason(claims[i]) or mentions or WEAK_PICK
        if signal is not None and (vote := signal.rated.get(str(paper.get("id")))):
            # its nearest liked vector is itself: say so rather than "like X" about X; a
            # rating down is never a reason to show a paper
            why = "you rated it up" if vote > 0 else WEAK_PICK
            reasons = reasons if vote > 0 else ["you rated it down", *reasons]
        ranked.append(RankedPaper(i, float(base[i]) + adjust, why, _dedupe([why, *reasons])))
    ranked.sort(key=lambda r: (-r.score, str(inputs.papers[r.index].get("id"))))
    if regime == "default" and profile and profile.keywords:
        regime = "keywords"
    return ranked, regime


def _from_signal(
    vectors: np.ndarray, signal: ReaderSignal
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Scores from the liked and disliked vectors, and each paper's library reason (only a
    liked item, and only when close enough to say so) with its margin."""
    liked = np.asarray(signal.liked, dtype=np.float32)
    sims = vectors @ liked.T
    near_sim = sims.max(axis=1)
    because, margin = liked_reasons(sims, signal.liked_labels)
    score = near_sim.copy()
    if signal.size >= MIN_POSITIVES:
        score = _classifier(vectors, liked, signal.disliked)
    if signal.disliked is not None and len(signal.disliked):
        bad_sim = (vectors @ np.asarray(signal.disliked, dtype=np.float32).T).max(axis=1)
        closer = bad_sim > near_sim
        score = np.where(closer, score - (bad_sim - near_sim), score)
    return score.astype(np.float32), because, margin


def _classifier(vectors: np.ndarray, liked: np.ndarray, disliked: np.ndarray | None) -> np.ndarray:
    """Decision values of a linear SVM (liked vs the day, disliked weighted up), squashed to
    (0, 1) so they blend with cosines. scikit-learn is imported here only."""
    from sklearn.svm import LinearSVC

    negatives = [vectors]
    weights = [np.ones(len(vectors))]
    if disliked is not None and len(disliked):
        negatives.append(np.asarray(disliked, dtype=np.float32))
        weights.append(np.full(len(disliked), DOWN_WEIGHT))
    x = np.vstack([liked, *negatives])
    y = np.concatenate([np.ones(len(liked)), np.zeros(sum(len(v) for v in negatives))])
    w = np.concatenate([np.ones(len(liked)), *weights])
    model = LinearSVC(C=0.1, class_weight="balanced", max_iter=5000, tol=1e-5)
    model.fit(x, y, sample_weight=w)
    decision = model.decision_function(vectors)
    return (1.0 / (1.0 + np.exp(-2.0 * decision))).astype(np.float32)


def _interest_similarity(
    vectors: np.ndarray, profile: InterestProfile | None, embedder: TextEmbedder | None
) -> tuple[np.ndarray | None, list[str], np.ndarray]:
    if profile is None or not profile.interests or embedder is None:
        return None, [], np.zeros(0, dtype=np.float32)
    interest_vecs = np.asarray(embedder.embed(list(profile.interests)), dtype=np.float32)
    sims = vectors @ interest_vecs.T
    why, margin = interest_reasons(sims, profile.interests)
    return sims.max(axis=1).astype(np.float32), why, margin


def _default_scores(
    inputs: RankInputs, vectors: np.ndarray, profile: InterestProfile | None
) -> tuple[np.ndarray, list[str]]:
    """No profile: upvotes, then centrality in the day, then recency; each reason says what
    is known about the paper (reasons.default_reasons)."""
    n = len(vectors)
    central = _centrality(vectors)
    scores = np.zeros(n, dtype=np.float32)
    upvotes = [upvotes_of(paper) or 0 for paper in inputs.papers]
    for i in range(n):
        when = inputs.dates[i]
        age = max(0.0, (inputs.now - when).total_seconds() / 86400) if when else 30.0
        recency = 0.5 ** (age / RECENCY_HALF_LIFE_DAYS)
        up = min(1.0, math.log1p(upvotes[i]) / math.log1p(100)) if upvotes[i] else 0.0
        scores[i] = up + 0.5 * central[i] + 0.1 * recency
    categories = profile.categories if profile is not None else []
    return scores, default_reasons(inputs.papers, vectors, upvotes, categories)


def _centrality(vectors: np.ndarray) -> np.ndarray:
    """Mean cosine to the nearest neighbours in the window: papers in the day's main currents
    score higher than outliers. Blocks keep memory at O(block x n)."""
    n = len(vectors)
    if n < 2:
        return np.zeros(n, dtype=np.float32)
    k = min(CENTRALITY_NEIGHBOURS, n - 1)
    out = np.empty(n, dtype=np.float32)
    for start in range(0, n, 512):
        block = vectors[start : start + 512] @ vectors.T
        for row, i in enumerate(range(start, min(n, start + 512))):
            block[row, i] = -1.0  # not its own neighbour
        top = np.partition(block, -k, axis=1)[:, -k:]
        out[start : start + len(block)] = top.mean(axis=1)
    return out


def _dedupe(items: Sequence[str]) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item and item not in seen:
            seen.append(item)
    return seen
