"""The BM25 index on disk: immutable segment folders, and a CURRENT file naming the live manifest.

``root/seg-<tag>/`` is one :class:`store.bm25.segment.Segment` (chunks.json: its chunk ids,
paper ids, filter fields and the vocabulary terms it added; tokens/offsets/indptr/rows/tf.npy:
token ids and raw term-count postings; vectors.npy: float16 chunk vectors, optional).
``root/idx-<revision>-<tag>/manifest.json`` lists the segments in order and the rows dropped
since they were written (``dead``, global row numbers), and CURRENT names that folder. A write
of a few papers saves one new small segment and a new manifest; the big segments already on
disk are shared, never rewritten (until the index is compacted into one segment again). A save
fsyncs the new folders, then replaces CURRENT (and fsyncs the root), so a reader, a crash or a
power cut never leaves CURRENT naming half an index; a load that finds anything missing or
inconsistent returns None and the store rebuilds the index. Saves take a small lock of their
own (``.save.lock``) so two processes never remove each other's folders.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from store.bm25.segment import Segment
from store.layout import BM25_CURRENT

log = logging.getLogger(__name__)

_MANIFEST = "manifest.json"
_SAVE_LOCK = ".save.lock"
#: Written into the manifest: an index of an older format (one bm25s folder with precomputed
#: scores, format 2) is rebuilt rather than read.
FORMAT = 3


@dataclass
class IndexFiles:
    """What a saved index holds: its segments in order and the rows dropped since."""

    revision: int
    segments: list[Segment]
    dead: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))


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


def write(root: Path, revision: int, segments: Sequence[Segment], dead: np.ndarray) -> None:
    """Call under :func:`save_lock`. Saves only the segments not on disk yet."""
    root.mkdir(parents=True, exist_ok=True)
    for segment in segments:
        if segment.name is None or not (root / segment.name).is_dir():
            folder = root / f"seg-{uuid.uuid4().hex[:12]}"
            segment.save(folder)
            for path in folder.iterdir():
                _fsync(path)
            _fsync(folder)
    name = f"idx-{revision}-{uuid.uuid4().hex[:8]}"
    target = root / name
    target.mkdir()
    manifest = {
        "format": FORMAT,
        "revision": revision,
        "segments": [s.name for s in segments],
        "dead": [int(r) for r in dead],
    }
    (target / _MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    _fsync(target / _MANIFEST)
    _fsync(target)  # the folder's entries, before CURRENT may name it
    tmp = root / f"{BM25_CURRENT}.{name}.tmp"
    tmp.write_text(name, encoding="utf-8")
    _fsync(tmp)
    os.replace(tmp, root / BM25_CURRENT)
    _fsync(root)  # the rename itself
    live = {name, *(s.name for s in segments)}
    for old in root.iterdir():
        # A reader loading one of these gets None and rebuilds: it never sees half an index.
        if old.is_dir() and old.name not in live:
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
        manifest_path = target / _MANIFEST
        if not manifest_path.is_file() and target.is_dir():
            log.info("BM25 index under %s has an older format; it will be rebuilt", root)
            return None
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT:
            log.info("BM25 index under %s has an older format; it will be rebuilt", root)
            return None
        segments = [Segment.load(root / name) for name in manifest["segments"]]
        dead = np.asarray(manifest["dead"], dtype=np.int64)
        return IndexFiles(int(manifest["revision"]), segments, dead)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError) as exc:
        log.warning("BM25 index under %s unreadable (%s); it will be rebuilt", root, exc)
        return None
