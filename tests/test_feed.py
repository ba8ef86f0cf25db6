"""The Atom feed of delivered digests: parsed back as Atom, one entry per delivered digest (a
re-save updates, never duplicates; previews and "nothing new" are no entries), distinct titles,
stable ids, bounded, per profile, hostile titles and a corrupt feed.xml."""

from __future__ import annotations

import json
import logging
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import lxml.html
import pytest
from lxml import etree
from typer.testing import CliRunner

from agent.config import Settings
from agent.digest.feed import ATOM_NS, entry_id, update_feed
from agent.digest.flow import mark_delivered, save_digest
from agent.digest.models import Digest, DigestPaper, Theme
from agent.pipeline import PaperAgent
from agent.sources.base import FetchRequest
from store.state.digest_history import SqliteDigestHistory

A = f"{{{ATOM_NS}}}"
DAY0 = datetime(2026, 11, 1, 6, tzinfo=UTC)
HOSTILE = "Evil </content><script>alert(1)</script>]]>\x00\x1b & <b>co</b>"
DEMO = Path(__file__).resolve().parents[1] / "agent" / "data" / "demo_corpus.jsonl"


def make(n: int, *, title: str = "A title", profile: str = "default", papers: int = 3) -> Digest:
    shown = [
        DigestPaper(
            id=f"2611.{n:02d}{j:03d}",
            title=f"{title} {j}",
            url=f"https://arxiv.org/abs/2611.{n:02d}{j:03d}",
            authors_short="Ada Lovelace",
            tldr="A short summary of the paper. " * 5,
        )
        for j in range(papers)
    ]
    suffix = "" if profile == "default" else f"-{profile}"
    return Digest(
        id=f"{DAY0 + timedelta(days=n):%Y-%m-%dT%H%M%SZ}{suffix}",
        created_at=DAY0 + timedelta(days=n),
        papers=shown,
        top_picks=[shown[0].id],
        themes=[Theme(name="Theme", overview="o", keywords=[], paper_ids=[p.id for p in shown])],
        profile=profile,
    )


def save(settings: Settings, history: SqliteDigestHistory, digest: Digest) -> Path:
    """Saved and delivered, as `run` and `digest --email` do."""
    folder = save_digest(history, digest)
    mark_delivered(history, digest, ["reader@example.org"], settings=settings)
    return folder


def parse(path: Path) -> etree._Element:
    return etree.fromstring(path.read_bytes(), etree.XMLParser(resolve_entities=False))


def entries(root: etree._Element) -> list[etree._Element]:
    return root.findall(f"{A}entry")


def ids(path: Path) -> list[str]:
    return [e.findtext(f"{A}id") for e in entries(parse(path))]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def history(home: Path):
    h = SqliteDigestHistory.in_home(home)
    yield h
    h.close()


def test_feed_is_atom_and_grows_by_one_entry_per_digest(home, history):
    settings = Settings(home=home)
    feed = home / "digests" / "feed.xml"
    save(settings, history, make(0))
    assert len(entries(parse(feed))) == 1
    save(settings, history, make(1))
    root = parse(feed)
    assert root.tag == f"{A}feed"
    for tag in ("id", "title", "updated"):
        assert (root.findtext(f"{A}{tag}") or "").strip(), tag
    assert root.findtext(f"{A}author/{A}name") == "paperbrief"
    self_link = root.find(f"{A}link[@rel='self']")
    assert self_link is not None and self_link.get("href") == feed.absolute().as_uri()
    got = entries(root)
    assert len(got) == 2
    newest, oldest = got
    assert newest.findtext(f"{A}title") == (
        "paperbrief digest — 2026-11-02 06:00 UTC (default): 3 new papers in 1 theme"
    )
    assert newest.findtext(f"{A}updated") == "2026-11-02T06:00:00+00:00"
    assert root.findtext(f"{A}updated") == "2026-11-02T06:00:00+00:00"
    assert oldest.findtext(f"{A}title").startswith("paperbrief digest — 2026-11-01 06:00 UTC")
    for entry in got:
        assert entry.findtext(f"{A}id").startswith("urn:uuid:")
        content = entry.find(f"{A}content")
        assert content.get("type") == "html"
        fragment = lxml.html.fragment_fromstring(content.text, create_parent="div")
        assert fragment.xpath("//a[starts-with(@href, 'https://arxiv.org/abs/')]")
        assert not fragment.xpath("//style|//head")  # a reader would show the CSS as text
        link = entry.find(f"{A}link")
        assert link.get("href").endswith("/digest.html")
        assert Path(link.get("href").removeprefix("file://")).is_file()
    # The same digest saved again (deliver re-saves what make_digest saved): no new entry,
    # and not a byte changed.
    before, mtime = feed.read_bytes(), feed.stat().st_mtime_ns
    save(settings, history, make(1))
    assert feed.read_bytes() == before and feed.stat().st_mtime_ns == mtime
    assert len(ids(feed)) == 2


