"""Grouping papers into themes: spherical k-means on their vectors, the number of themes chosen by
silhouette (keywords per theme are in ``agent.digest.keywords``).

Why not scikit-learn: the whole job is k-means on a few thousand unit vectors plus one silhouette
per candidate k, about 80 lines of numpy that run in well under a second for 2,000 papers; a
~40 MB dependency would buy nothing here. Seeds are fixed, so the same papers give the same themes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Above this many papers the silhouette is computed on a fixed random sample of them: the full
#: n x n distance matrix would cost O(n^2) memory.
SILHOUETTE_SAMPLE = 3000
MIN_PAPERS_TO_SPLIT = 6


@dataclass(frozen=True)
class Clustering:
    groups: list[list[int]]  # indices into the input, each group of size >= min_size
    leftovers: list[int]  # indices of papers in groups smaller than min_size
    k: int
    silhouette: float | None


def k_range(n: int, min_themes: int = 3, max_themes: int = 8) -> tuple[int, int]:
    """Candidate numbers of themes for n papers: none below 6 papers, then at least ~3 papers per
    theme on average, 3-8 from about 20 papers on."""
    if n < MIN_PAPERS_TO_SPLIT:
        return 1, 1
    hi = max(2, min(max_themes, n // 3))
    lo = max(2, min(min_themes, hi)) if n >= 20 else 2
    return lo, hi


def _normalise(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def spherical_kmeans(
    x: np.ndarray, k: int, *, seed: int = 0, n_init: int | None = None, max_iter: int = 60
) -> tuple[np.ndarray, float]:
    """Labels and total cosine similarity to the centroids (higher is better), best of n_init
    k-means++ starts (10 up to 500 papers, 4 above: big inputs vary less between starts)."""
    n = len(x)
    n_init = n_init or (10 if n <= 500 else 4)
    rng = np.random.default_rng(seed)
    rows = np.arange(n)
    best_labels, best_fit = np.zeros(n, dtype=np.int64), -np.inf
    for _ in range(n_init):
        centroids = _kmeans_pp(x, k, rng)
        labels = np.full(n, -1, dtype=np.int64)
        for _ in range(max_iter):
            sims = x @ centroids.T
            new = sims.argmax(axis=1)
            if np.array_equal(new, labels):
                break
            labels = new
            onehot = np.zeros((n, k), dtype=x.dtype)
            onehot[rows, labels] = 1.0
            centroids = onehot.T @ x  # per-cluster sums in one product
            empty = onehot.sum(axis=0) == 0
            if empty.any():  # an emptied cluster restarts at the worst-fitting papers
                worst = np.argsort(sims.max(axis=1))[: int(empty.sum())]
                centroids[empty] = x[worst]
            centroids = _normalise(centroids)
        fit = float((x @ centroids.T)[rows, labels].sum())
        if fit > best_fit:
            best_labels, best_fit = labels.copy(), fit
    return best_labels, best_fit


def _kmeans_pp(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding: each next centre drawn with probability proportional to distance."""
    n = len(x)
    chosen = [int(rng.integers(n))]
    dist = np.clip(1.0 - x @ x[chosen[0]], 0.0, None).astype(np.float64)
    for _ in range(1, k):
        cumulative = np.cumsum(dist)
        total = cumulative[-1]
        if total > 0:
            nxt = min(n - 1, int(np.searchsorted(cumulative, rng.random() * total, side="right")))
        else:
            nxt = int(rng.integers(n))
        chosen.append(nxt)
        dist = np.minimum(dist, np.clip(1.0 - x @ x[nxt], 0.0, None))
    return x[chosen].copy()


def silhouette(dist: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette for a precomputed distance matrix; singletons count 0 (Rousseeuw)."""
    k = int(labels.max()) + 1
    onehot = np.zeros((len(labels), k))
    onehot[np.arange(len(labels)), labels] = 1.0
    counts = onehot.sum(axis=0)
    sums = dist @ onehot  # (n, k): total distance from each paper to each cluster
    own = labels
    own_count = counts[own]
    a = np.where(own_count > 1, sums[np.arange(len(own)), own] / np.maximum(own_count - 1, 1), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_other = sums / counts
    mean_other[np.arange(len(own)), own] = np.inf
    mean_other[:, counts == 0] = np.inf
    b = mean_other.min(axis=1)
    denom = np.maximum(a, b)
    s = np.where((own_count > 1) & (denom > 0) & np.isfinite(b), (b - a) / denom, 0.0)
    return float(s.mean())


def cluster(
    vectors: np.ndarray,
    *,
    min_themes: int = 3,
    max_themes: int = 8,
    min_size: int = 2,
    seed: int = 0,
) -> Clustering:
    """Group unit vectors into themes; groups smaller than ``min_size`` become leftovers."""
    x = _normalise(np.asarray(vectors, dtype=np.float32))
    n = len(x)
    lo, hi = k_range(n, min_themes, max_themes)
    if n == 0:
        return Clustering([], [], 0, None)
    if hi <= 1:
        labels, best_k, best_s = np.zeros(n, dtype=np.int64), 1, None
    else:
        rng = np.random.default_rng(seed)
        sample = np.arange(n)
        if n > SILHOUETTE_SAMPLE:
            sample = np.sort(rng.choice(n, SILHOUETTE_SAMPLE, replace=False))
        dist = np.clip(1.0 - x[sample] @ x[sample].T, 0.0, 2.0).astype(np.float64)
        best_k, best_s, labels = lo, -np.inf, np.zeros(n, dtype=np.int64)
        for k in range(lo, hi + 1):
            cand, _ = spherical_kmeans(x, k, seed=seed + k)
            _, relabelled = np.unique(cand[sample], return_inverse=True)
            s = silhouette(dist, relabelled)
            if s > best_s + 1e-9:  # ties keep the smaller k: fewer themes read better
                best_k, best_s, labels = k, s, cand
    groups: list[list[int]] = []
    leftovers: list[int] = []
    for c in range(int(labels.max()) + 1):
        members = [int(i) for i in np.nonzero(labels == c)[0]]
        if len(members) >= min_size:
            groups.append(members)
        else:
            leftovers.extend(members)
    return Clustering(groups, sorted(leftovers), best_k, best_s)
