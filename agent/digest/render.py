"""Rendering a Digest: the mail (HTML with CSS inlined, Markdown, plain text) and the full list.

The mail shows the papers of ``Digest.papers`` in detail and only counts ``Digest.rest`` (per
theme or category), so its size does not grow with the window; ``render_full`` lists every paper
for the file saved beside the mail. A size budget backs this up: a mail over it is rendered again
with less text per paper (see ``_shrunk``), never cut mid-tag.

Every template variable is escaped for its format: HTML by Jinja's autoescape; Markdown by a
``finalize`` hook that backslash-escapes Markdown and HTML syntax in every value (so a title
cannot open a link or a ``<script>``); plain text needs none, but titles are already one line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from agent.digest.models import OTHER_THEME, Digest, DigestPaper, RestPaper, Theme
from agent.digest.replace_file import replace_file

Format = Literal["html", "md", "txt"]
FullFormat = Literal["html", "md"]
FORMATS: tuple[Format, ...] = ("html", "md", "txt")
#: UTF-8 bytes a rendered mail part may take. Gmail clips HTML mails over 102 KB; the margin
#: leaves room for MIME headers and transfer encoding.
BUDGET: dict[Format, int] = {"html": 95_000, "txt": 38_000, "md": 60_000}
#: Group lines in the mail's "Also new" section; the rest are summed in one line.
GROUP_LINES = 12
NO_PROFILE_NOTE = (
    "No profile yet: ranked without knowing your interests. Import your library with "
    "`paperbrief library import FILE` to rank by your own papers."
)
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#|!~])")
# *...* marks a title inside a because line, `...` a command in a ranking note.
_INLINE = re.compile(r"\*([^*\n]+)\*|`([^`\n]+)`")
_PLAIN_CODE = re.compile(r"[\w .:/=-]+")
_SAFE_URL = re.compile(r"https?://[^\s<>\"'`\\]+", re.I)


def md_escape(value: object) -> object:
    if isinstance(value, Markup):  # a macro's output, already escaped piece by piece
        return str(value)
    if isinstance(value, str):
        return _MD_SPECIAL.sub(r"\\\1", value.replace("&", "&amp;"))
    return value


def inline_parts(text: str) -> list[tuple[str, str]]:
    """Split one line into ("text" | "em" | "code", run) pieces."""
    parts: list[tuple[str, str]] = []
    pos = 0
    for m in _INLINE.finditer(text):
        if m.start() > pos:
            parts.append(("text", text[pos : m.start()]))
        parts.append(("em", m.group(1)) if m.group(1) is not None else ("code", m.group(2)))
        pos = m.end()
    if pos < len(text):
        parts.append(("text", text[pos:]))
    return parts


def _inline_html(text: str) -> Markup:
    tags = {"em": Markup("<em>{}</em>"), "code": Markup("<code>{}</code>")}
    return Markup("").join(
        tags[kind].format(run) if kind in tags else escape(run) for kind, run in inline_parts(text)
    )


def _inline_md(text: str) -> Markup:
    out = []
    for kind, run in inline_parts(text):
        if kind == "em":
            out.append(f"*{md_escape(run)}*")
        elif kind == "code" and _PLAIN_CODE.fullmatch(run):  # nothing to escape in a code span
            out.append(f"`{run}`")
        else:
            out.append(str(md_escape(run)))
    return Markup("".join(out))


def _inline_txt(text: str) -> str:
    marks = {"em": "“{}”", "code": "`{}`", "text": "{}"}
    return "".join(marks[kind].format(run) for kind, run in inline_parts(text))


def safe_url(url: str | None) -> str | None:
    """The URL when it is a plain http(s) link, else None (no javascript:, no quotes)."""
    return url if url and _SAFE_URL.fullmatch(url) else None


@cache
def _env(kind: Format) -> Environment:
    common: dict[str, Any] = {
        "loader": PackageLoader("agent.digest", "templates"),
        "undefined": StrictUndefined,
        "trim_blocks": True,
        "lstrip_blocks": True,
        "keep_trailing_newline": True,
    }
    if kind == "html":
        env = Environment(autoescape=select_autoescape(["html.j2"]), **common)
    elif kind == "md":
        env = Environment(autoescape=False, finalize=md_escape, **common)
    else:
        env = Environment(autoescape=False, **common)
    env.filters["money"] = lambda x: f"${x:,.4f}" if x < 1 else f"${x:,.2f}"
    env.filters["thousands"] = lambda x: f"{int(x):,}"
    env.filters["score"] = lambda x: f"{x:.2f}"
    env.filters["inline"] = {"html": _inline_html, "md": _inline_md, "txt": _inline_txt}[kind]
    env.filters["safe_url"] = safe_url
    return env


@cache
def stylesheet(name: str) -> str:
    from importlib import resources

    return resources.files("agent.digest").joinpath("templates", name).read_text(encoding="utf-8")


@dataclass(frozen=True)
class ThemeView:
    number: int
    name: str
    overview: str
    keywords: list[str]
    papers: list[DigestPaper]
    named_by: str
    other: bool = False


def is_other(theme: Theme) -> bool:
    return theme.named_by == "fold" or theme.name == OTHER_THEME


def theme_views(digest: Digest) -> list[ThemeView]:
    """The themes in their order, the "Other" fold last whatever its score."""
    ordered = sorted(digest.themes, key=is_other)  # stable: named themes keep their order
    return [
        ThemeView(
            i + 1,
            t.name,
            t.overview,
            t.keywords,
            digest.papers_of(t.paper_ids),
            t.named_by,
            is_other(t),
        )
        for i, t in enumerate(ordered)
    ]


def ranking_note(digest: Digest) -> str:
    if digest.ranking_note:
        return digest.ranking_note
    return NO_PROFILE_NOTE if digest.ranked_by == "default" else ""


def context(digest: Digest) -> dict[str, Any]:
    """What every template sees: the digest plus lists already resolved to papers."""
    themes = theme_views(digest)
    s = digest.stats
    # A shown paper in no theme (a hand-built Digest, or one saved before "rest" existed) gets
    # a card of its own rather than vanishing.
    placed = {i for t in digest.themes for i in t.paper_ids} | set(digest.top_picks)
    unplaced = [p for p in digest.papers if p.id not in placed]
    llm_themes = sorted(
        {t.named_by.removeprefix("llm:") for t in digest.themes if t.named_by.startswith("llm:")}
    )
    summary_models = sorted({p.summary_model for p in digest.papers if p.summary_model})
    groups = digest.rest_groups()
    full_list = digest.full_list or ""
    return {
        "d": digest,
        "subject": digest.subject,
        "date": digest.created_at.strftime("%A %d %B %Y"),
        "top": digest.papers_of(digest.top_picks),
        "top_ids": set(digest.top_picks),
        "themes": themes,
        "unplaced": unplaced,
        "n_papers": len(digest.papers),
        "n_all": len(digest.papers) + len(digest.rest),
        "rest_count": len(digest.rest),
        "rest_groups": groups[:GROUP_LINES],
        "rest_more_groups": max(0, len(groups) - GROUP_LINES),
        "rest_more_papers": sum(count for _, count in groups[GROUP_LINES:]),
        "full_list": full_list,
        "full_list_link": safe_url(full_list),
        "ranking_note": ranking_note(digest),
        "papers_line": _papers_line(digest, len(themes)),
        "summary_models": summary_models,
        "theme_models": llm_themes,
        "stats": s,
        "tokens": s.tokens_in + s.tokens_out,
        "window": _window(digest),
    }


def _papers_line(digest: Digest, themes: int) -> str:
    """E.g. "30 of 1,204 new papers in 6 themes" (or "12 new papers ..." when all are shown)."""
    shown, total = len(digest.papers), len(digest.papers) + len(digest.rest)
    of = f"{shown:,} of {total:,}" if digest.rest else f"{shown:,}"
    plural = "s" if themes != 1 else ""
    return f"{of} new paper{'s' if total != 1 else ''} in {themes} theme{plural}"


def _window(digest: Digest) -> str:
    if digest.window_start is None:
        return ""
    start = f"{digest.window_start:%d %b %Y %H:%M}"
    end = f"{digest.window_end:%d %b %Y %H:%M}" if digest.window_end else "now"
    return f"{start} to {end} UTC"


def render(digest: Digest, fmt: Format) -> str:
    """One part of the mail. Over its size budget, it is rendered again from ever shorter
    copies of the digest (the digest itself is left as it is)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown digest format {fmt!r}; use one of {FORMATS}")
    text = _render_once(digest, fmt)
    if _size(text) <= BUDGET[fmt]:
        return text
    for shorter in _shrunk(digest):
        text = _render_once(shorter, fmt)
        if _size(text) <= BUDGET[fmt]:
            break
    return text


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _render_once(digest: Digest, fmt: Format) -> str:
    template = _env(fmt).get_template(f"digest.{fmt}.j2")
    ctx = context(digest)
    if fmt == "html":
        ctx["css"] = stylesheet("digest.css")
        ctx["css_keep"] = stylesheet("digest-client.css")
        return inline_css(template.render(**ctx))
    return template.render(**ctx)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"


