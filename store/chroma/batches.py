"""Chroma calls kept under the server's batch limit (DESIGN §3: one record more raises).

Every read of "all matches" and every write goes through ``ChromaBatches``, which pages by
``size`` and reports each write to ``on_write(kind, n)`` (progress displays, crash tests).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any


def slices(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


class ChromaBatches:
    def __init__(self, size: int, on_write: Callable[[str, int], None] | None = None) -> None:
        self.size = max(1, size)
        self._on_write = on_write

    def _written(self, kind: str, n: int) -> None:
        if self._on_write is not None:
            self._on_write(kind, n)

    def get_all(self, collection: Any, *, where: dict | None, include: list[str]) -> dict:
        """collection.get over every match, one call per batch."""
        out: dict[str, list] = {"ids": [], "metadatas": [], "documents": [], "embeddings": []}
        offset = 0
        while True:
            page = collection.get(where=where, include=include, limit=self.size, offset=offset)
            out["ids"].extend(page["ids"])
            for key in ("metadatas", "documents", "embeddings"):
                if key in include and page[key] is not None:
                    out[key].extend(page[key])
            if len(page["ids"]) < self.size:
                return out
            offset += len(page["ids"])

    def upsert(
        self, collection: Any, kind: str, ids: list[str], vectors: Any, docs: list, metas: list
    ) -> None:
        """``kind`` ("chunks" or "papers") is what on_write is told."""
        for sl in slices(len(ids), self.size):
            collection.upsert(
                ids=ids[sl], embeddings=vectors[sl], documents=docs[sl], metadatas=metas[sl]
            )
            self._written(kind, sl.stop - sl.start)

    def delete(self, collection: Any, ids: list[str]) -> None:
        for sl in slices(len(ids), self.size):
            collection.delete(ids=ids[sl])
            self._written("delete", sl.stop - sl.start)
