"""Reading the flat setting names of paperbrief 0.1 into today's nested groups.

0.1 had one flat list of prefixed names (``llm_model``, ``smtp_from``, ``email_to``) in the TOML
file, in ``PAPERBRIEF_*`` variables and as keyword arguments. Users' files and cron
environments still say that, so every settings source passes through ``nest`` before the sources
are merged: each source is nested on its own, so precedence (argument > environment > file) holds
between the two spellings too. ``FLAT_KEYS`` is the only place that knows the old names.
"""

from __future__ import annotations

import json
import os
import types
import typing
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource

from agent.errors import ConfigError

ENV_PREFIX = "PAPERBRIEF_"

#: Old flat name -> (group, field). Also read as the environment variable PAPERBRIEF_<NAME>.
FLAT_KEYS: dict[str, tuple[str, str]] = {
    **{f: ("store", f) for f in ("chroma_url", "hnsw_ef_search", "hnsw_ef_construction")},
    **{
        f"embedding_{f}": ("embedding", f)
        for f in ["provider", "model", "base_url", "api_key", "threads", "batch_size"]
    },
    **{
        f"arxiv_{f}": ("arxiv", f)
        for f in [
            "categories",
            "announce_types",
            "query",
            "max_results",
            "page_size",
            "rss_url",
            "api_url",
            "min_interval",
        ]
    },
    "hf_api_url": ("hf", "api_url"),
    **{f"http_{f}": ("http", f) for f in ("timeout", "retries", "backoff")},
    "user_agent": ("http", "user_agent"),
    "openai_api_key": ("llm", "api_key"),
    **{
        f"llm_{f}": ("llm", f)
        for f in [
            "base_url",
            "model",
            "timeout",
            "max_retries",
            "max_concurrency",
            "max_tokens",
            "temperature",
            "prices",
        ]
    },
    "interests": ("digest", "interests"),
    "interest_keywords": ("digest", "keywords"),
    "interest_seed_ids": ("digest", "seed_ids"),
    "not_interested": ("digest", "not_interested"),
    "digest_min_score": ("digest", "min_score"),
    "digest_max_papers": ("digest", "max_papers"),
    **{
        f"ask_{f}": ("ask", f)
        for f in [
            "min_similarity",
            "min_term_coverage",
            "check_answerable",
            "min_answerable_log_odds",
            "k",
            "agentic",
        ]
    },
    **{
        f"smtp_{f}": ("smtp", f)
        for f in ("host", "port", "user", "password", "security", "ca_file", "timeout")
    },
    "smtp_from": ("smtp", "from_addr"),
    "email_to": ("smtp", "to"),
}

#: Environment variables other tools already use, read after PAPERBRIEF_* (which win).
FOREIGN_ENV: dict[str, tuple[str, str]] = {
    "OPENAI_API_KEY": ("llm", "api_key"),
    "OPENAI_BASE_URL": ("llm", "base_url"),
}

Path2 = tuple[str, str]
# Which name the user wrote for each group field, from the source that wins: error messages
# name that, not a dotted path the user has never seen. Filled only inside Settings.load.
written_names: ContextVar[dict[Path2, str] | None] = ContextVar("written_names", default=None)


def secret_paths(settings_cls: type[BaseModel]) -> list[Path2]:
    """(group, field) of every SecretStr field: the ones masked and kept out of shared files."""
    found = []
    for group, field in settings_cls.model_fields.items():
        model = field.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):
            found += [(group, n) for n, f in model.model_fields.items() if _has(f.annotation)]
    return found


def _has(annotation: Any, kind: type = SecretStr) -> bool:
    if annotation is kind:
        return True
    return any(_has(arg, kind) for arg in typing.get_args(annotation))


def _is_complex(annotation: Any) -> bool:
    """Whether an environment value for this type is JSON (lists, dicts), as pydantic-settings
    reads its own variables."""
    return _has_origin(annotation, (list, dict, tuple, set))


def _has_origin(annotation: Any, kinds: tuple[type, ...]) -> bool:
    origin = typing.get_origin(annotation)
    if origin in kinds:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_has_origin(a, kinds) for a in typing.get_args(annotation))
    return False


