"""Settings: one typed object, read from (highest first) explicit arguments, ``PAPERBRIEF_*`` /
``OPENAI_*`` environment variables, a TOML file, then the defaults below.

The TOML file is ``--config PATH``, else ``$PAPERBRIEF_CONFIG``, else ``config.toml`` in the
platform config dir. ``home`` and ``sources`` sit at the top of the file; everything else lives
in a table per group (``[llm] model = "..."``), or in the environment as
``PAPERBRIEF_LLM__MODEL``. The flat names of 0.1 (``llm_model = "..."``,
``PAPERBRIEF_LLM_MODEL``) are still read: see agent.config.flat.
"""

from __future__ import annotations

import os
import stat
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs
from pydantic import Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from agent.config.flat import (
    ENV_PREFIX,
    FLAT_KEYS,
    FlatEnvSource,
    LenientEnvSource,
    NestedSource,
    describe_errors,
    secret_paths,
    written_names,
)
from agent.config.groups import (
    ArxivSettings,
    AskSettings,
    DigestSettings,
    EmbeddingSettings,
    FulltextSettings,
    HFSettings,
    HTTPSettings,
    LLMSettings,
    ProfileSettings,
    SmtpSettings,
    StoreSettings,
)
from agent.config.lists import CommaList
from agent.config.secrets import mask_url_credentials
from agent.errors import ConfigError

if TYPE_CHECKING:
    from store.layout import StoreLayout

APP_NAME = "paperbrief"
DEFAULT_PROFILE = "default"
_toml_path: ContextVar[Path | None] = ContextVar("paperbrief_toml_path", default=None)


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_home() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME))


