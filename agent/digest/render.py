"""Rendering a Digest as HTML (CSS inlined for mail clients), Markdown and plain text.

Every template variable is escaped for its format: HTML by Jinja's autoescape; Markdown by a
``finalize`` hook that backslash-escapes Markdown and HTML syntax in every value (so a title
cannot open a link or a ``<script>``); plain text needs none, but titles are already one line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from agent.digest.models import Digest, DigestPaper

Format = Literal["html", "md", "txt"]
FORMATS: tuple[Format, ...] = ("html", "md", "txt")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#|!~])")


def md_escape(value: Any) -> Any:
    if isinstance(value, Markup):  # a macro's output, already escaped piece by piece
        return str(value)
    if isinstance(value, str):
        return _MD_SPECIAL.sub(r"\\\1", value.replace("&", "&amp;"))
    return value


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


def context(digest: Digest) -> dict[str, Any]:
    """What every template sees: the digest plus lists already resolved to papers."""
    themes = [
        ThemeView(i + 1, t.name, t.overview, t.keywords, digest.papers_of(t.paper_ids), t.named_by)
        for i, t in enumerate(digest.themes)
    ]
    s = digest.stats
    # A hand-built Digest may list papers in no section: show them rather than drop them.
    placed = {i for t in digest.themes for i in t.paper_ids} | set(digest.also_new)
    placed |= set(digest.top_picks)
    unplaced = [p for p in digest.papers if p.id not in placed]
    llm_themes = sorted(
        {t.named_by.removeprefix("llm:") for t in digest.themes if t.named_by != "keywords"}
    )
    summary_models = sorted({p.summary_model for p in digest.papers if p.summary_model})
    return {
        "d": digest,
        "subject": digest.subject,
        "date": digest.created_at.strftime("%A %d %B %Y"),
        "top": digest.papers_of(digest.top_picks),
        "top_ids": set(digest.top_picks),
        "themes": themes,
        "also_new": digest.papers_of(digest.also_new) + unplaced,
        "n_papers": len(digest.papers),
        "summary_models": summary_models,
        "theme_models": llm_themes,
        "stats": s,
        "tokens": s.tokens_in + s.tokens_out,
        "window": _window(digest),
    }


def _window(digest: Digest) -> str:
    if digest.window_start is None:
        return ""
    start = f"{digest.window_start:%d %b %Y %H:%M}"
    end = f"{digest.window_end:%d %b %Y %H:%M}" if digest.window_end else "now"
    return f"{start} to {end} UTC"


def render(digest: Digest, fmt: Format) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown digest format {fmt!r}; use one of {FORMATS}")
    template = _env(fmt).get_template(f"digest.{fmt}.j2")
    ctx = context(digest)
    if fmt == "html":
        ctx["css"] = stylesheet("digest.css")
        ctx["css_keep"] = stylesheet("digest-client.css")
        return inline_css(template.render(**ctx))
    return template.render(**ctx)


def inline_css(html: str) -> str:
    """Move the stylesheet into style attributes (Gmail and Outlook drop <style> in places);
    the block marked ``data-css-inline="keep"`` (dark mode, small screens) stays as it is."""
    import css_inline

    inliner = css_inline.CSSInliner(load_remote_stylesheets=False, keep_at_rules=False)
    return inliner.inline(html)


@dataclass(frozen=True)
class RenderedDigest:
    html: str
    md: str
    txt: str

    def get(self, fmt: Format) -> str:
        return {"html": self.html, "md": self.md, "txt": self.txt}[fmt]


def render_all(digest: Digest) -> RenderedDigest:
    return RenderedDigest(render(digest, "html"), render(digest, "md"), render(digest, "txt"))


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
    """Render in the format the file name asks for and replace the file atomically."""
    fmt = format_for_path(str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render(digest, fmt), encoding="utf-8")
    tmp.replace(path)
    return path
