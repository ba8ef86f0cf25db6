"""Re-embedding every paper into a new store generation (``paperbrief reindex``).

Reads the stored documents of the live generation page by page and writes a new, incomplete
generation beside it; PaperStore.reindex then switches the pointer and drops the old one. A
kill before the switch leaves the old generation live and untouched.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from store.chroma.batches import ChromaBatches
from store.chroma.generations import Generation, GenerationManager
from store.embedding.embedders import Embedder
from store.papers import records as rec_mod
from store.papers.writing import write_prepared

log = logging.getLogger(__name__)


def rebuild_generation(
    gens: GenerationManager,
    live: Generation,
    embedder: Embedder,
    batches: ChromaBatches,
    *,
    page_size: int,
    progress: Callable[[int], None] | None = None,
) -> tuple[Generation, int]:
    """Build the generation after ``live`` with ``embedder``, reading ``page_size`` papers at
    a time; returns it (written, not yet live) and the number of papers it holds."""
    new = gens.create_next(live.number, embedder)
    log.info("reindex: building generation %d with %s", new.number, embedder.model_id)
    page_size = max(1, min(page_size, batches.size))
    done = 0
    offset = 0
    while True:
        page = live.papers.get(include=["metadatas", "documents"], limit=page_size, offset=offset)
        if not page["ids"]:
            break
        offset += len(page["ids"])
        recs = []
        kept: dict[str, str] = {}
        for pid, meta, doc in zip(page["ids"], page["metadatas"], page["documents"], strict=True):
            rec = rec_mod.normalise_record(rec_mod.record_from_chroma(pid, doc or "", meta or {}))
            recs.append(rec)
            kept[pid] = str((meta or {}).get("ingested_at") or rec_mod.now_iso())
        batch = rec_mod.prepare_batch(recs, embedder.embed, functools.partial(_kept, kept))
        write_prepared(batches, new, batch)
        done += len(recs)
        if progress is not None:
            progress(done)
        if len(page["ids"]) < page_size:
            break
    return new, done


def _kept(kept: dict[str, str], rec: dict[str, Any]) -> str:
    """A paper's ingest time as the old generation recorded it."""
    return kept[rec["id"]]
