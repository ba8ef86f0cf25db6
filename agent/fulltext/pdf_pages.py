"""PDF page text -> clean lines: page furniture off, footnotes taken out, figure debris dropped.

pypdf gives each page as lines in reading order (columns one after the other) with no fonts
or positions, so the cleaning reads the lines themselves:

- running headers and footers: a line at a page's top or bottom edge that recurs (digits
  aside) on many pages; page numbers; arXiv's side stamp ("arXiv:1706.03762v5 [cs.CL] 6 Dec
  2017"); bare numbers (line numbers of review copies);
- footnotes: a line opening with the next footnote number glued to its text ("4To illustrate
  ...", "10https://...") or with a symbol mark (∗ † ‡), and the lines that continue it;
- debris of figures and tables: runs of three or more short or mostly-numeric lines.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from agent.fulltext.text import squash


@dataclass
class PageLines:
    lines: list[str] = field(default_factory=list)
    footnotes: list[tuple[str, str]] = field(default_factory=list)  # (mark, text)
    width: int = 80  # characters in a full line of this page's text


_PAGE_NUMBER = re.compile(r"^(?:page\s*)?[-–]?\s*\d{1,4}\s*[-–]?(?:\s*(?:of|/)\s*\d{1,4})?$", re.I)
_ARXIV_STAMP = re.compile(r"^arXiv:\s?\S+\s+\[[^\]]+\]\s+\d{1,2}\s\w{3}\s\d{4}$")
_BARE_NUMBERS = re.compile(r"^[\d\s.,]+$")
_NUMBERED_NOTE = re.compile(r"^(\d{1,2})(?=[A-Z][a-z]|https?://|www\.)")
_SYMBOL_NOTE = re.compile(r"^([∗*†‡§¶]{1,2})\s?(?=[A-Z])")
_VENUE = re.compile(
    r"^(?:\d{1,2}(?:st|nd|rd|th) (?:Conference|Annual)|Proceedings of|Preprint\b|Under review"
    r"|Published as a|Accepted (?:at|to|for)|Copyright|©)",
    re.I,
)
_ENDS_CLAUSE = re.compile(r"[.!?:;)\]\"”’]$|https?://\S+$")
_ENDS_NOTE = re.compile(r"[.!?)\]\"”’]$|https?://\S+$")
_NUMERIC = re.compile(r"^[\d.,%±()×x\-–/<>=+]+$")
_DEBRIS_RUN = 3


def clean_pages(pages: list[str]) -> list[PageLines]:
    raw = [[squash(line) for line in page.splitlines()] for page in pages]
    raw = [[line for line in page if line] for page in raw]
    _drop_running_lines(raw)
    out: list[PageLines] = []
    next_note = 1
    for number, lines in enumerate(raw):
        lines = [line for line in lines if not _furniture(line)]
        if lines and _PAGE_NUMBER.match(lines[-1]):
            lines.pop()
        if lines and _PAGE_NUMBER.match(lines[0]):
            lines.pop(0)
        page = PageLines(width=_width(lines))
        next_note = _split_footnotes(lines, page, next_note, first_page=number == 0)
        page.lines = _drop_debris(page.lines)
        out.append(page)
    return out


def _furniture(line: str) -> bool:
    return bool(_ARXIV_STAMP.match(line) or _BARE_NUMBERS.match(line))


def _drop_running_lines(pages: list[list[str]]) -> None:
    """Remove lines at page edges that recur on many pages (running heads, footers)."""
    if len(pages) < 4:
        return

    def key(line: str) -> str:
        return re.sub(r"\d+", "#", line.lower())

    seen: Counter[str] = Counter()
    for page in pages:
        seen.update({key(line) for line in page[:2] + page[-2:]})
    threshold = max(3, int(0.4 * len(pages)))
    running = {k for k, n in seen.items() if n >= threshold}
    for i, page in enumerate(pages):
        edge = set(range(min(2, len(page)))) | set(range(max(0, len(page) - 2), len(page)))
        pages[i] = [
            line for j, line in enumerate(page) if j not in edge or key(line) not in running
        ]


def _width(lines: list[str]) -> int:
    """The length of a full line: the 80th percentile of lines of five words or more."""
    lengths = sorted(len(line) for line in lines if line.count(" ") >= 4)
    if not lengths:
        return 80
    return lengths[min(len(lengths) - 1, int(0.8 * len(lengths)))]


def _split_footnotes(lines: list[str], page: PageLines, next_note: int, *, first_page: bool) -> int:
    """Move footnotes from ``lines`` to ``page.footnotes``; the rest go to ``page.lines``.
    Returns the number the next footnote will have."""
    i = 0
    while i < len(lines):
        line = lines[i]
        mark, text = _note_start(line, next_note, first_page, near_end=i >= len(lines) - 12)
        if mark is None:
            page.lines.append(line)
            i += 1
            continue
        if mark.isdigit():
            next_note = int(mark) + 1
        parts = [text]
        i += 1
        # A footnote goes on while its last line does not end a clause, and not into a line that
        # starts another footnote.
        while i < len(lines) and not _ENDS_NOTE.search(parts[-1]):
            if _note_start(lines[i], next_note, first_page, near_end=True)[0] is not None:
                break
            parts.append(lines[i])
            i += 1
        page.footnotes.append((mark, join_lines(parts)))
    return next_note


def _note_start(
    line: str, next_note: int, first_page: bool, *, near_end: bool
) -> tuple[str | None, str]:
    numbered = _NUMBERED_NOTE.match(line)
    if numbered:
        number = int(numbered.group(1))
        # the next number; the first may be a few on (symbol marks of the title page count)
        expected = next_note <= number <= next_note + 2
        if expected or (next_note == 1 and number <= 6 and near_end):
            return numbered.group(1), line[numbered.end() :]
    symbol = _SYMBOL_NOTE.match(line)
    if symbol and (first_page or near_end):
        return symbol.group(1), line[symbol.end() :]
    if first_page and near_end and _VENUE.match(line):
        return "", line
    return None, ""


def _debris(line: str) -> bool:
    """A line that is not prose: very short without ending a sentence, or mostly numbers."""
    tokens = line.split()
    if _ENDS_CLAUSE.search(line) and len(tokens) >= 2:
        return False
    if len(tokens) <= 3:
        return True
    numeric = sum(1 for t in tokens if _NUMERIC.match(t))
    # a table row: mostly numbers, or ending in a number cell ("Dyer et al. (2016) [8] 93.3")
    return numeric >= 0.5 * len(tokens) or (bool(_NUMERIC.match(tokens[-1])) and numeric >= 2)


def _drop_debris(lines: list[str]) -> list[str]:
    """Drop runs of at least _DEBRIS_RUN debris lines (figure labels, table cells); a lone
    short line (a paragraph's last words, a heading) stays. Caption lines are never debris."""
    keep = [True] * len(lines)
    run: list[int] = []
    for i, line in enumerate([*lines, ""]):
        if i < len(lines) and _debris(line) and not _CAPTION_START.match(line):
            run.append(i)
            continue
        if len(run) >= _DEBRIS_RUN:
            for j in run:
                if not _kept_in_debris(lines[j], first=j == 0):
                    keep[j] = False
        run = []
    return [line for line, k in zip(lines, keep, strict=True) if k]


_CAPTION_START = re.compile(r"^(?:Figure|Fig\.|Table)\s*[A-Z]?\d+\s*[:.]", re.I)
# Inside a debris run these are kept for the layout step to judge: numbered headings and the
# names of unnumbered ones ("Abstract" sits among the short lines of the author block).
_HEADING_LIKE = re.compile(r"^(?:\d{1,2}|[A-H])(?:\.\d{1,2}){0,3}\.?\s+[A-Z][a-z]")
_NAMED_HEADING = re.compile(
    r"^(?:abstract|references|bibliography|acknowledge?ments?|appendix|appendices)\b", re.I
)


def _kept_in_debris(line: str, *, first: bool) -> bool:
    if _HEADING_LIKE.match(line) or _NAMED_HEADING.match(line):
        return True
    # A page opening with a title line ("Attention Visualizations") above a figure.
    words = line.split()
    return first and 2 <= len(words) <= 6 and all(w[:1].isupper() and w.isalpha() for w in words)


def join_lines(
    lines: list[str], words: frozenset[str] = frozenset(), compounds: frozenset[str] = frozenset()
) -> str:
    """Lines joined into running text, a word hyphenated at a line end rejoined: "re-" + "sult"
    -> "result"; but "pre-" + "trained" stays "pre-trained" when the document writes that
    compound with its hyphen elsewhere (``compounds``) and never without it (``words``); both
    hold lower-case words."""
    out = ""
    for line in lines:
        if not out:
            out = line
            continue
        match = re.search(r"(\w+)-$", out)
        first = re.match(r"[\w']+", line)
        if match and first and line[:1].islower():
            joined = (match.group(1) + first.group(0)).lower()
            compound = f"{match.group(1)}-{first.group(0)}".lower()
            keep_hyphen = joined not in words and compound in compounds
            out = out + line if keep_hyphen else out[:-1] + line
        elif match and first:  # "English-" + "German": a compound, never a syllable break
            out = out + line
        else:
            out = f"{out} {line}"
    return out
