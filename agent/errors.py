"""Every error paperbrief raises on purpose, each with a hint that says how to fix it.

The tree::

    PaperbriefError                 base: message + hint + exit_code
    ├── ConfigError                 bad or missing configuration (exit 2)
    │   └── MissingKeyError         an API key / password is needed and absent
    ├── InputError                  a local file we cannot read (encoding, columns, format) (exit 2)
    ├── SourceError                 a remote source failed (exit 1)
    │   ├── SourceUnreachable       DNS/connect/timeout after retries
    │   ├── SourceHTTPError         an HTTP status we cannot recover from (4xx, 5xx after retries)
    │   └── FeedParseError          the payload is not the feed we expected
    ├── StoreError                  Chroma / BM25 / state database problems (exit 1)
    │   ├── StoreUnavailable        a Chroma server that does not answer
    │   └── EmbeddingMismatchError  the store was built by another embedding model (exit 2)
    ├── EmbedderError               the embedding model cannot be loaded or called
    ├── LLMError                    the model failed; ``retryable``: may a later try work?
    ├── DeliveryError               e-mail could not be sent
    └── LockedError                 another run holds the store's lock

The CLI is the only place that turns these into exit codes and one-line messages; library
users catch ``PaperbriefError`` (or a branch) and read ``.hint``.
"""

from __future__ import annotations


class PaperbriefError(Exception):
    """Base class: ``str(err)`` is the problem, ``err.hint`` the fix."""

    exit_code: int = 1
    default_hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint

    def __str__(self) -> str:
        return self.message


class ConfigError(PaperbriefError):
    exit_code = 2
    default_hint = (
        "Check the config file (`paperbrief config show`) and the PAPERBRIEF_* variables."
    )


class MissingKeyError(ConfigError):
    pass


class InputError(PaperbriefError):
    exit_code = 2


class SourceError(PaperbriefError):
    def __init__(self, message: str, *, source: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.source = source


class SourceUnreachable(SourceError):
    default_hint = "Check your network connection or the source's base URL in the config."


class SourceHTTPError(SourceError):
    def __init__(
        self, message: str, *, status: int, source: str = "", hint: str | None = None
    ) -> None:
        super().__init__(message, source=source, hint=hint)
        self.status = status


class FeedParseError(SourceError):
    default_hint = "The source sent something that is not a feed; retry later or check its URL."


class StoreError(PaperbriefError):
    pass


class StoreUnavailable(StoreError):
    default_hint = "Start the Chroma server (`chroma run --path DIR`) or unset chroma_url."


class EmbeddingMismatchError(StoreError):
    exit_code = 2
    default_hint = "Run `paperbrief reindex` to rebuild the store with the configured model."


class EmbedderError(PaperbriefError):
    default_hint = "Reinstall paperbrief (`pip install --force-reinstall paperbrief`)."


class LLMError(PaperbriefError):
    def __init__(self, message: str, *, retryable: bool = False, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retryable = retryable


class DeliveryError(PaperbriefError):
    default_hint = "Check the smtp_* settings with `paperbrief config show`."


class LockedError(PaperbriefError):
    exit_code = 3
    default_hint = "Another paperbrief run is using this store; wait for it to finish."