class Settings(BaseSettings):
    """Everything paperbrief can be told. ``Settings.load()`` is the usual way in."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    home: Path = Field(
        default_factory=default_home,
        description="Directory for all data: Chroma store, BM25 index, state, digests.",
    )
    sources: CommaList = Field(
        default_factory=lambda: ["arxiv-rss"],
        description="Sources `paperbrief ingest` pulls by default: arxiv-rss, arxiv, hf.",
    )
    store: StoreSettings = Field(default_factory=StoreSettings, description="The paper store.")
    embedding: EmbeddingSettings = Field(
        default_factory=EmbeddingSettings, description="The embedding model."
    )
    arxiv: ArxivSettings = Field(default_factory=ArxivSettings, description="arXiv sources.")
    hf: HFSettings = Field(default_factory=HFSettings, description="Hugging Face daily papers.")
    http: HTTPSettings = Field(
        default_factory=HTTPSettings, description="HTTP client shared by sources."
    )
    fulltext: FulltextSettings = Field(
        default_factory=FulltextSettings,
        description="Reading papers' full text (arXiv HTML, else the PDF).",
    )
    llm: LLMSettings = Field(default_factory=LLMSettings, description="The language model.")
    digest: DigestSettings = Field(
        default_factory=DigestSettings, description="The digest and what it ranks higher."
    )
    ask: AskSettings = Field(default_factory=AskSettings, description="Answering questions.")
    smtp: SmtpSettings = Field(default_factory=SmtpSettings, description="Sending the digest.")
    profiles: dict[str, ProfileSettings] = Field(
        default_factory=dict,
        description="Named readers ([profiles.NAME]): each gets its own ranked digest from the "
        "one store. The [digest] group and smtp.to are the profile named 'default'.",
    )

    @field_validator("home")
    @classmethod
    def _usable_home(cls, value: Path) -> Path:
        value = value.expanduser()
        # Checked here, where home is resolved, so a file given as --home is a clear exit 2
        # rather than a FileExistsError deep in the store.
        where = next(p for p in (value, *value.parents, Path(value.anchor or ".")) if p.exists())
        fix = "give --home (or PAPERBRIEF_HOME, or home in the config file) a directory"
        if not where.is_dir():
            raise PydanticCustomError(
                "home_not_a_directory",
                "{path} is a file, not a directory: {fix}; it is created if missing",
                {"path": str(where), "fix": fix},
            )
        if where != value and not os.access(where, os.W_OK | os.X_OK):
            raise PydanticCustomError(
                "home_not_creatable",
                "{home} cannot be created: {path} is not writable; {fix} you can write to",
                {"home": str(value), "path": str(where), "fix": fix},
            )
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
        # Nested environment names beat flat ones: a user migrating sets the new one.
        sources: list[PydanticBaseSettingsSource] = [
            NestedSource(init_settings),
            NestedSource(LenientEnvSource(settings_cls), env=True),
            FlatEnvSource(settings_cls),
        ]
        toml_path = _toml_path.get()
        if toml_path is not None:
            sources.append(NestedSource(TomlConfigSettingsSource(settings_cls, toml_path)))
        return tuple(sources)

    # --- loading ------------------------------------------------------------------------------
    @classmethod
    def load(cls, config: Path | str | None = None, **overrides: Any) -> Settings:
        """Read settings the way the CLI does; raise ConfigError with a fix on bad input.

        ``overrides`` take the nested form (``llm={"model": "x"}``) or a flat 0.1 name
        (``llm_model="x"``); None means "not given".
        """
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
        names_token = written_names.set({})
        try:
            return cls(**{k: v for k, v in overrides.items() if v is not None})
        except ValidationError as exc:
            names = written_names.get() or {}
            raise ConfigError(describe_errors(exc, path_or_none, names)) from None
        except SettingsError as exc:  # a source that could not be read at all
            cause = f": {exc.__cause__}" if exc.__cause__ else ""
            raise ConfigError(f"Invalid settings ({exc}{cause}).") from None
        finally:
            written_names.reset(names_token)
            _toml_path.reset(token)

    # --- derived values -----------------------------------------------------------------------
    @property
    def layout(self) -> StoreLayout:
        """Paths under ``home`` (store.layout names them)."""
        from store.layout import StoreLayout

        return StoreLayout(self.home)

    @property
    def state_path(self) -> Path:
        return self.layout.state_db

    def profile(self, name: str | None = None) -> ProfileSettings:
        """The named reader profile; ``None`` or ``"default"`` is the [digest] group with
        smtp.to as recipients (unless [profiles.default] exists)."""
        name = name or DEFAULT_PROFILE
        if name in self.profiles:
            found = self.profiles[name]
            return found if found.to else found.model_copy(update={"to": list(self.smtp.to)})
        if name == DEFAULT_PROFILE:
            return ProfileSettings(**self.digest.model_dump(), to=list(self.smtp.to))
        known = ", ".join([DEFAULT_PROFILE, *sorted(self.profiles)])
        raise ConfigError(
            f"No profile named {name!r}.",
            hint=f"Use one of: {known}; or add [profiles.{name}] to the config file.",
        )

    @property
    def profile_names(self) -> list[str]:
        """Every profile a daily run serves: the named ones, else just the default."""
        return sorted(self.profiles) or [DEFAULT_PROFILE]

    @property
    def llm_enabled(self) -> bool:
        return self.llm.base_url is not None or self.llm.api_key is not None

    @property
    def evidence_gate(self) -> float:
        """The cosine under which ``ask`` refuses: ``ask.min_similarity``, except that its default
        was calibrated on MiniLM's cosines, so with another embedder only a value the user set
        counts and the gate is otherwise off (a MiniLM cut could refuse every question)."""
        if self.embedding.provider == "minilm" or "min_similarity" in self.ask.model_fields_set:
            return self.ask.min_similarity
        return 0.0

    def masked(self) -> dict[str, Any]:
        """Effective settings as plain data (groups nested) with secrets replaced by a marker,
        including a password written into a URL (``https://user:pass@host``)."""
        data = self.model_dump(mode="json")
        for group, field in SECRET_PATHS:
            if data[group].get(field):
                data[group][field] = "****"
        return mask_url_credentials(data)


#: (group, field) of every secret; the flat names of 0.1 for the same secrets.
SECRET_PATHS = secret_paths(Settings)
SECRET_FLAT_KEYS = tuple(flat for flat, path in FLAT_KEYS.items() if path in SECRET_PATHS)


def _check_toml(path: Path) -> None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"Config file {path} is not valid TOML: {exc}.", hint="Fix the line it names."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read config file {path}: {exc}.") from None
    secrets = [k for k in SECRET_FLAT_KEYS if data.get(k)]
    secrets += [
        f"{group}.{field}"
        for group, field in SECRET_PATHS
        if isinstance(data.get(group), dict) and data[group].get(field)
    ]
    if secrets and os.name == "posix":
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ConfigError(
                f"Config file {path} holds {', '.join(secrets)} but is readable by others "
                f"(mode {mode:o}).",
                hint=f"Run `chmod 600 {path}` or move the secret to an environment variable.",
            )
