"""Small records kept in a shared Chroma server, for what several machines must agree on.

With ``chroma_url`` set, papers and chunks already live on the server; this module lets the
summary cache, the digest history and the store's revision and writer lease live there too.
Each kind of record gets its own collection (``pb_shared_<kind>``) of rows that are a JSON
document plus flat metadata to filter on. Chroma stores a vector with every row, so each row
carries the same one-dimensional dummy vector; nothing ever queries by vector.

Chroma has no transactions: a row is replaced whole (``upsert``), which is atomic per row. Who
may change what is decided above (the writer lease, :mod:`store.shared.lease`).
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from store.chroma.conn import chroma_errors, open_client

log = logging.getLogger(__name__)

PREFIX = "pb_shared_"
_DUMMY = [1.0]
#: Rows per Chroma call: far below the server's batch limit (5461) and any URL length limit.
_SLICE = 500
Scalar = str | int | float | bool
#: A row's metadata as written: a None value is left out (Chroma refuses it; it reads as absent).
Meta = Mapping[str, Scalar | None]


@dataclass(frozen=True)
class Row:
    id: str
    doc: Any  # the JSON document, decoded
    meta: dict[str, Scalar]


@functools.cache
def server_client(chroma_url: str) -> Any:
    """One client per server for every shared table of the process (revision, lease, summaries,
    history, signals): each new client costs a heartbeat and a tenant check on the server."""
    # open_client only reads its path argument for an embedded store; a URL is set here.
    return open_client(Path("."), chroma_url)


class SharedTable:
    """One collection of JSON rows on the server named by ``chroma_url``."""

    def __init__(self, chroma_url: str, kind: str, *, client: Any = None) -> None:
        self.chroma_url = chroma_url
        self.name = PREFIX + kind
        self._client = client or server_client(chroma_url)
        with self._errors():
            self._col = self._client.get_or_create_collection(
                self.name, metadata={"paperbrief_shared": kind}, embedding_function=None
            )

    def _errors(self) -> Any:
        return chroma_errors(self.chroma_url)

    @property
    def client(self) -> Any:
        return self._client

    def put(self, rows: Sequence[tuple[str, Any, Meta]]) -> None:
        """Insert or replace (id, document, metadata) rows."""
        for start in range(0, len(rows), _SLICE):
            part = rows[start : start + _SLICE]
            with self._errors():
                self._col.upsert(
                    ids=[r[0] for r in part],
                    documents=[json.dumps(r[1], ensure_ascii=False) for r in part],
                    metadatas=[_clean(r[2]) for r in part],
                    embeddings=[_DUMMY] * len(part),
                )

    def add(self, rows: Sequence[tuple[str, Any, Meta]]) -> None:
        """Insert rows whose id is not there yet; Chroma leaves an existing id untouched, which
        makes this the one insert-if-absent the server offers."""
        with self._errors():
            self._col.add(
                ids=[r[0] for r in rows],
                documents=[json.dumps(r[1], ensure_ascii=False) for r in rows],
                metadatas=[_clean(r[2]) for r in rows],
                embeddings=[_DUMMY] * len(rows),
            )

    def get(self, ids: Sequence[str]) -> dict[str, Row]:
        found: dict[str, Row] = {}
        wanted = list(dict.fromkeys(ids))
        for start in range(0, len(wanted), _SLICE):
            with self._errors():
                got = self._col.get(
                    ids=wanted[start : start + _SLICE], include=["documents", "metadatas"]
                )
            found.update((row.id, row) for row in _rows(got))
        return found

    def one(self, row_id: str) -> Row | None:
        return self.get([row_id]).get(row_id)

    def where(self, where: Mapping[str, Any] | None = None) -> list[Row]:
        with self._errors():
            got = self._col.get(where=dict(where) if where else None,
                                include=["documents", "metadatas"])  # fmt: skip
        return list(_rows(got))

    def ids_where(self, where: Mapping[str, Any]) -> list[str]:
        """Only the ids of the matching rows (no documents: a count, a delete list)."""
        with self._errors():
            return list(self._col.get(where=dict(where), include=[])["ids"])

    def where_in(self, field: str, values: Iterable[Scalar], **equal: Scalar) -> list[Row]:
        """Rows whose ``field`` is one of ``values`` (and whose other fields equal ``equal``)."""
        wanted = list(dict.fromkeys(values))
        rows: list[Row] = []
        for start in range(0, len(wanted), _SLICE):
            clauses: list[dict[str, Any]] = [{field: {"$in": wanted[start : start + _SLICE]}}]
            clauses += [{k: v} for k, v in equal.items()]
            rows += self.where(clauses[0] if len(clauses) == 1 else {"$and": clauses})
        return rows

    def delete(self, ids: Sequence[str] = (), where: Mapping[str, Any] | None = None) -> None:
        with self._errors():
            if ids:
                self._col.delete(ids=list(ids))
            elif where:
                self._col.delete(where=dict(where))

    def count(self) -> int:
        with self._errors():
            return int(self._col.count())

    def close(self) -> None:
        """Nothing to release: the HTTP client closes with the process."""


def _clean(meta: Meta) -> dict[str, Scalar]:
    """Chroma refuses None values: leave them out (a missing field reads as None)."""
    return {k: v for k, v in meta.items() if v is not None}


def _rows(got: Mapping[str, Any]) -> Iterator[Row]:
    for rid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
        yield Row(rid, json.loads(doc) if doc else None, dict(meta or {}))