def test_only_delivered_digests_with_papers_are_entries_and_titles_differ(home, history):
    settings = Settings(home=home)
    feed = home / "digests" / "feed.xml"
    save(settings, history, make(0))
    preview = make(1)  # `digest` or `digest --json`: saved, never delivered
    save_digest(history, preview)
    assert ids(feed) == [entry_id(make(0).id)]
    # a "nothing new" mail was sent: no entry for it either
    nothing = Digest(id=f"{DAY0 + timedelta(days=2):%Y-%m-%dT%H%M%SZ}",
                     created_at=DAY0 + timedelta(days=2), empty_reason="Nothing new.")  # fmt: skip
    save(settings, history, nothing)
    assert ids(feed) == [entry_id(make(0).id)]
    mark_delivered(history, preview, settings=settings)  # delivered later: it joins
    assert ids(feed) == [entry_id(preview.id), entry_id(make(0).id)]
    # two digests of one day (a morning run and a lunchtime one) read apart
    later = make(0, papers=2).model_copy(
        update={"id": "2026-11-01T120000Z", "created_at": DAY0 + timedelta(hours=6)}
    )
    save(settings, history, later)
    titles = [e.findtext(f"{A}title") for e in entries(parse(feed))]
    assert len(titles) == len(set(titles)) == 3, titles


def test_entry_ids_are_stable_across_rebuilds(home, history):
    settings = Settings(home=home)
    feed = home / "digests" / "feed.xml"
    for n in range(2):
        save(settings, history, make(n))
    first = ids(feed)
    assert first == [entry_id(make(1).id), entry_id(make(0).id)]
    feed.unlink()
    save(settings, history, make(2))
    assert ids(feed)[1:] == first
    assert len(set(ids(feed))) == 3


def test_hostile_titles_and_control_characters_do_not_break_the_feed(home, history):
    settings = Settings(home=home)
    save(settings, history, make(0, title=HOSTILE))
    root = parse(home / "digests" / "feed.xml")  # raises if the XML broke
    (entry,) = entries(root)
    content = entry.find(f"{A}content").text
    fragment = lxml.html.fragment_fromstring(content, create_parent="div")
    assert not fragment.xpath("//script") and not fragment.xpath("//b")
    titles = [a.text_content() for a in fragment.xpath("//a[contains(@href, 'arxiv.org')]")]
    assert "Evil </content><script>alert(1)</script>]]> & <b>co</b> 0" in titles
    assert "\x00" not in content and "\x1b" not in content


@pytest.mark.parametrize(
    "old",
    [
        b"<feed xmlns='http://www.w3.org/2005/Atom'><entry><title>half",
        b"<rss version='2.0'><channel/></rss>",
        b"\x00\xff not xml at all",
        b"<?xml version='1.0'?><!DOCTYPE f [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><f>&x;</f>",
    ],
)
def test_corrupt_feed_file_is_rebuilt_with_a_warning(home, history, caplog, old):
    settings = Settings(home=home)
    save(settings, history, make(0))
    feed = home / "digests" / "feed.xml"
    feed.write_bytes(old)
    with caplog.at_level(logging.WARNING, logger="agent.digest.feed"):
        save(settings, history, make(1))
    assert any("rebuilt from the history" in r.getMessage() for r in caplog.records)
    assert history.exists(make(1).id)
    assert ids(feed) == [entry_id(make(1).id), entry_id(make(0).id)]  # nothing lost
    assert b"root:" not in feed.read_bytes()


def test_feed_keeps_the_newest_entries_only(home, history):
    settings = Settings(home=home, digest={"feed_entries": 3})
    for n in range(6):
        save(settings, history, make(n))
    assert ids(home / "digests" / "feed.xml") == [entry_id(make(n).id) for n in (5, 4, 3)]


def test_feed_entries_zero_writes_no_feed(home, history):
    save(Settings(home=home, digest={"feed_entries": 0}), history, make(0))
    assert history.exists(make(0).id)
    assert not (home / "digests" / "feed.xml").exists()


def test_each_profile_has_its_feed_and_public_links(home, history):
    settings = Settings(
        home=home,
        digest={"feed_url": "https://lab.example/pb/feed.xml"},
        profiles={"alice": {"interests": ["robots"]}, "bob": {"feed_path": home / "bob.xml"}},
    )
    save(settings, history, make(0))
    save(settings, history, make(1, profile="alice"))
    save(settings, history, make(2, profile="alice"))
    save(settings, history, make(3, profile="bob"))
    digests = home / "digests"
    assert ids(digests / "feed.xml") == [entry_id(make(0).id)]
    assert ids(digests / "feed-alice.xml") == [
        entry_id(make(2, profile="alice").id),
        entry_id(make(1, profile="alice").id),
    ]
    assert ids(home / "bob.xml") == [entry_id(make(3, profile="bob").id)]
    alice = parse(digests / "feed-alice.xml")
    assert alice.find(f"{A}link[@rel='self']").get("href") == (
        "https://lab.example/pb/feed-alice.xml"
    )
    link = entries(alice)[0].find(f"{A}link").get("href")
    assert link == f"https://lab.example/pb/{make(2, profile='alice').id}/digest.html"
    assert "(alice): 3 new papers" in entries(alice)[0].findtext(f"{A}title")
    # Bob's feed lives outside the served folder: its links are files, not guessed URLs.
    bob = parse(home / "bob.xml")
    assert bob.find(f"{A}link[@rel='self']").get("href").startswith("file://")


