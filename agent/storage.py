"""The bridge to the layers below ``agent``: their errors become ours; Settings pick the embedder.

``store`` and ``prompts`` cannot import ``agent`` (data flows one way), so they raise their own
error classes. ``store_errors()`` turns each into the matching class of ``agent.errors`` through
one table, keeping the message, the hint and the original as ``__cause__``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING

from agent import errors

if TYPE_CHECKING:
    from agent.config import Settings
    from store import Embedder
    from store.digest_history import DigestHistory
    from store.reader_signals import ReaderSignals
    from store.summary_cache import SummaryCache


@cache
def error_table() -> dict[type[Exception], type[errors.PaperbriefError]]:
    """Each lower-layer error class -> the paperbrief error it becomes (subclasses are looked up
    along the raised error's MRO, so the most specific entry wins)."""
    import prompts
    from store import errors as store_err
    from store.lease import LeaseHeld
    from store.minilm_graph import GraphMismatch

    return {
        LeaseHeld: errors.LockedError,
        store_err.EmbeddingMismatch: errors.EmbeddingMismatchError,
        store_err.StoreUnavailable: errors.StoreUnavailable,
        GraphMismatch: errors.EmbedderError,
        store_err.EmbedderUnavailable: errors.EmbedderError,
        store_err.StoreError: errors.StoreError,
        prompts.PromptError: errors.PromptError,
    }


def translate(exc: Exception) -> errors.PaperbriefError | None:
    """The paperbrief error for a lower-layer error, or None when the table has no entry."""
    table = error_table()
    target = next((table[cls] for cls in type(exc).__mro__ if cls in table), None)
    if target is None:
        return None
    # Store errors carry their own hint; a lower-layer error without one gets the class default.
    return target(str(exc), hint=getattr(exc, "hint", None) or None)


@contextmanager
def store_errors() -> Iterator[None]:
    """Raise the store's (and the prompts') errors as paperbrief errors inside this block."""
    try:
        yield
    except tuple(error_table()) as exc:
        mapped = translate(exc)
        assert mapped is not None  # every class caught above is a key of the table
        raise mapped from exc


def make_embedder(settings: Settings) -> Embedder:
    """The embedder the settings ask for: the bundled MiniLM or an OpenAI-compatible endpoint."""
    from store import make_embedder as _make

    with store_errors():
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


def open_summary_cache(settings: Settings) -> SummaryCache:
    """The summary cache: on the shared Chroma server when ``chroma_url`` is set (so no machine
    pays an LLM twice for one summary), else in the home's SQLite file."""
    settings.home.mkdir(parents=True, exist_ok=True)
    url = settings.store.chroma_url
    with store_errors():
        if url:
            from store.shared_summaries import SharedSummaryCache

            return SharedSummaryCache(url, settings.state_path)  # type: ignore[return-value]
        from store.summary_cache import SummaryCache

        return SummaryCache(settings.state_path)


def open_history(settings: Settings) -> DigestHistory:
    """Digest history: which papers each profile was sent lives on the shared Chroma server
    when ``chroma_url`` is set (nothing is sent twice, whichever machine sends); the digests'
    files stay under the home."""
    url = settings.store.chroma_url
    with store_errors():
        if url:
            from store.shared_history import SharedDigestHistory

            return SharedDigestHistory.in_home(settings.home, url)  # type: ignore[return-value]
        from store.digest_history import DigestHistory

        return DigestHistory.in_home(settings.home)


def open_signals(settings: Settings) -> ReaderSignals:
    """Each profile's library and ratings: on the shared Chroma server when ``chroma_url`` is
    set (a rating given on a reader's machine reaches the writer that ranks the digest)."""
    url = settings.store.chroma_url
    with store_errors():
        if url:
            from store.shared_signals import SharedReaderSignals

            return SharedReaderSignals(url)  # type: ignore[return-value]
        from store.reader_signals import ReaderSignals

        return ReaderSignals(settings.state_path)


__all__ = [
    "error_table",
    "make_embedder",
    "open_history",
    "open_signals",
    "open_summary_cache",
    "store_errors",
    "translate",
]
