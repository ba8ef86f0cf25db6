"""A real day's volume through the real path: 800 papers dated today in a real Chroma store,
`paperbrief digest` and `paperbrief run` (from an arXiv RSS feed to an aiosmtpd server) with a
scripted OpenAI-compatible model. The mail stays under Gmail's clip, every paper of the window
is accounted for (shown, or counted and named in the saved full list), and the model is called
for the papers shown and the themes only, never per paper of the day, and not again for what
is cached.

Embeddings come from the same local OpenAI-compatible server (``embedding_provider = openai``)
as feature-hashing vectors: the CLI builds its own PaperAgent from the config, and MiniLM would
take a minute to embed a day.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from day_corpus import day_papers
from feeds import arxiv_rss, summary_reply
from httpserver import LocalHTTPServer, Resp
from openai_server import OpenAIServer, Reply, structured
from smtpserver import smtp_server
from typer.testing import CliRunner

from cli.main import app
from store.embedding.embedders import HashingEmbedder

pytestmark = pytest.mark.slow  # two stores of 800 papers: about 30 s in all

DAY = 800
SHOWN = 30  # DigestSettings.max_papers' default
MAIL_HTML_LIMIT = 100_000  # Gmail clips HTML past about 102 KB
MAIL_TEXT_LIMIT = 40_000
EMBED_DIM = 384
_ID = re.compile(r"\b26\d\d\.\d{5}\b")


class ModelServer(OpenAIServer):
    """The scripted chat server, also answering ``POST /v1/embeddings`` with feature-hashing
    vectors (one endpoint for both, as Ollama, vLLM or OpenAI serve them)."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.embedder = HashingEmbedder(EMBED_DIM)
        self.embedded = 0

    def _serve(self, h: Any, method: str) -> None:
        if method != "POST" or not h.path.split("?")[0].endswith("/embeddings"):
            return super()._serve(h, method)
        request = json.loads(h.rfile.read(int(h.headers.get("Content-Length") or 0)))
        texts = request["input"]
        vectors = self.embedder.embed(texts)
        self.embedded += len(texts)
        data = [
            {"object": "embedding", "index": i, "embedding": v.tolist()}
            for i, v in enumerate(vectors)
        ]
        self._write(h, Reply(body={"object": "list", "data": data, "model": "hashing"}), request)


def model_reply(request: dict) -> dict:
    """A plain, faithful summary for summary requests; a theme name for theme requests."""
    if "SummaryDraft" in json.dumps(request):
        return summary_reply(request)
    return structured({"name": "A named theme", "overview": "What connects these papers."})(request)


def is_summary_call(request: Any) -> bool:
    return "SummaryDraft" in json.dumps(request.json)


def rss(papers: list[dict], day: datetime) -> bytes:
    return arxiv_rss(papers, format_datetime(day))


