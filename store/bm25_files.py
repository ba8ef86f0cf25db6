"""The BM25 index on disk: one folder per saved index, and a CURRENT file naming the live one.

``root/idx-<revision>-<tag>/`` holds bm25s's own files, ``chunks.json`` (revision, chunk and
paper ids, filter fields), and optionally ``vectors.npy`` (float16 chunk vectors) and
``tokens.npy`` + ``offsets.npy`` (every chunk's token ids). A save writes a fresh folder,
fsyncs its files and the folder, then replaces CURRENT (and fsyncs the root), so a reader, a
crash or a power cut never leaves CURRENT naming half an index; a load that finds anything
missing or inconsistent returns None and the store rebuilds the index. Saves take a small
lock of their own (``.save.lock``) so two processes never remove each other's folders.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from store.layout import BM25_CURRENT

log = logging.getLogger(__name__)

_META = "chunks.json"
_VECTORS = "vectors.npy"
_TOKENS = "tokens.npy"
_OFFSETS = "offsets.npy"
_SAVE_LOCK = ".save.lock"
#: Written into chunks.json: an index of an older format (saved before only proven indexes were
#: saved, so possibly missing papers) is rebuilt rather than trusted.
FORMAT = 2
#: BM25Index's per-chunk lists, saved in chunks.json under these names.
COLUMNS = ("chunk_ids", "paper_ids", "published_ts", "sources", "categories")


@dataclass
class IndexFiles:
    """What a saved index holds; ``columns`` are BM25Index's per-chunk lists by name."""

    revision: int
    retriever: Any
    columns: dict[str, list]
    vectors: np.ndarray | None = None
    tokens: tuple[np.ndarray, np.ndarray] | None = None


@contextlib.contextmanager
def save_lock(root: Path) -> Iterator[None]:
    """Held around a save: one process at a time switches CURRENT and prunes old folders."""
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / _SAVE_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the flock


def write(root: Path, files: IndexFiles) -> None:
    """Call under :func:`save_lock`."""
    root.mkdir(parents=True, exist_ok=True)
    name = f"idx-{files.revision}-{uuid.uuid4().hex[:8]}"
    target = root / name
    target.mkdir()
    if files.retriever is not None:
        files.retriever.save(str(target), show_progress=False)
    meta = {"format": FORMAT, "revision": files.revision, **files.columns}
    (target / _META).write_text(json.dumps(meta), encoding="utf-8")
    if files.vectors is not None:
        np.save(target / _VECTORS, np.asarray(files.vectors, dtype=np.float16))
    if files.tokens is not None:
        np.save(target / _TOKENS, files.tokens[0])
        np.save(target / _OFFSETS, files.tokens[1])
    for path in target.iterdir():
        _fsync(path)
    _fsync(target)  # the folder's entries, before CURRENT may name it
    tmp = root / f"{BM25_CURRENT}.{name}.tmp"
    tmp.write_text(name, encoding="utf-8")
    _fsync(tmp)
    os.replace(tmp, root / BM25_CURRENT)
    _fsync(root)  # the rename itself
    for old in root.iterdir():
        # A reader loading one of these gets None and rebuilds: it never sees half an index.
        if old.is_dir() and old.name != name:
            shutil.rmtree(old, ignore_errors=True)
        elif old.name.endswith(".tmp"):
            old.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def saved_revision(root: Path) -> int | None:
    """The revision the saved index was built at (from its folder name), cheaply."""
    try:
        name = (root / BM25_CURRENT).read_text(encoding="utf-8").strip()
        return int(name.split("-")[1])
    except (OSError, IndexError, ValueError):
        return None


def read(root: Path) -> IndexFiles | None:
    """The saved index, or None when there is none (or it is unreadable: rebuild then)."""
    try:
        target = root / (root / BM25_CURRENT).read_text(encoding="utf-8").strip()
        meta = json.loads((target / _META).read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            log.info("BM25 index under %s has an older format; it will be rebuilt", root)
            return None
        n_chunks = len(meta["chunk_ids"])
        retriever = None
        if n_chunks:
            import bm25s

            retriever = bm25s.BM25.load(str(target), load_corpus=False)
        vectors = None
        if (target / _VECTORS).is_file():  # memory-mapped: only filtered rows are read
            vectors = np.load(target / _VECTORS, mmap_mode="r")
            if len(vectors) != n_chunks:
                raise ValueError("vectors.npy does not match the chunk list")
        tokens = None
        if (target / _TOKENS).is_file():  # read only when the index is updated
            offsets = np.load(target / _OFFSETS, mmap_mode="r")
            tokens = (np.load(target / _TOKENS, mmap_mode="r"), offsets)
            if len(offsets) != n_chunks + 1:
                raise ValueError("offsets.npy does not match the chunk list")
        revision = int(meta["revision"])
        columns = {key: meta[key] for key in COLUMNS}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError) as exc:
        log.warning("BM25 index under %s unreadable (%s); it will be rebuilt", root, exc)
        return None
    return IndexFiles(revision, retriever, columns, vectors, tokens)
