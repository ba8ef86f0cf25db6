"""Paper dicts <-> Chroma documents and metadata.

Chroma metadata holds str/int/float/bool and non-empty lists of them, never None: None values
and empty lists are left out and restored on the way back, so ``get`` returns what ``upsert``
was given. Dates are kept twice: the ISO text as given, and epoch seconds for range filters.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

#: Every key of a paper dict (agent.models.Paper.model_dump(mode="json")), in order.
PAPER_FIELDS = (
    "id",
    "version",
    "title",
    "abstract",
    "authors",
    "categories",
    "primary_category",
    "published",
    "updated",
    "source",
    "url",
    "pdf_url",
    "announce_type",
    "extra",
    "content_hash",
)
_LIST_FIELDS = ("authors", "categories")
_SCALAR_FIELDS = (
    "version",
    "primary_category",
    "published",
    "updated",
    "source",
    "url",
    "pdf_url",
    "announce_type",
)
#: Chunk metadata that copies paper fields (a change to these rewrites the chunks' metadata).
CHUNK_FILTER_FIELDS = ("published_ts", "source", "primary_category", "categories")
#: Bookkeeping keys that are not part of the paper dict. A paper's chunks are
#: ``<id>#<slot>`` for slots in [chunk_base, n_chunks): a new version is written to slots the
#: old one does not use, so old and new chunks coexist until the record (the commit) switches
#: the range, and a crash in between leaves the paper whole in one version or the other.
INTERNAL_KEYS = (
    "n_chunks", "chunk_base", "published_ts", "updated_ts", "title", "ingested_at", "extra_json"
)  # fmt: skip

_WS = re.compile(r"\s+")


def content_hash(title: str, abstract: str) -> str:
    """The hash of the text a paper's chunks embed (whitespace collapsed): the one definition,
    which agent.models.Paper.content_hash returns too."""
    norm = _WS.sub(" ", title or "").strip() + "\n" + _WS.sub(" ", abstract or "").strip()
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()[:32]


def to_epoch(value: Any) -> int | None:
    """ISO text or datetime -> epoch seconds (naive means UTC); None/unparseable -> None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        try:
            dt = datetime.fromisoformat(str(value))
        except ValueError:
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp())


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def normalise_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A copy with every paper key present, datetimes as ISO text and a content_hash."""
    if not record.get("id"):
        raise ValueError("paper record without an id")
    rec: dict[str, Any] = {key: record.get(key) for key in PAPER_FIELDS}
    rec["id"] = str(rec["id"])
    rec["title"] = rec["title"] or ""
    rec["abstract"] = rec["abstract"] or ""
    for key in ("published", "updated"):
        if isinstance(rec[key], datetime):
            rec[key] = rec[key].isoformat()
    rec["authors"] = [str(a) for a in rec["authors"] or []]
    rec["categories"] = [str(c) for c in rec["categories"] or []]
    rec["extra"] = dict(rec["extra"] or {})
    if not rec["content_hash"]:
        rec["content_hash"] = content_hash(rec["title"], rec["abstract"])
    return rec


def paper_document(rec: Mapping[str, Any]) -> str:
    return f"{rec['title']}\n\n{rec['abstract']}"


def paper_metadata(
    rec: Mapping[str, Any], *, ingested_at: str, n_chunks: int, chunk_base: int = 0
) -> dict[str, Any]:
    """``n_chunks`` is the end of the paper's chunk slots, ``chunk_base`` their start."""
    meta: dict[str, Any] = {
        "title": rec["title"],
        "content_hash": rec["content_hash"],
        "ingested_at": ingested_at,
        "n_chunks": int(n_chunks),
        "chunk_base": int(chunk_base),
        "extra_json": json.dumps(rec["extra"], sort_keys=True, ensure_ascii=False, default=str),
    }
    for key in _SCALAR_FIELDS:
        if rec.get(key) is not None:
            meta[key] = rec[key]
    for key in _LIST_FIELDS:
        if rec.get(key):
            meta[key] = list(rec[key])
    for key, ts_key in (("published", "published_ts"), ("updated", "updated_ts")):
        ts = to_epoch(rec.get(key))
        if ts is not None:
            meta[ts_key] = ts
    if "published_ts" not in meta and (ts := to_epoch(ingested_at)) is not None:
        # Undated papers (pasted pages) are dated by their ingest time, so every date window
        # (search, ask, summarize, digest) treats them alike; ``published`` stays None.
        meta["published_ts"] = ts
    return meta


def chunk_metadata(paper_meta: Mapping[str, Any], paper_id: str, n: int) -> dict[str, Any]:
    meta: dict[str, Any] = {"paper_id": paper_id, "n": n}
    for key in CHUNK_FILTER_FIELDS:
        if key in paper_meta:
            meta[key] = paper_meta[key]
    return meta


def chunk_id(paper_id: str, n: int) -> str:
    return f"{paper_id}#{n}"


