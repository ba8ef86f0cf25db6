"""Settings: precedence, TOML, secrets, and the errors people get for bad config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent import Settings
from agent.errors import ConfigError


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_precedence_is_arguments_then_env_then_file_then_defaults(tmp_path, monkeypatch):
    cfg = write(tmp_path / "c.toml", 'arxiv_categories = ["cs.CV"]\nllm_model = "from-file"\n')
    monkeypatch.setenv("PAPERBRIEF_LLM_MODEL", "from-env")
    settings = Settings.load(cfg, home=tmp_path / "h")
    assert settings.arxiv_categories == ["cs.CV"]
    assert settings.llm_model == "from-env"
    assert settings.home == tmp_path / "h"
    assert settings.hnsw_ef_search == 500  # default
    assert Settings.load(cfg, llm_model="from-arg").llm_model == "from-arg"


def test_home_expands_the_user_dir():
    assert Settings.load(home="~/papers").home == Path.home() / "papers"


def test_openai_env_names_are_honoured(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-123")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    settings = Settings.load()
    assert settings.openai_api_key.get_secret_value() == "sk-test-123"
    assert settings.llm_base_url == "http://127.0.0.1:9/v1"
    assert settings.llm_enabled


def test_defaults_need_no_file_and_no_key():
    settings = Settings.load()
    assert not settings.llm_enabled
    assert settings.embedding_provider == "minilm"


def test_invalid_toml_names_the_file(tmp_path):
    cfg = write(tmp_path / "bad.toml", "arxiv_categories = [unterminated\n")
    with pytest.raises(ConfigError) as info:
        Settings.load(cfg)
    assert "bad.toml" in str(info.value) and "not valid TOML" in str(info.value)


def test_unknown_key_and_bad_value_are_reported(tmp_path):
    cfg = write(tmp_path / "c.toml", 'arxiv_announce_types = ["sometimes"]\nbogus_key = 1\n')
    with pytest.raises(ConfigError) as info:
        Settings.load(cfg)
    msg = str(info.value)
    assert "arxiv_announce_types" in msg and "bogus_key" in msg


def test_missing_explicit_config_file(tmp_path):
    with pytest.raises(ConfigError) as info:
        Settings.load(tmp_path / "nope.toml")
    assert "paperbrief init" in info.value.hint


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_secret_in_world_readable_file_is_refused(tmp_path):
    cfg = write(tmp_path / "c.toml", 'smtp_password = "hunter2"\n', mode=0o644)
    with pytest.raises(ConfigError) as info:
        Settings.load(cfg)
    assert "chmod 600" in info.value.hint
    assert "hunter2" not in str(info.value)
    cfg.chmod(0o600)
    assert Settings.load(cfg).smtp_password.get_secret_value() == "hunter2"


def test_masked_hides_every_secret(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    monkeypatch.setenv("PAPERBRIEF_SMTP_PASSWORD", "pw-very-secret")
    dumped = json.dumps(Settings.load().masked())
    assert "very-secret" not in dumped
    assert '"openai_api_key": "****"' in dumped


def test_every_field_is_described():
    missing = [n for n, f in Settings.model_fields.items() if not f.description]
    assert missing == []


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_config_show_masks_secrets_and_reports_bad_config(tmp_path):
    proc = run_cli(
        "--home",
        str(tmp_path),
        "config",
        "show",
        "--json",
        env={"OPENAI_API_KEY": "sk-leak-me-not", "COLUMNS": "200"},
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["openai_api_key"] == "****"
    assert data["home"] == str(tmp_path)
    assert "sk-leak-me-not" not in proc.stdout + proc.stderr

    bad = write(tmp_path / "bad.toml", "x = [\n")
    proc = run_cli("--config", str(bad), "config", "show")
    assert proc.returncode == 2
    assert "not valid TOML" in proc.stderr and "Traceback" not in proc.stderr


def test_help_imports_no_heavy_library():
    code = (
        "import sys; from cli.main import app; "
        "heavy = [m for m in ('chromadb', 'langchain_openai', 'langchain_core', 'openai', "
        "'onnxruntime', 'bm25s', 'tiktoken') if m in sys.modules]; print(heavy)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_public_api_is_exactly_this():
    import agent

    assert sorted(agent.__all__) == sorted(
        ["Answer", "Citation", "Digest", "Paper", "PaperAgent", "PaperbriefError", "RunReport",
         "SearchHit", "Settings", "SourceReport", "SourceStatus", "Summary", "Theme"]
    )  # fmt: skip
    for name in agent.__all__:
        assert getattr(agent, name) is not None
