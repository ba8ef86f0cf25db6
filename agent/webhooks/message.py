"""The chat message of a digest: its summary (counts, top picks, themes, a link to the full
digest) written in one chat markup and cut to fit one service's size limit.

Built from the ``Digest`` object alone, like the mail: no second digest. Paper titles, reasons
and notes are untrusted: every one is escaped for the markup (Markdown backslash escapes, HTML
entities), stripped of control characters and defused of mentions (``@everyone``, ``@here``,
``@channel``, ``@room`` get a zero-width space after the ``@``), so a title cannot ping a team,
open a Slack ``<!channel>`` or inject a link. Only the subject (date and counts) is trusted.

One message per channel, never a series: a post is then either made or not, which keeps "posted
exactly once" simple to record, and a reader sees one summary. What does not fit is left out
from the least important end (theme lines, then notes; then shorter top picks) and the message
says so and links the full digest.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

from pydantic import BaseModel, Field

from agent.config import DEFAULT_PROFILE
from agent.digest.models import Digest, DigestPaper

Markup = Literal["markdown", "html", "text"]
#: Escaped with a backslash in Markdown: emphasis, code, links, HTML and Slack's <...> syntax.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>~])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]+")
_MENTION = re.compile(r"@(?=\w)")
ZWSP = "\u200b"
#: A top pick's (title, reason) lengths, richest form first; 0 = no reason.
PICK_FORMS = ((200, 160), (90, 70), (90, 0), (50, 0))
THEME_TITLES = 3


# --- text pieces ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Span:
    """A piece of a line: plain untrusted text, a link, or bold trusted text."""

    text: str
    url: str | None = None
    bold: bool = False


Line = list[Span]


def clean(text: str, limit: int | None = None) -> str:
    """One line of untrusted text: controls gone, mentions defused, cut at ``limit``."""
    text = " ".join(_CONTROL.sub(" ", text).split())
    if limit is not None and len(text) > limit:
        text = text[: max(1, limit - 1)].rstrip() + "…"
    return _MENTION.sub("@" + ZWSP, text)


def md_escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_url(url: str) -> str:
    """A URL safe inside a Markdown link destination (no spaces, brackets or parentheses)."""
    return quote(url, safe=":/?#@!$&'*+,;=%~-._").replace("(", "%28").replace(")", "%29")


def render_line(line: Line, markup: Markup, *, angle_links: bool = False) -> str:
    parts = []
    for span in line:
        if markup == "html":
            text = html.escape(span.text, quote=False)
            if span.url:
                text = f'<a href="{html.escape(span.url, quote=True)}">{text}</a>'
            parts.append(f"<b>{text}</b>" if span.bold else text)
        elif markup == "markdown":
            text = md_escape(span.text)
            if span.url:
                dest = f"<{md_url(span.url)}>" if angle_links else md_url(span.url)
                text = f"[{text}]({dest})"
            parts.append(f"**{text}**" if span.bold else text)
        else:
            parts.append(f"{span.text} {span.url}" if span.url else span.text)
    return "".join(parts)


def render_lines(lines: Sequence[Line], markup: Markup, *, angle_links: bool = False) -> str:
    sep = "<br>\n" if markup == "html" else "\n"
    return sep.join(render_line(line, markup, angle_links=angle_links) for line in lines)


# --- the message ---------------------------------------------------------------------------------
class ChatMessage(BaseModel):
    """One digest's post to one channel."""

    title: str = Field(description="trusted: the digest's subject; '' when it is in the body")
    body: str
    markup: Markup
    chars: int = Field(description="length of the body as the service will count it")
    limit: int = Field(description="the most characters the service takes")
    picks: int = Field(0, description="top picks shown")
    themes: int = Field(0, description="themes listed")
    left_out: int = Field(0, description="lines left out or shortened to fit the limit")


@dataclass
class _Block:
    """Lines shown together, in forms from richest to smallest; `_shrink` says which go."""

    forms: list[list[Line]]
    kind: str = ""
    form: int = 0
    shown: bool = True

    @property
    def lines(self) -> list[Line]:
        return self.forms[self.form] if self.shown else []


@dataclass
class MessageOptions:
    markup: Markup = "markdown"
    limit: int = 4000
    full_link: str | None = None
    title_in_body: bool = True
    angle_links: bool = False  # Discord: <url> keeps a link from unfurling into a preview
    measure: Callable[[str], int] = len  # the service's own count (after its conversion)


def build_message(digest: Digest, options: MessageOptions) -> ChatMessage:
    """The digest's summary in ``options.markup``, at most ``options.limit`` characters."""
    blocks = _blocks(digest, options)
    markup = options.markup

    def body() -> str:
        lines = [line for block in blocks for line in block.lines]
        return render_lines(lines, markup, angle_links=options.angle_links)

    def fits() -> bool:
        return options.measure(body()) <= options.limit

    left_out = 0
    while not fits():
        if not _shrink(blocks):
            break
        left_out += 1
        _mark_shortened(blocks, digest, options)
    if fits():
        _fill_back(blocks, digest, options, fits)
    text = body()
    if options.measure(text) > options.limit:
        text = _hard_cut(text, options)
        left_out += 1
    picks = next((len(b.lines) - 1 for b in blocks if b.kind == "picks" and b.shown), 0)
    return ChatMessage(
        title="" if options.title_in_body else digest.subject,
        body=text,
        markup=markup,
        chars=options.measure(text),
        limit=options.limit,
        picks=max(picks, 0),
        themes=sum(1 for b in blocks if b.kind == "theme" and b.shown),
        left_out=left_out,
    )


