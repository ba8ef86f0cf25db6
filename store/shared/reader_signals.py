"""Reader signals (library items and ratings per profile) on a shared Chroma server.

The shared twin of store.state.reader_signals (store.seams.ReaderSignals). A team shares one
store: the writer machine ranks each profile's digest, so the library a reader imports and the
ratings they give on their own machine must reach it. Rows: ``pb_shared_library`` (one per (profile,
key); the document holds the item, its vector and the embedder that made it) and
``pb_shared_ratings`` (one per (profile, paper)).

One difference: an import of more than 500 items is written in several calls, so a failure
part-way can leave part of it (re-running the import completes it; rows are keyed, not piled).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from store.seams import StoredItem, StoredRating
from store.shared.table import Meta, SharedTable


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _row_id(profile: str, key: str) -> str:
    return hashlib.sha256(f"{profile}\x1f{key}".encode()).hexdigest()[:32]


class SharedReaderSignals:
    def __init__(self, chroma_url: str, *, client: Any = None) -> None:
        self._library = SharedTable(chroma_url, "library", client=client)
        self._ratings = SharedTable(chroma_url, "ratings", client=self._library.client)

    # --- library -------------------------------------------------------------------------------
    def put_items(
        self,
        profile: str,
        items: Sequence[tuple[str, str, dict[str, Any]]],
        vectors: np.ndarray,
        embedder_id: str,
    ) -> int:
        if len(items) != len(vectors):
            raise ValueError("one vector per item")
        ids = [_row_id(profile, key) for key, _, _ in items]
        known = self._library.get(ids)
        now = _now()
        rows = []
        for rid, (key, title, item), vec in zip(ids, items, vectors, strict=True):
            added = known[rid].doc["added_at"] if rid in known else now
            vector = np.asarray(vec, dtype=np.float32).tolist()
            doc = {"key": key, "title": title, "item": item, "embedder_id": embedder_id,
                   "vector": vector, "added_at": added}  # fmt: skip
            rows.append((rid, doc, {"profile": profile, "key": key}))
        self._library.put(rows)
        return len(rows)

    def items(self, profile: str) -> list[StoredItem]:
        docs = sorted((r.doc for r in self._library.where({"profile": profile})),
                      key=lambda d: (d["added_at"], d["key"]))  # fmt: skip
        return [
            StoredItem(
                key=d["key"],
                title=d["title"],
                item=d["item"],
                vector=np.asarray(d["vector"], dtype=np.float32) if d.get("vector") else None,
                embedder_id=d.get("embedder_id"),
                added_at=d["added_at"],
            )
            for d in docs
        ]

    def remove_items(self, profile: str, keys: Sequence[str] | None = None) -> int:
        if keys is None:
            ids = self._library.ids_where({"profile": profile})
        else:
            ids = list(self._library.get([_row_id(profile, k) for k in keys]))
        self._library.delete(ids)
        return len(ids)

    # --- ratings -------------------------------------------------------------------------------
    def rate(self, profile: str, paper_id: str, value: int, title: str) -> None:
        if value not in (-1, 1):
            raise ValueError("a rating is +1 or -1")
        doc = {"paper_id": paper_id, "value": value, "title": title, "rated_at": _now()}
        meta: Meta = {"profile": profile, "paper_id": paper_id, "value": value}
        self._ratings.put([(_row_id(profile, paper_id), doc, meta)])

    def unrate(self, profile: str, paper_id: str) -> bool:
        rid = _row_id(profile, paper_id)
        if self._ratings.one(rid) is None:
            return False
        self._ratings.delete([rid])
        return True

    def ratings(self, profile: str) -> list[StoredRating]:
        docs = sorted((r.doc for r in self._ratings.where({"profile": profile})),
                      key=lambda d: d["rated_at"])  # fmt: skip
        return [StoredRating(d["paper_id"], int(d["value"]), d["title"], d["rated_at"])
                for d in docs]  # fmt: skip

    def counts(self, profile: str) -> dict[str, int]:
        items = len(self._library.ids_where({"profile": profile}))
        values = [int(r.meta["value"]) for r in self._ratings.where({"profile": profile})]
        return {"library": items, "rated_up": values.count(1), "rated_down": values.count(-1)}

    def close(self) -> None:
        """Nothing held open: rows live on the server."""