def _shrunk(digest: Digest) -> Iterator[Digest]:
    """Ever shorter copies of the digest, each saying in a note what it left out: first the
    "why it matters" lines, then long summaries, titles and reasons, then papers in detail
    (moved to the counted rest, best kept)."""
    d = digest.model_copy(deep=True)
    notes = list(d.notes)
    cuts: list[str] = []

    def step(what: str) -> Digest:
        cuts.append(what)
        d.notes = [
            f"This mail was shortened to keep it small for mail clients ({'; '.join(cuts)}); "
            "the full list has every paper.",
            *notes,
        ]
        return d

    for p in d.papers:
        p.why_it_matters = None
    yield step("“why it matters” lines left out")
    for p in d.papers:
        p.tldr = _cut(p.tldr, 200)
    yield step("summaries shortened")
    for p in d.papers:
        p.title, p.because, p.tldr = _cut(p.title, 120), _cut(p.because, 100), _cut(p.tldr, 100)
        p.authors_short, p.flagged = _cut(p.authors_short, 60), p.flagged and _cut(p.flagged, 80)
    d.themes = [t.model_copy(update={"overview": _cut(t.overview, 160)}) for t in d.themes]
    yield step("titles shortened")
    keep = len(d.papers)
    while keep > 1:
        keep //= 2
        _demote(d, keep)
        yield step(f"only the best {keep} papers in detail")


