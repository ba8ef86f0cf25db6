"""The store's revision and its writes in flight, kept on the shared Chroma server.

With one store shared by several machines, a BM25 copy in one home must go stale when another
machine writes: so the revision each copy records comes from the server, not from the home's
SQLite file. One row (``pb_shared_meta``, id ``revision``) holds the counter and the writes in
flight (token -> host, pid, papers): the same facts store.state.revision keeps locally, behind
the same Protocol (store.seams.RevisionLog), which StateDB holds when the store is shared.

Consistency: a row is replaced whole; only writers change it and writers are serialized by the
writer lease (:mod:`store.shared.lease`) on top of each machine's file lock, so each
read-modify-write is alone. Readers only read it. The counter starts at the creation time in
milliseconds, so a BM25 copy built against a home's own (small) local counter is never taken
for fresh.

A write of another host counts as alive while that host+pid holds an unexpired lease: a writer
machine that died stops blocking the others' BM25 saves when its lease expires, and the next
writer repairs its papers.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from store.seams import DeadWrite, Snapshot
from store.shared.table import SharedTable
from store.state.pids import pid_alive

REVISION_ROW = "revision"


class SharedRevision:
    def __init__(self, chroma_url: str, *, client: Any = None) -> None:
        self.chroma_url = chroma_url
        self._client = client
        self._table: SharedTable | None = None

    @property
    def table(self) -> SharedTable:
        if self._table is None:  # opened on first use: a StateDB is cheap to construct
            self._table = SharedTable(self.chroma_url, "meta", client=self._client)
        return self._table

    def _read(self) -> dict[str, Any]:
        row = self.table.one(REVISION_ROW)
        if row is None:
            # add() leaves an existing row alone: whoever creates it first sets the base.
            base = {"value": int(time.time() * 1000), "writes": {}}
            self.table.add([(REVISION_ROW, base, {"kind": "revision"})])
            row = self.table.one(REVISION_ROW)
        assert row is not None
        return dict(row.doc)

    def _write(self, doc: dict[str, Any]) -> None:
        self.table.put([(REVISION_ROW, doc, {"kind": "revision"})])

    def revision(self) -> int:
        return int(self._read()["value"])

    def bump_revision(self) -> int:
        doc = self._read()
        doc["value"] = int(doc["value"]) + 1
        self._write(doc)
        return int(doc["value"])

    def begin_write(self) -> tuple[str, int]:
        token = uuid.uuid4().hex
        doc = self._read()
        doc["writes"][token] = {"pid": os.getpid(), "host": socket.gethostname(),
                                "started": datetime.now(UTC).isoformat(), "papers": []}  # fmt: skip
        doc["value"] = int(doc["value"]) + 1
        self._write(doc)
        return token, int(doc["value"])

    def note_papers(self, token: str, paper_ids: list[str]) -> None:
        doc = self._read()
        entry = doc["writes"].get(token)
        if entry is None:
            return
        entry["papers"] = sorted({*entry["papers"], *paper_ids})
        self._write(doc)

    def end_write(self, token: str) -> int:
        doc = self._read()
        doc["writes"].pop(token, None)
        doc["value"] = int(doc["value"]) + 1
        self._write(doc)
        return int(doc["value"])

    def abandon_write(self, token: str) -> None:
        doc = self._read()
        if token in doc["writes"]:
            doc["writes"][token]["pid"] = 0
        doc["value"] = int(doc["value"]) + 1
        self._write(doc)

    def _state(self) -> tuple[int, dict[str, bool], dict[str, list[str]]]:
        """(revision, token -> alive, token -> papers) from one read of the row."""
        doc = self._read()
        writes: dict[str, dict[str, Any]] = doc["writes"]
        leased = self._leased() if writes else set()
        alive = {
            token: pid_alive(int(w["pid"]))
            if w["host"] == socket.gethostname()
            else (str(w["host"]), int(w["pid"])) in leased
            for token, w in writes.items()
        }
        return int(doc["value"]), alive, {t: list(w["papers"]) for t, w in writes.items()}

    def snapshot(self) -> Snapshot:
        revision, alive, _ = self._state()
        return Snapshot(revision, frozenset(t for t, up in alive.items() if up))

    def dead_writes(self) -> list[DeadWrite]:
        _, alive, papers = self._state()
        return [DeadWrite(t, papers[t]) for t, up in alive.items() if not up]

    def forget_write(self, token: str) -> None:
        doc = self._read()
        if doc["writes"].pop(token, None) is not None:
            self._write(doc)

    def _leased(self) -> set[tuple[str, int]]:
        from store.shared.lease import live_claims

        return {(c.host, c.pid) for c in live_claims(self.table.client, self.chroma_url)}

    def close(self) -> None:
        self._table = None
