"""A researcher's own library, read from a Zotero/BibTeX/RIS/CSL-JSON/CSV export or an id list.

``read_library(path)`` reads the whole file before returning anything: a malformed entry raises
``LibraryFormatError`` (naming the file and the line or entry key) and nothing is returned, so a
caller never imports half a file. Usable-but-empty entries come back in ``skipped``, repeated
papers in ``duplicates``. Storing, embedding and ranking the items is the caller's job.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from agent.errors import LibraryFormatError
from agent.library.bibtex import parse_bibtex
from agent.library.csl_json import parse_csl_json
from agent.library.dedupe import collapse
from agent.library.detect import detect_format, read_text
from agent.library.id_list import parse_id_list
from agent.library.models import (
    FORMATS,
    DuplicateEntry,
    LibraryFile,
    LibraryFormat,
    LibraryItem,
    SkippedEntry,
)
from agent.library.normalize import fail
from agent.library.ris import parse_ris
from agent.library.zotero_csv import parse_zotero_csv

__all__ = [
    "FORMATS",
    "DuplicateEntry",
    "LibraryFile",
    "LibraryFormat",
    "LibraryFormatError",
    "LibraryItem",
    "SkippedEntry",
    "read_library",
]

_PARSERS: dict[LibraryFormat, Callable[[str, str], list[LibraryItem | SkippedEntry]]] = {
    "bibtex": parse_bibtex,
    "ris": parse_ris,
    "csl-json": parse_csl_json,
    "zotero-csv": parse_zotero_csv,
    "id-list": parse_id_list,
}


def read_library(path: Path | str, *, format: LibraryFormat | None = None) -> LibraryFile:
    """Every paper in the file, or LibraryFormatError; ``format`` overrides detection."""
    path = Path(path)
    text = read_text(path)
    chosen = format or detect_format(path, text)
    if chosen not in _PARSERS:
        hint = f"Use one of: {', '.join(FORMATS)}."
        raise fail(path.name, None, f"unknown library format {chosen!r}", hint)
    entries = _PARSERS[chosen](text, path.name)
    if not entries:
        hint = (
            "Export the library from Zotero (File > Export Library: BibTeX, RIS, CSL JSON or "
            "CSV), or list one arXiv id, DOI or title per line."
        )
        raise fail(path.name, None, f"no entries found (read as {chosen})", hint)
    items = [e for e in entries if isinstance(e, LibraryItem)]
    kept, duplicates = collapse(items)
    return LibraryFile(
        path=path,
        format=chosen,
        items=kept,
        skipped=[e for e in entries if isinstance(e, SkippedEntry)],
        duplicates=duplicates,
    )
