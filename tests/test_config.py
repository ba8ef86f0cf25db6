"""Settings: precedence, TOML, secrets, the flat names of 0.1, and the errors people get for bad
config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import agent
from agent import Settings
from agent.errors import ConfigError


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


# A config file as 0.1 users wrote it: flat, prefixed names at the top level.
FLAT_CONFIG = """
home = "~/papers"
sources = ["arxiv-rss", "hf"]
arxiv_categories = ["cs.CV", "cs.RO"]
arxiv_announce_types = ["new"]
arxiv_min_interval = 5.0
hf_api_url = "http://127.0.0.1:9/api/daily_papers"
http_retries = 2
user_agent = "lab-bot/2"
embedding_threads = 2
chroma_url = "http://127.0.0.1:8000"
llm_base_url = "http://127.0.0.1:11434/v1"
llm_model = "llama3.1"
llm_max_tokens = 400
llm_prices = { "llama3.1" = [0.0, 0.0] }
interests = ["video generation", "world models"]
interest_keywords = ["diffusion"]
not_interested = ["survey"]
digest_max_papers = 12
ask_min_similarity = 0.5
ask_k = 4
ask_agentic = "never"
smtp_host = "smtp.example.org"
smtp_port = 465
smtp_user = "me@example.org"
smtp_security = "tls"
smtp_from = "Digest <me@example.org>"
email_to = ["me@example.org", "lab@example.org"]
"""

# The same settings, written the current way.
NESTED_CONFIG = """
home = "~/papers"
sources = ["arxiv-rss", "hf"]

[store]
chroma_url = "http://127.0.0.1:8000"

[embedding]
threads = 2

[arxiv]
categories = ["cs.CV", "cs.RO"]
announce_types = ["new"]
min_interval = 5.0

[hf]
api_url = "http://127.0.0.1:9/api/daily_papers"

[http]
retries = 2
user_agent = "lab-bot/2"

[llm]
base_url = "http://127.0.0.1:11434/v1"
model = "llama3.1"
max_tokens = 400
prices = { "llama3.1" = [0.0, 0.0] }

[digest]
interests = ["video generation", "world models"]
keywords = ["diffusion"]
not_interested = ["survey"]
max_papers = 12

[ask]
min_similarity = 0.5
k = 4
agentic = "never"

