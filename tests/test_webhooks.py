"""Delivery of the digest to team chat, through real apprise posting to a local HTTP server.

Mattermost (``mmost://``, Slack-compatible incoming webhooks) and generic JSON (``json://``)
take a host, so they post here as configured. apprise's Slack and Discord plugins post to fixed
hosts (hooks.slack.com, discord.com): the tests point those class attributes of apprise at the
local server, which leaves apprise's own payload, escaping and limits, and our code, untouched.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from test_digest_day import (  # the 800-paper day's store, built once per module
    DAY,
    SHOWN,
    ModelServer,
    cli,
    day,  # noqa: F401 - fixture
    day_home,  # noqa: F401 - fixture
    model,  # noqa: F401 - fixture
    model_reply,
    write_config,
)

from agent.config import Settings
from agent.config.secrets import mask_webhook_url
from agent.digest.models import Digest, DigestPaper, RestPaper, Theme
from agent.webhooks import MessageOptions, build_message, post_digest, webhooks_for
from agent.webhooks.post import Channel
from store.state.digest_history import SqliteDigestHistory

HOSTILE = (
    "<!channel> *bold* <script>alert(1)</script> @everyone @here [x](https://evil.example) "
    "&amp; _u_"
)
HOSTILE_BECAUSE = "close to <@U0123> and <!here|here> in your library @channel"
TOKEN = "s3cr3tT0kenXYZ"


# --- a local webhook receiver -------------------------------------------------------------------
@dataclass
class Post:
    path: str
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


class WebhookServer:
    """Records every POST; ``fail`` maps a path to the status it answers instead of 200,
    ``delay`` to the seconds it waits before answering."""

    def __init__(self) -> None:
        self.posts: list[Post] = []
        self.fail: dict[str, int] = {}
        self.delay: dict[str, float] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.posts.append(Post(self.path, body))
                if self.path in server.delay:
                    time.sleep(server.delay[self.path])
                status = server.fail.get(self.path, 200)
                data = b"ok" if status == 200 else b'{"error": "boom"}'
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def to(self, path: str) -> list[Post]:
        return [p for p in self.posts if p.path == path]

    def __enter__(self) -> WebhookServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def hooks(monkeypatch) -> Iterator[WebhookServer]:
    from apprise.plugins.discord import NotifyDiscord
    from apprise.plugins.slack import NotifySlack

    with WebhookServer() as server:
        base = f"http://127.0.0.1:{server.port}"
        monkeypatch.setattr(NotifySlack, "webhook_url", f"{base}/slack")
        monkeypatch.setattr(NotifyDiscord, "notify_url", f"{base}/discord")
        yield server


def urls(server: WebhookServer) -> dict[str, str]:
    """Each service's URL and the path its posts arrive at."""
    host = f"127.0.0.1:{server.port}"
    return {
        "mmost": f"mmost://{host}/{TOKEN}",
        "json": f"json://{host}/paperbrief/{TOKEN}",
        "slack": f"slack://T0001/B0002/{TOKEN}",
        "discord": f"discord://123456/{TOKEN}",
    }


PATHS = {
    "mmost": f"/hooks/{TOKEN}",
    "json": f"/paperbrief/{TOKEN}",
    "slack": f"/slack/T0001/B0002/{TOKEN}",
    "discord": f"/discord/123456/{TOKEN}",
}


def text_of(service: str, post: Post) -> str:
    """The message text a service's payload carries."""
    data = post.json
    if service == "mmost":
        return data["text"]
    if service == "json":
        return data["title"] + "\n" + data["message"]
    if service == "slack":
        return data["attachments"][0]["title"] + "\n" + data["attachments"][0]["text"]
    return data["content"]


# --- digests --------------------------------------------------------------------------------------
def paper(n: int, title: str | None = None, **kw) -> DigestPaper:
    pid = f"2611.{n:05d}"
    fields = {
        "id": pid,
        "title": title or f"Paper {n} on sparse routing",
        "url": f"https://arxiv.org/abs/{pid}",
        "because": f"matches interest {n}",
    }
    return DigestPaper(**(fields | kw))


