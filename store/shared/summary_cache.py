"""The summary cache on a shared Chroma server: what one machine paid an LLM for, every
machine reads.

The shared twin of store.state.summary_cache (store.seams.SummaryCache: the Summarizer does
not know which it has). A row's id is a hash of its key (paper id, version, content hash,
model, prompt version); its document is the summary JSON. Which structured-output method an
endpoint accepts stays in the local cache: endpoints and their URLs are each machine's own
configuration.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from store.shared.table import Meta, SharedTable
from store.state.summary_cache import SqliteSummaryCache

_NO_VERSION = -1


def _v(version: int | None) -> int:
    return _NO_VERSION if version is None else version


def _row_id(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:32]


class SharedSummaryCache:
    """Summaries in ``pb_shared_summaries``; endpoint methods in the local SQLite file."""

    def __init__(self, chroma_url: str, local_path: Path, *, client: Any = None) -> None:
        self.rows = SharedTable(chroma_url, "summaries", client=client)
        self.local = SqliteSummaryCache(local_path)
        self.path = self.local.path

    def get(
        self, paper_id: str, version: int | None, content_hash: str, model: str, prompt_version: str
    ) -> str | None:
        row = self.rows.one(_row_id(paper_id, _v(version), content_hash, model, prompt_version))
        return row.doc if row else None

    def latest(
        self, paper_id: str, version: int | None = None, content_hash: str | None = None
    ) -> str | None:
        """The newest summary of a paper (optionally of one version / text), any model."""
        equal: dict[str, str | int] = {}
        if version is not None:
            equal["version"] = version
        if content_hash is not None:
            equal["content_hash"] = content_hash
        rows = self.rows.where_in("paper_id", [paper_id], **equal)
        if not rows:
            return None
        return max(rows, key=lambda r: (float(r.meta.get("created_ts", 0)), r.id)).doc

    def put(
        self,
        paper_id: str,
        version: int | None,
        content_hash: str,
        model: str,
        prompt_version: str,
        summary_json: str,
    ) -> None:
        key = (paper_id, _v(version), content_hash, model, prompt_version)
        meta: Meta = {"paper_id": paper_id, "version": _v(version), "content_hash": content_hash,
                      "model": model, "prompt_version": prompt_version,
                      "created_ts": time.time()}  # fmt: skip
        self.rows.put([(_row_id(*key), summary_json, meta)])

    def delete_for_paper(self, paper_id: str) -> int:
        found = self.rows.where_in("paper_id", [paper_id])
        self.rows.delete([r.id for r in found])
        return len(found)

    def count(self) -> int:
        return self.rows.count()

    def get_method(self, endpoint: str, model: str) -> str | None:
        return self.local.get_method(endpoint, model)

    def set_method(self, endpoint: str, model: str, method: str | None) -> None:
        self.local.set_method(endpoint, model, method)

    def close(self) -> None:
        self.local.close()
