"""Rendering: untrusted text escaped in every format, CSS inlined, every section and label shown."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from agent.digest.models import Digest, DigestPaper, DigestStats, RestPaper, Theme
from agent.digest.render import format_for_path, md_escape, render, render_all, render_full
from agent.errors import InputError

EVIL = 'Evil <script>alert("x")</script> [click](javascript:alert(1)) **bold** & co'


def paper(pid: str, title: str = "A title", **kw) -> DigestPaper:
    base = {
        "id": pid,
        "title": title,
        "url": f"https://arxiv.org/abs/{pid}",
        "authors_short": "Ada Lovelace, Alan Turing",
        "tldr": f"Tldr of {pid}.",
        "why_it_matters": f"Matters because {pid}.",
        "summary_model": "gpt-4o-mini",
    }
    return DigestPaper(**(base | kw))


@pytest.fixture
def digest() -> Digest:
    papers = [
        paper(
            "2401.00001",
            EVIL,
            because="close to *Mamba <b>SSM</b> [x](javascript:1)* in your library",
        ),
        paper("2401.00002", flagged="the number 12% is not in the abstract"),
        paper(
            "2401.00003",
            tldr="First sentence of the abstract.",
            summary_source="abstract",
            why_it_matters=None,
            summary_model=None,
        ),
        paper("2401.00004", url=None),
        paper("2401.00005"),
        paper("2401.00006", "Lonely paper"),
    ]
    return Digest(
        id="2026-11-24T060000Z",
        created_at=datetime(2026, 11, 24, 6, tzinfo=UTC),
        window_start=datetime(2026, 11, 23, 6, tzinfo=UTC),
        window_end=datetime(2026, 11, 24, 6, tzinfo=UTC),
        papers=papers,
        top_picks=["2401.00001", "2401.00002", "2401.00003"],
        themes=[
            Theme(
                name="Routing <b>experts</b>",
                overview="They all route tokens.",
                paper_ids=["2401.00001", "2401.00002", "2401.00004"],
                named_by="llm:m",
            ),
            Theme(name="Molecules", overview="Chemistry.", paper_ids=["2401.00003", "2401.00005"]),
        ],
        rest=[
            RestPaper(
                id="2401.00101",
                title="Rest <i>one</i>",
                url="https://arxiv.org/abs/2401.00101",
                score=0.5,
                group="Molecules",
            ),
            RestPaper(
                id="2401.00102",
                title="Rest two",
                url="javascript:alert(1)",
                score=0.4,
                group="cs.LG",
            ),
            RestPaper(id="2401.00103", title="Rest three", score=0.3, group="Molecules"),
        ],
        ranked_by="default",
        ranking_note="No profile yet: ranked by upvotes. Import your library with "
        "`paperbrief library import FILE`.",
        full_list="/home/me/.paperbrief/digests/2026-11-24T060000Z/full.html",
        stats=DigestStats(
            llm_calls=2, tokens_in=1200, tokens_out=300, cost=0.0012, summaries_missing=1
        ),
        notes=["Source hf failed: HTTP 503"],
    )


class TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_html_escapes_titles_and_theme_names(digest):
    html = render(digest, "html")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>experts</b>" not in html and "&lt;b&gt;experts&lt;/b&gt;" in html
    parser = TagCollector()
    parser.feed(html)
    assert not [t for t, _ in parser.tags if t == "script"]
    hrefs = [a.get("href", "") for t, a in parser.tags if t == "a"]
    assert not [h for h in hrefs if h.lower().startswith("javascript")]


def test_html_css_is_inlined_and_dark_mode_kept(digest):
    html = render(digest, "html")
    assert re.search(r'<p class="title" style="[^"]*font-weight: bold', html)
    assert "prefers-color-scheme: dark" in html  # the kept block
    assert 'name="color-scheme"' in html and 'name="viewport"' in html
    assert "margin: 0 0 16px 0; padding: 0 0 14px 0" not in html  # main sheet inlined, not kept


def test_every_paper_and_section_appears_in_each_format(digest):
    out = render_all(digest)
    for text in (out.html, out.md, out.txt):
        for p in digest.papers:
            assert p.id in text or p.tldr in text or (p.url and p.url in text)
        assert "Lonely paper" in text  # shown but in no theme: a card of its own
        assert "Outside the themes" in text or "OUTSIDE THE THEMES" in text
        assert "Rest two" not in text and "2401.00102" not in text  # the rest is only counted
        assert "3 more papers in this window" in text
        assert "Molecules (2)" in text or "Molecules <span" in text
        assert "The full list of all 9 papers" in text and digest.full_list in text
        assert "No profile yet: ranked by upvotes." in text
        assert "They all route tokens." in text
        assert "failed an automatic check" in text
        assert "From the abstract" in text
        assert "Source hf failed: HTTP 503" in text
        assert "1,500 tokens" in text and "$0.0012" in text


def test_top_picks_are_summarized_once_and_referenced_in_their_theme(digest):
    html = render(digest, "html")
    assert html.count("Tldr of 2401.00001.") == 1
    assert "a top pick, summarized above" in html


def test_markdown_escapes_link_and_html_syntax(digest):
    md = render(digest, "md")
    assert "<script>" not in md and "\\<script\\>" in md
    assert "[click](javascript" not in md and "\\[click\\]\\(javascript" in md
    assert "**bold**" not in md
    assert "[Lonely paper](<https://arxiv.org/abs/2401.00006>)" in md  # real links still work


def test_plain_text_keeps_titles_readable(digest):
    txt = render(digest, "txt")
    assert 'Evil <script>alert("x")</script>' in txt  # plain text: no markup, no escaping
    assert "TOP PICKS" in txt and "ALSO NEW" in txt
    assert "Picked: close to “Mamba <b>SSM</b> [x](javascript:1)” in your library" in txt
    assert max(len(line) for line in txt.splitlines()) <= 100


def test_because_line_italicizes_the_title_and_escapes_it(digest):
    out = render_all(digest)
    assert "close to <em>Mamba &lt;b&gt;SSM&lt;/b&gt; [x](javascript:1)</em> in your library" in (
        out.html
    )
    assert "close to *Mamba \\<b\\>SSM\\</b\\> \\[x\\]\\(javascript:1\\)* in your" in out.md
    assert "](javascript" not in out.md


def test_ranking_note_renders_its_command_as_code(digest):
    out = render_all(digest)
    assert "<code" in out.html and "paperbrief library import FILE</code>" in out.html
    assert "`paperbrief library import FILE`" in out.md
    assert "`paperbrief library import FILE`" in " ".join(out.txt.split())  # wrapped


def test_full_list_link_is_a_link_and_a_path_is_text(digest):
    html = render(digest, "html")
    assert f'<a href="{digest.full_list}"' not in html
    linked = digest.model_copy(update={"full_list": "https://example.org/d/full.html"})
    assert 'href="https://example.org/d/full.html"' in render(linked, "html")
    assert "<https://example.org/d/full.html>" in render(linked, "md")
    hostile = digest.model_copy(update={"full_list": 'javascript:alert(1)"><script>'})
    html = render(hostile, "html")
    assert "<script>" not in html and 'href="javascript' not in html


def test_full_list_names_every_paper_with_safe_links(digest):
    for fmt in ("html", "md"):
        full = render_full(digest, fmt)
        for pid in [p.id for p in digest.papers] + [r.id for r in digest.rest]:
            assert pid in full
        assert "javascript:alert(1)>" not in full and 'href="javascript' not in full
        assert "<script>" not in full and "<i>one</i>" not in full
    assert '<a href="https://arxiv.org/abs/2401.00101">Rest &lt;i&gt;one&lt;/i&gt;</a>' in (
        render_full(digest, "html")
    )


def test_empty_digest_says_why_in_every_format():
    empty = Digest(
        id="e",
        created_at=datetime(2026, 11, 28, 6, tzinfo=UTC),
        empty_reason="It is the weekend: arXiv announces no new papers.",
    )
    for fmt in ("html", "md", "txt"):
        text = render(empty, fmt)
        assert "Nothing new" in text and "It is the weekend" in text
    assert empty.subject.endswith("nothing new")


def test_md_escape_and_format_for_path():
    assert md_escape("a_b*c") == "a\\_b\\*c"
    assert md_escape(3) == 3
    assert format_for_path("x/out.HTML") == "html"
    assert format_for_path("d.markdown") == "md"
    with pytest.raises(InputError) as info:
        format_for_path("digest.pdf")
    assert ".html, .md or .txt" in info.value.hint


def test_a_card_without_authors_has_no_author_line_in_any_format():
    """A pasted page without authors: the card says nothing of them, never "Unknown authors";
    what is known (category, upvotes) still shows, and a card knowing nothing has no meta line."""
    bare = paper("2401.00009", "Bare", authors_short="", categories=[], upvotes=None)
    some = paper("2401.00008", "Some", authors_short="", categories=["cs.LG"], upvotes=12)
    digest = Digest(
        id="d", created_at=datetime(2026, 11, 28, 6, tzinfo=UTC), papers=[bare, some],
        top_picks=[], themes=[Theme(name="T", overview="", keywords=[],
                                    paper_ids=[bare.id, some.id])],
    )  # fmt: skip
    for fmt, meta in (("html", "cs.LG</span> · <span"), ("md", "cs.LG · ▲ 12"),
                      ("txt", "cs.LG | 12 upvotes")):  # fmt: skip
        text = render(digest, fmt)
        assert "Unknown" not in text, fmt
        assert meta in text, (fmt, text)
        assert "Ada Lovelace" not in text
    md = render(digest, "md").splitlines()
    after_bare = md[next(i for i, line in enumerate(md) if "Bare" in line) + 1]
    assert after_bare.strip().startswith(("Tldr of", "*From the abstract")), after_bare
