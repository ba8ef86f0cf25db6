"""Issue 25, item 4: the SMTP server refuses one of two recipients. `run` exits 1 naming the
address (as the README's table says), and the next run sends that digest to it again instead of
saying "Nothing new"; `digest --send` shares the same logic (message, exit code, retry)."""

from __future__ import annotations

import json

import pytest
from httpserver import LocalHTTPServer, Resp
from openai_server import OpenAIServer
from smtpserver import smtp_server
from test_daily import SECRETS, feed_papers, model_reply, rss, write_config
from typer.testing import CliRunner

from cli.main import app

BOB = "bob@example.org"
READER = "reader@example.org"


@pytest.fixture
def servers(tmp_path, monkeypatch):
    with (
        LocalHTTPServer() as feed,
        OpenAIServer(handler=model_reply) as llm,
        smtp_server(user="digest", password="right", refuse={BOB}) as (sink, port),
    ):
        feed.route("/rss/cs.LG", [Resp(200, rss(feed_papers()))])
        for name, value in SECRETS.items():
            monkeypatch.setenv(name, value)
        cfg = write_config(tmp_path, feed.url("/rss"), llm.url, port)
        text = cfg.read_text(encoding="utf-8")
        cfg.write_text(text.replace(f'["{READER}"]', f'["{READER}", "{BOB}"]'), encoding="utf-8")
        yield {"sink": sink, "config": cfg}


def cli(servers, home, *args: str):
    base = ["--config", str(servers["config"]), "--home", str(home)]
    return CliRunner().invoke(app, [*base, *args], env={"COLUMNS": "250"})


def recipients(sink) -> list[list[str]]:
    return [sorted(e.rcpt_tos) for e in sink.envelopes]


def test_run_names_a_refused_recipient_exits_1_and_the_rerun_sends_it_again(servers, tmp_path):
    home, sink = tmp_path / "home", servers["sink"]
    first = cli(servers, home, "run")
    assert first.exit_code == 1, first.output
    assert BOB in first.stderr and "550" in first.stderr
    assert recipients(sink) == [[READER]]

    again = cli(servers, home, "run")  # still refused: named again, exit 1 again
    assert again.exit_code == 1, again.output
    assert BOB in again.stderr
    assert recipients(sink) == [[READER]]

    sink.refuse.clear()  # the mailbox is fixed
    third = cli(servers, home, "run", "--json")
    assert third.exit_code == 0, third.output
    assert recipients(sink) == [[READER], [BOB]]  # the same digest, to Bob only
    first_subject = sink.messages()[0]["Subject"]
    assert sink.messages()[1]["Subject"] == first_subject
    data = json.loads(third.stdout)
    assert BOB in data["delivered_to"]

    fourth = cli(servers, home, "run")
    assert fourth.exit_code == 0 and recipients(sink) == [[READER], [BOB]]  # nothing twice


def test_digest_send_refusal_is_retried_by_the_next_run(servers, tmp_path):
    home, sink = tmp_path / "home", servers["sink"]
    assert cli(servers, home, "ingest").exit_code == 0
    sent = cli(servers, home, "digest", "--send", "--no-llm")
    assert sent.exit_code == 1, sent.output
    assert BOB in sent.stderr and "next `paperbrief run`" in sent.stderr
    sink.refuse.clear()
    run = cli(servers, home, "run")
    assert run.exit_code == 0, run.output
    assert [BOB] in recipients(sink)