def _blocks(digest: Digest, options: MessageOptions) -> list[_Block]:
    blocks: list[_Block] = []
    if options.title_in_body:
        blocks.append(_Block([[[Span(digest.subject, bold=True)]]], kind="subject"))
    if digest.profile != DEFAULT_PROFILE:
        blocks.append(_Block([[[Span("For "), Span(clean(digest.profile, 60), bold=True)]]]))
    if digest.empty:
        reason = clean(digest.empty_reason or "Nothing new in this window.", 300)
        blocks.append(_Block([[[Span(reason)]], [[Span(clean(reason, 100))]]], kind="empty"))
    picks = digest.papers_of(digest.top_picks)
    if picks:
        forms = [
            [[Span("Top picks", bold=True)], *(_pick(i, p, form) for i, p in enumerate(picks, 1))]
            for form in range(len(PICK_FORMS))
        ]
        # smallest: the best pick alone
        forms.append([[Span("Top pick", bold=True)], _pick(1, picks[0], len(PICK_FORMS) - 1)])
        blocks.append(_Block(forms, kind="picks"))
    if digest.themes:
        blocks.append(_Block([[[Span("Themes", bold=True)]]], kind="themes"))
        for theme in digest.themes:
            papers = digest.papers_of(theme.paper_ids)
            head = [Span("• "), Span(clean(theme.name, 80), bold=True), Span(f" ({len(papers)})")]
            linked: Line = []
            for paper in papers[:THEME_TITLES]:
                linked += [Span(" · " if linked else ": ")]
                linked += [Span(clean(paper.title, 80), url=paper.url)]
            forms = [[head + linked], [head]] if linked else [[head]]
            blocks.append(_Block(forms, kind="theme"))
    for note in digest.notes[:3]:
        blocks.append(_Block([[[Span("Note: " + clean(note, 200))]]], kind="note"))
    blocks.append(_Block([[_counts(digest)]], kind="counts"))
    if options.full_link:
        link = [Span("Full digest", url=options.full_link, bold=False)]
        blocks.append(_Block([[link]], kind="link"))
    return blocks


def _pick(n: int, paper: DigestPaper, form: int) -> Line:
    title_chars, reason_chars = PICK_FORMS[form]
    title = clean(paper.title, title_chars) or paper.id
    line = [Span(f"{n}. "), Span(title, url=paper.url)]
    reason = paper.because or paper.tldr
    if reason_chars and reason:
        line.append(Span(" — " + clean(reason, reason_chars)))
    return line


def _counts(digest: Digest) -> Line:
    n, t, more = len(digest.papers), len(digest.themes), len(digest.rest)
    text = f"{n} paper{'s' if n != 1 else ''} shown in {t} theme{'s' if t != 1 else ''}"
    if more:
        text += f", {more:,} more new in the full digest"
    return [Span(text + ".")]


def _shrink(blocks: list[_Block]) -> bool:
    """One step smaller: drop the last note, then the last theme's titles, then the last
    theme; then shorten the top picks. False when nothing can give."""
    for kind in ("note",):
        for block in reversed(blocks):
            if block.kind == kind and block.shown:
                block.shown = False
                return True
    for block in reversed(blocks):
        if block.kind == "theme" and block.shown and block.form < len(block.forms) - 1:
            block.form += 1
            return True
    for block in reversed(blocks):
        if block.kind == "theme" and block.shown:
            block.shown = False
            return True
    for block in blocks:
        if block.kind == "themes":
            block.shown = False
    for block in blocks:
        if block.shown and block.form < len(block.forms) - 1:
            block.form += 1
            return True
    return False


def _fill_back(
    blocks: list[_Block], digest: Digest, options: MessageOptions, fits: Callable[[], bool]
) -> None:
    """Shortening the top picks may have made room for themes dropped before: list again,
    by name, as many as now fit."""
    heading = next((b for b in blocks if b.kind == "themes"), None)
    for block in blocks:
        if block.kind != "theme" or block.shown:
            continue
        was = heading.shown if heading else True
        block.shown, block.form = True, len(block.forms) - 1
        if heading:
            heading.shown = True
        _mark_shortened(blocks, digest, options)
        if not fits():
            block.shown = False
            if heading:
                heading.shown = was
            _mark_shortened(blocks, digest, options)
            return


def _mark_shortened(blocks: list[_Block], digest: Digest, options: MessageOptions) -> None:
    """The counts line says the message was cut, so a reader knows to open the full one."""
    counts = next(b for b in blocks if b.kind == "counts")
    line = list(_counts(digest))
    hidden = sum(1 for b in blocks if b.kind == "theme" and not b.shown)
    if hidden:
        line.append(Span(f" {hidden} theme{'s' if hidden != 1 else ''} not listed here."))
    elif not options.full_link:
        line.append(Span(" Shortened to fit."))
    counts.forms = [[line]]


def _hard_cut(text: str, options: MessageOptions) -> str:
    """Last resort for a limit smaller than the smallest summary: cut the plain text."""
    plain = re.sub(r"<[^>]*>", "", text) if options.markup == "html" else text
    keep = max(0, options.limit - 1)
    while keep > 0 and options.measure(plain[:keep] + "…") > options.limit:
        keep -= max(1, keep // 10)
    return plain[:keep] + "…"