def test_profiles_sharing_a_feed_path_share_the_feed(home, history):
    shared = home / "team.xml"
    settings = Settings(
        home=home, digest={"feed_path": shared}, profiles={"alice": {"feed_path": shared}}
    )
    save(settings, history, make(0))
    save(settings, history, make(1, profile="alice"))
    save(settings, history, make(2))
    assert len(ids(shared)) == 3


def test_an_unwritable_feed_costs_a_warning_not_the_digest(home, history, caplog):
    blocker = home / "feed-is-a-dir"
    blocker.mkdir(parents=True)
    settings = Settings(home=home, digest={"feed_path": blocker})
    with caplog.at_level(logging.WARNING, logger="agent.digest.feed"):
        folder = save(settings, history, make(0))
    assert (folder / "digest.html").is_file() and history.exists(make(0).id)
    assert any("was not updated" in r.getMessage() for r in caplog.records)
    assert update_feed(settings, history, "default") is None


def test_missing_digest_files_are_left_out_and_older_ones_fill_in(home, history):
    settings = Settings(home=home, digest={"feed_entries": 2})
    save(settings, history, make(0))
    gone = save(settings, history, make(1))
    shutil.rmtree(gone)
    save(settings, history, make(2))
    assert ids(home / "digests" / "feed.xml") == [entry_id(make(2).id), entry_id(make(0).id)]


def test_feed_url_must_be_http():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="feed_url"):
        Settings(digest={"feed_url": "javascript:alert(1)"})


@pytest.fixture(scope="module")
def ingested_home(tmp_path_factory, minilm) -> Path:
    home = tmp_path_factory.mktemp("feedhome")
    rows = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines()][:12]
    for r in rows:
        r.pop("topic", None), r.pop("fictional", None)
    path = home.parent / "feed-corpus.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with PaperAgent(Settings(home=home), embedder=minilm) as agent:
        assert agent.ingest(request=FetchRequest(path=path)).ok
    return home


def test_cli_digest_previews_add_no_entry_and_an_emailed_digest_does(ingested_home, tmp_path):
    from smtpserver import smtp_server

    from cli.main import app

    home = tmp_path / "home"
    shutil.copytree(ingested_home, home)
    runner = CliRunner()
    feed = home / "digests" / "feed.xml"
    base = ["--home", str(home), "digest", "--since", "2000-01-01", "--include-sent", "--no-llm"]
    for preview in (["--out", str(tmp_path / "a.html")], ["--json"]):
        result = runner.invoke(app, [*base, *preview], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    assert not feed.exists() or entries(parse(feed)) == []
    with smtp_server() as (sink, port):
        smtp = {"HOST": "127.0.0.1", "PORT": str(port), "SECURITY": "none",
                "FROM_ADDR": "pb@example.org"}  # fmt: skip
        env = {f"PAPERBRIEF_SMTP__{k}": v for k, v in smtp.items()}
        for _ in range(2):
            result = runner.invoke(app, [*base, "--email", "reader@example.org"], env=env,
                                   catch_exceptions=False)  # fmt: skip
            assert result.exit_code == 0, result.output
        assert len(sink.messages()) == 2
    (second, first) = entries(parse(feed))
    assert first.findtext(f"{A}id") != second.findtext(f"{A}id")
    text = lxml.html.fragment_fromstring(first.find(f"{A}content").text, create_parent="div")
    titles = [json.loads(line)["title"] for line in DEMO.read_text(encoding="utf-8").splitlines()]
    assert any(t in text.text_content() for t in titles[:12])


@pytest.mark.slow
def test_feed_from_a_shared_history_on_a_chroma_server(tmp_path):
    """Two homes share a history on a real `chroma run`: each feed lists its profile's digests
    whose files are in that home, not the other machine's."""
    from chroma_server import chroma_run

    from store.shared.digest_history import SharedDigestHistory

    with chroma_run(tmp_path / "chroma-server") as url:
        here, there = tmp_path / "here", tmp_path / "there"
        mine = SharedDigestHistory.in_home(here, url)
        theirs = SharedDigestHistory.in_home(there, url)
        settings = Settings(home=here, profiles={"alice": {}, "bob": {}})
        save(settings, mine, make(0, profile="alice"))
        save(Settings(home=there, profiles={"alice": {}}), theirs, make(1, profile="alice"))
        save(settings, mine, make(2, profile="bob"))
        save(settings, mine, make(3, profile="alice"))
        feed = here / "digests" / "feed-alice.xml"
        assert ids(feed) == [
            entry_id(make(3, profile="alice").id),
            entry_id(make(0, profile="alice").id),
        ]
        assert ids(here / "digests" / "feed-bob.xml") == [entry_id(make(2, profile="bob").id)]
