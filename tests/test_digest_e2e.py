"""End to end: ingest a corpus into a real store, build a digest whose themes a scripted
OpenAI-compatible server names, e-mail it through a real aiosmtpd server, and check what
arrived; then history (sent papers left out), a refused login, and the CLI."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from email.message import EmailMessage
from html import unescape
from pathlib import Path

import pytest
from openai_server import OpenAIServer, structured
from smtpserver import smtp_server
from typer.testing import CliRunner

from agent.config import Settings
from agent.errors import DeliveryError
from agent.pipeline import PaperAgent
from agent.sources.base import FetchRequest
from store.state.digest_history import SqliteDigestHistory

DEMO = Path(__file__).resolve().parents[1] / "agent" / "data" / "demo_corpus.jsonl"
FIELDS = ("rl-robotics", "gnn-molecules", "ml-climate")
EVIL_TITLE = "Evil <script>alert('pwned')</script>\nBcc: victim@example.org robot grasping"
NOW = datetime(2026, 11, 26, 6, tzinfo=UTC)
WINDOW = {"since": "2026-11-19", "until": "2026-11-26T06:00:00+00:00", "now": NOW}


def corpus_rows() -> list[dict]:
    rows = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines()]
    picked: list[dict] = []
    for field in FIELDS:
        picked += [r for r in rows if r["topic"] == field][:5]
    for r in picked:
        r.pop("topic", None), r.pop("fictional", None)
    evil = dict(picked[0], id="2611.99999", title=EVIL_TITLE, url="javascript:alert(1)")
    return [*picked, evil]


@pytest.fixture(scope="module")
def ingested_home(tmp_path_factory, minilm) -> Path:
    home = tmp_path_factory.mktemp("home")
    path = home.parent / "corpus.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in corpus_rows()), encoding="utf-8")
    with PaperAgent(Settings(home=home), embedder=minilm) as agent:
        report = agent.ingest(request=FetchRequest(path=path))
    assert report.ok and report.total("new") == 16
    return home


@pytest.fixture
def home(ingested_home, tmp_path) -> Path:
    """A private copy of the ingested store, so each test has its own history."""
    target = tmp_path / "home"
    shutil.copytree(ingested_home, target)
    return target


def theme_namer_reply(request: dict):
    text = request["messages"][-1]["content"].lower()
    name = "Robots" if "robot" in text else "Molecules" if "molecul" in text else "Weather"
    return structured({"name": name, "overview": f"Papers about {name.lower()}."})(request)


def smtp_settings(home: Path, port: int, **kw) -> dict:
    return {
        "home": home,
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "smtp_user": "digest",
        "smtp_password": "right",
        "smtp_from": "pb@example.org",
        **kw,
    }


def parts(msg: EmailMessage) -> tuple[str, str]:
    return msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()


def test_digest_named_by_llm_arrives_by_mail_with_every_paper(home, minilm):
    rows = corpus_rows()
    with (
        OpenAIServer(handler=theme_namer_reply) as llm,
        smtp_server(user="digest", password="right") as (sink, port),
    ):
        settings = Settings(**smtp_settings(home, port), llm_base_url=llm.url, openai_api_key="k")
        with PaperAgent(settings, embedder=minilm) as agent:
            digest = agent.digest(**WINDOW)
            result = agent.send(digest, to=["a@example.org", "b@example.org"])
        n_llm_calls = len(llm.chat_requests)

    assert len(digest.papers) == len(rows)
    assert n_llm_calls == len(digest.themes) >= 3  # one call per theme, none per paper
    assert {"Robots", "Molecules", "Weather"} <= {t.name for t in digest.themes}
    assert result.accepted == ["a@example.org", "b@example.org"]
    (msg,) = sink.messages()
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["Subject"] == digest.subject
    assert f"{len(rows)} new papers in {len(digest.themes)} themes" in msg["Subject"]
    assert "Thu 26 Nov 2026" in msg["Subject"]
    text, html = parts(msg)
    flat_text = " ".join(text.split())  # the text part wraps long lines
    visible = " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())
    for row in rows[:-1]:
        assert row["title"] in flat_text
        assert row["title"] in visible
    # the hostile title: escaped in HTML, one line in text, nowhere in the headers
    assert "<script>" not in html and "&lt;script&gt;alert('pwned')&lt;/script&gt;" in html
    assert "Evil <script>alert('pwned')</script> Bcc: victim@example.org" in visible
    assert "javascript:" not in html
    assert "Evil <script>alert('pwned')</script> Bcc: victim@example.org" in flat_text
    headers = "\n".join(f"{k}: {v}" for k, v in msg.items())
    assert "victim" not in headers and "script" not in headers and msg["Bcc"] is None
    assert sink.envelopes[0].rcpt_tos == ["a@example.org", "b@example.org"]

    folder = home / "digests" / digest.id
    assert {p.name for p in folder.iterdir()} == {
        "digest.html",
        "digest.md",
        "digest.txt",
        "digest.json",
        "full.html",  # every paper of the window, linked from the mail
        "full.md",
    }
    history = SqliteDigestHistory.in_home(home)
    assert history.run(digest.id)["status"] == "sent"
    assert history.sent_ids([r["id"] for r in rows]) == {r["id"] for r in rows}
    history.close()


def test_sent_papers_are_left_out_next_time_unless_asked(home, minilm):
    with (
        smtp_server(user="digest", password="right") as (sink, port),
        PaperAgent(Settings(**smtp_settings(home, port)), embedder=minilm) as agent,
    ):
        first = agent.digest(**WINDOW)
        agent.send(first, to=["a@example.org"])
        second = agent.digest(**WINDOW)
        again = agent.digest(include_sent=True, **WINDOW)
        agent.send(second, to=["a@example.org"])  # the empty note still goes out
    assert second.empty and "were in earlier digests" in second.empty_reason
    assert second.stats.excluded_sent == len(first.papers)
    assert len(again.papers) == len(first.papers)
    assert second.id != first.id
    note = sink.messages()[1]
    assert note["Subject"].endswith("nothing new")
    assert "were in earlier digests" in parts(note)[0]


def test_refused_login_is_a_clear_error_and_the_digest_is_saved(home, minilm):
    with smtp_server(user="digest", password="right") as (sink, port):
        settings = Settings(**smtp_settings(home, port, smtp_password="wrong"))
        with PaperAgent(settings, embedder=minilm) as agent:
            digest = agent.digest(**WINDOW)
            with pytest.raises(DeliveryError) as err:
                agent.send(digest, to=["a@example.org"])
    assert "refused the login for 'digest'" in str(err.value)
    folder = home / "digests" / digest.id
    assert str(folder) in err.value.hint
    assert (folder / "digest.html").read_text(encoding="utf-8").count("&lt;script&gt;") >= 1
    assert json.loads((folder / "digest.json").read_text(encoding="utf-8"))["id"] == digest.id
    history = SqliteDigestHistory.in_home(home)
    assert history.run(digest.id)["status"] == "failed"
    assert history.sent_ids([p.id for p in digest.papers]) == set()  # not sent: not remembered
    history.close()
    assert sink.envelopes == []


def _cli_wired() -> bool:
    from cli.main import app

    names = {c.name or c.callback.__name__ for c in app.registered_commands if c.callback}
    return hasattr(PaperAgent, "digest") and "digest" in names


@pytest.mark.skipif(not _cli_wired(), reason="PaperAgent.digest / cli registration: lead wires")
def test_cli_digest_json_dry_run_and_out_file(home, tmp_path):
    from cli.main import app

    runner = CliRunner()
    out = tmp_path / "d.html"
    args = [
        "--home",
        str(home),
        "digest",
        "--since",
        "2026-11-19",
        "--until",
        "2026-11-26T06:00",
        "--json",
        "--dry-run",
        "--email",
        "a@example.org",
        "--out",
        str(out),
    ]
    result = runner.invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["papers"] == 16
    assert data["themes"] and {"name", "overview", "papers"} <= set(data["themes"][0])
    placed = [i for t in data["themes"] for i in t["papers"]] + data["also_new"]
    assert len(placed) == 16
    assert data["would_send"]["to"] == ["a@example.org"] and data["saved"] is None
    assert "&lt;script&gt;" in out.read_text(encoding="utf-8")
    assert not (home / "digests").exists() or not any((home / "digests").iterdir())


def test_empty_window_after_failed_ingest_names_each_failed_source(home, minilm):
    settings = Settings(home=home, sources=["arxiv-rss", "hf"])
    with PaperAgent(settings, embedder=minilm) as agent:
        for name, message in [("arxiv-rss", "HTTP 503 from rss.arxiv.org"), ("hf", "timed out")]:
            entry = {
                "status": "failed",
                "fetched": 0,
                "new": 0,
                "message": message,
                "at": "2026-11-28T05:00:00+00:00",
            }
            agent.store.state.set_meta(f"last_ingest:{name}", json.dumps(entry))
        digest = agent.digest(
            since="2026-11-28",
            until="2026-11-28T06:00:00+00:00",
            now=datetime(2026, 11, 28, 6, tzinfo=UTC),
        )
    assert digest.empty
    assert "Every source failed: arxiv-rss (HTTP 503 from rss.arxiv.org); hf (timed out)." in (
        digest.empty_reason
    )
    assert (home / "digests" / digest.id / "digest.txt").read_text().count("Every source") == 1
