"""RIS (Zotero, EndNote, Mendeley, publishers) through rispy.

rispy silently drops a record with no ``ER`` line and merges a second ``TY`` into the open record,
so the record boundaries are checked here first; rispy then reads each record's fields.
"""

from __future__ import annotations

import re
from typing import Any

from agent.library.models import LibraryItem, SkippedEntry
from agent.library.normalize import (
    arxiv_in,
    build_item,
    doi_in,
    fail,
    family_first_to_display,
    split_list,
    year_in,
)

_TAG = re.compile(r"^([A-Z][A-Z0-9])  -(?: |$)")
_HINT = (
    "Every record runs from a `TY  - ` line to an `ER  - ` line; add the missing line or "
    "re-export the library (Zotero: File > Export Library > RIS)."
)


def parse_ris(text: str, name: str) -> list[LibraryItem | SkippedEntry]:
    """Every record of an RIS file, or LibraryFormatError naming the first broken one."""
    import rispy

    out: list[LibraryItem | SkippedEntry] = []
    for number, (line, lines) in enumerate(_records(text, name), start=1):
        parsed = rispy.loads("\n".join(lines), skip_unknown_tags=True)
        if len(parsed) != 1:  # cannot happen after _records; guard against rispy changes
            raise fail(name, line, f"record {number} could not be read", _HINT)
        out.append(_record_to_item(parsed[0], number, line))
    return out


def _records(text: str, name: str) -> list[tuple[int, list[str]]]:
    """(first line, lines) per TY..ER record; text outside records (export headers) is ignored."""
    records: list[tuple[int, list[str]]] = []
    start: int | None = None
    lines: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = _TAG.match(line)
        tag = match.group(1) if match else None
        if tag == "TY":
            if start is not None:
                problem = f"record {len(records) + 1} has no `ER  - ` line before the next "
                problem += f"`TY  - ` (line {number})"
                raise fail(name, start, problem, _HINT)
            start, lines = number, [line]
        elif start is not None:
            lines.append(line)
            if tag == "ER":
                records.append((start, lines))
                start = None
        elif tag is not None:
            problem = f"`{tag}  - ` line outside a record (a `TY  - ` line is missing before it)"
            raise fail(name, number, problem, _HINT)
    if start is not None:
        problem = f"record {len(records) + 1} has no `ER  - ` line (the file ends first)"
        raise fail(name, start, problem, _HINT)
    return records


def _text(value: object) -> str:
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value) if value is not None else ""


def _record_to_item(record: dict[str, Any], number: int, line: int) -> LibraryItem | SkippedEntry:
    get = record.get
    urls = [u for u in get("urls", []) if u]
    notes = [_text(get(k)) for k in ("notes", "note", "type_of_work", "number", "start_page")]
    doi_field = _text(get("doi"))
    authors = [*get("authors", []), *get("first_authors", [])]
    venue = next(
        (
            _text(get(k))
            for k in ("secondary_title", "journal_name", "alternate_title3", "alternate_title1")
            if get(k)
        ),
        None,
    )
    return build_item(
        "ris",
        _text(get("id")) or f"record {number}",
        line,
        title=_text(get("title") or get("primary_title") or get("translated_title")),
        abstract=_text(get("abstract") or get("notes_abstract")),
        authors=[family_first_to_display(a) for a in authors],
        year=year_in(get("year"), get("publication_year"), get("date")),
        arxiv_id=arxiv_in(doi_field, *urls, *notes, venue),
        doi=doi_in(doi_field, *(u for u in urls if "doi.org" in u)),
        url=urls[0] if urls else None,
        keywords=split_list(get("keywords", []), separators=""),
        venue=venue,
    )