def write_config(path: Path, model_url: str, *, llm: bool, **more: Any) -> Path:
    lines = [
        'embedding_provider = "openai"',
        'embedding_model = "hashing"',
        f'embedding_base_url = "{model_url}"',
        "embedding_batch_size = 256",
    ]
    if llm:
        lines += [f'llm_base_url = "{model_url}"', 'llm_model = "scripted"']
    lines += [f"{k} = {json.dumps(v)}" for k, v in more.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def cli(config: Path, home: Path, *args: str):
    return CliRunner().invoke(
        app, ["--config", str(config), "--home", str(home), *args], catch_exceptions=False
    )


@pytest.fixture(scope="module")
def day():
    """800 papers announced in the last hours (the CLI's `--since 1d` is relative to now)."""
    now = datetime.now(UTC).replace(microsecond=0)
    return now, day_papers(DAY, day=now - timedelta(minutes=5), seed=12)


@pytest.fixture(scope="module")
def model():
    with ModelServer(handler=model_reply) as server:
        yield server


@pytest.fixture(scope="module")
def day_home(tmp_path_factory, day, model) -> Path:
    """A store holding the day, ingested from a JSON Lines file with `paperbrief ingest`."""
    _, papers = day
    base = tmp_path_factory.mktemp("day")
    corpus = base / "day.jsonl"
    corpus.write_text("".join(json.dumps(p) + "\n" for p in papers), encoding="utf-8")
    config = write_config(base / "config.toml", model.url, llm=False)
    home = base / "home"
    done = cli(config, home, "ingest", "--file", str(corpus), "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["sources"][0]["new"] == DAY
    return home


def full_list_ids(folder: Path) -> tuple[set[str], set[str]]:
    html = (folder / "full.html").read_text(encoding="utf-8")
    md = (folder / "full.md").read_text(encoding="utf-8")
    return set(_ID.findall(html)), set(_ID.findall(md))


def test_cli_digest_of_an_800_paper_day_is_bounded_and_accounts_for_every_paper(
    day, day_home, model, tmp_path
):
    _, papers = day
    home = tmp_path / "home"
    shutil.copytree(day_home, home)
    config = write_config(tmp_path / "config.toml", model.url, llm=False)
    out = tmp_path / "digest.html"
    done = cli(config, home, "digest", "--since", "1d", "--json", "--out", str(out))
    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)
    ids = {p["id"] for p in papers}

    ranked, also_new = data["ranked"], data["also_new"]
    assert len(ranked) == SHOWN and data["papers"] == SHOWN
    assert all(set(r) == {"id", "title", "score", "because"} for r in ranked)
    assert all(r["because"] for r in ranked)  # every pick says why
    assert [r["score"] for r in ranked] == sorted((r["score"] for r in ranked), reverse=True)
    assert data["also_new_count"] == len(also_new) == DAY - SHOWN
    shown = {r["id"] for r in ranked}
    assert shown | set(also_new) == ids and not shown & set(also_new)
    assert sum(g["count"] for g in data["also_new_by_group"]) == DAY - SHOWN
    assert data["stats"]["in_window"] == DAY
    themed = [i for t in data["themes"] for i in t["papers"]]
    assert sorted(themed) == sorted(shown)  # each shown paper in exactly one theme
    assert 3 <= len(data["themes"]) <= 9  # at most 8 named themes and "Other"
    assert f"{SHOWN} of {DAY} new papers" in data["subject"]

    # the file written with --out is the mail's HTML: bounded like the mail
    html = out.read_text(encoding="utf-8")
    assert len(html.encode("utf-8")) < MAIL_HTML_LIMIT
    assert f"{DAY - SHOWN:,}" in html  # the rest is counted in the mail
    # the saved full list, linked from the mail, names every paper of the window
    folder = Path(data["saved"])
    assert data["full_list"] == str(folder / "full.html") and data["full_list"] in html
    in_html, in_md = full_list_ids(folder)
    assert in_html == ids and in_md == ids
    assert model.chat_requests == []  # no LLM configured: not one chat call


def test_run_of_an_800_paper_day_mails_a_small_digest_and_pays_for_what_it_shows(
    day, tmp_path, monkeypatch
):
    now, papers = day
    ids = {p["id"] for p in papers}
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("PAPERBRIEF_SMTP_PASSWORD", "right")
    with (
        LocalHTTPServer() as feed,
        ModelServer(handler=model_reply) as model,
        smtp_server(user="digest", password="right") as (sink, port),
    ):
        feed.route("/rss/cs.LG", [Resp(200, rss(papers, now - timedelta(minutes=5)))])
        config = write_config(
            tmp_path / "config.toml", model.url, llm=True, sources=["arxiv-rss"],
            arxiv_categories=["cs.LG"], arxiv_rss_url=feed.url("/rss"), arxiv_min_interval=0.0,
            http_retries=0, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
            smtp_user="digest", smtp_from="paperbrief@example.org",
            email_to=["reader@example.org"],
        )  # fmt: skip
        home = tmp_path / "home"
        first = cli(config, home, "run", "--json")
        assert first.exit_code == 0, first.output
        result = json.loads(first.stdout)
        calls = list(model.chat_requests)

        # 1. the whole day went in, and the mail is small
        assert result["report"]["sources"][0]["new"] == DAY
        (delivery,) = result["digests"]
        assert delivery["shown"] == SHOWN and delivery["accounted"] == DAY
        (msg,) = sink.messages()
        assert f"{SHOWN} of {DAY} new papers" in msg["Subject"]
        html, text = _parts(msg)
        assert len(html.encode("utf-8")) < MAIL_HTML_LIMIT
        assert len(text.encode("utf-8")) < MAIL_TEXT_LIMIT
        assert len(sink.envelopes[0].content) < 2 * MAIL_HTML_LIMIT  # whole message, encoded
        assert "shortened" not in html  # 30 papers fit without the size fallback
        saved = json.loads((Path(delivery["saved_in"]) / "digest.json").read_text())
        shown = {p["id"] for p in saved["papers"]}
        assert len(shown) == SHOWN and shown | {p["id"] for p in saved["rest"]} == ids
        assert full_list_ids(Path(delivery["saved_in"])) == (ids, ids)

        # 2. the model was asked about the shown papers and the themes, nothing else
        themes = int(result["report"]["counts"]["digest_themes"])
        summary_calls = [r for r in calls if is_summary_call(r)]
        assert len(summary_calls) == SHOWN
        summarized = {m for r in summary_calls for m in _ID.findall(json.dumps(r.json))}
        assert len(calls) - len(summary_calls) <= themes
        assert len(calls) <= SHOWN + themes < DAY
        assert all(p["summary_source"] == "summary" for p in saved["papers"])
        assert not summarized - ids

        # 3. the next moment: a second run has nothing new and costs nothing ...
        again = cli(config, home, "run", "--json")
        assert again.exit_code == 0, again.output
        assert json.loads(again.stdout)["digests"][0]["accounted"] == 0
        assert len(model.chat_requests) == len(calls)
        assert len(sink.messages()) == 1
        # ... and a digest of the same day re-uses every summary and theme name it can
        redo = cli(config, home, "digest", "--since", "1d", "--include-sent", "--json")
        assert redo.exit_code == 0, redo.output
        data = json.loads(redo.stdout)
        new_calls = model.chat_requests[len(calls) :]
        assert not [r for r in new_calls if is_summary_call(r)]
        assert data["stats"]["summaries_missing"] == 0 and data["papers"] == SHOWN
        assert len(new_calls) <= len(data["themes"]) and len(new_calls) < len(calls)


def _parts(msg: EmailMessage) -> tuple[str, str]:
    return msg.get_body(("html",)).get_content(), msg.get_body(("plain",)).get_content()
