"""`paperbrief run` end to end against local servers: an arXiv RSS feed, an OpenAI-compatible
model and an SMTP server. Twice (nothing re-sent, no second LLM bill), with a competing run
(the lock), and after a run killed part-way (the next one completes it)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from feeds import arxiv_rss, summary_reply
from httpserver import LocalHTTPServer, Resp
from openai_server import OpenAIServer, structured
from smtpserver import smtp_server
from typer.testing import CliRunner

from cli.main import app
from store.state.run_lock import RunLock

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "agent" / "data" / "demo_corpus.jsonl"
TOPICS = ("rl-robotics", "gnn-molecules", "ml-climate")


def feed_papers(n_per_topic: int = 3) -> list[dict]:
    rows = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines()]
    picked = []
    for topic in TOPICS:
        picked += [r for r in rows if r["topic"] == topic][:n_per_topic]
    for i, row in enumerate(picked):
        row["arxiv_id"] = f"2611.{10001 + i}"
    return picked


def announced_yesterday() -> str:
    """The feed's date, relative to the clock the run itself reads, so the suite passes on any
    day (and under faketime): a fixed date falls out of `run`'s window a week later."""
    return format_datetime(datetime.now(UTC) - timedelta(days=1))


def rss(papers: list[dict], day: str | None = None) -> bytes:
    return arxiv_rss(papers, day or announced_yesterday())


def model_reply(request: dict):
    """Answers summary requests with a plain, faithful summary and theme requests with a name."""
    if "SummaryDraft" in json.dumps(request):
        return summary_reply(request)
    prompt = request["messages"][-1]["content"].lower()
    name = "Robots" if "robot" in prompt else "Molecules" if "molecul" in prompt else "Weather"
    return structured({"name": name, "overview": f"New work on {name.lower()}."})(request)


def write_config(tmp_path: Path, feed_url: str, llm_url: str, smtp_port: int) -> Path:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f"""
sources = ["arxiv-rss"]
arxiv_categories = ["cs.LG"]
arxiv_rss_url = "{feed_url}"
arxiv_min_interval = 0.0
http_retries = 0
llm_base_url = "{llm_url}"
llm_model = "scripted"
smtp_host = "127.0.0.1"
smtp_port = {smtp_port}
smtp_security = "none"
smtp_user = "digest"
smtp_from = "paperbrief@example.org"
email_to = ["reader@example.org"]
""",
        encoding="utf-8",
    )
    cfg.chmod(0o600)
    return cfg


SECRETS = {"OPENAI_API_KEY": "test-key", "PAPERBRIEF_SMTP_PASSWORD": "right"}


@pytest.fixture
def servers(tmp_path, monkeypatch):
    papers = feed_papers()
    with (
        LocalHTTPServer() as feed,
        OpenAIServer(handler=model_reply) as llm,
        smtp_server(user="digest", password="right") as (sink, port),
    ):
        feed.route("/rss/cs.LG", [Resp(200, rss(papers))])
        for name, value in SECRETS.items():
            monkeypatch.setenv(name, value)
        cfg = write_config(tmp_path, feed.url("/rss"), llm.url, port)
        yield {"papers": papers, "feed": feed, "llm": llm, "sink": sink, "config": cfg}


def invoke(config: Path, home: Path, *args: str):
    return CliRunner().invoke(
        app, ["--config", str(config), "--home", str(home), "run", *args], catch_exceptions=False
    )


def test_run_twice_delivers_once_and_bills_once(servers, tmp_path):
    home = tmp_path / "home"
    first = invoke(servers["config"], home, "--json")
    assert first.exit_code == 0, first.output
    result = json.loads(first.stdout)
    papers = servers["papers"]
    assert result["delivered"] and result["delivered_to"] == ["reader@example.org"]
    assert result["report"]["counts"]["digest_papers"] == len(papers)
    (message,) = servers["sink"].messages()
    body = message.get_body(("plain",)).get_content()
    for paper in papers:
        assert " ".join(paper["title"].split()[:4]) in " ".join(body.split())
    calls_first = len(servers["llm"].chat_requests)
    themes = int(result["report"]["counts"]["digest_themes"])
    assert calls_first == len(papers) + themes  # one summary per paper, one name per theme

    second = invoke(servers["config"], home, "--json")
    assert second.exit_code == 0, second.output
    again = json.loads(second.stdout)
    assert again["report"]["counts"]["digest_papers"] == 0
    assert len(servers["sink"].messages()) == 1  # nothing re-sent, not even an empty note
    assert len(servers["llm"].chat_requests) == calls_first  # no second LLM bill
    assert sum(s["new"] for s in again["report"]["sources"]) == 0
    assert any("Nothing new" in note for note in again["report"]["notes"])


