"""Every error paperbrief raises on purpose, each with a hint that says how to fix it.

The tree::

    PaperbriefError                 base: message + hint + exit_code (1 unless said)
    ├── ConfigError                 bad or missing configuration (exit 2)
    │   └── MissingKeyError         an API key / password is needed and absent
    ├── InputError                  bad input: a local file, a date, an id, a query (exit 2)
    │   └── LibraryFormatError      a library export (BibTeX, RIS, ...) with a broken entry
    ├── DiskError                   the disk under the home is full or read-only (exit 2)
    ├── SourceError                 a remote source failed
    │   ├── SourceUnreachable       DNS/connect/timeout after retries
    │   ├── SourceHTTPError         an HTTP status we cannot recover from (4xx, 5xx after retries)
    │   ├── SourceTooLarge          an answer past ``http.max_bytes`` (reading stopped there)
    │   └── FeedParseError          the payload is not the feed we expected
    ├── StoreError                  Chroma / BM25 / state database problems [2]
    │   ├── StoreUnavailable        a Chroma server that does not answer
    │   ├── StateDamaged            the home's state file is damaged: restore its backup (exit 2)
    │   └── EmbeddingMismatchError  the store was built by another embedding model (exit 2)
    ├── EmbedderError               the embedding model cannot be loaded or called [2]
    ├── LLMError                    the model failed; ``retryable``: may a later try work?
    │   ├── LLMCallError            a request failed; ``kind`` says how (auth, timeout, ...) [1]
    │   ├── ParseFailure            the reply is not the JSON the schema asks for; ``raw`` holds it
    │   └── ToolsUnsupported        the endpoint refuses tool calls (ask falls back to one search)
    ├── PromptError                 a prompt file is malformed or rendered with wrong variables [3]
    ├── DeliveryError               e-mail could not be sent
    └── LockedError                 another run holds the store's lock (exit 3) [2]

[1] defined in ``agent.llm.errors`` beside ``classify_error``, since it carries the ``Usage``
record of what the failed calls cost (``agent.models``, which itself raises errors from here).
[2] defined in ``store.errors`` with the root ``PaperbriefError``: ``store`` sits below
``agent`` and may not import it, so the classes it raises live in the one module of ours every
layer may import, and this module re-exports them: ``agent.StoreError`` is the class the store
raises, with no translation at any boundary. The store also raises two subclasses of its own:
``LeaseHeld`` (a LockedError naming the shared store's writer) and ``GraphMismatch`` (an
EmbedderError).
[3] defined in ``prompts`` (on the same root), which loads and renders the prompt files.

The CLI is the only place that turns these into exit codes and one-line messages; library
users catch ``PaperbriefError`` (or a branch) and read ``.hint``.
"""

from __future__ import annotations

from collections.abc import Iterator

from prompts import PromptError
from store.errors import (
    EmbedderError,
    EmbeddingMismatchError,
    LockedError,
    PaperbriefError,
    StateDamaged,
    StoreError,
    StoreUnavailable,
)


class ConfigError(PaperbriefError):
    exit_code = 2
    default_hint = (
        "Check the config file (`paperbrief config show`) and the PAPERBRIEF_* variables."
    )


class MissingKeyError(ConfigError):
    default_hint = (
        "Set the key in the environment (never in the config file); see `paperbrief init`."
    )


class InputError(PaperbriefError):
    exit_code = 2
    default_hint = (
        "Check the value or file you passed; `paperbrief COMMAND --help` lists the forms."
    )


class LibraryFormatError(InputError):
    """A library export (BibTeX, RIS, CSL-JSON, Zotero CSV, id list) that cannot be read whole.

    The message names the file and the line or entry key; nothing from the file is imported.
    """

    default_hint = "Fix the entry named above, or re-export the library from Zotero and retry."


class DiskError(PaperbriefError):
    """The disk holding the home (or a file paperbrief writes) is full or read-only; ``path``
    names it. ``agent.storage.disk_error`` recognises one behind any lower-level error."""

    exit_code = 2
    default_hint = "Free some space, or give --home (PAPERBRIEF_HOME) a disk you can write to."

    def __init__(self, message: str, *, path: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.path = path


class SourceError(PaperbriefError):
    default_hint = (
        "Retry later; if it persists, check the source's URL in `paperbrief config show`."
    )

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


class SourceTooLarge(SourceError):
    """An answer larger than the size cap: reading stopped there, nothing of it was used."""

    default_hint = (
        "Ask for less (a shorter date range, fewer max_results), or raise "
        "PAPERBRIEF_HTTP__MAX_BYTES if the source really sends that much."
    )

    def __init__(
        self, message: str, *, limit: int = 0, source: str = "", hint: str | None = None
    ) -> None:
        super().__init__(message, source=source, hint=hint)
        self.limit = limit


class FeedParseError(SourceError):
    default_hint = "The source sent something that is not a feed; retry later or check its URL."


class LLMError(PaperbriefError):
    default_hint = "Check the LLM endpoint with `paperbrief llm check`."

    def __init__(self, message: str, *, retryable: bool = False, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retryable = retryable


class ParseFailure(LLMError):
    """The reply could not be turned into the schema; ``raw`` is what the model said."""

    default_hint = "Use a stronger model, or check the endpoint's structured-output support."

    def __init__(self, message: str, raw: str = "", *, hint: str | None = None) -> None:
        # Models are not deterministic: asking again (or asking for a repair) may parse.
        super().__init__(message, retryable=True, hint=hint)
        self.raw = raw


class ToolsUnsupported(LLMError):
    """The endpoint rejected a request with tools: answer from a single retrieval instead."""

    default_hint = "Use `paperbrief ask --single`, or an endpoint that supports tool calls."


class DeliveryError(PaperbriefError):
    default_hint = "Check the smtp_* settings with `paperbrief config show`."


def cause_chain(exc: BaseException | None) -> Iterator[BaseException]:
    """``exc``, then what it was raised from or during, innermost last (each once: a chain
    can loop). Clients wrap the error that matters (a timeout, a DNS failure, a full disk)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


__all__ = [
    "ConfigError",
    "DeliveryError",
    "DiskError",
    "EmbedderError",
    "EmbeddingMismatchError",
    "FeedParseError",
    "InputError",
    "LLMError",
    "LibraryFormatError",
    "LockedError",
    "MissingKeyError",
    "PaperbriefError",
    "ParseFailure",
    "PromptError",
    "SourceError",
    "SourceHTTPError",
    "SourceTooLarge",
    "SourceUnreachable",
    "StateDamaged",
    "StoreError",
    "StoreUnavailable",
    "ToolsUnsupported",
]
