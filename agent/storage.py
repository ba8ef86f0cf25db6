"""The bridge to the store: Settings pick the embedder and the store's backends, and a full or
read-only disk under the home is told as what it is.

The store raises paperbrief's own errors (``store.errors`` holds the tree's root), so nothing
here translates them. A disk is another matter: a full one surfaces as ``OSError`` ENOSPC from a
file write, SQLite's "database or disk is full", Chroma's "(code: 13) database or disk is full"
wrapped in its own errors; a read-only home as EROFS or SQLite's "unable to open database
file". ``disk_error`` looks through an error's causes for any of them and returns a DiskError
naming the path, the free space and the fix; the CLI's error boundary asks it about every
failure before calling one a bug (exit 70).
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from agent import errors
from agent.errors import DiskError, cause_chain
from store.layout import StoreLayout
from store.state.health import damage_of

if TYPE_CHECKING:
    from agent.config import Settings
    from store import Embedder
    from store.backends import Backends
    from store.seams import DigestHistory, ReaderSignals, SummaryCache


def make_embedder(settings: Settings) -> Embedder:
    """The embedder the settings ask for: the bundled MiniLM or an OpenAI-compatible endpoint."""
    from store import make_embedder as _make

    if settings.embedding.provider == "openai":
        key = settings.embedding.api_key or settings.llm.api_key
        base = settings.embedding.base_url or settings.llm.base_url
        if key is None and base is None:
            raise errors.MissingKeyError(
                "embedding_provider=openai needs an endpoint or an API key.",
                hint="Set OPENAI_API_KEY (or PAPERBRIEF_EMBEDDING_BASE_URL for a local "
                "server), or use embedding_provider=minilm.",
            )
        return _make(
            "openai",
            model=settings.embedding.model,
            base_url=base,
            api_key=key.get_secret_value() if key else "unused",
        )
    return _make(
        "minilm",
        threads=settings.embedding.threads,
        batch_size=settings.embedding.batch_size,
        kernels=settings.embedding.kernels,
    )


def backends(settings: Settings) -> Backends:
    """The store's backends for these settings: shared on the ``chroma_url`` server when set,
    else the home's own (store.backends is where the choice is made)."""
    from store.backends import Backends

    settings.home.mkdir(parents=True, exist_ok=True)
    return Backends(settings.home, settings.store.chroma_url)


def open_summary_cache(settings: Settings) -> SummaryCache:
    """The summary cache: shared when ``chroma_url`` is set, so no machine pays an LLM twice."""
    return backends(settings).summary_cache()


def open_history(settings: Settings) -> DigestHistory:
    """Digest history: shared when ``chroma_url`` is set, so nothing is sent twice whichever
    machine sends; the digests' files stay under the home."""
    return backends(settings).digest_history()


def open_signals(settings: Settings) -> ReaderSignals:
    """Each profile's library and ratings: shared when ``chroma_url`` is set, so a rating given
    on a reader's machine reaches the writer that ranks the digest."""
    return backends(settings).reader_signals()


# --- a full or read-only disk ---------------------------------------------------------------
_FULL = ("database or disk is full", "no space left on device", "disk quota exceeded")
_READ_ONLY = ("read-only file system", "attempt to write a readonly database")
_CANNOT_OPEN = "unable to open database file"  # SQLite, when it may not create its journal


def disk_error(exc: BaseException, home: Path | str | None) -> errors.PaperbriefError | None:
    """The DiskError behind ``exc`` (the home is ``home``), a StateDamaged for SQLite's report
    of a damaged state file, or None when it is something else."""
    home_path = Path(home).expanduser() if home else None
    for cause in cause_chain(exc):
        if isinstance(cause, DiskError):
            return cause
        code = cause.errno if isinstance(cause, OSError) else None
        where = _filename(cause) or home_path
        text = str(cause).lower()
        if code in (errno.ENOSPC, errno.EDQUOT) or any(t in text for t in _FULL):
            return disk_full(where)
        if code == errno.EROFS or any(t in text for t in _READ_ONLY):
            return read_only(home_path or where, read_only_fs=True)
        if code in (errno.EACCES, errno.EPERM) and _inside(where, home_path):
            return read_only(home_path, read_only_fs=False)
        if _CANNOT_OPEN in text and home_path is not None and not _writable(home_path):
            return read_only(home_path, read_only_fs=_on_read_only_fs(home_path))
        if home_path is not None and (damage := damage_of(cause, StoreLayout(home_path).state_db)):
            return damage  # a page found missing after the file opened (it was truncated)
    return None


def disk_full(path: Path | None) -> DiskError:
    where = str(path) if path is not None else "the home"
    folder = _existing(path)
    free = ""
    if folder is not None:
        free = f" ({_size(shutil.disk_usage(folder).free)} free)"
    return DiskError(
        f"The disk holding {where} is full{free}: paperbrief could not write there.",
        path=where,
        hint=f"Free some space on it (`df -h {folder or '.'}` shows how much), or move the home "
        "to a larger disk (--home or PAPERBRIEF_HOME), then run the command again.",
    )


def read_only(path: Path | None, *, read_only_fs: bool) -> DiskError:
    where = str(path) if path is not None else "the home"
    what = "is on a read-only file system" if read_only_fs else "is not writable by you"
    return DiskError(
        f"The home {where} {what}: paperbrief keeps its store, state and lock there, and "
        "every command writes to them.",
        path=where,
        hint="Give --home (or PAPERBRIEF_HOME) a directory you can write to"
        + ("." if read_only_fs else f", or make it yours (`chown -R $USER {where}`)."),
    )


def _filename(exc: BaseException) -> Path | None:
    name = getattr(exc, "filename", None) if isinstance(exc, OSError) else None
    return Path(os.fsdecode(name)) if isinstance(name, str | bytes) else None


def _inside(path: Path | None, home: Path | None) -> bool:
    if path is None or home is None:
        return False
    try:
        return path.resolve().is_relative_to(home.resolve())
    except OSError:
        return False


def _writable(path: Path) -> bool:
    folder = _existing(path)
    return folder is not None and os.access(folder, os.W_OK)


def _on_read_only_fs(path: Path) -> bool:
    folder = _existing(path)
    if folder is None:
        return False
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _existing(path: Path | None) -> Path | None:
    """``path`` or its nearest existing parent folder."""
    while path is not None and not path.is_dir():
        path = path.parent if path.parent != path else None
    return path


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover


__all__ = [
    "backends",
    "disk_error",
    "disk_full",
    "make_embedder",
    "open_history",
    "open_signals",
    "open_summary_cache",
    "read_only",
]