def test_a_second_run_waits_or_exits_cleanly(servers, tmp_path):
    home = tmp_path / "home"
    with RunLock(home):
        busy = invoke(servers["config"], home)
        assert busy.exit_code == 3
        assert "Another paperbrief run" in busy.output and "Traceback" not in busy.output

    lock = RunLock(home)
    lock.acquire()
    threading.Timer(1.0, lock.release).start()
    started = time.monotonic()
    waited = invoke(servers["config"], home, "--wait", "30", "--json")
    assert waited.exit_code == 0, waited.output
    assert time.monotonic() - started >= 0.9  # it really waited for the holder
    assert json.loads(waited.stdout)["delivered"]


def test_a_run_killed_midway_is_completed_by_the_next(servers, tmp_path):
    home = tmp_path / "home"
    first_call = threading.Event()

    def stall_then_answer(request: dict):
        first_call.set()
        time.sleep(30)  # the process is killed while waiting for the model
        return model_reply(request)

    servers["llm"].handler = stall_then_answer
    env = {**os.environ, **SECRETS}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "--config", str(servers["config"]),
         "--home", str(home), "run"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert first_call.wait(120), "the run never reached the summarize step"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    assert servers["sink"].messages() == []

    servers["llm"].handler = model_reply
    calls_before = len(servers["llm"].chat_requests)
    done = invoke(servers["config"], home, "--json")
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    papers = servers["papers"]
    assert result["report"]["counts"]["digest_papers"] == len(papers)
    assert sum(s["unchanged"] for s in result["report"]["sources"]) == len(papers)  # stored once
    (message,) = servers["sink"].messages()
    assert f"{len(papers)} new papers" in message["Subject"]
    new_calls = len(servers["llm"].chat_requests) - calls_before
    assert new_calls == len(papers) + int(result["report"]["counts"]["digest_themes"])


def test_papers_of_a_source_that_failed_yesterday_reach_todays_digest(servers, tmp_path):
    home = tmp_path / "home"
    feed = servers["feed"]
    feed.route("/rss/cs.LG", [Resp(503, b"down for maintenance")])
    down = invoke(servers["config"], home, "--json")
    assert down.exit_code == 1  # the ingest step failed, and the run says so
    result = json.loads(down.stdout)
    assert result["failed_step"] == "ingest" and result["delivered"]
    (note,) = servers["sink"].messages()
    assert "nothing new" in note["Subject"]

    feed.route("/rss/cs.LG", [Resp(200, rss(servers["papers"]))])
    up = invoke(servers["config"], home, "--json")
    assert up.exit_code == 0, up.output
    assert json.loads(up.stdout)["report"]["counts"]["digest_papers"] == len(servers["papers"])
    assert len(servers["sink"].messages()) == 2


def test_digests_written_to_files_do_not_repeat_papers(servers, tmp_path):
    home = tmp_path / "home"
    config = servers["config"]
    config.write_text(config.read_text().replace('email_to = ["reader@example.org"]', ""))
    first, second = tmp_path / "d1.txt", tmp_path / "d2.txt"
    assert invoke(config, home, "--out", str(first)).exit_code == 0
    assert invoke(config, home, "--out", str(second)).exit_code == 0
    titles = [" ".join(p["title"].split()[:3]) for p in servers["papers"]]
    assert all(t in " ".join(first.read_text().split()) for t in titles)
    assert not any(t in " ".join(second.read_text().split()) for t in titles)
    assert servers["sink"].messages() == []