def chunk_slots(meta: Mapping[str, Any] | None) -> range:
    """The chunk slots a paper record commits (empty without a record)."""
    meta = meta or {}
    return range(int(meta.get("chunk_base", 0)), int(meta.get("n_chunks", 0)))


def first_slot(old: range | None, count: int) -> int:
    """Where a new version of ``count`` chunks starts: in slots the old version leaves free."""
    if old is None or not old:
        return 0
    return 0 if old.start >= count else old.stop


def comparable(meta: Mapping[str, Any] | None) -> dict[str, Any]:
    """Metadata minus what changes on every write, to tell real metadata changes apart."""
    skip = ("ingested_at", "n_chunks", "chunk_base")
    return {k: v for k, v in (meta or {}).items() if k not in skip}


def chunk_fields(meta: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: (meta or {}).get(k) for k in CHUNK_FILTER_FIELDS}


def record_from_chroma(paper_id: str, document: str, meta: Mapping[str, Any]) -> dict[str, Any]:
    """The paper dict as it was given to upsert, plus ``ingested_at``."""
    title = str(meta.get("title", ""))
    prefix = title + "\n\n"
    abstract = document[len(prefix) :] if document.startswith(prefix) else document
    rec: dict[str, Any] = {
        "id": paper_id,
        "title": title,
        "abstract": abstract,
        "content_hash": meta.get("content_hash"),
        "ingested_at": meta.get("ingested_at"),
    }
    for key in _SCALAR_FIELDS:
        rec[key] = meta.get(key)
    for key in _LIST_FIELDS:
        rec[key] = list(meta.get(key) or [])
    try:
        rec["extra"] = json.loads(meta.get("extra_json") or "{}")
    except ValueError:
        rec["extra"] = {}
    return {key: rec[key] for key in (*PAPER_FIELDS, "ingested_at")}


def build_where(
    *,
    since_ts: int | None = None,
    until_ts: int | None = None,
    source: str | None = None,
    category: str | None = None,
) -> dict | None:
    """A Chroma ``where`` over the fields paper and chunk records share (published in
    [since_ts, until_ts), source, category among the paper's categories)."""
    clauses: list[dict] = []
    if since_ts is not None:
        clauses.append({"published_ts": {"$gte": int(since_ts)}})
    if until_ts is not None:
        clauses.append({"published_ts": {"$lt": int(until_ts)}})
    if source is not None:
        clauses.append({"source": source})
    if category is not None:
        clauses.append({"categories": {"$contains": category}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


@dataclass
class PreparedBatch:
    """Chroma rows for a batch of papers: chunks (with vectors) and paper records."""

    chunk_ids: list[str]
    chunk_texts: list[str]
    chunk_vectors: np.ndarray
    chunk_metas: list[dict[str, Any]]
    paper_ids: list[str]
    paper_docs: list[str]
    paper_vectors: np.ndarray
    paper_metas: list[dict[str, Any]]


def prepare_batch(
    recs: list[dict[str, Any]],
    embed: Callable[[list[str]], np.ndarray],
    ingested_at: Callable[[dict[str, Any]], str],
    old_slots: Mapping[str, range] | None = None,
) -> PreparedBatch:
    """Chunk, embed (all chunks of the batch in one call, so they sort by length together) and
    build the rows; a paper's vector is the normalised mean of its chunk vectors. A paper in
    ``old_slots`` (its stored version's slots) gets slots that version does not use."""
    from store.papers.chunking import chunk_paper

    per_paper = [chunk_paper(r["title"], r["abstract"]) for r in recs]
    texts = [t for chunks in per_paper for t in chunks]
    vectors = np.asarray(embed(texts), dtype=np.float32)
    chunk_ids: list[str] = []
    chunk_metas: list[dict[str, Any]] = []
    paper_metas: list[dict[str, Any]] = []
    paper_vecs = np.zeros((len(recs), vectors.shape[1] if len(texts) else 0), dtype=np.float32)
    pos = 0
    for i, (rec, chunks) in enumerate(zip(recs, per_paper, strict=True)):
        base = first_slot((old_slots or {}).get(rec["id"]), len(chunks))
        pmeta = paper_metadata(
            rec, ingested_at=ingested_at(rec), n_chunks=base + len(chunks), chunk_base=base
        )
        paper_metas.append(pmeta)
        for n in range(base, base + len(chunks)):
            chunk_ids.append(chunk_id(rec["id"], n))
            chunk_metas.append(chunk_metadata(pmeta, rec["id"], n))
        mean = vectors[pos : pos + len(chunks)].mean(axis=0)
        paper_vecs[i] = mean / max(float(np.linalg.norm(mean)), 1e-12)
        pos += len(chunks)
    return PreparedBatch(
        chunk_ids=chunk_ids,
        chunk_texts=texts,
        chunk_vectors=vectors,
        chunk_metas=chunk_metas,
        paper_ids=[r["id"] for r in recs],
        paper_docs=[paper_document(r) for r in recs],
        paper_vectors=paper_vecs,
        paper_metas=paper_metas,
    )
