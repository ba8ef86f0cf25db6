"""Issue 25, item 1: a password or key written into an endpoint URL is masked wherever the URL is
printed or logged: `llm check` (text and JSON), `config show`, `doctor` and the error line, all
through one function (``agent.mask_url``)."""

from __future__ import annotations

import json

import pytest
from httpserver import unused_port
from typer.testing import CliRunner

from agent import mask_url
from cli.main import app

SECRETS = ("hunter2", "zz-query-secret", "tok-secret")


def cli(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "300", **(env or {})})


@pytest.fixture
def creds(tmp_path):
    """A config whose LLM endpoint carries a login and a key in its query string."""
    url = f"http://user:hunter2@127.0.0.1:{unused_port()}/v1?api-key=zz-query-secret&v=2"
    path = tmp_path / "creds.toml"
    path.write_text(f'[llm]\nbase_url = "{url}"\nmodel = "m"\n', encoding="utf-8")
    return path


def test_mask_url_masks_passwords_and_secret_query_parameters():
    assert mask_url("http://user:hunter2@h:9/v1") == "http://user:****@h:9/v1"
    assert (
        mask_url("see https://h/v1?api_key=abc&v=2, then")
        == "see https://h/v1?api_key=****&v=2, then"
    )
    assert mask_url("https://h/x?access_token=t0k&sig=s1g#frag") == (
        "https://h/x?access_token=****&sig=****#frag"
    )
    assert mask_url("https://arxiv.org/api/query?search_query=all:key&max_results=1") == (
        "https://arxiv.org/api/query?search_query=all:key&max_results=1"
    )
    assert mask_url("a ?token=plain text without a URL") == "a ?token=plain text without a URL"
    assert mask_url(mask_url("http://u:p@h/?key=k")) == "http://u:****@h/?key=****"


@pytest.mark.parametrize("as_json", [False, True])
def test_llm_check_masks_the_endpoint_login_and_key(tmp_path, creds, as_json):
    args = ["--home", str(tmp_path / "h"), "--config", str(creds), "llm", "check"]
    result = cli(*args, *(["--json"] if as_json else []))
    assert result.exit_code == 1, result.output
    shown = result.stdout + result.stderr
    assert not [s for s in SECRETS if s in shown], shown
    if as_json:
        data = json.loads(result.stdout)
        assert data["endpoint"].startswith("http://user:****@127.0.0.1:")
        assert "api-key=****" in data["endpoint"] and "****" in data["error"]
    else:
        assert "endpoint: http://user:****@127.0.0.1:" in result.stdout


def test_config_show_and_doctor_mask_the_query_key(tmp_path, creds):
    home = str(tmp_path / "h")
    shown = cli("--home", home, "--config", str(creds), "config", "show", "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["llm"]["base_url"].endswith("/v1?api-key=****&v=2")
    doctor = cli(
        "--home", home, "--config", str(creds), "doctor", "--json", env={"PAPERBRIEF_SOURCES": "[]"}
    )
    checks = {c["name"]: c for c in json.loads(doctor.stdout)}
    assert "user:****@" in checks["llm"]["detail"]
    for result in (shown, doctor):
        assert not [s for s in SECRETS if s in result.stdout + result.stderr]
