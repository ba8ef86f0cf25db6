"""Field cleaning every format shares: arXiv ids and DOIs, years, lists, length bounds.

Each format module gathers raw strings and hands them to ``build_item``, so an entry reads the
same whichever export it came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from agent.errors import LibraryFormatError
from agent.library.models import (
    MAX_ABSTRACT_CHARS,
    MAX_LIST_ITEMS,
    MAX_SHORT_CHARS,
    MAX_TITLE_CHARS,
    MAX_URL_CHARS,
    LibraryFormat,
    LibraryItem,
    SkippedEntry,
)
from agent.models import normalize_text
from agent.sources._ids import parse_arxiv_id, parse_doi

_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")
# Zotero's rich-text markup in titles, kept as-is by its RIS, CSV and CSL-JSON exports.
_RICH_TEXT = re.compile(r"</?(?:i|b|em|strong|sup|sub|sc|span)(?:\s[^>]*)?>", re.IGNORECASE)


def fail(name: str, line: int | None, problem: str, hint: str) -> LibraryFormatError:
    """The one error shape: 'papers.bib line 42: <problem>' plus a hint naming the fix."""
    where = f"{name} line {line}" if line else name
    return LibraryFormatError(f"{where}: {problem}", hint=hint)


def unescape_latex_specials(text: str | None) -> str:
    """URLs and DOIs in BibTeX: undo `\\_`, `\\%`, `\\&` escapes without touching the rest."""
    if not text:
        return ""
    return re.sub(r"\\([_%&#$])", r"\1", text).strip().strip("{}")


def arxiv_in(*texts: str | None, marked: bool = True) -> str | None:
    """The first bare arXiv id found; with ``marked`` only in texts that say 'arxiv'.

    Notes and journal fields hold other numbers (report ids, pages) that look like new-style ids,
    so outside an explicit eprint field the text must name arXiv.
    """
    for text in texts:
        if not text or (marked and "arxiv" not in text.lower()):
            continue
        found = parse_arxiv_id(text)
        if found:
            return found[0]
    return None


def doi_in(*texts: str | None) -> str | None:
    for text in texts:
        doi = parse_doi(text)
        if doi:
            return doi
    return None


def year_in(*texts: object) -> int | None:
    for text in texts:
        if text is None:
            continue
        for match in _YEAR.finditer(str(text)):
            year = int(match.group(1))
            if 1000 <= year <= 2100:
                return year
    return None


def split_list(values: Iterable[str | None], separators: str = ",;") -> list[str]:
    """Keywords/tags: split, trim, de-duplicate case-insensitively, keep order, cap the count."""
    pattern = re.compile(f"[{re.escape(separators)}]") if separators else None
    seen: set[str] = set()
    out: list[str] = []
    for value in values:
        for part in pattern.split(value or "") if pattern else [value or ""]:
            word = normalize_text(part)[:MAX_SHORT_CHARS]
            if word and word.lower() not in seen:
                seen.add(word.lower())
                out.append(word)
    return out[:MAX_LIST_ITEMS]


def family_first_to_display(name: str) -> str:
    """'Family, Given' (RIS, Zotero CSV; sometimes 'Family, Given, Suffix') -> 'Given Family'."""
    parts = [p.strip() for p in name.split(",") if p.strip()]
    if len(parts) >= 2:
        return " ".join([parts[1], parts[0], *parts[2:]])
    return normalize_text(name)


def _bounded(text: str | None, limit: int) -> str | None:
    text = normalize_text(_RICH_TEXT.sub("", text or ""))
    if not text:
        return None
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + " …"


def build_item(
    source_format: LibraryFormat,
    key: str,
    line: int | None,
    *,
    title: str | None,
    abstract: str | None = None,
    authors: Iterable[str] = (),
    year: int | None = None,
    arxiv_id: str | None = None,
    doi: str | None = None,
    url: str | None = None,
    keywords: Iterable[str] = (),
    venue: str | None = None,
) -> LibraryItem | SkippedEntry:
    """A LibraryItem from already-decoded text, or a SkippedEntry when nothing identifies it."""
    title = _bounded(title, MAX_TITLE_CHARS)
    if not title and not arxiv_id and not doi:
        return SkippedEntry(key=key, line=line, reason="no title, arXiv id or DOI")
    url = normalize_text(url or "") or None
    if url and (len(url) > MAX_URL_CHARS or not url.lower().startswith(("http://", "https://"))):
        url = None
    names = [_bounded(a, MAX_SHORT_CHARS) for a in authors]
    return LibraryItem(
        key=key,
        line=line,
        title=title,
        abstract=_bounded(abstract, MAX_ABSTRACT_CHARS),
        authors=[n for n in names if n and n.lower() != "others"][:MAX_LIST_ITEMS],
        year=year,
        arxiv_id=arxiv_id,
        doi=doi,
        url=url,
        keywords=list(keywords)[:MAX_LIST_ITEMS],
        venue=_bounded(venue, MAX_SHORT_CHARS),
        source_format=source_format,
    )
