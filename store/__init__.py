"""paperbrief's persistence layer: papers and chunks in Chroma, BM25 beside them, run state in
SQLite, and the embedders that turn text into vectors.

``store`` imports neither ``agent`` nor ``prompts``: it takes and returns plain dicts. Heavy
libraries (chromadb, onnxruntime, bm25s) are imported only when first used, and so are the
names below (numpy and friends): ``store.layout`` alone must stay cheap for the CLI.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from store.embedder import Embedder, make_embedder
    from store.paper_store import PaperStore
    from store.results import StoreHit, StoreStats, UpsertResult
    from store.state import StateDB

_HOMES = {
    "Embedder": "store.embedder",
    "make_embedder": "store.embedder",
    "PaperStore": "store.paper_store",
    "StateDB": "store.state",
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
