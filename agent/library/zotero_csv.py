"""Zotero's CSV export (File > Export Library > CSV), and CSVs with the same column names."""

from __future__ import annotations

import csv
import io

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

# Zotero's own header names first, then common spellings from other tools (case-insensitive).
_COLUMNS = {
    "key": ("key", "citation key"),
    "title": ("title",),
    "abstract": ("abstract note", "abstract"),
    "authors": ("author", "authors"),
    "year": ("publication year", "year", "date"),
    "doi": ("doi",),
    "url": ("url",),
    "venue": ("publication title", "journal", "venue"),
}
_TAG_COLUMNS = ("manual tags", "automatic tags", "keywords", "tags")
_ARXIV_COLUMNS = ("extra", "archive location", "number", "report number", "publisher", "notes")
_HINT = (
    "Export the library from Zotero (File > Export Library > CSV), or give the CSV a header row "
    "with at least a `Title` column."
)


def parse_zotero_csv(text: str, name: str) -> list[LibraryItem | SkippedEntry]:
    """Every row of a Zotero CSV, or LibraryFormatError naming the first broken row."""
    rows = _rows(text, name)
    if not rows:
        return []
    header = [h.strip().lower() for h in rows[0][1]]
    col = {
        field: next((header.index(n) for n in names if n in header), None)
        for field, names in _COLUMNS.items()
    }
    if col["title"] is None:
        found = ", ".join(f'"{h}"' for h in rows[0][1][:8]) or "nothing"
        raise fail(name, 1, f"the header has no Title column (found {found})", _HINT)
    tags = [header.index(n) for n in _TAG_COLUMNS if n in header]
    arxiv_cols = [header.index(n) for n in _ARXIV_COLUMNS if n in header]
    out: list[LibraryItem | SkippedEntry] = []
    for line, row in rows[1:]:
        if len(row) != len(header):
            problem = f"row has {len(row)} fields but the header has {len(header)}"
            hint = "A quote is probably not closed or a comma not quoted; re-export the file."
            raise fail(name, line, problem, hint)

        def cell(field: str, row: list[str] = row) -> str:
            index = col[field]
            return row[index].strip() if index is not None else ""

        out.append(
            build_item(
                "zotero-csv",
                cell("key") or f"line {line}",
                line,
                title=cell("title"),
                abstract=cell("abstract"),
                authors=[family_first_to_display(a) for a in split_list([cell("authors")], ";")],
                year=year_in(cell("year")),
                arxiv_id=arxiv_in(cell("doi"), cell("url"), *(row[i] for i in arxiv_cols)),
                doi=doi_in(cell("doi")),
                url=cell("url") or None,
                keywords=split_list((row[i] for i in tags), separators=";"),
                venue=cell("venue") or None,
            )
        )
    return out


def _rows(text: str, name: str) -> list[tuple[int, list[str]]]:
    """(first line, cells) per non-empty row; quoted commas and newlines stay inside cells."""
    first = text.split("\n", 1)[0]
    # Spreadsheet re-saves in some locales use ';' or tabs; Zotero itself writes commas.
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for row in reader:
            if any(c.strip() for c in row):
                rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        hint = "A quote is probably not closed in that row; fix it or re-export the file."
        raise fail(name, start, f"not valid CSV: {exc}", hint) from None
    return rows
