"""What `init` asks and what `doctor` claims, against a real SMTP server (aiosmtpd) and a real
terminal (a pty, as `init` only asks questions on one); and one name for the LLM endpoint."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

from smtpserver import smtp_server
from typer.testing import CliRunner

from agent import Settings
from agent.llm.chat import make_llm
from agent.llm.errors import LLMCallError
from agent.llm.loop import run_sync
from agent.models import SummaryDraft
from cli.main import app

REPO = Path(__file__).resolve().parents[1]
RELAY = {
    "PAPERBRIEF_SOURCES": "[]",
    "PAPERBRIEF_SMTP_HOST": "127.0.0.1",
    "PAPERBRIEF_SMTP_FROM": "pb@example.org",
    "PAPERBRIEF_EMAIL_TO": '["me@example.org"]',
}


def doctor(home: Path, env: dict[str, str]) -> dict[str, dict]:
    result = CliRunner().invoke(
        app, ["--home", str(home), "doctor", "--json"], env={"COLUMNS": "200", **env}
    )
    return {c["name"]: c for c in json.loads(result.stdout)}


def test_doctor_does_not_claim_a_login_that_did_not_happen(tmp_path):
    with smtp_server() as (sink, port):
        env = RELAY | {"PAPERBRIEF_SMTP_PORT": str(port), "PAPERBRIEF_SMTP_SECURITY": "none"}
        smtp = doctor(tmp_path, env)["smtp"]
    assert smtp["status"] == "ok", smtp
    assert "logged in" not in smtp["detail"] and "no login" in smtp["detail"]
    assert sink.envelopes == []


def test_doctor_fix_for_a_relay_without_starttls_offers_none(tmp_path):
    with smtp_server() as (_, port):  # a plain relay on this machine: no STARTTLS offered
        smtp = doctor(tmp_path, RELAY | {"PAPERBRIEF_SMTP_PORT": str(port)})["smtp"]
    assert smtp["status"] == "fail" and "STARTTLS" in smtp["detail"]
    assert 'security = "none"' in smtp["fix"] and 'security = "tls"' in smtp["fix"]


def test_init_takes_smtp_security_as_a_flag(tmp_path):
    path = tmp_path / "config.toml"
    result = CliRunner().invoke(
        app,
        ["init", "--yes", "--path", str(path), "--smtp-host", "smtp.example.org",
         "--smtp-security", "tls"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert Settings.load(path).smtp.security == "tls"


def test_init_asks_for_smtp_security_on_a_terminal(tmp_path):
    path = tmp_path / "config.toml"
    answers = [
        "",  # categories: keep the default
        "",  # interests: none
        "n",  # another LLM endpoint?
        "y",  # e-mail the digest?
        "localhost",  # SMTP host
        "none",  # SMTP security: a relay on this machine
        "",  # SMTP port: the default for that security
        "",  # SMTP user: none
        "pb@example.org",  # From address
        "me@example.org",  # Send to
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAPERBRIEF_", "OPENAI_"))}
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "init", "--path", str(path)],
        stdin=child, stdout=child, stderr=child, cwd=REPO, env=env | {"COLUMNS": "200"},
    )  # fmt: skip
    os.close(child)
    os.write(main, ("\n".join(answers) + "\n").encode())
    seen = b""
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            seen += os.read(main, 4096)
        except OSError:  # the child closed the terminal
            break
    proc.wait(timeout=10)
    os.close(main)
    text = seen.decode("utf-8", "replace")
    assert proc.returncode == 0, text
    assert "SMTP security" in text
    settings = Settings.load(path)
    assert (settings.smtp.host, settings.smtp.security, settings.smtp.port) == (
        "localhost", "none", 25,
    )  # fmt: skip


def test_llm_messages_name_the_one_documented_base_url_variable(tmp_path):
    result = CliRunner().invoke(
        app, ["--home", str(tmp_path), "llm", "check"], env={"COLUMNS": "300"}
    )
    assert "OPENAI_BASE_URL" in result.output and "PAPERBRIEF_LLM_BASE_URL" not in result.output
    unreachable = Settings(llm_base_url="http://127.0.0.1:9/v1", llm_model="m")
    try:
        run_sync(make_llm(unreachable, backoff=0.01).astructured([("user", "x")], SummaryDraft))
    except LLMCallError as err:
        hint = err.hint
    assert "OPENAI_BASE_URL" in hint and "PAPERBRIEF_LLM_BASE_URL" not in hint
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "The endpoint is `OPENAI_BASE_URL`" in readme
