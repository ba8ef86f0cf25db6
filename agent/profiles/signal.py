"""Ratings, and the signal a profile's ranker learns from: library items + papers rated up as
liked, papers rated down as disliked, each with the reader-facing reason it will give."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel

from agent.digest.ranking import ReaderSignal
from agent.errors import InputError

if TYPE_CHECKING:
    from store import PaperStore
    from store.embedder import Embedder
    from store.reader_signals import ReaderSignals

TITLE_IN_REASON = 70


class Rating(BaseModel):
    profile: str
    paper_id: str
    title: str
    value: int  # +1 up, -1 down, 0 cleared


def rate(
    paper_id: str, value: str, *, profile: str, store: PaperStore, signals: ReaderSignals
) -> Rating:
    """Remember that the reader liked (``up``) or disliked (``down``) a stored paper; ``clear``
    forgets the rating."""
    wanted = {"up": 1, "down": -1, "clear": 0}.get(value.lower().strip())
    if wanted is None:
        raise InputError(f"Unknown rating {value!r}.", hint="Rate a paper `up`, `down` or `clear`.")
    paper = store.get(paper_id)
    if paper is None:
        # `arXiv:2312.00752v2` or an abs/pdf link names the stored bare id 2312.00752.
        from agent.sources._ids import parse_arxiv_id

        parsed = parse_arxiv_id(paper_id)
        paper = store.get(parsed[0]) if parsed and parsed[0] != paper_id else None
    if paper is None:
        raise InputError(
            f"No paper {paper_id!r} in the store.",
            hint="Use an id that `paperbrief search` or the digest shows.",
        )
    paper_id = str(paper["id"])
    title = str(paper.get("title") or paper_id)
    if wanted == 0:
        signals.unrate(profile, paper_id)
    else:
        signals.rate(profile, paper_id, wanted, title)
    return Rating(profile=profile, paper_id=paper_id, title=title, value=wanted)


def _short(title: str) -> str:
    title = " ".join(title.split())
    return title if len(title) <= TITLE_IN_REASON else title[: TITLE_IN_REASON - 1].rstrip() + "…"


def reader_signal(
    profile: str, *, signals: ReaderSignals, store: PaperStore, embedder: Embedder
) -> ReaderSignal | None:
    """The profile's liked/disliked vectors, or None when the reader has told us nothing.

    Library vectors made by another embedder (the store was reindexed since the import) are
    re-embedded from their stored text, so the ranker never mixes two vector spaces."""
    liked: list[np.ndarray] = []
    labels: list[str] = []
    items = signals.items(profile)
    stale = [s for s in items if s.vector is None or s.embedder_id != embedder.model_id]
    fresh = {}
    if stale:
        texts = [_text(s.item, s.title) for s in stale]
        fresh = dict(zip([s.key for s in stale], embedder.embed(texts), strict=True))
    for s in items:
        liked.append(fresh.get(s.key, s.vector))
        labels.append(f"close to *{_short(s.title)}* in your library")
    ratings = signals.ratings(profile)
    known = {p["id"] for p in store.get_many([r.paper_id for r in ratings])} if ratings else set()
    ups = [r for r in ratings if r.value > 0 and r.paper_id in known]
    downs = [r for r in ratings if r.value < 0 and r.paper_id in known]
    if ups:
        liked.extend(store.paper_vectors([r.paper_id for r in ups]))
        labels.extend(f"like *{_short(r.title)}*, which you rated up" for r in ups)
    if not liked and not downs:
        return None
    disliked = store.paper_vectors([r.paper_id for r in downs]) if downs else None
    dim = embedder.dim or (len(disliked[0]) if disliked is not None else 0)
    return ReaderSignal(
        liked=np.vstack(liked).astype(np.float32) if liked else np.zeros((0, dim), np.float32),
        liked_labels=labels,
        disliked=disliked,
        disliked_labels=[f"close to *{_short(r.title)}*, which you rated down" for r in downs],
    )


def _text(item: dict, title: str) -> str:
    abstract = item.get("abstract")
    keywords = item.get("keywords") or []
    if abstract:
        return f"{title}. {abstract}"
    return f"{title}. Keywords: {', '.join(keywords)}" if keywords else title
