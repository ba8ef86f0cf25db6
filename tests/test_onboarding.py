"""`paperbrief init` writes a config that loads back; `paperbrief doctor` names what is broken."""

from __future__ import annotations

import json
import stat

from httpserver import LocalHTTPServer, Resp, unused_port
from smtpserver import smtp_server
from typer.testing import CliRunner

from agent import Settings
from agent.config import SECRET_PATHS
from cli.main import app


def invoke(*args: str, env: dict[str, str] | None = None, input: str | None = None):
    return CliRunner().invoke(
        app, list(args), env={"COLUMNS": "200", **(env or {})}, input=input,
        catch_exceptions=False,
    )  # fmt: skip


def test_init_from_flags_writes_a_commented_private_config(tmp_path):
    path = tmp_path / "cfg" / "config.toml"
    result = invoke(
        "init", "--yes", "--path", str(path), "--categories", "cs.CV, cs.LG",
        "--interest", "video generation", "--interest", "world models",
        "--llm-base-url", "http://127.0.0.1:11434/v1", "--llm-model", "llama3.1",
        "--smtp-host", "smtp.example.org", "--email-to", "me@example.org",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    settings = Settings.load(path)
    assert settings.arxiv.categories == ["cs.CV", "cs.LG"]
    assert settings.digest.interests == ["video generation", "world models"]
    assert settings.llm.base_url == "http://127.0.0.1:11434/v1"
    assert settings.smtp.to == ["me@example.org"]
    text = path.read_text(encoding="utf-8")
    for name, field in Settings.model_fields.items():
        assert f"# {field.description}" in text, name
        for sub_name, sub in getattr(field.annotation, "model_fields", {}).items():
            assert f"# {sub.description}" in text, f"{name}.{sub_name}"
    assert "\n[llm]\n" in text and '\nbase_url = "http://127.0.0.1:11434/v1"' in text
    for _group, secret in SECRET_PATHS:
        assert f"\n{secret} =" not in text
    assert "PAPERBRIEF_SMTP_PASSWORD" in result.output  # tells where the password goes

    again = invoke("init", "--yes", "--path", str(path))
    assert again.exit_code == 2 and "--force" in again.output
    assert invoke("init", "--yes", "--force", "--path", str(path)).exit_code == 0


def test_doctor_reports_each_part_and_the_fix(tmp_path):
    home = tmp_path / "home"
    with LocalHTTPServer() as srv:
        srv.route("/rss/cs.LG", [Resp(200, b"<rss version='2.0'><channel/></rss>")])
        env = {
            "PAPERBRIEF_SOURCES": '["arxiv-rss", "hf"]',
            "PAPERBRIEF_ARXIV_CATEGORIES": '["cs.LG"]',
            "PAPERBRIEF_ARXIV_RSS_URL": srv.url("/rss"),
            "PAPERBRIEF_ARXIV_MIN_INTERVAL": "0",
            "PAPERBRIEF_HF_API_URL": f"http://127.0.0.1:{unused_port()}/api/daily_papers",
        }
        result = invoke("--home", str(home), "doctor", "--json", env=env)
    assert result.exit_code == 1  # the unreachable hf source fails
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    for name in ("config", "data dir", "embedder", "store", "bm25 index"):
        assert checks[name]["status"] == "ok", checks[name]
    # A new store takes the default int8 kernels; the store line names the vectors it holds.
    model = checks["embedder"]["detail"].split(":")[0]
    assert "dynq8" in model and f"({model} vectors)" in checks["store"]["detail"]
    assert checks["llm"]["status"] == "skipped" and "OPENAI_API_KEY" in checks["llm"]["fix"]
    assert checks["smtp"]["status"] == "skipped"
    assert checks["source arxiv-rss"]["status"] == "ok"
    assert checks["source hf"]["status"] == "fail" and checks["source hf"]["fix"]


def test_doctor_smtp_refused_login_names_it_but_not_the_password(tmp_path):
    with smtp_server(user="digest", password="right") as (sink, port):
        env = {
            "PAPERBRIEF_SOURCES": "[]",
            "PAPERBRIEF_SMTP_HOST": "127.0.0.1",
            "PAPERBRIEF_SMTP_PORT": str(port),
            "PAPERBRIEF_SMTP_SECURITY": "none",
            "PAPERBRIEF_SMTP_USER": "digest",
            "PAPERBRIEF_SMTP_FROM": "pb@example.org",
            "PAPERBRIEF_EMAIL_TO": '["me@example.org"]',
            "PAPERBRIEF_SMTP_PASSWORD": "wrong-secret-pw",
        }
        result = invoke("--home", str(tmp_path), "doctor", "--json", env=env)
        ok = invoke(
            "--home", str(tmp_path), "doctor", "--json",
            env={**env, "PAPERBRIEF_SMTP_PASSWORD": "right"},
        )  # fmt: skip
    smtp = {c["name"]: c for c in json.loads(result.stdout)}["smtp"]
    assert result.exit_code == 1 and smtp["status"] == "fail"
    assert "refused the login" in smtp["detail"] and "PAPERBRIEF_SMTP_PASSWORD" in smtp["fix"]
    assert "wrong-secret-pw" not in result.output
    assert {c["name"]: c for c in json.loads(ok.stdout)}["smtp"]["status"] == "ok"
    assert ok.exit_code == 0
    assert sink.envelopes == []  # a check never sends mail


def test_doctor_checks_the_llm_endpoint_without_leaking_the_key(tmp_path):
    from openai_server import OpenAIServer, structured

    with OpenAIServer(handler=structured({"answer": "ok"}), api_key="good-key-123") as llm:
        env = {"PAPERBRIEF_SOURCES": "[]", "OPENAI_BASE_URL": llm.url, "PAPERBRIEF_LLM_MODEL": "m"}
        good = invoke("--home", str(tmp_path), "doctor", "--json",
                      env={**env, "OPENAI_API_KEY": "good-key-123"})  # fmt: skip
        bad = invoke("--home", str(tmp_path), "doctor", "--json",
                     env={**env, "OPENAI_API_KEY": "bad-key-456"})  # fmt: skip
    ok_check = {c["name"]: c for c in json.loads(good.stdout)}["llm"]
    assert ok_check["status"] == "ok" and "json_schema" in ok_check["detail"]
    bad_check = {c["name"]: c for c in json.loads(bad.stdout)}["llm"]
    assert bad.exit_code == 1 and bad_check["status"] == "fail"
    assert "OPENAI_API_KEY" in bad_check["fix"] and "bad-key-456" not in bad.output


def test_doctor_names_an_embedding_mismatch(tmp_path, minilm):
    from store import PaperStore, make_embedder

    other = make_embedder("openai", model="other-model", base_url="http://127.0.0.1:9/v1",
                          api_key="x", dim=384)  # fmt: skip
    store = PaperStore(tmp_path, minilm)
    store.upsert([{
        "id": "2401.00001", "version": 1, "title": "A paper", "abstract": "About things. " * 5,
        "authors": [], "categories": [], "source": "file", "content_hash": "h1", "extra": {},
    }])  # fmt: skip
    store.close()
    assert other.model_id != minilm.model_id
    result = invoke(
        "--home", str(tmp_path), "doctor", "--json",
        env={"PAPERBRIEF_SOURCES": "[]", "PAPERBRIEF_EMBEDDING_PROVIDER": "openai",
             "OPENAI_API_KEY": "x", "PAPERBRIEF_EMBEDDING_BASE_URL": "http://127.0.0.1:9/v1"},
    )  # fmt: skip
    store_check = {c["name"]: c for c in json.loads(result.stdout)}["store"]
    assert store_check["status"] == "fail"
    assert "reindex" in store_check["fix"]