def make_digest(
    papers: list[DigestPaper], *, rest: int = 0, themes: int = 3, digest_id: str | None = None,
    created: datetime | None = None,
) -> Digest:  # fmt: skip
    created = created or datetime.now(UTC)
    per = max(1, len(papers) // themes)
    theme_list = [
        Theme(name=f"Theme {t} <b>x</b>", paper_ids=[p.id for p in papers[t * per : (t + 1) * per]])
        for t in range(themes)
    ]
    return Digest(
        id=digest_id or created.strftime("%Y-%m-%dT%H%M%SZ"),
        created_at=created,
        papers=papers,
        top_picks=[p.id for p in papers[:3]],
        themes=theme_list,
        rest=[RestPaper(id=f"2611.9{i:04d}", title=f"Rest {i}") for i in range(rest)],
        empty_reason=None if papers else "Nothing new since the last digest.",
    )


def saved(history: SqliteDigestHistory, digest: Digest) -> Digest:
    """Save it as the digest flow does (the files and the history row)."""
    from agent.digest.flow import save_digest

    save_digest(history, digest)
    return digest


@pytest.fixture
def history(tmp_path) -> SqliteDigestHistory:
    return SqliteDigestHistory(tmp_path / "state.sqlite3", tmp_path / "digests")


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory) -> Iterator[str]:
    from chroma_server import chroma_run

    with chroma_run(tmp_path_factory.mktemp("chroma")) as url:
        yield url


@pytest.fixture(params=["sqlite", "shared"])
def any_history(request, tmp_path):
    """The local history and the shared (Chroma server) one: the same interface."""
    if request.param == "sqlite":
        return SqliteDigestHistory(tmp_path / "state.sqlite3", tmp_path / "digests")
    from store.shared.digest_history import SharedDigestHistory
    from store.shared.table import server_client

    url = request.getfixturevalue("chroma_url")
    client = server_client(url)
    for collection in client.list_collections():  # each test starts from an empty history
        client.delete_collection(getattr(collection, "name", collection))
    return SharedDigestHistory(url, tmp_path / "digests", client=client)


LINK = "https://lab.example.org/paperbrief/digests/x/full.html"


# --- escaping -------------------------------------------------------------------------------------
def test_hostile_title_is_escaped_for_each_service_and_pings_nobody(hooks, history):
    digest = saved(history, make_digest(
        [paper(1, HOSTILE, because=HOSTILE_BECAUSE), *(paper(n) for n in range(2, 7))], rest=40
    ))  # fmt: skip
    report = post_digest(digest, list(urls(hooks).values()), history=history,
                         full_link=lambda d: LINK)  # fmt: skip

    assert [r.status for r in report.results] == ["posted"] * 4, report
    for service, path in PATHS.items():
        (post,) = hooks.to(path)
        text = text_of(service, post)
        # no live mention, no raw HTML, no injected link, in any service
        # (Markdown shows a backslash-escaped < as text; Slack gets &lt; from apprise)
        assert not re.search(r"(?<!\\)<(!|@|#|script|b>)", text), text
        assert not re.search(r"@(everyone|here|channel)\b", text), text
        if service != "slack":  # Markdown: the title's [x](...) stays escaped text
            assert not re.search(r"(?<!\\)\]\(https://evil", text), text
        assert "<https://evil.example|" not in text  # Slack: no link of the title's making
        # ... yet the title is there to read, linked to the paper, with the counts and link
        assert "alert(1)" in text and "2611.00001" in text
        assert "6 papers shown in 3 themes, 40 more new in the full digest" in text
        assert "lab.example.org/paperbrief/digests/x/full.html" in text
    slack = text_of("slack", hooks.to(PATHS["slack"])[0])
    assert "&lt;!channel&gt;" in slack and "&lt;script&gt;" in slack  # Slack's own escapes
    assert "<https://arxiv.org/abs/2611.00001|" in slack  # a Slack link to the paper
    mattermost = text_of("mmost", hooks.to(PATHS["mmost"])[0])
    assert "\\<\\!channel\\>" in mattermost or "\\<!channel\\>" in mattermost
    assert "[\\<!channel\\> \\*bold\\*" in mattermost  # a Markdown link, its label escaped
    assert "(https://arxiv.org/abs/2611.00001)" in mattermost
    discord = text_of("discord", hooks.to(PATHS["discord"])[0])
    assert "(<https://arxiv.org/abs/2611.00001>)" in discord  # no preview card per paper


def test_html_markup_escapes_titles_and_links():
    digest = make_digest([paper(1, HOSTILE, url='https://arxiv.org/abs/1?a="x"&b=<y>')])
    message = build_message(digest, MessageOptions(markup="html", limit=4000, full_link=LINK))
    assert "<script>" not in message.body and "&lt;script&gt;" in message.body
    assert 'href="https://arxiv.org/abs/1?a=&quot;x&quot;&amp;b=&lt;y&gt;"' in message.body
    assert "@\u200beveryone" in message.body


