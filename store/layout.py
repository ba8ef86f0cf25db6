"""Where everything lives under a paperbrief home directory: the one place that names it.

```
home/
  chroma/          embedded Chroma (unless chroma_url names a server)
  bm25/            the BM25 index: idx-<revision>-<tag>/ folders and CURRENT naming the live one
  state.sqlite3    StateDB, the summary cache, digest history (each its own tables)
  digests/<id>/    every saved digest's files
  run.lock         one writer at a time (agent.lock)
```

Renaming any of these strands the data of existing homes, so they are constants here, not
spelled out by each module that opens a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CHROMA_DIR = "chroma"
BM25_DIR = "bm25"
STATE_DB = "state.sqlite3"
DIGESTS_DIR = "digests"
RUN_LOCK = "run.lock"
#: Inside the BM25 folder: names the index folder that is live (switched atomically).
BM25_CURRENT = "CURRENT"


@dataclass(frozen=True)
class StoreLayout:
    """Paths under one home; nothing is created by asking for them."""

    home: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "home", Path(self.home))

    @property
    def chroma(self) -> Path:
        return self.home / CHROMA_DIR

    @property
    def bm25(self) -> Path:
        return self.home / BM25_DIR

    @property
    def state_db(self) -> Path:
        return self.home / STATE_DB

    @property
    def digests(self) -> Path:
        return self.home / DIGESTS_DIR

    @property
    def run_lock(self) -> Path:
        return self.home / RUN_LOCK

    def digest_folder(self, digest_id: str) -> Path:
        return self.digests / safe_name(digest_id)


def safe_name(name: str) -> str:
    """A file or folder name from an id: no separators, no leading dots."""
    cleaned = "".join(c if c.isalnum() or c in "-_.T" else "_" for c in name).lstrip(".")
    return cleaned or "digest"
