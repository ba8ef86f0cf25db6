"""Flat records (CSV rows, JSON objects) -> Paper, with forgiving column names."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

from agent.models import Paper
from agent.sources._ids import arxiv_abs_url, arxiv_pdf_url, clean_text, paper_key
from agent.sources._xml import parse_datetime
from agent.sources.base import INPUT_NOTES

# Canonical field -> accepted column names (compared lower-cased, spaces/dashes as "_").
ALIASES: dict[str, tuple[str, ...]] = {
    "title": ("title", "paper_title"),
    "abstract": ("abstract", "summary"),
    "id": ("id", "arxiv_id", "arxiv", "paper_id", "eprint"),
    "doi": ("doi",),
    "authors": ("authors", "author", "creators"),
    "url": ("url", "link", "abs_url", "href"),
    "date": ("date", "published", "published_date", "publication_date", "submitted"),
    "categories": ("categories", "category", "subjects", "tags"),
}
_KNOWN = {alias for names in ALIASES.values() for alias in names}
_LOOSE_FORMATS = ("%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%Y/%m/%d", "%d.%m.%Y")


def column_key(name: str) -> str:
    return re.sub(r"[\s-]+", "_", name.strip().lower())


def is_known_column(name: str) -> bool:
    return column_key(name) in _KNOWN


def missing_required(columns: list[str]) -> list[str]:
    """Which of title / abstract no column provides (by canonical name)."""
    keys = {column_key(c) for c in columns}
    missing = []
    if not keys & set(ALIASES["title"]):
        missing.append("title")
    if not keys & set(ALIASES["abstract"]):
        missing.append("abstract (or summary)")
    return missing


def canonical(record: dict[str, Any]) -> dict[str, Any]:
    """Map a record's keys onto the canonical fields; the first non-empty alias wins."""
    lowered = {column_key(str(k)): v for k, v in record.items()}
    out: dict[str, Any] = {}
    for field, names in ALIASES.items():
        for name in names:
            value = lowered.get(name)
            if value not in (None, "", []):
                out[field] = value
                break
    return out


def parse_loose_date(text: str | None) -> datetime | None:
    """ISO, RFC 822, or the usual human forms ("2 Jan 2024", "January 2, 2024")."""
    if not text:
        return None
    text = text.strip()
    parsed = parse_datetime(text)
    if parsed is not None:
        return parsed
    for fmt in _LOOSE_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def split_names(value: object) -> list[str]:
    """Authors as a list, or one string separated by ';' (preferred) or ','."""
    if isinstance(value, list):
        names = [v.get("name", "") if isinstance(v, dict) else str(v) for v in value]
    elif isinstance(value, str):
        sep = ";" if ";" in value else ","
        names = re.split(rf"\s*{sep}\s*(?:and\s+)?", value)
    else:
        return []
    return [n for name in names if (n := clean_text(name))]


def split_categories(value: object) -> list[str]:
    if isinstance(value, list):
        items = [str(v) for v in value]
    elif isinstance(value, str):
        items = re.split(r"[;,\s]+", value)
    else:
        return []
    return [c for item in items if (c := item.strip())]


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


def _text_field(value: object, field: str) -> str | None:
    """A title or abstract as given: text, or Crossref's one-string list (``["Title"]``);
    ValueError for anything else, which turning into text would only garble."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
        return value[0]
    kinds = ((bool, "true/false"), (int | float, "a number"), (list, "a list"), (dict, "an object"))
    kind = next((name for types, name in kinds if isinstance(value, types)), type(value).__name__)
    raise ValueError(f"{field} is {kind}, not text")


def _visible(text: str | None) -> tuple[str | None, list[str]]:
    """``text`` without invisible format characters (zero-width spaces, joiners, BOMs, bidi
    marks: Unicode category Cf), and the code points taken out."""
    if not text:
        return text, []
    gone = [c for c in text if unicodedata.category(c) == "Cf"]
    if not gone:
        return text, []
    return "".join(c for c in text if unicodedata.category(c) != "Cf"), [
        f"U+{ord(c):04X}" for c in dict.fromkeys(gone)
    ]


_OWN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}")


def record_to_paper(record: dict[str, Any], *, source: str) -> Paper:
    """ValueError (naming the field) when title or abstract is missing."""
    fields = canonical(record)
    title = clean_text(_text_field(fields.get("title"), "title"))
    abstract = clean_text(_text_field(fields.get("abstract"), "abstract"))
    if not title:
        raise ValueError("no title")
    if not abstract:
        raise ValueError(f"{title[:60]!r} has no abstract")
    invisible: list[str] = []
    seen: dict[str, str | None] = {}
    for name in ("id", "doi", "url"):  # an invisible character would cut an id short
        text = _as_text(fields.get(name))
        seen[name], gone = _visible(text)
        if gone:
            invisible.append(f"the {name} {text!r} held invisible characters ({', '.join(gone)})")
    url, doi, raw_id = seen["url"], seen["doi"], seen["id"]
    paper_id, version = paper_key(raw_id, doi and f"doi:{doi}", url, title=title)
    notes = [f"{note}, taken out: read as {paper_id}" for note in invisible]
    is_arxiv = not paper_id.startswith(("doi:", "sha:"))
    if paper_id.startswith("sha:") and raw_id and _OWN_ID.fullmatch(raw_id.strip()):
        # The file's own id is as stable as a title hash and is what its author will search for.
        paper_id = raw_id.strip()
    categories = split_categories(fields.get("categories"))
    extra: dict[str, Any] = {}
    if doi:
        extra["doi"] = doi.strip()
    date_text = _as_text(fields.get("date"))
    published = parse_loose_date(date_text)
    if date_text and date_text.strip() and published is None:
        notes.append(f"the date {date_text.strip()[:80]!r} is not one paperbrief can read; the "
                     "paper is stored undated")  # fmt: skip
    if notes:
        extra[INPUT_NOTES] = [f"{paper_id}: {note}." for note in notes]
    return Paper(
        id=paper_id,
        version=version,
        title=title,
        abstract=abstract,
        authors=split_names(fields.get("authors")),
        categories=categories,
        primary_category=categories[0] if categories else None,
        published=published,
        source=source,
        url=url or (arxiv_abs_url(paper_id) if is_arxiv else None),
        pdf_url=arxiv_pdf_url(paper_id, version) if is_arxiv else None,
        extra=extra,
    )
