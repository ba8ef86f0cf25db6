"""Tabular records (CSV rows, JSON objects) -> Paper, and telling a file's format from its text.

Shared by the whole-file reader (agent.sources.files) and the line-by-line one
(agent.sources._stream).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from agent.errors import InputError
from agent.models import ItemFailure, Paper
from agent.sources._records import is_known_column, missing_required, record_to_paper
from agent.sources.hf import is_hf_shape, parse_hf_items

SOURCE = "file"
_BOM = b"\xef\xbb\xbf"
_DELIMITERS = ",;\t|"
_COLUMNS_HINT = (
    "Give the CSV a header row with at least `title` and `abstract` (or `summary`) columns; "
    "optional: id, authors, url, date, categories."
)
Parsed = tuple[list[Paper], list[ItemFailure]]


def _fail(path: Path, problem: str, hint: str) -> InputError:
    return InputError(f"{path}: {problem}", hint=hint)


def detect_format(text: str) -> str:
    head = text.lstrip()
    if head.startswith("<"):
        return "atom"
    if head.startswith(("[", "{")):
        return "json"
    if _looks_like_csv(text):
        return "csv"
    return "text"


def _sniff_delimiter(text: str) -> str | None:
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        header = text.splitlines()[0] if text else ""
        counts = {d: header.count(d) for d in _DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else None


def _looks_like_csv(text: str) -> bool:
    """A header of short column names, and either a known column or rows that all fit it."""
    text = text.lstrip("\r\n")
    delimiter = _sniff_delimiter(text)
    if delimiter is None:
        return False
    rows = [r for r in csv.reader(io.StringIO(text[:65536]), delimiter=delimiter) if r]
    if not rows:
        return False
    header = [c.strip() for c in rows[0]]
    if len(header) < 2 or not all(0 < len(c) <= 40 and len(c.split()) <= 4 for c in header):
        return False
    if any(is_known_column(c) for c in header):
        return True
    data = rows[1:21]
    return len(data) >= 2 and all(len(r) == len(header) for r in data)


def check_fields(keys: list[str], path: Path) -> None:
    """No record at all has a title or abstract field: a wrong file, not a bad record."""
    missing = missing_required(keys)
    if missing:
        raise _fail(
            path,
            f"no record has a {' or '.join(missing)} field; fields found: "
            f"{', '.join(keys) or 'none'}.",
            "Name the fields `title` and `abstract` (or `summary`).",
        )


def convert_records(
    records: list[dict[str, Any]], path: Path, *, label: str, check: bool = True
) -> Parsed:
    hf_items = [r for r in records if is_hf_shape(r)]
    flat = [r for r in records if not is_hf_shape(r)]
    if flat and check:
        check_fields(sorted({str(k) for r in flat for k in r if k != "__line__"}), path)
    papers: list[Paper] = []
    skipped: list[ItemFailure] = []
    if hf_items:
        papers, skipped = parse_hf_items(hf_items, source=SOURCE)
    for index, record in enumerate(flat, start=1):
        where = f"{path.name} {label} {record.pop('__line__', index)}"
        try:
            papers.append(record_to_paper(record, source=SOURCE))
        except ValueError as exc:
            skipped.append(ItemFailure(item=where, step="fetch", reason=str(exc)))
    return papers, skipped


def sniff_file_delimiter(path: Path) -> str:
    with path.open("rb") as fh:
        head = fh.read(65536).removeprefix(_BOM).decode("utf-8", errors="ignore")
    return _sniff_delimiter(head) or ","


def csv_items(
    lines: Iterable[str], path: Path, delimiter: str, *, size_limit: int
) -> Iterator[Paper | ItemFailure]:
    """Each data row as a Paper, or an ItemFailure naming its line; a malformed file raises.

    The csv module refuses fields over 128 KiB, and that failed the whole file for one
    over-long abstract: ``size_limit`` (the file's size) allows any field it can hold (ingest
    cuts long text, saying so)."""
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, size_limit))
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        header = next((r for r in reader if any(c.strip() for c in r)), [])
        missing = missing_required(header)
        if missing:
            found = ", ".join(c.strip() for c in header)
            raise _fail(
                path,
                f"CSV has no {' or '.join(missing)} column; columns found: {found}.",
                _COLUMNS_HINT,
            )
        columns = [c.strip() for c in header]
        for row in reader:
            if not any(c.strip() for c in row):
                continue
            if len(row) > len(columns):
                raise _fail(
                    path,
                    f"line {reader.line_num} has {len(row)} fields but the header has "
                    f"{len(columns)}.",
                    f"Quote fields that contain the delimiter {delimiter!r}.",
                )
            record = dict(zip(columns, row, strict=False))
            try:
                yield record_to_paper(record, source=SOURCE)
            except ValueError as exc:
                item = f"{path.name} line {reader.line_num}"
                yield ItemFailure(item=item, step="fetch", reason=str(exc))
    except csv.Error as exc:
        raise _fail(
            path,
            f"malformed CSV at line {reader.line_num}: {exc}.",
            "Check the quoting near that line (an unclosed quote?).",
        ) from None
    finally:
        csv.field_size_limit(limit)
