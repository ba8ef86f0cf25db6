"""Settings: one typed object, read from (highest first) explicit arguments, ``PAPERBRIEF_*`` /
``OPENAI_*`` environment variables, a TOML file, then the defaults below.

The TOML file is ``--config PATH``, else ``$PAPERBRIEF_CONFIG``, else ``config.toml`` in the
platform config dir. Keys are the field names below, at the top level of the file.
"""

from __future__ import annotations

import os
import stat
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from agent.errors import ConfigError

APP_NAME = "paperbrief"
_toml_path: ContextVar[Path | None] = ContextVar("paperbrief_toml_path", default=None)

SECRET_FIELDS = ("openai_api_key", "embedding_api_key", "smtp_password")


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_home() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME))


class Settings(BaseSettings):
    """Everything paperbrief can be told. ``Settings.load()`` is the usual way in."""

    model_config = SettingsConfigDict(
        env_prefix="PAPERBRIEF_", extra="forbid", validate_default=True, populate_by_name=True
    )

    # --- where data lives -------------------------------------------------------------------
    home: Path = Field(
        default_factory=default_home,
        description="Directory for all data: Chroma store, BM25 index, state, digests.",
    )
    chroma_url: str | None = Field(
        None,
        description="URL of a Chroma server (e.g. http://127.0.0.1:8000); unset = embedded store "
        "under home.",
    )
    hnsw_ef_search: int = Field(500, ge=10, description="HNSW ef_search, fixed at creation.")
    hnsw_ef_construction: int = Field(
        200, ge=10, description="HNSW ef_construction, fixed at creation."
    )

    # --- embeddings ---------------------------------------------------------------------------
    embedding_provider: Literal["minilm", "openai"] = Field(
        "minilm",
        description="minilm = bundled all-MiniLM-L6-v2 (offline, ONNX); openai = any "
        "OpenAI-compatible /v1/embeddings endpoint.",
    )
    embedding_model: str = Field(
        "text-embedding-3-small", description="Model name for embedding_provider=openai."
    )
    embedding_base_url: str | None = Field(
        None, description="Base URL for embedding_provider=openai (defaults to llm_base_url)."
    )
    embedding_api_key: SecretStr | None = Field(
        None, description="Key for the embeddings endpoint (defaults to openai_api_key)."
    )
    embedding_threads: int = Field(
        0, ge=0, description="CPU threads for minilm (batches run concurrently); 0 = all cores."
    )
    embedding_batch_size: int = Field(32, ge=1, description="Texts per embedding batch.")

    # --- sources ------------------------------------------------------------------------------
    sources: list[str] = Field(
        default_factory=lambda: ["arxiv-rss"],
        description="Sources `paperbrief ingest` pulls by default: arxiv-rss, arxiv, hf.",
    )
    arxiv_categories: list[str] = Field(
        default_factory=lambda: ["cs.LG", "cs.CL", "cs.AI"],
        description="arXiv categories for arxiv-rss and arxiv.",
    )
    arxiv_announce_types: list[str] = Field(
        default_factory=lambda: ["new", "cross"],
        description="Which RSS announcements to keep: new, cross, replace, replace-cross.",
    )
    arxiv_query: str | None = Field(
        None, description="arXiv API search_query (e.g. 'all:diffusion'); ANDed with categories."
    )
    arxiv_max_results: int = Field(
        500, ge=1, le=30000, description="Most papers one arxiv API ingest fetches."
    )
    arxiv_page_size: int = Field(100, ge=1, le=2000, description="arXiv API page size.")
    arxiv_rss_url: str = Field("https://rss.arxiv.org/rss", description="arXiv RSS base URL.")
    arxiv_api_url: str = Field(
        "https://export.arxiv.org/api/query", description="arXiv query API URL."
    )
    arxiv_min_interval: float = Field(
        3.0, ge=0, description="Seconds between requests to any arXiv endpoint (arXiv's terms)."
    )
    hf_api_url: str = Field(
        "https://huggingface.co/api/daily_papers", description="Hugging Face daily papers API."
    )
    http_timeout: float = Field(30.0, gt=0, description="Seconds before an HTTP request fails.")
    http_retries: int = Field(4, ge=0, description="Retries on 429/5xx/connection resets.")
    http_backoff: float = Field(2.0, ge=0, description="First retry delay in seconds; doubles.")
    user_agent: str = Field(
        "paperbrief/0.1 (+https://pypi.org/project/paperbrief/)",
        description="User-Agent sent to sources.",
    )

    # --- language model ------------------------------------------------------------------------
    llm_base_url: str | None = Field(
        None,
        validation_alias=AliasChoices("llm_base_url", "PAPERBRIEF_LLM_BASE_URL", "OPENAI_BASE_URL"),
        description="OpenAI-compatible endpoint (OpenAI, Ollama, vLLM, llama.cpp). Unset with no "
        "key = no-model engine.",
    )
    llm_model: str = Field("gpt-4o-mini", description="Chat model name at the endpoint.")
    openai_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices(
            "openai_api_key", "PAPERBRIEF_OPENAI_API_KEY", "OPENAI_API_KEY"
        ),
        description="API key for the endpoint (env OPENAI_API_KEY).",
    )
    llm_timeout: float = Field(60.0, gt=0, description="Seconds per LLM request.")
    llm_max_retries: int = Field(3, ge=0, description="Retries on 429 / timeouts / 5xx.")
    llm_max_concurrency: int = Field(4, ge=1, description="LLM requests in flight at once.")
    llm_max_tokens: int = Field(600, ge=16, description="Cap on generated tokens per request.")
    llm_temperature: float = Field(0.2, ge=0, le=2, description="Sampling temperature.")
    llm_prices: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: {
            "gpt-4o-mini": (0.15, 0.60),
            "gpt-4o": (2.50, 10.00),
            "gpt-4.1-mini": (0.40, 1.60),
            "gpt-4.1-nano": (0.10, 0.40),
        },
        description="USD per million tokens (input, output) by model; unknown models cost 0.",
    )

    # --- digest ---------------------------------------------------------------------------------
    interests: list[str] = Field(
        default_factory=list,
        description="Free-text research interests; close papers rank higher in the digest.",
    )
    interest_keywords: list[str] = Field(
        default_factory=list,
        description="Words/phrases that lift a paper in the digest (title hits count double).",
    )
    interest_seed_ids: list[str] = Field(
        default_factory=list, description="Ids of stored papers like the ones you want."
    )
    not_interested: list[str] = Field(
        default_factory=list, description="Terms that push a paper down in the digest."
    )
    digest_min_score: float | None = Field(
        None, description="With a profile, drop papers scoring below this (about 0.3-0.5)."
    )
    digest_max_papers: int | None = Field(None, ge=1, description="Most papers one digest carries.")

    # --- questions ------------------------------------------------------------------------------
    ask_min_similarity: float | None = Field(
        None,
        ge=-1,
        le=1,
        description="Refuse to answer when the best chunk's cosine to the question is below this; "
        "unset = 0.42 with the bundled MiniLM (calibrated by bench/eval_qa.py), off otherwise.",
    )
    ask_min_term_coverage: float | None = Field(
        None,
        ge=0,
        le=1,
        description="A question under ask_min_similarity is still answered when one retrieved "
        "paper holds this share of its BM25 term weight; unset = 0.40 (bench/eval_qa.py).",
    )
    ask_check_answerable: bool = Field(
        True,
        description="With an LLM: before answering, ask it whether the best-matching paper "
        "reports what the question asks (one extra short call), and refuse near misses.",
    )
    ask_min_answerable_log_odds: float | None = Field(
        None,
        description="Refuse when the model's log-odds of YES over NO in that check are below "
        "this; unset = -1.4 (fitted for Qwen2.5-Coder-1.5B by bench/eval_qa.py); 0 = its word.",
    )
    ask_k: int = Field(6, ge=1, le=50, description="Papers in an answer's context.")
    ask_agentic: Literal["auto", "always", "never"] = Field(
        "auto", description="May the model search again with tools (auto: for comparisons etc.)."
    )

    # --- email ----------------------------------------------------------------------------------
    smtp_host: str | None = Field(None, description="SMTP server host.")
    smtp_port: int | None = Field(None, description="SMTP port (default 587 starttls, 465 tls).")
    smtp_user: str | None = Field(None, description="SMTP login user.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password (env preferred).")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="starttls, tls (implicit) or none (only for localhost relays)."
    )
    smtp_from: str | None = Field(None, description="From address of the digest.")
    smtp_ca_file: Path | None = Field(
        None, description="PEM CA file to trust for the SMTP server (self-signed relays)."
    )
    smtp_timeout: float = Field(
        30.0, gt=0, description="Seconds before an SMTP connection or command fails."
    )
    email_to: list[str] = Field(default_factory=list, description="Default digest recipients.")

    @field_validator("home", "smtp_ca_file")
    @classmethod
    def _expand_user(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @field_validator("arxiv_announce_types")
    @classmethod
    def _known_announce_types(cls, value: list[str]) -> list[str]:
        known = {"new", "cross", "replace", "replace-cross"}
        bad = [v for v in value if v not in known]
        if bad:
            raise ValueError(f"unknown announce type(s) {bad}; use {sorted(known)}")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = _toml_path.get()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)

    # --- loading ------------------------------------------------------------------------------
    @classmethod
    def load(cls, config: Path | str | None = None, **overrides: Any) -> Settings:
        """Read settings the way the CLI does; raise ConfigError with a fix on bad input."""
        explicit = config is not None or "PAPERBRIEF_CONFIG" in os.environ
        path = Path(config or os.environ.get("PAPERBRIEF_CONFIG") or default_config_path())
        path = path.expanduser()
        if not path.exists():
            if explicit:
                raise ConfigError(
                    f"Config file {path} does not exist.",
                    hint="Create it with `paperbrief init` or point --config at an existing file.",
                )
            path_or_none = None
        else:
            _check_toml(path)
            path_or_none = path
        token = _toml_path.set(path_or_none)
        try:
            return cls(**{k: v for k, v in overrides.items() if v is not None})
        except ValidationError as exc:
            raise ConfigError(_describe(exc, path_or_none)) from None
        finally:
            _toml_path.reset(token)

    # --- derived paths ----------------------------------------------------------------------
    @property
    def chroma_path(self) -> Path:
        return self.home / "chroma"

    @property
    def state_path(self) -> Path:
        return self.home / "state.sqlite3"

    @property
    def bm25_path(self) -> Path:
        return self.home / "bm25"

    @property
    def llm_enabled(self) -> bool:
        return self.llm_base_url is not None or self.openai_api_key is not None

    def masked(self) -> dict[str, Any]:
        """Effective settings as plain data with secrets replaced by a marker."""
        data = self.model_dump(mode="json")
        for name in SECRET_FIELDS:
            if data.get(name):
                data[name] = "****"
        return data


def _check_toml(path: Path) -> None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"Config file {path} is not valid TOML: {exc}.", hint="Fix the line it names."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read config file {path}: {exc}.") from None
    secrets = [k for k in SECRET_FIELDS if data.get(k)]
    if secrets and os.name == "posix":
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ConfigError(
                f"Config file {path} holds {', '.join(secrets)} but is readable by others "
                f"(mode {mode:o}).",
                hint=f"Run `chmod 600 {path}` or move the secret to an environment variable.",
            )


def _describe(exc: ValidationError, path: Path | None) -> str:
    where = f" (config file {path} or PAPERBRIEF_* environment)" if path else ""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "settings"
        parts.append(f"{loc}: {err['msg']}")
    return f"Invalid settings{where}: " + "; ".join(parts)
