"""The BM25 index beside Chroma: tokens, immutable segments on disk, the index, and the keeper
that holds it at the store's revision (entry point: ``store.bm25.keeper``)."""