# --- size limits ----------------------------------------------------------------------------------
def long_digest(n: int = 30, rest: int = 770) -> Digest:
    titles = [f"{'Very long title about mixture-of-experts routing & sparse attention ' * 5}{i}"
              for i in range(n)]  # fmt: skip
    return make_digest([paper(i + 1, t, because="x" * 300) for i, t in enumerate(titles)],
                       rest=rest, themes=8)  # fmt: skip


@pytest.mark.parametrize("limit", [4000, 2000, 1000, 400])
def test_message_fits_the_limit_and_keeps_picks_counts_and_link(limit):
    message = build_message(long_digest(), MessageOptions(limit=limit, full_link=LINK))
    assert message.chars <= limit
    assert message.left_out > 0
    assert LINK in message.body and "770 more new in the full digest" in message.body
    assert "2611.00001" in message.body  # the best pick survives every cut
    hidden = 8 - message.themes
    assert (f"{hidden} themes not listed here" in message.body) == (hidden > 1)


def test_posts_of_a_long_digest_stay_under_each_services_limit(hooks, history):
    digest = saved(history, long_digest())
    report = post_digest(digest, list(urls(hooks).values()), history=history,
                         full_link=lambda d: LINK)  # fmt: skip
    assert report.ok, report
    limits = {"mmost": 4000, "discord": 2000, "slack": 35000, "json": 32768}
    for service, path in PATHS.items():
        (post,) = hooks.to(path)
        text = text_of(service, post)
        assert len(text) <= limits[service], (service, len(text))
        assert "full.html" in text and "770 more" in text
    by_label = {r.channel.split(":")[0]: r for r in report.results}
    assert by_label["discord"].left_out > 0 and by_label["mmost"].left_out > 0
    assert by_label["json"].left_out == 0  # 32 KB: room for every theme


# --- failures, retries, exactly once --------------------------------------------------------------
def test_a_500_is_reported_per_channel_and_the_next_call_retries_only_that_channel(
    hooks, any_history
):
    history = any_history
    hooks.fail[PATHS["mmost"]] = 500
    first = saved(history, make_digest([paper(n) for n in range(1, 7)], digest_id="d1"))
    report = post_digest(first, list(urls(hooks).values()), history=history)
    (failed,) = report.failed
    assert failed.channel.startswith(f"mmost://127.0.0.1:{hooks.port}/**** (")
    assert "500" in failed.reason and TOKEN not in failed.reason + failed.channel
    assert {r.channel.split(":")[0] for r in report.posted} == {"json", "slack", "discord"}

    # again, same digest, server still failing: only Mattermost is tried
    report = post_digest(first, list(urls(hooks).values()), history=history)
    assert [r.status for r in report.results].count("skipped") == 3
    assert len(hooks.to(PATHS["mmost"])) == 2 and len(hooks.to(PATHS["json"])) == 1

    # the server recovers; the next run has a newer (empty) digest: the old one is retried
    del hooks.fail[PATHS["mmost"]]
    later = saved(history, make_digest([], digest_id="d2", themes=1))
    report = post_digest(later, list(urls(hooks).values()), history=history)
    (retried,) = [r for r in report.results if r.retried]
    assert retried.status == "posted" and retried.digest_id == "d1"
    assert all(r.status == "skipped" for r in report.results if not r.retried)  # nothing new
    # two refused posts to Mattermost, then one accepted; one post to each other channel
    assert {s: len(hooks.to(p)) for s, p in PATHS.items()} == {
        "mmost": 3, "json": 1, "slack": 1, "discord": 1
    }  # fmt: skip
    assert history.posted_channels("d1") == {Channel.of(u).key for u in urls(hooks).values()}

    # and once more: nothing left to post anywhere
    before = len(hooks.posts)
    post_digest(later, list(urls(hooks).values()), history=history)
    assert len(hooks.posts) == before


def test_unreachable_and_unknown_urls_fail_named_and_masked(history):
    from httpserver import unused_port

    digest = saved(history, make_digest([paper(1)]))
    bad = [f"json://127.0.0.1:{unused_port()}/{TOKEN}", f"nosuchservice://{TOKEN}/x"]
    report = post_digest(digest, bad, history=history)
    assert [r.status for r in report.results] == ["failed", "failed"]
    for result in report.results:
        assert TOKEN not in result.reason + result.channel and result.reason
    assert "apprise does not accept" in report.results[1].reason


def test_mask_webhook_url_shows_service_and_host_only():
    def shown(url: str) -> str:  # without the fingerprint (test_webhook_labels.py)
        masked = mask_webhook_url(url)
        assert re.fullmatch(r".* \([0-9a-f]{6}\)", masked) and TOKEN not in masked
        return masked.rsplit(" ", 1)[0]

    assert shown(f"slack://T0001/B0002/{TOKEN}") == "slack://****"
    assert shown(f"mmost://chat.example.org/{TOKEN}") == "mmost://chat.example.org/****"
    assert shown(f"tgram://123456:{TOKEN}/987") == "tgram://****"
    assert shown(f"matrix://bot:{TOKEN}@matrix.org/#room") == "matrix://matrix.org/****"