def decode_env(var: str, raw: str, annotation: Any) -> Any:
    """An environment value for a list or table field. JSON is read as JSON; a list may also be
    written plainly (``arxiv-rss,hf``, ``me@x.org``): the raw string goes on to the field's
    validator, which splits it by the field's rule (agent.config.lists)."""
    looks_json = raw.lstrip().startswith(("[", "{"))
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        if _has_origin(annotation, (list,)) and not looks_json:
            return raw
        example = '\'["a", "b"]\' or a,b' if _has_origin(annotation, (list,)) else "'{...}'"
        raise ConfigError(
            f"{var} is not valid JSON: {raw!r}.", hint=f"Write it as JSON, e.g. {var}={example}."
        ) from None
    if _has_origin(annotation, (list,)) and not isinstance(value, list) and not looks_json:
        return value if isinstance(value, str) else raw  # "2401.00001" is an id, not a number
    return value


def nest(data: dict[str, Any], *, env: bool = False) -> dict[str, Any]:
    """One source's values with flat names moved into their groups. Both spellings of one
    setting in the same source is an error rather than a silent pick."""
    out = {k: v for k, v in data.items() if k not in FLAT_KEYS}
    for group, section in out.items():
        if isinstance(section, dict):
            for field in section:
                label = f"{ENV_PREFIX}{group}__{field}".upper() if env else f"{group}.{field}"
                _record((group, field), label)
    for flat, value in data.items():
        if flat not in FLAT_KEYS:
            continue
        group, field = FLAT_KEYS[flat]
        section = out.get(group, {})
        if isinstance(section, BaseModel):  # an explicit group object: keep what it set
            section = section.model_dump(exclude_unset=True)
        if not isinstance(section, dict):
            continue  # a malformed group: validation reports it
        if field in section:
            raise ConfigError(
                f"Both {flat} and {group}.{field} are set.",
                hint=f"Keep one: {group}.{field} (in a [{group}] table) is the current name.",
            )
        out[group] = {**section, field: value}
        _record((group, field), flat)
    return out


def _record(path: Path2, label: str) -> None:
    seen = written_names.get()
    if seen is not None:
        seen.setdefault(path, label)  # sources are read highest precedence first


class NestedSource(PydanticBaseSettingsSource):
    """Wraps a pydantic-settings source (arguments, environment, TOML) and nests its flat keys."""

    def __init__(self, inner: PydanticBaseSettingsSource, *, env: bool = False) -> None:
        super().__init__(inner.settings_cls)
        self.inner = inner
        self.env = env

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ does the work

    def __call__(self) -> dict[str, Any]:
        return nest(self.inner(), env=self.env)


class FlatEnvSource(PydanticBaseSettingsSource):
    """``PAPERBRIEF_LLM_MODEL``-style variables (and OPENAI_*), below ``PAPERBRIEF_LLM__MODEL``."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        env = {k.upper(): v for k, v in os.environ.items()}
        wanted = [(ENV_PREFIX + flat.upper(), path) for flat, path in FLAT_KEYS.items()]
        out: dict[str, dict[str, Any]] = {}
        for var, (group, field) in wanted + list(FOREIGN_ENV.items()):
            if var not in env or field in out.get(group, {}):
                continue
            annotation = self.settings_cls.model_fields[group].annotation
            value: Any = env[var]
            wanted = annotation.model_fields[field].annotation  # type: ignore[union-attr]
            if _is_complex(wanted):
                value = decode_env(var, value, wanted)
            out.setdefault(group, {})[field] = value
            _record((group, field), var)
        return out


class LenientEnvSource(EnvSettingsSource):
    """pydantic-settings' reader of ``PAPERBRIEF_*`` variables, with ``decode_env``'s rules for
    lists and tables instead of JSON only (whose failure is a bare SettingsError)."""

    def decode_complex_value(self, field_name: str, field: FieldInfo, value: Any) -> Any:
        if field is None:  # a raw type inside a table: the caller tolerates a ValueError
            return super().decode_complex_value(field_name, field, value)
        return decode_env(self._variable(field_name, value), value, field.annotation)

    def _variable(self, field_name: str, value: str) -> str:
        """The variable that holds ``value`` for ``field_name``, for the error message."""
        for name, found in self.env_vars.items():
            if found == value and name.lower().endswith(field_name.lower()):
                return name.upper()
        return f"{ENV_PREFIX}{field_name}".upper()


def describe_errors(exc: ValidationError, path: Path | None, names: dict[Path2, str]) -> str:
    """One line per error, naming each setting as the user wrote it (flat or nested, file or
    environment variable)."""
    where = f" (config file {path} or PAPERBRIEF_* environment)" if path else ""
    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        if len(loc) >= 2 and (loc[0], loc[1]) in names:
            loc = [names[(loc[0], loc[1])], *loc[2:]]
        parts.append(f"{'.'.join(loc) or 'settings'}: {err['msg']}")
    return f"Invalid settings{where}: " + "; ".join(parts)
