"""paperbrief's persistence layer: papers and chunks in Chroma, BM25 beside them, run state in
SQLite, and the embedders that turn text into vectors.

::

    paper_store.py  PaperStore, the entry point     results.py  what it hands back
    papers/         records, chunks, read, write, search and fusion, reindex
    chroma/         the client, batch limits, generations, reads that retry
    bm25/           tokens, segments on disk, the index and its keeper
    embedding/      MiniLM (bundled, assets/), its fused graph, /embeddings endpoints
    seams.py        one Protocol per storage concern with two backends:
    state/ shared/  the home's SQLite file, or the shared `chroma run` server
    backends.py     the one place that chooses between them
    errors.py       the error tree's root     layout.py  paths under a home
    phases.py       start-up timing

``store`` imports neither ``agent`` nor ``prompts``: it takes and returns plain dicts. Heavy
libraries (chromadb, onnxruntime, bm25s) are imported only when first used, and so are the
names below (numpy and friends): ``store.layout`` alone must stay cheap for the CLI.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from store.embedding.embedders import Embedder, make_embedder
    from store.paper_store import PaperStore
    from store.results import StoreHit, StoreStats, UpsertResult
    from store.state.db import StateDB

_HOMES = {
    "Embedder": "store.embedding.embedders",
    "make_embedder": "store.embedding.embedders",
    "PaperStore": "store.paper_store",
    "StateDB": "store.state.db",
    "StoreHit": "store.results",
    "StoreStats": "store.results",
    "UpsertResult": "store.results",
}

__all__ = [
    "Embedder",
    "PaperStore",
    "StateDB",
    "StoreHit",
    "StoreStats",
    "UpsertResult",
    "make_embedder",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'store' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
