"""Every error paperbrief raises on purpose, each with a hint that says how to fix it.

The tree::

    PaperbriefError                 base: message + hint + exit_code (1 unless said)
    ├── ConfigError                 bad or missing configuration (exit 2)
    │   └── MissingKeyError         an API key / password is needed and absent
    ├── InputError                  bad input: a local file, a date, an id, a query (exit 2)
    │   └── LibraryFormatError      a library export (BibTeX, RIS, ...) with a broken entry
    ├── SourceError                 a remote source failed
    │   ├── SourceUnreachable       DNS/connect/timeout after retries
    │   ├── SourceHTTPError         an HTTP status we cannot recover from (4xx, 5xx after retries)
    │   └── FeedParseError          the payload is not the feed we expected
    ├── StoreError                  Chroma / BM25 / state database problems
    │   ├── StoreUnavailable        a Chroma server that does not answer
    │   └── EmbeddingMismatchError  the store was built by another embedding model (exit 2)
    ├── EmbedderError               the embedding model cannot be loaded or called
    ├── LLMError                    the model failed; ``retryable``: may a later try work?
    │   ├── LLMCallError            a request failed; ``kind`` says how (auth, timeout, ...) [1]
    │   ├── ParseFailure            the reply is not the JSON the schema asks for; ``raw`` holds it
    │   └── ToolsUnsupported        the endpoint refuses tool calls (ask falls back to one search)
    ├── PromptError                 a prompt file is malformed or rendered with wrong variables
    ├── DeliveryError               e-mail could not be sent
    └── LockedError                 another run holds the store's lock (exit 3)

[1] defined in ``agent.llm.errors`` beside ``classify_error``, since it carries the ``Usage``
record of what the failed calls cost (``agent.models``, which itself raises errors from here).

``store`` and ``prompts`` sit below ``agent`` and cannot import it, so they raise their own
errors; ``agent.storage.store_errors`` turns them into this tree through one table, at the
boundary of every ``PaperAgent`` method that reaches them.

The CLI is the only place that turns these into exit codes and one-line messages; library
users catch ``PaperbriefError`` (or a branch) and read ``.hint``.
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


class FeedParseError(SourceError):
    default_hint = "The source sent something that is not a feed; retry later or check its URL."


class StoreError(PaperbriefError):
    default_hint = (
        "Run `paperbrief doctor`; if the store is damaged, `paperbrief reindex` rebuilds it."
    )


class StoreUnavailable(StoreError):
    default_hint = "Start the Chroma server (`chroma run --path DIR`) or unset chroma_url."


class EmbeddingMismatchError(StoreError):
    exit_code = 2
    default_hint = "Run `paperbrief reindex` to rebuild the store with the configured model."


class EmbedderError(PaperbriefError):
    default_hint = "Reinstall paperbrief (`pip install --force-reinstall paperbrief`)."


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


class PromptError(PaperbriefError):
    default_hint = (
        "A prompt file shipped with paperbrief is broken: reinstall it "
        "(`pip install --force-reinstall paperbrief`)."
    )


class DeliveryError(PaperbriefError):
    default_hint = "Check the smtp_* settings with `paperbrief config show`."


class LockedError(PaperbriefError):
    exit_code = 3
    default_hint = "Another paperbrief run is using this store; wait for it to finish."


__all__ = [
    "ConfigError",
    "DeliveryError",
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
    "SourceUnreachable",
    "StoreError",
    "StoreUnavailable",
    "ToolsUnsupported",
]
