"""paperbrief: keeps researchers on top of new papers.

``PaperAgent(Settings.load())`` is the way in: ``.ingest()``, ``.summarize()``, ``.digest()``,
``.ask("...")``, ``.check_llm()``; ``run_checks(agent)`` is the doctor. Every name in
``__all__`` is public, and the ``paperbrief`` command imports nothing else from this package.

Importing this package is cheap: only the error tree loads at once. Every other
name is imported on first access, so chromadb, onnxruntime, langchain, openai and even pydantic
load only when something needs them (``paperbrief ask --help`` never does).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from agent.errors import (
    ConfigError,
    DeliveryError,
    DiskError,
    EmbedderError,
    EmbeddingMismatchError,
    FeedParseError,
    InputError,
    LibraryFormatError,
    LLMError,
    LockedError,
    MissingKeyError,
    PaperbriefError,
    ParseFailure,
    PromptError,
    SourceError,
    SourceHTTPError,
    SourceTooLarge,
    SourceUnreachable,
    StateDamaged,
    StoreError,
    StoreUnavailable,
    ToolsUnsupported,
)

if TYPE_CHECKING:  # what the lazy table below resolves to, for type checkers and IDEs
    from agent._version import __version__
    from agent.backfill import BackfillResult, run_backfill
    from agent.config import Settings, default_config_path
    from agent.config.secrets import mask_url
    from agent.daily import DailyResult, run_daily
    from agent.dates import parse_day, parse_since
    from agent.digest.mail import SmtpConfig, check_address
    from agent.digest.models import Digest, SendResult, Theme
    from agent.digest.render import format_for_path, write_digest
    from agent.digest.render import render as render_digest
    from agent.llm.errors import LLMCallError
    from agent.models import (
        ItemFailure,
        KeyTerm,
        Paper,
        RunReport,
        SearchHit,
        SourceReport,
        SourceStatus,
        Summary,
        Usage,
    )
    from agent.onboarding.config_template import write_config
    from agent.onboarding.demo import DemoResult, demo_settings, run_demo
    from agent.onboarding.doctor import Check, CheckStatus, run_checks
    from agent.pipeline import PaperAgent
    from agent.qa.chat import HELP as CHAT_HELP
    from agent.qa.chat import ChatSession
    from agent.qa.models import Answer, Citation, ToolCall
    from agent.serve.client import ask_daemon
    from agent.serve.daemon import serve_daemon
    from agent.serve.mcp_run import serve_mcp
    from agent.sources import FetchRequest
    from agent.storage import disk_error
    from agent.webhooks import check_webhooks, post_to_chat, webhooks_for

# public name -> (module, attribute): imported on first access, then cached in globals().
_LAZY: dict[str, tuple[str, str]] = {
    "__version__": ("agent._version", "__version__"),  # importlib.metadata alone costs ~20 ms
    "PaperAgent": ("agent.pipeline", "PaperAgent"),
    "Settings": ("agent.config", "Settings"),
    "default_config_path": ("agent.config", "default_config_path"),
    # records
    "Paper": ("agent.models", "Paper"),
    "Summary": ("agent.models", "Summary"),
    "KeyTerm": ("agent.models", "KeyTerm"),
    "Usage": ("agent.models", "Usage"),
    "SearchHit": ("agent.models", "SearchHit"),
    "RunReport": ("agent.models", "RunReport"),
    "SourceReport": ("agent.models", "SourceReport"),
    "SourceStatus": ("agent.models", "SourceStatus"),
    "ItemFailure": ("agent.models", "ItemFailure"),
    "FetchRequest": ("agent.sources", "FetchRequest"),
    "Answer": ("agent.qa.models", "Answer"),
    "Citation": ("agent.qa.models", "Citation"),
    "ToolCall": ("agent.qa.models", "ToolCall"),
    "ChatSession": ("agent.qa.chat", "ChatSession"),
    "CHAT_HELP": ("agent.qa.chat", "HELP"),
    "Digest": ("agent.digest.models", "Digest"),
    "Theme": ("agent.digest.models", "Theme"),
    "SendResult": ("agent.digest.models", "SendResult"),
    "Check": ("agent.onboarding.doctor", "Check"),
    "CheckStatus": ("agent.onboarding.doctor", "CheckStatus"),
    "LLMCallError": ("agent.llm.errors", "LLMCallError"),
    "DailyResult": ("agent.daily", "DailyResult"),
    "BackfillResult": ("agent.backfill", "BackfillResult"),
    "DemoResult": ("agent.onboarding.demo", "DemoResult"),
    # functions
    "parse_day": ("agent.dates", "parse_day"),
    "parse_since": ("agent.dates", "parse_since"),
    "run_checks": ("agent.onboarding.doctor", "run_checks"),
    "write_config": ("agent.onboarding.config_template", "write_config"),
    "render_digest": ("agent.digest.render", "render"),
    "write_digest": ("agent.digest.render", "write_digest"),
    "format_for_path": ("agent.digest.render", "format_for_path"),
    "SmtpConfig": ("agent.digest.mail", "SmtpConfig"),
    "check_address": ("agent.digest.mail", "check_address"),
    "mask_url": ("agent.config.secrets", "mask_url"),
    "disk_error": ("agent.storage", "disk_error"),
    "run_daily": ("agent.daily", "run_daily"),
    "run_backfill": ("agent.backfill", "run_backfill"),
    "run_demo": ("agent.onboarding.demo", "run_demo"),
    "demo_settings": ("agent.onboarding.demo", "demo_settings"),
    "serve_mcp": ("agent.serve.mcp_run", "serve_mcp"),
    "serve_daemon": ("agent.serve.daemon", "serve_daemon"),
    "ask_daemon": ("agent.serve.client", "ask_daemon"),
    "post_to_chat": ("agent.webhooks", "post_to_chat"),
    "check_webhooks": ("agent.webhooks", "check_webhooks"),
    "webhooks_for": ("agent.webhooks", "webhooks_for"),
}

__all__ = [
    "CHAT_HELP",
    "Answer",
    "BackfillResult",
    "ChatSession",
    "Check",
    "CheckStatus",
    "Citation",
    "ConfigError",
    "DailyResult",
    "DeliveryError",
    "DemoResult",
    "Digest",
    "DiskError",
    "EmbedderError",
    "EmbeddingMismatchError",
    "FeedParseError",
    "FetchRequest",
    "InputError",
    "ItemFailure",
    "KeyTerm",
    "LLMCallError",
    "LLMError",
    "LibraryFormatError",
    "LockedError",
    "MissingKeyError",
    "Paper",
    "PaperAgent",
    "PaperbriefError",
    "ParseFailure",
    "PromptError",
    "RunReport",
    "SearchHit",
    "SendResult",
    "Settings",
    "SmtpConfig",
    "SourceError",
    "SourceHTTPError",
    "SourceReport",
    "SourceStatus",
    "SourceTooLarge",
    "SourceUnreachable",
    "StateDamaged",
    "StoreError",
    "StoreUnavailable",
    "Summary",
    "Theme",
    "ToolCall",
    "ToolsUnsupported",
    "Usage",
    "__version__",
    "ask_daemon",
    "check_address",
    "check_webhooks",
    "default_config_path",
    "demo_settings",
    "disk_error",
    "format_for_path",
    "mask_url",
    "parse_day",
    "parse_since",
    "post_to_chat",
    "render_digest",
    "run_backfill",
    "run_checks",
    "run_daily",
    "run_demo",
    "serve_daemon",
    "serve_mcp",
    "webhooks_for",
    "write_config",
    "write_digest",
]


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'agent' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
