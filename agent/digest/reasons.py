"""Why a paper was picked, in words that hold: the ``because`` line each ranked paper carries.

A similarity claim ("close to *X* in your library", "matches your interest 'I'") is made only
at or above a cosine calibrated on the ranking bench (``python bench/bench_ranking.py
--calibrate``: the lowest cosine from which most such claims are true on the labelled demo
topics; MiniLM's scale). Below it the paper is still ranked, but the line says plainly that it
is a weaker match, or names a keyword it mentions. A paper rated down is never the reason for
another one. With no profile the line carries what is known about the paper itself: its Hugging
Face upvotes, the papers of the day it is close to, a revision, its category.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

#: "close to *X*" / "like *X*" claims: from this cosine on, most are true (ranking bench).
LIBRARY_REASON_COSINE = 0.48
#: "matches your interest 'I'" (a short phrase against an abstract sits lower): same rule.
INTEREST_REASON_COSINE = 0.25
WEAK_PICK = "a weaker match for your interests"
TITLE_IN_REASON = 70


def short_title(title: str) -> str:
    """A title fit for a because line: one line, no ``*`` (it marks the title), <= 70 chars."""
    title = " ".join(str(title).replace("*", "").split())
    if len(title) <= TITLE_IN_REASON:
        return title
    return title[: TITLE_IN_REASON - 1].rstrip() + "…"


def liked_reasons(sims: np.ndarray, labels: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """For each paper (rows of ``sims``, papers x liked items): the nearest liked item's label
    when it is close enough to say so, else "", and how far above the threshold it is."""
    if sims.size == 0:
        return [""] * len(sims), np.full(len(sims), -1.0, dtype=np.float32)
    nearest = sims.argmax(axis=1)
    best = sims[np.arange(len(sims)), nearest]
    margin = (best - LIBRARY_REASON_COSINE).astype(np.float32)
    return [labels[j] if m >= 0 else "" for j, m in zip(nearest, margin, strict=True)], margin


def interest_reasons(sims: np.ndarray, interests: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """The best-matching typed interest where it matches well enough to say so."""
    nearest = sims.argmax(axis=1)
    best = sims[np.arange(len(sims)), nearest]
    margin = (best - INTEREST_REASON_COSINE).astype(np.float32)
    why = [
        f"matches your interest '{interests[j]}'" if m >= 0 else ""
        for j, m in zip(nearest, margin, strict=True)
    ]
    return why, margin


def default_reasons(
    papers: Sequence[Mapping[str, object]],
    vectors: np.ndarray,
    upvotes: Sequence[int],
    categories: Sequence[str] = (),
) -> list[str]:
    """No profile: what is known about each paper, most telling first."""
    close = _day_neighbours(vectors)
    wanted = set(categories)
    out = []
    for i, paper in enumerate(papers):
        listed = paper.get("categories")
        cats = [str(c) for c in listed] if isinstance(listed, list | tuple) else []
        primary = str(paper.get("primary_category") or (cats[0] if cats else ""))
        if upvotes[i]:
            out.append(f"{upvotes[i]:,} upvote{'s' if upvotes[i] != 1 else ''} on Hugging Face")
        elif (neighbour := close[i]) is not None:
            nearest, count = neighbour
            title = short_title(str(papers[nearest].get("title") or papers[nearest].get("id")))
            more = f" and {count - 1} more of today's papers" if count > 1 else ", also new today"
            out.append(f"close to *{title}*{more}")
        elif revised := _revision(paper):
            out.append(revised)
        elif primary and primary in wanted:
            out.append(f"new in your categories: {primary}")
        elif primary:
            out.append(f"new in {primary}")
        else:
            out.append("new in the window")
    return out


def _revision(paper: Mapping[str, object]) -> str:
    version = paper.get("version")
    kind = str(paper.get("announce_type") or "")
    if not isinstance(version, int) or version < 2 or not kind.startswith("replace"):
        return ""
    return f"a revision (v{version}) of a paper posted earlier"


def _day_neighbours(vectors: np.ndarray) -> list[tuple[int, int] | None]:
    """Per paper: (its nearest other paper, how many are at the library cosine or closer), or
    None when none is. Blocks keep memory at O(block x n)."""
    n = len(vectors)
    out: list[tuple[int, int] | None] = [None] * n
    for start in range(0, n, 512):
        block = vectors[start : start + 512] @ vectors.T
        for row, i in enumerate(range(start, min(n, start + 512))):
            block[row, i] = -1.0
            count = int((block[row] >= LIBRARY_REASON_COSINE).sum())
            if count:
                out[i] = (int(block[row].argmax()), count)
    return out


def choose_reason(candidates: Sequence[tuple[str, float]]) -> str:
    """The claim that holds by the widest margin over its threshold, else ""."""
    held = [(margin, why) for why, margin in candidates if why and margin >= 0]
    return max(held, key=lambda mw: mw[0])[1] if held else ""
