"""Read a library file safely (size, encoding) and tell its format from content and extension."""

from __future__ import annotations

import re
from pathlib import Path

from agent.library.models import MAX_FILE_BYTES, LibraryFormat
from agent.library.normalize import fail

_BOM = b"\xef\xbb\xbf"
_RIS_TAG = re.compile(r"^TY  - ", re.MULTILINE)
_BIB_ENTRY = re.compile(r"^\s*@\s*[A-Za-z]+\s*[{(]", re.MULTILINE)
# `[{`, `[]` or `{"`: a JSON document; a bare `[` may just be a numbered list "[1] Title".
_JSON_START = re.compile(r"^\s*(?:\[\s*[{\]]|\{\s*\")")
_BY_EXTENSION: dict[str, LibraryFormat] = {
    ".bib": "bibtex",
    ".bibtex": "bibtex",
    ".biblatex": "bibtex",
    ".ris": "ris",
    ".json": "csl-json",
    ".csljson": "csl-json",
    ".csv": "zotero-csv",
}


def read_text(path: Path) -> str:
    """The file as text: strict UTF-8 (a BOM is fine), at most MAX_FILE_BYTES."""
    where = str(path)
    if not path.is_file():
        problem = "no such file" if not path.exists() else "not a file"
        raise fail(where, None, problem, "Check the path; export the library from Zotero first.")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        problem = f"{size / 1e6:.0f} MB is more than the {MAX_FILE_BYTES // 2**20} MB limit"
        hint = "Export a collection rather than the whole library, or split the file."
        raise fail(where, None, problem, hint)
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise fail(where, None, "the file is UTF-16, not UTF-8", _ENCODING_HINT)
    offset = len(_BOM) if data.startswith(_BOM) else 0
    try:
        text = data[offset:].decode("utf-8")
    except UnicodeDecodeError as exc:
        at = offset + exc.start
        line = data[:at].count(b"\n") + 1
        problem = f"not UTF-8 text (byte 0x{data[at]:02x})"
        raise fail(path.name, line, problem, _ENCODING_HINT) from None
    if "\x00" in text:
        problem = "contains NUL bytes: this is a binary file, not a text export"
        raise fail(path.name, None, problem, "Export the library as BibTeX, RIS, CSL JSON or CSV.")
    return text


_ENCODING_HINT = (
    "Re-save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8 IN > OUT`), or export it again: "
    "Zotero writes UTF-8 by default."
)


def detect_format(path: Path, text: str) -> LibraryFormat:
    """Unmistakable content first (exports saved as .txt), then the extension, then a guess."""
    head = text[:20_000]
    if _JSON_START.match(head):
        return "csl-json"
    first_lines = "\n".join(line for line in head.splitlines()[:40] if line.strip())
    if _RIS_TAG.search(first_lines):
        return "ris"
    if _BIB_ENTRY.search(head):
        return "bibtex"
    by_extension = _BY_EXTENSION.get(path.suffix.lower())
    if by_extension:
        return by_extension
    header = [c.strip().strip('"').lower() for c in re.split(r"[,;\t]", head.split("\n", 1)[0])]
    if len(header) >= 3 and "title" in header:
        return "zotero-csv"
    return "id-list"