[smtp]
host = "smtp.example.org"
port = 465
user = "me@example.org"
security = "tls"
from_addr = "Digest <me@example.org>"
to = ["me@example.org", "lab@example.org"]
"""


def test_an_old_flat_config_file_loads_unchanged(tmp_path):
    old = Settings.load(write(tmp_path / "old.toml", FLAT_CONFIG))
    new = Settings.load(write(tmp_path / "new.toml", NESTED_CONFIG))
    assert old.model_dump() == new.model_dump()
    assert old.home == Path.home() / "papers"
    assert old.llm.model == "llama3.1" and old.llm.max_tokens == 400
    assert old.smtp.to == ["me@example.org", "lab@example.org"]
    assert old.smtp.from_addr == "Digest <me@example.org>"
    assert old.digest.keywords == ["diffusion"] and old.digest.max_papers == 12
    assert old.arxiv.categories == ["cs.CV", "cs.RO"]
    assert old.ask.min_similarity == 0.5 and old.ask.k == 4
    assert old.llm.prices == {"llama3.1": (0.0, 0.0)}
    # A value set in the file counts as the user's, whichever spelling they used.
    assert "min_similarity" in old.ask.model_fields_set
    assert old.ask.model_fields_set == new.ask.model_fields_set


def test_precedence_is_arguments_then_env_then_file_then_defaults(tmp_path, monkeypatch):
    cfg = write(tmp_path / "c.toml", 'arxiv_categories = ["cs.CV"]\nllm_model = "from-file"\n')
    monkeypatch.setenv("PAPERBRIEF_LLM_MODEL", "from-env")
    settings = Settings.load(cfg, home=tmp_path / "h")
    assert settings.arxiv.categories == ["cs.CV"]
    assert settings.llm.model == "from-env"
    assert settings.home == tmp_path / "h"
    assert settings.store.hnsw_ef_search == 500  # default
    assert Settings.load(cfg, llm_model="from-arg").llm.model == "from-arg"
    assert Settings.load(cfg, llm={"model": "from-arg"}).llm.model == "from-arg"


def test_precedence_holds_across_the_two_spellings(tmp_path, monkeypatch):
    cfg = write(tmp_path / "c.toml", '[llm]\nmodel = "from-file"\ntimeout = 9\n')
    monkeypatch.setenv("PAPERBRIEF_LLM_MODEL", "flat-env")  # flat env beats a nested file
    settings = Settings.load(cfg)
    assert (settings.llm.model, settings.llm.timeout) == ("flat-env", 9.0)
    monkeypatch.setenv("PAPERBRIEF_LLM__MODEL", "nested-env")  # the new name beats the old one
    assert Settings.load(cfg).llm.model == "nested-env"
    assert Settings.load(cfg, llm_model="flat-arg").llm.model == "flat-arg"
    # An argument for one field leaves the group's other fields to env and file.
    assert Settings.load(cfg, llm={"max_tokens": 99}).llm.timeout == 9.0


def test_flat_and_nested_env_vars_both_work(monkeypatch):
    monkeypatch.setenv("PAPERBRIEF_SMTP_PASSWORD", "pw-flat")
    monkeypatch.setenv("PAPERBRIEF_EMAIL_TO", '["a@example.org"]')
    monkeypatch.setenv("PAPERBRIEF_INTEREST_KEYWORDS", '["rl"]')
    monkeypatch.setenv("PAPERBRIEF_ASK__K", "3")
    monkeypatch.setenv("PAPERBRIEF_DIGEST__INTERESTS", '["robots"]')
    monkeypatch.setenv("PAPERBRIEF_LLM_BASE_URL", "http://127.0.0.1:1/v1")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:2/v1")  # PAPERBRIEF_* wins
    settings = Settings.load()
    assert settings.smtp.password.get_secret_value() == "pw-flat"
    assert settings.smtp.to == ["a@example.org"]
    assert settings.digest.keywords == ["rl"] and settings.digest.interests == ["robots"]
    assert settings.ask.k == 3
    assert settings.llm.base_url == "http://127.0.0.1:1/v1"


def test_a_flat_env_list_that_is_broken_json_names_the_variable(monkeypatch):
    # A plain value is a one-item list (tests/test_untrusted_input.py); broken JSON is an error.
    monkeypatch.setenv("PAPERBRIEF_EMAIL_TO", '["a@example.org"')
    with pytest.raises(ConfigError) as info:
        Settings.load()
    assert "PAPERBRIEF_EMAIL_TO" in str(info.value) and '["a", "b"]' in info.value.hint


def test_both_spellings_in_one_file_is_an_error(tmp_path):
    cfg = write(tmp_path / "c.toml", 'llm_model = "a"\n[llm]\nmodel = "b"\n')
    with pytest.raises(ConfigError) as info:
        Settings.load(cfg)
    assert "llm_model" in str(info.value) and "llm.model" in str(info.value)


def test_calibrated_defaults_are_the_field_defaults():
    settings = Settings()
    assert settings.ask.min_similarity == 0.42
    assert settings.ask.min_term_coverage == 0.40
    assert settings.ask.min_answerable_log_odds == -1.4
    assert settings.evidence_gate == 0.42  # the bundled MiniLM, for which 0.42 was fitted
    # Another embedder's cosines live on another scale: the gate is off unless the user sets it.
    assert Settings(embedding={"provider": "openai"}).evidence_gate == 0.0
    assert Settings(embedding_provider="openai", ask={"min_similarity": 0.3}).evidence_gate == 0.3


def test_user_agent_carries_the_installed_version():
    assert agent.__version__ and agent.__version__ != "0+unknown"
    assert f"paperbrief/{agent.__version__} " in Settings().http.user_agent


def test_home_expands_the_user_dir():
    assert Settings.load(home="~/papers").home == Path.home() / "papers"


def test_openai_env_names_are_honoured(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-123")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    settings = Settings.load()
    assert settings.llm.api_key.get_secret_value() == "sk-test-123"
    assert settings.llm.base_url == "http://127.0.0.1:9/v1"
    assert settings.llm_enabled


def test_defaults_need_no_file_and_no_key():
    settings = Settings.load()
    assert not settings.llm_enabled
    assert settings.embedding.provider == "minilm"


def test_invalid_toml_names_the_file(tmp_path):
    cfg = write(tmp_path / "bad.toml", "arxiv_categories = [unterminated\n")
    with pytest.raises(ConfigError) as info:
        Settings.load(cfg)
    assert "bad.toml" in str(info.value) and "not valid TOML" in str(info.value)


def test_unknown_key_and_bad_value_are_reported_as_written(tmp_path, monkeypatch):
    cfg = write(
        tmp_path / "c.toml",
        'arxiv_announce_types = ["sometimes"]\nbogus_key = 1\n[llm]\ntemperature = 9\n'
        "[smtp]\nbogus_field = 1\n",
    )
    monkeypatch.setenv("PAPERBRIEF_LLM_MAX_TOKENS", "1")
    with pytest.raises(ConfigError) as info:
        Settings.load(cfg)
    msg = str(info.value)
    for name in ("arxiv_announce_types:", "bogus_key", "llm.temperature", "smtp.bogus_field"):
        assert name in msg
    assert "PAPERBRIEF_LLM_MAX_TOKENS:" in msg


def test_missing_explicit_config_file(tmp_path):
    with pytest.raises(ConfigError) as info:
        Settings.load(tmp_path / "nope.toml")
    assert "paperbrief init" in info.value.hint


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('smtp_password = "hunter2"\n', "smtp_password"),
        ('[smtp]\npassword = "hunter2"\n', "smtp.password"),
    ],
)
def test_secret_in_world_readable_file_is_refused(tmp_path, text, named):
    cfg = write(tmp_path / "c.toml", text, mode=0o644)
    with pytest.raises(ConfigError) as info:
        Settings.load(cfg)
    assert "chmod 600" in info.value.hint and named in str(info.value)
    assert "hunter2" not in str(info.value)
    cfg.chmod(0o600)
    assert Settings.load(cfg).smtp.password.get_secret_value() == "hunter2"


def test_masked_hides_every_secret_in_both_spellings(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    monkeypatch.setenv("PAPERBRIEF_SMTP_PASSWORD", "pw-very-secret")
    monkeypatch.setenv("PAPERBRIEF_EMBEDDING__API_KEY", "emb-very-secret")
    masked = Settings.load().masked()
    assert "very-secret" not in json.dumps(masked)
    assert masked["llm"]["api_key"] == masked["smtp"]["password"] == "****"
    assert masked["embedding"]["api_key"] == "****"
    cfg = write(tmp_path / "c.toml", '[llm]\napi_key = "sk-file-secret"\n')
    monkeypatch.delenv("OPENAI_API_KEY")
    assert "file-secret" not in json.dumps(Settings.load(cfg).masked())


def test_every_field_is_described():
    missing = [n for n, f in Settings.model_fields.items() if not f.description]
    for name, field in Settings.model_fields.items():
        sub = getattr(field.annotation, "model_fields", {})
        missing += [f"{name}.{k}" for k, f in sub.items() if not f.description]
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
    assert data["llm"]["api_key"] == "****"
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