def test_config_webhooks_are_masked_in_config_show_and_profiles_fall_back(tmp_path):
    settings = Settings(
        home=tmp_path,
        digest={"webhooks": f"slack://T0001/B0002/{TOKEN}"},
        profiles={"ada": {"interests": ["x"]}, "bob": {"webhooks": [], "interests": ["y"]},
                  "cy": {"webhooks": [f"json://h.example.org/{TOKEN}"]}},
    )  # fmt: skip
    assert TOKEN not in json.dumps(settings.masked())
    assert webhooks_for(settings, "ada") == [f"slack://T0001/B0002/{TOKEN}"]
    assert webhooks_for(settings, "bob") == []
    assert webhooks_for(settings, "cy") == [f"json://h.example.org/{TOKEN}"]


# --- through the CLI: `paperbrief digest --webhook` on an 800-paper day, `paperbrief run` ---------
@contextmanager
def _run_day(tmp_path: Path, papers: list[dict], now: datetime) -> Iterator[tuple[Path, Any]]:
    """(config, SMTP sink) for `paperbrief run` while an arXiv RSS feed serves ``papers``, the
    embedder answers, and a local SMTP server takes the mail; no LLM."""
    from email.utils import format_datetime

    from feeds import arxiv_rss
    from httpserver import LocalHTTPServer, Resp
    from smtpserver import smtp_server

    with (
        LocalHTTPServer() as feed,
        ModelServer(handler=model_reply) as embedder,
        smtp_server(user="digest", password="right") as (sink, port),
    ):
        feed.route("/rss/cs.LG", [Resp(200, arxiv_rss(papers, format_datetime(now)))])
        config = write_config(
            tmp_path / "config.toml", embedder.url, llm=False, sources=["arxiv-rss"],
            arxiv_categories=["cs.LG"], arxiv_rss_url=feed.url("/rss"), arxiv_min_interval=0.0,
            http_retries=0, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
            smtp_user="digest", smtp_from="paperbrief@example.org",
            email_to=["reader@example.org"],
        )  # fmt: skip
        yield config, sink


def with_webhooks(config: Path, **digest: object) -> Path:
    """The test config plus a [digest] table (after the flat keys, as TOML wants)."""
    lines = ["", "[digest]", *(f"{k} = {json.dumps(v)}" for k, v in digest.items())]
    config.write_text(config.read_text(encoding="utf-8") + "\n".join(lines) + "\n")
    return config


# fmt: off
@pytest.mark.slow  # the 800-paper store is built once for the module: about 15 s
def test_cli_digest_webhook_posts_an_800_paper_day_once_within_limits(
    hooks, tmp_path,
    day, day_home, model,  # noqa: F811 - the 800-paper day's fixtures, imported above
):
    # fmt: on
    home = tmp_path / "home"
    shutil.copytree(day_home, home)
    config = with_webhooks(write_config(tmp_path / "config.toml", model.url, llm=False),
                           feed_url="https://lab.example.org/pb/feed.xml")  # fmt: skip
    hook = urls(hooks)
    args = ["digest", "--since", "1d", "--webhook", hook["mmost"], "-w", hook["json"], "--json"]
    done = cli(config, home, *args)
    assert done.exit_code == 0, done.output
    assert TOKEN not in done.output
    data = json.loads(done.stdout)
    assert [p["status"] for p in data["posts"]] == ["posted", "posted"]
    link = f"https://lab.example.org/pb/{data['id']}/full.html"

    (mattermost,) = hooks.to(PATHS["mmost"])
    text = mattermost.json["text"]
    assert len(text) <= 4000 and f"{SHOWN} of {DAY} new papers" in text
    assert f"{DAY - SHOWN} more new in the full digest" in text and f"({link})" in text
    top = data["top_picks"][0]
    assert f"(https://arxiv.org/abs/{top})" in text  # the best pick, linked
    (generic,) = hooks.to(PATHS["json"])
    assert generic.json["title"] == data["subject"] and link in generic.json["message"]
    assert all(t["name"].split()[0] in generic.json["message"] for t in data["themes"])

    # again: the papers went out, the new digest is empty: nothing is posted twice
    again = cli(config, home, *args)
    assert again.exit_code == 0, again.output
    assert [p["status"] for p in json.loads(again.stdout)["posts"]] == ["skipped", "skipped"]
    assert len(hooks.to(PATHS["mmost"])) == len(hooks.to(PATHS["json"])) == 1

    # a URL apprise does not know fails before any work, named but masked
    bad = cli(config, home, "digest", "--webhook", f"nosuch://{TOKEN}/x")
    assert bad.exit_code == 2 and "nosuch://****" in bad.output and TOKEN not in bad.output


