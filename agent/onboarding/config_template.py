"""Writes a commented config file: every setting with its description, chosen ones filled in.

Generated from ``Settings.model_fields`` so the file can never drift from what the code reads.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from agent.config import SECRET_FIELDS, Settings
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
    """The whole file: chosen settings active, every other one commented with its default."""
    unknown = set(chosen) - set(Settings.model_fields)
    if unknown:
        raise ConfigError(f"Unknown setting(s): {', '.join(sorted(unknown))}.")
    secrets = [k for k in chosen if k in SECRET_FIELDS]
    if secrets:
        raise ConfigError(
            f"Refusing to write {', '.join(secrets)} to the config file.",
            hint="Put secrets in the environment (OPENAI_API_KEY, PAPERBRIEF_SMTP_PASSWORD).",
        )
    lines = [
        "# paperbrief configuration. Every setting is listed with its meaning; lines starting",
        "# with '#' show the default. Environment variables PAPERBRIEF_<NAME> override this file.",
        "# Secrets (OPENAI_API_KEY, PAPERBRIEF_SMTP_PASSWORD) belong in the environment.",
        "",
    ]
    for name, field in Settings.model_fields.items():
        lines.append(f"# {field.description}")
        if name in chosen:
            lines.append(f"{name} = {toml_value(chosen[name])}")
        elif name in SECRET_FIELDS:
            lines.append(f"# {name} = (set it in the environment)")
        else:
            default = field.get_default(call_default_factory=True)
            if name == "home" or default is None:
                lines.append(f"# {name} =" + ("" if default is None else f" {toml_value(default)}"))
            else:
                lines.append(f"# {name} = {toml_value(default)}")
        lines.append("")
    return "\n".join(lines)


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
