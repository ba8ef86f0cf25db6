"""Connecting to Chroma (embedded or a server) and naming what it holds.

chromadb is imported inside functions: it costs ~1.3 s and the CLI must start fast.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from store.errors import PaperbriefError, StoreError, StoreUnavailable

PAPERS_PREFIX = "pb_papers_g"
CHUNKS_PREFIX = "pb_chunks_g"
_GEN = re.compile(r"^pb_(papers|chunks)_g(\d+)$")
#: Bumped when the layout of records changes incompatibly.
SCHEMA_VERSION = 1


def papers_name(generation: int) -> str:
    return f"{PAPERS_PREFIX}{generation}"


def chunks_name(generation: int) -> str:
    return f"{CHUNKS_PREFIX}{generation}"


def parse_generation(name: str) -> tuple[str, int] | None:
    """("papers" | "chunks", generation) for our collection names, else None."""
    m = _GEN.match(name)
    return (m.group(1), int(m.group(2))) if m else None


def split_url(url: str) -> tuple[str, int, bool]:
    """http(s)://host[:port] -> (host, port, ssl); the port defaults to 8000 / 443."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StoreError(
            f"chroma_url {url!r} is not an http(s) URL",
            hint="Use a URL like http://127.0.0.1:8000, or unset chroma_url.",
        )
    ssl = parts.scheme == "https"
    return parts.hostname, parts.port or (443 if ssl else 8000), ssl


def open_client(path: Path, chroma_url: str | None) -> Any:
    """PersistentClient under ``path`` or HttpClient for ``chroma_url``; telemetry off."""
    from store.phases import phase

    with phase("chromadb import"):
        import chromadb
        from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False)
    if not chroma_url:
        path.mkdir(parents=True, exist_ok=True)
        try:
            return chromadb.PersistentClient(path=str(path), settings=settings)
        except Exception as exc:
            raise StoreError(
                f"cannot open the Chroma store at {path}: {exc}",
                hint="Check that the directory is writable and not used by another Chroma "
                "version; `paperbrief status` shows the path.",
            ) from exc
    host, port, ssl = split_url(chroma_url)
    try:
        client = chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=settings)
        client.heartbeat()
    except Exception as exc:
        raise StoreUnavailable(
            f"Chroma server at {chroma_url} is unreachable: {exc}",
        ) from exc
    return client


def _is_connection_error(exc: BaseException) -> bool:
    try:
        import httpx
    except ImportError:  # pragma: no cover - httpx is a dependency
        return isinstance(exc, ConnectionError)
    return isinstance(exc, httpx.TransportError | ConnectionError)


@contextlib.contextmanager
def chroma_errors(chroma_url: str | None) -> Iterator[None]:
    """Turn a server that went away mid-run into StoreUnavailable naming its URL."""
    try:
        yield
    except PaperbriefError:  # already ours: an embedder's, a store's
        raise
    except Exception as exc:
        if chroma_url and _is_connection_error(exc):
            raise StoreUnavailable(
                f"Chroma server at {chroma_url} stopped answering: {type(exc).__name__}: {exc}"
            ) from exc
        raise
