"""CSL-JSON: Zotero's "CSL JSON" export and Better BibTeX's "Better CSL JSON"."""

from __future__ import annotations

import json
from typing import Any

from agent.library.models import LibraryItem, SkippedEntry
from agent.library.normalize import arxiv_in, build_item, doi_in, fail, split_list, year_in
from agent.models import normalize_text

_HINT = (
    'Expected a CSL-JSON list like `[{"id": ..., "type": ..., "title": ...}]`; '
    "re-export it (Zotero: File > Export Library > CSL JSON)."
)


def parse_csl_json(text: str, name: str) -> list[LibraryItem | SkippedEntry]:
    """Every item of a CSL-JSON file, or LibraryFormatError naming the line or item."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        problem = f"not valid JSON: {exc.msg} (column {exc.colno})"
        raise fail(name, exc.lineno, problem, _HINT) from None
    if isinstance(data, dict):
        # {"items": [...]} wrappers, or a single item exported on its own.
        data = data["items"] if isinstance(data.get("items"), list) else [data]
    if not isinstance(data, list):
        problem = f"expected a list of items, found a JSON {type(data).__name__}"
        raise fail(name, None, problem, _HINT)
    for number, entry in enumerate(data, start=1):
        if not isinstance(entry, dict):
            problem = f"item {number} is a JSON {type(entry).__name__}, not an object"
            raise fail(name, None, problem, _HINT)
    if data and not any("type" in e or "title" in e for e in data):
        raise fail(name, None, "no item has a `type` or `title`: this is not CSL-JSON", _HINT)
    return [_entry_to_item(entry, number) for number, entry in enumerate(data, start=1)]


def _text(value: object) -> str:
    if isinstance(value, list):
        return "; ".join(str(v) for v in value if v is not None)
    return str(value) if value is not None else ""


def _authors(people: object) -> list[str]:
    names = []
    for person in people if isinstance(people, list) else []:
        if not isinstance(person, dict):
            continue
        parts = [person.get(k) for k in ("given", "non-dropping-particle", "family", "suffix")]
        name = person.get("literal") or " ".join(str(p) for p in parts if p)
        if name:
            names.append(normalize_text(str(name)))
    return names


def _year(issued: object) -> int | None:
    if isinstance(issued, dict):
        parts = issued.get("date-parts")
        if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
            return year_in(parts[0][0])
        return year_in(issued.get("raw"), issued.get("literal"))
    return year_in(issued)


def _entry_to_item(entry: dict[str, Any], number: int) -> LibraryItem | SkippedEntry:
    get = entry.get
    doi_field = _text(get("DOI") or get("doi"))
    url = _text(get("URL") or get("url")) or None
    keywords = get("keyword") or get("keywords") or []
    return build_item(
        "csl-json",
        _text(get("citation-key") or get("id")) or f"item {number}",
        None,
        title=_text(get("title")),
        abstract=_text(get("abstract")),
        authors=_authors(get("author") or get("editor")),
        year=_year(get("issued")),
        arxiv_id=arxiv_in(
            doi_field, url, _text(get("note")), _text(get("number")), _text(get("archive_location"))
        ),
        doi=doi_in(doi_field, url if url and "doi.org" in url else None),
        url=url,
        keywords=split_list(keywords if isinstance(keywords, list) else [_text(keywords)]),
        venue=_text(get("container-title") or get("publisher")) or None,
    )
