"""Writes a commented config file: every setting with its description, chosen ones filled in.

Generated from the fields of ``Settings`` and its groups, so the file can never drift from what
the code reads. The file uses the nested form (a ``[group]`` table per group).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from agent.config import SECRET_PATHS, Settings
from agent.config.flat import ENV_PREFIX, nest
from agent.errors import ConfigError


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str | Path):
        return json.dumps(str(value), ensure_ascii=False)  # JSON strings are valid TOML strings
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def render_config(chosen: dict[str, Any]) -> str:
    """The whole file: chosen settings active, every other one commented with its default.

    ``chosen`` may use the nested form (``{"llm": {"model": "x"}}``) or the flat names of 0.1
    (``{"llm_model": "x"}``).
    """
    tree = nest(chosen)
    groups = {n: f for n, f in Settings.model_fields.items() if _group_model(f) is not None}
    unknown = [k for k in tree if k not in Settings.model_fields]
    for name, values in tree.items():
        model = _group_model(groups[name]) if name in groups else None
        if model is not None:
            unknown += [f"{name}.{k}" for k in values if k not in model.model_fields]
    if unknown:
        raise ConfigError(f"Unknown setting(s): {', '.join(sorted(unknown))}.")
    secrets = [f"{g}.{f}" for g, f in SECRET_PATHS if f in tree.get(g, {})]
    if secrets:
        raise ConfigError(
            f"Refusing to write {', '.join(secrets)} to the config file.",
            hint="Put secrets in the environment (OPENAI_API_KEY, PAPERBRIEF_SMTP__PASSWORD).",
        )
    lines = [
        "# paperbrief configuration. Every setting is listed with its meaning; lines starting",
        "# with '#' show the default. Environment variables PAPERBRIEF_<GROUP>__<NAME> (e.g.",
        "# PAPERBRIEF_LLM__MODEL) override this file. Secrets (OPENAI_API_KEY,",
        "# PAPERBRIEF_SMTP__PASSWORD) belong in the environment.",
        "",
    ]
    for name, field in Settings.model_fields.items():
        if name not in groups:
            lines += [*_setting_lines(name, field, tree, None), ""]
    for name, field in groups.items():
        lines += [f"# {field.description}", f"[{name}]"]
        for key, sub in _group_model(field).model_fields.items():  # type: ignore[union-attr]
            lines += [*_setting_lines(key, sub, tree.get(name, {}), name), ""]
    return "\n".join(lines)


def _group_model(field: FieldInfo) -> type[BaseModel] | None:
    model = field.annotation
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _setting_lines(
    key: str, field: FieldInfo, chosen: dict[str, Any], group: str | None
) -> list[str]:
    lines = [f"# {field.description}"]
    if key in chosen:
        return [*lines, f"{key} = {toml_value(chosen[key])}"]
    if group is not None and (group, key) in SECRET_PATHS:
        env = f"{ENV_PREFIX}{group}__{key}".upper()
        return [*lines, f"# {key} = (set it in the environment: {env})"]
    default = field.get_default(call_default_factory=True)
    if default is None:
        return [*lines, f"# {key} ="]
    return [*lines, f"# {key} = {toml_value(default)}"]


def write_config(path: Path, chosen: dict[str, Any], *, overwrite: bool = False) -> Path:
    if path.exists() and not overwrite:
        raise ConfigError(
            f"{path} already exists.", hint="Pass --force to replace it, or edit it by hand."
        )
    text = render_config(chosen)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    tmp.replace(path)
    Settings.load(path)  # what we wrote must load: fail here, not at 6 a.m. in cron
    return path
