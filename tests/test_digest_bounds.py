"""A bounded digest: the mail stays small whatever the window, and still accounts for every
paper (counts in the mail, each paper in the full list); untrusted text stays inert throughout."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from agent.digest.models import Digest, DigestPaper, RestPaper, Theme
from agent.digest.render import NO_PROFILE_NOTE, render, render_all

SHOWN = 30
HOSTILE = [
    "<script>alert(1)</script>",
    "[x](javascript:alert(1))",
    "*bold* and _under_ & co",
    '"><img src=x onerror=alert(1)>',
]
THEMES = [
    "State-space models <b>vs</b> attention",
    "Retrieval-augmented generation",
    "Diffusion for molecules",
    "Robot manipulation from video",
    "Evaluation of LLM agents",
]
CATEGORIES = [f"cs.{c}" for c in ("LG", "CL", "CV", "AI", "RO", "IR", "NE", "SD", "CR", "DB")]
CATEGORIES += [f"stat.{c}" for c in ("ML", "ME", "TH", "AP")] + ["q-bio.QM", "eess.SP", "math.OC"]
SENTENCE = (
    "Scaling linear-time sequence models with selective state spaces for long-context language "
    "modelling across audio genomics and vision benchmarks under a fixed compute budget"
)
WORDS = SENTENCE.split(" ")


def fill(seed: int, limit: int, extra: str = "") -> str:
    """Realistic words up to ``limit`` characters, with ``extra`` (hostile) near the start."""
    words = [WORDS[(seed + k) % len(WORDS)] for k in range(200)]
    text = (f"{words[0].title()} {extra} " if extra else "") + " ".join(words[1:])
    return text[: limit - 1].rstrip() + "…"


def shown_paper(i: int) -> DigestPaper:
    hostile = HOSTILE[i % len(HOSTILE)]
    return DigestPaper(
        id=f"2411.{i:05d}",
        title=fill(i, 300, hostile),
        url=f"https://arxiv.org/abs/2411.{i:05d}",
        authors_short="Ada Lovelace-Byron, Alan Mathison Turing, Grace Brewster Hopper, et al.",
        categories=[CATEGORIES[i % len(CATEGORIES)]],
        upvotes=i * 3,
        tldr=fill(i + 1, 400, hostile),
        why_it_matters=fill(i + 2, 400),
        score=1.0 - i / 100,
        because=f"close to *{fill(i + 3, 150, hostile)}* in your library",
    )


def window_digest(window: int, *, shown: int = SHOWN) -> Digest:
    papers = [shown_paper(i) for i in range(shown)]
    per = shown // (len(THEMES) + 1)
    themes = [
        Theme(name=name, overview=fill(k, 300), paper_ids=[p.id for p in papers[k::6]][:per])
        for k, name in enumerate(THEMES)
    ]
    placed = {i for t in themes for i in t.paper_ids}
    other = Theme(name="Other", paper_ids=[p.id for p in papers if p.id not in placed])
    groups = THEMES + CATEGORIES
    rest = [
        RestPaper(
            id=f"2411.{shown + j:05d}",
            title=fill(j, 300, HOSTILE[j % len(HOSTILE)]),
            url=None
            if j % 7 == 0
            else "javascript:alert(1)"
            if j % 11 == 0
            else f"https://x.org/{j}",
            score=0.5 - j / 10_000,
            group=groups[j % len(groups)],
        )
        for j in range(window - shown)
    ]
    return Digest(
        id="2026-11-24T0630Z",
        created_at=datetime(2026, 11, 24, 6, 30, tzinfo=UTC),
        window_start=datetime(2026, 11, 23, 6, 30, tzinfo=UTC),
        window_end=datetime(2026, 11, 24, 6, 30, tzinfo=UTC),
        profile_used=True,
        ranked_by="library",
        ranking_note="Ranked for you by a model of your library (42 items) and 3 ratings.",
        papers=papers,
        top_picks=[p.id for p in papers[:3]],
        themes=[other, *themes],  # the fold first: the renderer must still put it last
        rest=rest,
        full_list="/home/reader/.local/share/paperbrief/digests/2026-11-24T0630Z/full.html",
    )


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.depth: dict[str, int] = {}

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("div", "p", "ul", "li", "a", "em", "span", "html", "body"):
            self.depth[tag] = self.depth.get(tag, 0) + 1

    def handle_endtag(self, tag):
        if tag in self.depth:
            self.depth[tag] -= 1


def parse(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    tags.close()
    return tags


def counted(text: str, start: str, line: re.Pattern[str]) -> int:
    """The sum of the per-group counts listed after ``start``."""
    section = text[text.index(start) :]
    return sum(int(m.group(1).replace(",", "")) for m in line.finditer(section))


@pytest.mark.parametrize("window", [50, 800, 2000])
def test_mail_is_bounded_and_accounts_for_every_paper(window):
    digest = window_digest(window)
    out = render_all(digest)
    assert len(out.html.encode()) < 100_000
    assert len(out.txt.encode()) < 40_000
    assert len(out.md.encode()) < 64_000
    rest = len(digest.rest)
    assert f"{rest:,} more paper" in out.html and f"{rest:,} more paper" in out.txt
    html_counts = re.compile(r'<li[^>]*>[^<]*<span class="toc-count"[^>]*>\(([\d,]+)\)</span>')
    assert counted(out.html, 'id="also-new"', html_counts) == rest
    assert counted(out.md, "## Also new", re.compile(r"^- .* \(([\d,]+)\)$", re.M)) == rest
    assert counted(out.txt, "ALSO NEW", re.compile(r"^  - .* \(([\d,]+)\)$", re.M)) == rest
    group_lines = re.findall(r"^- ", out.md[out.md.index("## Also new") :], re.M)
    assert len(group_lines) <= 13  # 12 groups, then one "and N more groups" line
    for text in (out.html, out.md, out.txt):
        assert f"{SHOWN} of {window:,} new papers in 6 themes" in text
        assert f"The full list of all {window:,} papers" in text
        assert digest.full_list in text
        assert "2411.00049" not in text or window == 50  # rest papers are not listed one by one


@pytest.mark.parametrize("window", [50, 2000])
def test_full_list_names_every_paper_of_the_window(window):
    digest = window_digest(window)
    out = render_all(digest)
    ids = [p.id for p in digest.papers] + [r.id for r in digest.rest]
    for full in (out.full_html, out.full_md):
        assert all(pid in full for pid in ids)
    items = [t for t, _ in parse(out.full_html).tags if t == "li"]
    assert len(items) == window + 2  # every paper, and the two contents lines
    assert len(re.findall(r"^- ", out.full_md, re.M)) == window


def test_untrusted_text_stays_inert_in_every_format():
    out = render_all(window_digest(800))
    for html in (out.html, out.full_html):
        tags = parse(html)
        assert not [t for t, _ in tags.tags if t in ("script", "img", "b")]
        hrefs = [a["href"] for t, a in tags.tags if t == "a"]
        assert hrefs and all(h.startswith(("https://", "#")) for h in hrefs)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert not [k for _, a in tags.tags for k in a if k.startswith("on")]
    for md in (out.md, out.full_md):
        assert not re.search(r"(?<!\\)<(script|img|b)\b", md)  # only as \<script
        assert "](javascript" not in md and "](<javascript" not in md
        assert "\\*bold\\* and \\_under\\_ &amp; co" in md
    assert "<script>alert(1)</script>" in out.txt  # plain text shows it as written
    assert "&lt;" not in out.txt and "&amp;" not in out.txt and "\\*" not in out.txt


def test_because_lines_ranking_note_and_other_theme_last():
    digest = window_digest(800)
    out = render_all(digest)
    assert out.html.count('<p class="because"') == SHOWN  # every shown paper, once
    assert out.html.count("<em") >= SHOWN  # the liked item's title in italics
    assert "in your library" in out.md and "*Picked:* close to *" in out.md
    assert out.txt.count("Picked: close to “") == SHOWN
    for text in (out.html, out.md, " ".join(out.txt.split())):
        assert "Ranked for you by a model of your library" in text
    sections = {
        "html": re.findall(r"<h2[^>]*>(.*?) <span", out.html),
        "md": re.findall(r"^## \d+\. (.*)$", out.md, re.M),
        "txt": re.findall(r"^\d+\. (.*)\n=+$", out.txt, re.M),
    }
    for fmt, names in sections.items():
        assert len(names) == len(THEMES) + 1, fmt
        assert names[-1].lower() == "other", f"{fmt}: the Other fold renders last"
    toc = re.findall(r'<a href="#theme-\d+"[^>]*>([^<]*)</a>', out.html)
    assert toc[-1] == "Other" and len(toc) == len(THEMES) + 1


def test_without_a_profile_the_mail_says_so():
    digest = window_digest(50).model_copy(
        update={"ranked_by": "default", "ranking_note": "", "profile_used": False}
    )
    out = render_all(digest)
    assert "No profile yet" in out.html and "No profile yet" in out.md
    assert NO_PROFILE_NOTE.split(":")[0] in out.txt


def test_an_oversized_mail_is_shortened_whole_never_cut():
    """More shown papers than a build would keep: the safety net renders a shorter mail (less
    text, then fewer papers in detail), says so, and the remainder is still counted."""
    digest = window_digest(400, shown=200)
    before = digest.model_dump()
    html = render(digest, "html")
    txt = render(digest, "txt")
    assert len(html.encode()) < 100_000 and len(txt.encode()) < 40_000
    assert digest.model_dump() == before  # the digest itself (saved as JSON) is untouched
    for text in (html, " ".join(txt.split())):
        assert "This mail was shortened to keep it small" in text
        assert "“why it matters” lines left out" in text
    assert html.rstrip().endswith("</html>")
    depth = parse(html).depth
    assert all(v == 0 for v in depth.values()), depth
    shown = html.count('<p class="because"')
    assert 0 < shown < 200
    counts = re.compile(r'<li[^>]*>[^<]*<span class="toc-count"[^>]*>\(([\d,]+)\)</span>')
    assert shown + counted(html, 'id="also-new"', counts) == 400


def test_a_mail_within_budget_is_not_shortened():
    out = render_all(window_digest(2000))
    assert "shortened" not in out.html and "Why it matters:" in out.html
