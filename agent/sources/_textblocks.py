"""Papers pasted as plain text: a title line, a blank line, the abstract paragraph, repeated.

The heuristic: an *abstract* is a paragraph of at least 25 words that reads like prose (two
sentences, or 45+ words). Its *title* is the nearest short paragraph before it that is not
metadata; metadata lines (``Authors:``, ``arXiv:2401.01234``, dates, URLs, "Computer Science >
Machine Learning" breadcrumbs) between the title and the abstract are read for id, authors
and date. Anything before a title (page headers, dates, section names) is skipped; prose
paragraphs (12+ words ending a sentence) straight after an abstract continue that abstract.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.models import Paper
from agent.sources._ids import arxiv_abs_url, arxiv_pdf_url, clean_text, paper_key
from agent.sources._records import parse_loose_date

MIN_ABSTRACT_WORDS = 25
PROSE_WORDS = 45
MAX_TITLE_WORDS = 40
MAX_TITLE_LINES = 3
CONTINUATION_WORDS = 12
#: Longer than any date as written ("Wed, 24 Jan 2024 12:00:00 GMT", ISO with microseconds).
MAX_DATE_CHARS = 64

_LABELLED = re.compile(
    r"^(authors?|by|comments?|subjects?|categories|journal[- ]ref|doi|cite as|report[- ]no|"
    r"msc[- ]class|acm[- ]class|submitted|published|date|keywords?|license|url|pdf|code|"
    r"project page|abstract)\s*[:.]",
    re.IGNORECASE,
)
_AUTHORS_LABEL = re.compile(r"^(authors?|by)\s*:\s*", re.IGNORECASE)
_DATE_LABEL = re.compile(r"^(submitted|published|date)\s*(on)?\s*:?\s*", re.IGNORECASE)
_META_PATTERNS = [
    re.compile(r"^\[?\s*submitted on\b", re.IGNORECASE),
    re.compile(r"^\[v\d+\]"),
    re.compile(r"^(arxiv:\s*)?(\d{4}\.\d{4,5}|[a-z-]+(\.[A-Z]{2})?/\d{7})(v\d+)?\b", re.I),
    re.compile(r"^https?://\S+$", re.IGNORECASE),
    re.compile(r"^doi:\s*10\.", re.IGNORECASE),
    re.compile(r"\s>\s"),  # breadcrumb: Computer Science > Machine Learning
    re.compile(r"\[(pdf|html|ps|other)\b", re.IGNORECASE),  # arXiv listing links
    re.compile(r"^abstract[:.]?$", re.IGNORECASE),
    re.compile(r"^(page \d+|\d+)$", re.IGNORECASE),
]
_ABSTRACT_PREFIX = re.compile(r"^abstract\s*[:.]\s*", re.IGNORECASE)
_TITLE_PREFIX = re.compile(r"^title\s*:\s*", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?](\s|$)")
_NAME_WORD = re.compile(
    r"^([A-Z][\w'\u00c0-\u024f-]*\.?|[A-Z]\.(-?[A-Z]\.)*|de|van|von|der|da|la|le|di|del)$"
)


@dataclass
class TextBlock:
    title: str
    abstract: str
    line: int
    meta: list[str] = field(default_factory=list)
    #: Paragraphs that continue the abstract, joined onto it once at the end: appending to
    #: the string each time copied it per paragraph (44 s for a 20 MB paste).
    more: list[str] = field(default_factory=list)


def _paragraphs(text: str) -> list[tuple[int, list[str]]]:
    paras: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            if current:
                paras.append((start, current))
                current = []
            continue
        if not current:
            start = number
        current.append(line)
    if current:
        paras.append((start, current))
    return paras


def _looks_like_authors(line: str) -> bool:
    """ "Ashish Vaswani, Noam Shazeer and Niki Parmar": 2+ names of 2-5 capitalised words."""
    if ":" in line:
        return False
    names = [n for n in re.split(r"\s*,\s*(?:and\s+)?|\s+and\s+|\s*;\s*", line) if n]
    if len(names) < 2:
        return False
    for name in names:
        words = re.sub(r"[\d*†‡§¶]+$", "", name).split()  # affiliation marks
        if not 2 <= len(words) <= 5 or not all(_NAME_WORD.match(w) for w in words):
            return False
    return True


def is_meta(line: str) -> bool:
    if _TITLE_PREFIX.match(line):
        return False
    if _LABELLED.match(line) or any(p.search(line) for p in _META_PATTERNS):
        return True
    # A bare date is short; trying seven date formats on every line of prose cost seconds
    # per megabyte.
    if len(line) <= MAX_DATE_CHARS and parse_loose_date(line) is not None:
        return True
    return _looks_like_authors(line)


def _is_abstract(lines: list[str]) -> bool:
    text = " ".join(lines)
    if len(lines) == 1 and is_meta(text) and not _ABSTRACT_PREFIX.match(text):
        return False
    words = len(text.split())
    if words < MIN_ABSTRACT_WORDS:
        return False
    return words >= PROSE_WORDS or len(_SENTENCE_END.findall(text)) >= 2


def _continues(lines: list[str]) -> bool:
    """A prose paragraph (12+ words, ends a sentence): more of the abstract before it."""
    text = " ".join(lines)
    return (
        len(text.split()) >= CONTINUATION_WORDS
        and text.endswith((".", "!", "?"))
        and not any(is_meta(line) for line in lines)
    )


def _title_lines(lines: list[str]) -> list[str] | None:
    """The non-meta lines of a paragraph if they can be a title, else None."""
    plain = [line for line in lines if not is_meta(line)]
    if not plain or len(plain) > MAX_TITLE_LINES or _continues(lines):
        return None
    if len(" ".join(plain).split()) > MAX_TITLE_WORDS:
        return None
    return plain


def _absorb(block: TextBlock, paras: list[tuple[int, list[str]]]) -> None:
    """Append the prose paragraphs that directly follow an abstract to it."""
    for _, lines in paras:
        if not _continues(lines):
            return
        block.more.append(" ".join(lines))


def find_blocks(text: str) -> list[TextBlock]:
    blocks: list[TextBlock] = []
    pending: list[tuple[int, list[str]]] = []
    for number, lines in _paragraphs(text):
        if not _is_abstract(lines):
            pending.append((number, lines))
            continue
        abstract = _ABSTRACT_PREFIX.sub("", " ".join(lines))
        title_at = next(
            (i for i in range(len(pending) - 1, -1, -1) if _title_lines(pending[i][1])), None
        )
        if title_at is None:
            # No title since the last abstract: a further paragraph of it (or page prose).
            if blocks and all(_continues(para) for _, para in pending):
                _absorb(blocks[-1], [*pending, (number, lines)])
            pending = []
            continue
        if blocks:
            _absorb(blocks[-1], pending[:title_at])
        title_line, title_para = pending[title_at]
        plain = _title_lines(title_para) or []
        meta = [line for line in title_para if line not in plain]
        for _, later in pending[title_at + 1 :]:
            meta.extend(later)
        title = _TITLE_PREFIX.sub("", " ".join(plain))
        blocks.append(TextBlock(title=title, abstract=abstract, line=title_line, meta=meta))
        pending = []
    if blocks:
        _absorb(blocks[-1], pending)
    for block in blocks:
        if block.more:
            block.abstract = " ".join([block.abstract, *block.more])
            block.more = []
    return blocks


def block_to_paper(block: TextBlock, *, source: str) -> Paper:
    title = clean_text(block.title)
    authors: list[str] = []
    published = None
    for line in block.meta:
        if _AUTHORS_LABEL.match(line) or (not authors and _looks_like_authors(line)):
            body = _AUTHORS_LABEL.sub("", line)
            sep = r"\s*;\s*" if ";" in body else r"\s*,\s*(?:and\s+)?|\s+and\s+"
            authors = [n for part in re.split(sep, body) if (n := clean_text(part))]
        elif published is None:
            published = parse_loose_date(_DATE_LABEL.sub("", line.strip("[] ")))
    paper_id, version = paper_key(*block.meta, title=title)
    is_arxiv = not paper_id.startswith(("doi:", "sha:"))
    return Paper(
        id=paper_id,
        version=version,
        title=title,
        abstract=clean_text(block.abstract),
        authors=authors,
        published=published,
        source=source,
        url=arxiv_abs_url(paper_id) if is_arxiv else None,
        pdf_url=arxiv_pdf_url(paper_id, version) if is_arxiv else None,
    )