def _demote(d: Digest, keep: int) -> None:
    """Keep the ``keep`` best papers in detail; count the others with the rest."""
    order = sorted(d.papers, key=lambda p: -p.score)
    kept = {p.id for p in order[:keep]}
    theme_of = {i: t.name for t in d.themes for i in t.paper_ids}
    moved = [
        RestPaper(
            id=p.id,
            title=p.title,
            url=p.url,
            score=p.score,
            group=theme_of.get(p.id) or (p.categories[0] if p.categories else OTHER_THEME),
        )
        for p in order[keep:]
    ]
    d.papers = [p for p in d.papers if p.id in kept]
    d.top_picks = [i for i in d.top_picks if i in kept]
    for t in d.themes:
        t.paper_ids = [i for i in t.paper_ids if i in kept]
    d.themes = [t for t in d.themes if t.paper_ids]
    d.rest = moved + d.rest


def inline_css(html: str) -> str:
    """Move the stylesheet into style attributes (Gmail and Outlook drop <style> in places);
    the block marked ``data-css-inline="keep"`` (dark mode, small screens) stays as it is."""
    import css_inline

    inliner = css_inline.CSSInliner(load_remote_stylesheets=False, keep_at_rules=False)
    return inliner.inline(html)


def render_full(digest: Digest, fmt: FullFormat) -> str:
    """Every paper of the window, for the file saved beside the mail: the shown papers by
    theme, then the rest by the theme or category they are counted under."""
    if fmt not in ("html", "md"):
        raise ValueError(f"unknown full-list format {fmt!r}; use 'html' or 'md'")
    ctx = context(digest)
    by_group: dict[str, list[RestPaper]] = {name: [] for name, _ in digest.rest_groups()}
    for paper in digest.rest:
        by_group[paper.group or OTHER_THEME].append(paper)
    ctx["rest_by_group"] = list(by_group.items())
    themed = {i for t in digest.themes for i in t.paper_ids}
    ctx["unthemed"] = [p for p in digest.papers if p.id not in themed]
    if fmt == "html":
        ctx["css"] = stylesheet("full.css")
    return _env(fmt).get_template(f"full.{fmt}.j2").render(**ctx)


@dataclass(frozen=True)
class RenderedDigest:
    """The mail's three parts, and the full list in HTML and Markdown (empty when not asked)."""

    html: str
    md: str
    txt: str
    full_html: str = ""
    full_md: str = ""

    def get(self, fmt: Format) -> str:
        return {"html": self.html, "md": self.md, "txt": self.txt}[fmt]


def render_all(digest: Digest, *, full: bool = True) -> RenderedDigest:
    return RenderedDigest(
        render(digest, "html"),
        render(digest, "md"),
        render(digest, "txt"),
        render_full(digest, "html") if full else "",
        render_full(digest, "md") if full else "",
    )


def format_for_path(path: str) -> Format:
    suffix = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    mapping: dict[str, Format] = {
        "html": "html",
        "htm": "html",
        "md": "md",
        "markdown": "md",
        "txt": "txt",
        "text": "txt",
    }
    if suffix not in mapping:
        from agent.errors import InputError

        raise InputError(
            f"Cannot tell the format of {path!r}.", hint="Name the file .html, .md or .txt."
        )
    return mapping[suffix]


def write_digest(digest: Digest, path: Path) -> Path:
    """Render in the format the file name asks for (the HTML is the mail's HTML, budget and
    all) and replace the file atomically."""
    return replace_file(path, render(digest, format_for_path(str(path))))