def test_two_profiles_get_two_digests_and_llm_spend_follows_what_is_shown(servers, tmp_path):
    cfg = servers["config"]
    cfg.write_text(
        cfg.read_text(encoding="utf-8")
        + """
[profiles.robots]
interests = ["robot locomotion and grasping"]
to = ["robots@example.org"]
max_papers = 3
[profiles.weather]
interests = ["weather and climate forecasting"]
to = ["weather@example.org"]
max_papers = 3
""",
        encoding="utf-8",
    )
    result = invoke(cfg, tmp_path / "home", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [d["profile"] for d in data["digests"]] == ["robots", "weather"]
    assert all(
        d["shown"] == 3 and d["accounted"] == len(servers["papers"]) for d in data["digests"]
    )
    messages = servers["sink"].messages()
    assert sorted(m["To"] for m in messages) == ["robots@example.org", "weather@example.org"]
    by_to = {m["To"]: m.get_body(("plain",)).get_content() for m in messages}
    assert by_to["robots@example.org"] != by_to["weather@example.org"]
    # a reader of both tells them apart by the subject
    subjects = {m["To"]: m["Subject"] for m in messages}
    assert subjects["robots@example.org"].startswith("paperbrief robots · ")
    assert subjects["weather@example.org"].startswith("paperbrief weather · ")
    # summaries only for shown papers (at most 3 + 3), plus one name per theme
    bodies = [json.dumps(r.json) for r in servers["llm"].chat_requests]
    summary_calls = [b for b in bodies if "SummaryDraft" in b]
    assert 0 < len(summary_calls) <= 6 < len(servers["papers"])
    # theme names: at most one call per theme of each 3-paper digest (a handful, never per paper)
    assert len(bodies) - len(summary_calls) <= 2 * 2
    # the human output gives each profile its own line, never the two added together
    again = invoke(cfg, tmp_path / "home")
    assert again.exit_code == 0, again.output
    lines = [x for x in again.output.splitlines() if x.startswith("digest ")]
    assert [x.split(":")[0] for x in lines] == ["digest robots", "digest weather"], again.output


ROBOT_BIB = """@article{walkN,
  title = {Learning Quadruped Locomotion Gaits on Rough Terrain N},
  author = {M{\\"u}ller, J{\\"o}rg},
  abstract = {A legged robot learns to walk and grasp with reinforcement learning.},
  year = {2024}
}
"""


def robot_bib(n: int) -> str:
    return ROBOT_BIB.replace("N", str(n))


def library_of(config: Path, home: Path, profile: str) -> list[dict]:
    argv = ["--config", str(config), "--home", str(home), "library", "list", "-p", profile]
    result = CliRunner().invoke(app, [*argv, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_run_reimports_a_profiles_library_file_when_it_changes(servers, tmp_path):
    cfg, home, bib = servers["config"], tmp_path / "home", tmp_path / "zotero.bib"
    bib.write_text(robot_bib(1), encoding="utf-8")
    cfg.write_text(
        cfg.read_text(encoding="utf-8")
        + f'[profiles.robots]\nlibrary = ["{bib}"]\nto = ["robots@example.org"]\n',
        encoding="utf-8",
    )
    first = invoke(cfg, home, "--json")
    assert first.exit_code == 0, first.output
    assert any("re-imported" in n for n in json.loads(first.stdout)["report"]["notes"])
    [item] = library_of(cfg, home, "robots")
    assert item["title"] == "Learning Quadruped Locomotion Gaits on Rough Terrain 1"

    unchanged = invoke(cfg, home, "--json")
    assert unchanged.exit_code == 0, unchanged.output
    assert not any("re-imported" in n for n in json.loads(unchanged.stdout)["report"]["notes"])

    bib.write_text(robot_bib(1) + robot_bib(2), encoding="utf-8")
    assert invoke(cfg, home, "--json").exit_code == 0
    assert len(library_of(cfg, home, "robots")) == 2

    # a broken export: the run says which file and line, exits 1, and keeps the library it had
    bib.write_text(robot_bib(3)[:-3], encoding="utf-8")
    broken = invoke(cfg, home)
    assert broken.exit_code == 1
    said = " ".join(broken.output.split())
    assert "zotero.bib" in said and "line" in said and "library step failed" in said
    assert len(library_of(cfg, home, "robots")) == 2


def test_run_reads_the_agents_clock_not_the_machines(servers, tmp_path, minilm):
    """The library's run takes its day from the injected clock: a feed announced the day before
    a date four years ahead is today's news for an agent whose clock says so (with the machine's
    clock those papers lie in the future and no digest would carry them)."""
    from agent.config import Settings
    from agent.daily import run_daily
    from agent.pipeline import PaperAgent

    then = datetime(2030, 6, 4, 8, tzinfo=UTC)
    announced = format_datetime(then - timedelta(days=1))
    servers["feed"].route("/rss/cs.LG", [Resp(200, rss(servers["papers"], announced))])
    settings = Settings.load(servers["config"], home=tmp_path / "home")
    with PaperAgent(settings, embedder=minilm, clock=lambda: then) as agent:
        result = run_daily(agent, out=[tmp_path / "digest.md"])
    assert result.failed_step is None, result.report
    digest = (tmp_path / "digest.md").read_text(encoding="utf-8")
    assert all(f"arxiv.org/abs/{p['arxiv_id']}" in digest for p in servers["papers"]), digest
    assert digest.startswith("# paperbrief · Tuesday 04 June 2030")
