"""Exact token counts with tiktoken, offline.

tiktoken downloads its BPE files on first use, which fails on a machine without network. The
``bpe-openai`` package ships the same files gzipped; ``ensure_offline_bpe`` copies them into a
cache directory under the user's cache, named the way tiktoken names its cache entries (sha1 of
the download URL), checks their sha256 against the hash tiktoken expects, and points
``TIKTOKEN_CACHE_DIR`` there before tiktoken reads anything.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

if TYPE_CHECKING:
    from tiktoken import Encoding

log = logging.getLogger(__name__)

_BASE_URL = "https://openaipublic.blob.core.windows.net/encodings/"
#: sha256 of each BPE file, as tiktoken_ext.openai_public expects them.
EXPECTED_SHA256 = {
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
}
DEFAULT_ENCODING = "o200k_base"
_lock = threading.Lock()
_ready: set[tuple[str, str]] = set()


def default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("paperbrief")) / "tiktoken"


def cache_key(encoding: str) -> str:
    """File name tiktoken uses for an encoding in TIKTOKEN_CACHE_DIR."""
    return hashlib.sha1((_BASE_URL + encoding + ".tiktoken").encode()).hexdigest()


def ensure_offline_bpe(
    cache_dir: Path | None = None, encodings: Iterable[str] = tuple(EXPECTED_SHA256)
) -> Path:
    """Install the shipped BPE files into ``cache_dir`` and set TIKTOKEN_CACHE_DIR to it.

    Idempotent and cheap after the first call. Raises RuntimeError when a shipped file does not
    hash to what tiktoken expects (a changed upload must not silently change token counts).
    """
    target = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    with _lock:
        for name in encodings:
            if (str(target), name) in _ready:
                continue
            dest = target / cache_key(name)
            if not (dest.exists() and _sha256(dest.read_bytes()) == EXPECTED_SHA256[name]):
                data = _shipped_bpe(name)
                target.mkdir(parents=True, exist_ok=True)
                tmp = dest.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_bytes(data)
                tmp.replace(dest)
                log.debug("installed %s BPE into %s", name, dest)
            _ready.add((str(target), name))
        os.environ["TIKTOKEN_CACHE_DIR"] = str(target)
    return target


def _shipped_bpe(name: str) -> bytes:
    # find_spec locates the package without importing it (its __init__ loads a native library).
    spec = importlib.util.find_spec("bpe_openai")
    try:
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError("package bpe_openai is not installed")
        folder = Path(next(iter(spec.submodule_search_locations)))
        blob = (folder / "data" / f"{name}.tiktoken.gz").read_bytes()
    except OSError as exc:
        raise RuntimeError(
            f"the {name} BPE file is not installed ({exc}); reinstall paperbrief "
            "(it depends on bpe-openai)"
        ) from None
    data = gzip.decompress(blob)
    digest = _sha256(data)
    if digest != EXPECTED_SHA256[name]:
        raise RuntimeError(
            f"{name} BPE shipped by bpe-openai has sha256 {digest}, tiktoken expects "
            f"{EXPECTED_SHA256[name]}; refusing to use it"
        )
    return data


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def encoding_for_model(model: str) -> str:
    """cl100k_base for the GPT-4/3.5 family, o200k_base for everything newer or unknown.

    Local models (Llama, Qwen, SmolLM...) have their own tokenizers; o200k is a close, stable
    stand-in for budgeting and benchmarks, and the API's own usage wins whenever it is given.
    """
    m = model.lower()
    if m.startswith(("gpt-4-", "gpt-3.5")) or m == "gpt-4" or "embedding-ada" in m:
        return "cl100k_base"
    return DEFAULT_ENCODING


def get_encoding(name: str = DEFAULT_ENCODING, cache_dir: Path | None = None) -> Encoding:
    ensure_offline_bpe(cache_dir)
    import tiktoken

    return tiktoken.get_encoding(name)


class TokenCounter:
    """Counts tokens of text and chat messages the way OpenAI bills them."""

    # Per-message and per-reply overheads of the chat format (OpenAI's cookbook figures).
    PER_MESSAGE = 3
    PER_REPLY = 3

    def __init__(self, model: str = "gpt-4o-mini", cache_dir: Path | None = None) -> None:
        self.model = model
        self.encoding_name = encoding_for_model(model)
        self._enc = get_encoding(self.encoding_name, cache_dir)

    def count(self, text: str) -> int:
        return len(self._enc.encode(text, disallowed_special=()))

    def count_messages(self, messages: Iterable[tuple[str, str]]) -> int:
        """Tokens of ``(role, content)`` pairs as a chat prompt."""
        total = self.PER_REPLY
        for role, content in messages:
            total += self.PER_MESSAGE + self.count(role) + self.count(content)
        return total
