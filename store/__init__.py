"""paperbrief's persistence layer: papers and chunks in Chroma, BM25 beside them, run state in
SQLite, and the embedders that turn text into vectors.

``store`` imports neither ``agent`` nor ``prompts``: it takes and returns plain dicts. Heavy
libraries (chromadb, onnxruntime, bm25s) are imported only when first used.
"""

from store.embedder import Embedder, make_embedder
from store.paper_store import PaperStore
from store.results import StoreHit, StoreStats, UpsertResult
from store.state import StateDB

__all__ = [
    "Embedder",
    "PaperStore",
    "StateDB",
    "StoreHit",
    "StoreStats",
    "UpsertResult",
    "make_embedder",
]
