"""Ratings, and the signal a profile's ranker learns from: library items + papers rated up as
liked, papers rated down as disliked, each with the reader-facing reason it will give."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel

from agent.errors import InputError

if TYPE_CHECKING:
    from store import PaperStore
    from store.embedding.embedders import Embedder
    from store.seams import ReaderSignals, StoredItem

TITLE_IN_REASON = 70


@dataclass
class ReaderSignal:
    """What the reader likes and dislikes, as unit vectors with a label each."""

    liked: np.ndarray  # (m, d) library items and papers rated up
    liked_labels: list[str] = field(default_factory=list)  # "close to *X* in your library"
    disliked: np.ndarray | None = None  # papers rated down
    disliked_labels: list[str] = field(default_factory=list)
    rated: dict[str, int] = field(default_factory=dict)  # paper id -> +1 / -1

    @property
    def size(self) -> int:
        return len(self.liked)


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
    profile: str,
    items: Sequence[StoredItem],
    *,
    signals: ReaderSignals,
    store: PaperStore,
    embedder: Embedder,
    seed_ids: Sequence[str] = (),
) -> ReaderSignal | None:
    """The profile's liked vectors (library ``items``, papers rated up, seed papers) and
    disliked ones (papers rated down), or None when the reader has told us nothing.

    Library vectors made by another embedder (the store was reindexed since the import) are
    re-embedded from their stored text and written back, so the ranker never mixes two vector
    spaces and the cost is paid once."""
    vectors = _current_vectors(profile, items, signals, embedder)
    liked: list[np.ndarray] = [vectors[s.key] for s in items]
    labels = [f"close to *{_short(s.title)}* in your library" for s in items]
    ratings = signals.ratings(profile)
    known = {p["id"] for p in store.get_many([r.paper_id for r in ratings])} if ratings else set()
    ups = [r for r in ratings if r.value > 0 and r.paper_id in known]
    downs = [r for r in ratings if r.value < 0 and r.paper_id in known]
    if ups:
        liked.extend(store.paper_vectors([r.paper_id for r in ups]))
        labels.extend(f"like *{_short(r.title)}*, which you rated up" for r in ups)
    seeds = store.get_many(list(seed_ids)) if seed_ids else []
    if seeds:
        liked.extend(store.paper_vectors([p["id"] for p in seeds]))
        labels.extend(
            f"close to *{p.get('title') or p['id']}*, one of your seed papers" for p in seeds
        )
    if not liked and not downs:
        return None
    disliked = store.paper_vectors([r.paper_id for r in downs]) if downs else None
    dim = embedder.dim or (len(disliked[0]) if disliked is not None else 0)
    return ReaderSignal(
        liked=np.vstack(liked).astype(np.float32) if liked else np.zeros((0, dim), np.float32),
        liked_labels=labels,
        disliked=disliked,
        disliked_labels=[f"close to *{_short(r.title)}*, which you rated down" for r in downs],
        rated={r.paper_id: r.value for r in ups + downs},
    )


def _current_vectors(
    profile: str, items: Sequence[StoredItem], signals: ReaderSignals, embedder: Embedder
) -> dict[str, np.ndarray]:
    """Each item's vector in the embedder's space; stale ones are re-embedded and stored."""
    vectors = {s.key: s.vector for s in items if s.vector is not None}
    stale = [s for s in items if s.vector is None or s.embedder_id != embedder.model_id]
    if stale:
        from agent.library.models import LibraryItem

        texts = [LibraryItem.model_validate(s.item).text_for_embedding() for s in stale]
        fresh = np.asarray(embedder.embed(texts), dtype=np.float32)
        rows = [(s.key, s.title, s.item) for s in stale]
        signals.put_items(profile, rows, fresh, embedder.model_id)
        vectors.update(zip([s.key for s in stale], fresh, strict=True))
    return vectors
