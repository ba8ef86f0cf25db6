"""Store generations: which pair of Chroma collections is live, and which embedder built it.

A generation N is ``pb_papers_gN`` + ``pb_chunks_gN``. StateDB meta ``store:generation`` points
at the live one; the papers collection's metadata records the embedder (so a Chroma server
shared by several homes still knows what built it) and whether the generation is complete (a
reindex marks it so only at the end). Without a pointer (a fresh home against an existing
server), the highest complete generation is live.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from store.chroma.conn import SCHEMA_VERSION, chunks_name, papers_name, parse_generation
from store.embedding.embedders import Embedder
from store.errors import StoreError
from store.state import meta_keys
from store.state.db import StateDB

log = logging.getLogger(__name__)


def embedder_compatible(stored: str, current: str) -> bool:
    """Same model name, and the same tail after '@' unless one side does not know it yet ('?':
    an endpoint whose dimension is learnt on its first answer)."""
    s_name, _, s_tail = stored.rpartition("@")
    c_name, _, c_tail = current.rpartition("@")
    if not s_name or not c_name:
        return stored == current
    return s_name == c_name and (s_tail == c_tail or "?" in (s_tail, c_tail))


@dataclass
class Generation:
    number: int
    papers: Any
    chunks: Any
    embedder_id: str | None


class GenerationManager:
    def __init__(self, client: Any, state: StateDB, hnsw: dict[str, Any]) -> None:
        self._client = client
        self._state = state
        self._hnsw = dict(hnsw)

    @property
    def hnsw(self) -> dict[str, Any]:
        return dict(self._hnsw)

    def _existing(self) -> dict[int, dict[str, Any]]:
        gens: dict[int, dict[str, Any]] = {}
        for col in self._client.list_collections():
            parsed = parse_generation(col.name)
            if parsed:
                kind, number = parsed
                gens.setdefault(number, {})[kind] = col
        return gens

    def _open(self, number: int, embedder: Embedder, *, complete: bool) -> Generation:
        meta = {
            "paperbrief_schema": SCHEMA_VERSION,
            "generation": number,
            "complete": complete,
            "embedder_id": embedder.model_id,
            "embedder_dim": int(embedder.dim or 0),
        }
        # embedding_function=None: Chroma must never embed for us (its default downloads a
        # model); every write and query passes explicit vectors.
        cols = [
            self._client.get_or_create_collection(
                name,
                configuration={"hnsw": self._hnsw},
                metadata=meta,
                embedding_function=None,
            )
            for name in (papers_name(number), chunks_name(number))
        ]
        stored = (cols[0].metadata or {}).get("embedder_id")
        return Generation(number, cols[0], cols[1], stored)

    def open_active(self, embedder: Embedder, *, where: str = "Chroma") -> Generation:
        """The live generation. A pointer naming a generation this Chroma does not hold (say
        chroma_url now names another server) is refused while the Chroma holds any other
        generation: opening it would create it empty and drop the others as obsolete."""
        existing = self._existing()
        pointer = self._state.get_meta(meta_keys.GENERATION)
        if pointer is not None:
            number = int(pointer)
            if number not in existing and existing:
                held = ", ".join(str(n) for n in sorted(existing))
                raise StoreError(
                    f"this home's state points at store generation {number}, which {where} "
                    f"does not hold (it holds generation {held}); nothing was changed",
                    hint="Point chroma_url back at the Chroma this home was built with, or use "
                    "a new home (--home) for this Chroma.",
                )
            if number not in existing:
                log.warning("%s holds no paperbrief data: starting generation %d empty",
                            where, number)  # fmt: skip
        else:
            complete = [
                n
                for n, cols in existing.items()
                if "papers" in cols and (cols["papers"].metadata or {}).get("complete")
            ]
            number = max(complete) if complete else max(existing, default=0) + 1
        gen = self._open(number, embedder, complete=True)
        if pointer is None:
            self._state.set_meta(meta_keys.GENERATION, str(number))
        for old in existing:
            if old < number:  # left by a reindex killed after its switch
                log.info("dropping obsolete store generation %d", old)
                self.drop(old)
        return gen

    def reopen(self, gen: Generation) -> Generation:
        """The same generation through this manager's (new) client, nothing created."""
        papers = self._client.get_collection(papers_name(gen.number), embedding_function=None)
        chunks = self._client.get_collection(chunks_name(gen.number), embedding_function=None)
        return Generation(gen.number, papers, chunks, gen.embedder_id)

    def create_next(self, current: int, embedder: Embedder) -> Generation:
        """A fresh, incomplete generation above every existing one; half-built generations
        from an interrupted reindex are dropped first."""
        existing = self._existing()
        for number in existing:
            if number > current:
                log.info("dropping unfinished store generation %d", number)
                self.drop(number)
        number = max([current, *existing]) + 1
        return self._open(number, embedder, complete=False)

    def record_embedder(self, gen: Generation, embedder: Embedder) -> None:
        for col in (gen.papers, gen.chunks):
            meta = dict(col.metadata or {})
            meta.update(embedder_id=embedder.model_id, embedder_dim=int(embedder.dim or 0))
            col.modify(metadata=meta)
        gen.embedder_id = embedder.model_id
        self._state.set_meta(meta_keys.EMBEDDER_ID, embedder.model_id)

    def activate(self, gen: Generation, embedder: Embedder) -> None:
        """Mark ``gen`` complete and make it live: the switch of a reindex."""
        for col in (gen.papers, gen.chunks):
            meta = dict(col.metadata or {})
            meta.update(complete=True, embedder_id=embedder.model_id, embedder_dim=embedder.dim)
            col.modify(metadata=meta)
        gen.embedder_id = embedder.model_id
        self._state.set_meta(meta_keys.GENERATION, str(gen.number))
        self._state.set_meta(meta_keys.EMBEDDER_ID, embedder.model_id)

    def drop(self, number: int) -> None:
        from chromadb.errors import NotFoundError

        for name in (papers_name(number), chunks_name(number)):
            with contextlib.suppress(NotFoundError):
                self._client.delete_collection(name)