def test_cli_run_mails_posts_and_next_run_retries_only_the_failed_channel(
    hooks, tmp_path, monkeypatch
):
    from day_corpus import day_papers

    now = datetime.now(UTC).replace(microsecond=0)
    papers = day_papers(40, day=now - timedelta(minutes=5), seed=3)
    hook = urls(hooks)
    hooks.fail[PATHS["mmost"]] = 500
    monkeypatch.setenv("PAPERBRIEF_SMTP_PASSWORD", "right")
    with _run_day(tmp_path, papers, now) as (config, sink):
        with_webhooks(config, webhooks=[hook["mmost"], hook["json"], hook["slack"]])
        home = tmp_path / "home"

        first = cli(config, home, "run", "--json")
        assert first.exit_code == 1, first.output  # a channel failed
        assert TOKEN not in first.output
        result = json.loads(first.stdout)
        assert result["failed_step"] == "webhook"
        (delivery,) = result["digests"]
        assert delivery["delivered_to"] and len(sink.messages()) == 1  # mailed regardless
        assert (Path(delivery["saved_in"]) / "digest.json").exists()  # and saved
        status = {p["channel"].split(":")[0]: p["status"] for p in delivery["posts"]}
        assert status == {"mmost": "failed", "json": "posted", "slack": "posted"}
        assert any(f"mmost://127.0.0.1:{hooks.port}/****" in n and "500" in n
                   for n in result["report"]["notes"])  # fmt: skip

        del hooks.fail[PATHS["mmost"]]  # the server recovers
        second = cli(config, home, "run")
        assert second.exit_code == 0, second.output
        assert f"posted {delivery['digest_id']} to mmost://127.0.0.1:{hooks.port}/****" in (
            " ".join(second.output.split())
        )
        assert len(sink.messages()) == 1  # nothing new: no second mail
    assert {s: len(hooks.to(PATHS[s])) for s in ("mmost", "json", "slack")} == {
        "mmost": 2, "json": 1, "slack": 1
    }  # fmt: skip
    retried = hooks.to(PATHS["mmost"])[-1].json["text"]
    assert "of 40 new papers" in retried or "40 new papers" in retried


def test_no_token_reaches_the_log_even_at_debug(hooks, history, caplog):
    import logging

    hooks.fail[PATHS["slack"]] = 500
    digest = saved(history, make_digest([paper(1)]))
    with caplog.at_level(logging.DEBUG):
        report = post_digest(digest, [urls(hooks)["slack"], urls(hooks)["mmost"]], history=history)
    assert [r.status for r in report.results] == ["failed", "posted"]
    assert "Slack POST URL" in caplog.text  # apprise's debug line naming the URL is there ...
    assert TOKEN not in caplog.text  # ... with the token masked


def test_cli_run_whose_mail_fails_posts_nothing_and_the_next_run_sends_both_once(
    hooks, tmp_path, monkeypatch
):
    """Chat follows the mail: a digest whose mail failed is not posted (its papers come back
    in the next digest, which goes to both), so chat never sees a paper twice."""
    from day_corpus import day_papers

    now = datetime.now(UTC).replace(microsecond=0)
    papers = day_papers(12, day=now - timedelta(minutes=5), seed=4)
    monkeypatch.setenv("PAPERBRIEF_SMTP_PASSWORD", "wrong")
    with _run_day(tmp_path, papers, now) as (config, sink):
        with_webhooks(config, webhooks=[urls(hooks)["json"]])
        home = tmp_path / "home"

        failed = cli(config, home, "run", "--json")
        assert failed.exit_code == 1, failed.output
        result = json.loads(failed.stdout)
        assert result["failed_step"] == "deliver" and result["digests"][0]["posts"] == []
        assert any("not posted to chat" in n for n in result["report"]["notes"])
        assert hooks.posts == [] and sink.messages() == []

        monkeypatch.setenv("PAPERBRIEF_SMTP_PASSWORD", "right")
        fixed = cli(config, home, "run", "--json")
        assert fixed.exit_code == 0, fixed.output
        assert len(sink.messages()) == 1
    (post,) = hooks.to(PATHS["json"])
    assert "12 new papers" in post.json["title"]  # the same papers, once, to both
