"""Papers from a local file: HF daily-papers JSON, arXiv Atom/RSS, JSON Lines, CSV or pasted text.

The format is read from the content, not the extension. A file that cannot be read as a whole
(bad encoding, broken JSON/XML, missing columns) is rejected whole with an InputError; single
records without a title or abstract are reported in ``skipped`` while the rest are returned.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path
from typing import Any

from agent.config import Settings
from agent.errors import InputError
from agent.models import ItemFailure, Paper
from agent.sources._atom import is_atom_feed, parse_api_page
from agent.sources._records import is_known_column, missing_required, record_to_paper
from agent.sources._textblocks import block_to_paper, find_blocks
from agent.sources._xml import XMLSyntaxError, looks_like_html, parse_xml
from agent.sources.arxiv_rss import is_announcement_feed, parse_announcements
from agent.sources.base import FetchRequest, FetchResult
from agent.sources.hf import is_hf_shape, parse_hf_items

log = logging.getLogger(__name__)

FORMATS = ("hf", "json", "jsonl", "csv", "atom", "rss", "text")
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


def decode(data: bytes, path: Path) -> str:
    """Strict UTF-8 (a leading BOM is dropped); the error names the byte and line."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _fail(
            path,
            "the file is UTF-16, not UTF-8.",
            "Re-save it as UTF-8 (in most editors: Save As > Encoding: UTF-8).",
        )
    offset = 3 if data.startswith(_BOM) else 0
    try:
        return data[offset:].decode("utf-8")
    except UnicodeDecodeError as exc:
        where = offset + exc.start
        line = data[:where].count(b"\n") + 1
        raise _fail(
            path,
            f"not valid UTF-8: byte 0x{data[where]:02x} at offset {where} (line {line}).",
            "Re-save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8 IN > OUT`, or Save As > "
            "Encoding: UTF-8 in your editor).",
        ) from None


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


class FileSource:
    """Reads ``request.path``; ``request.format`` overrides detection."""

    name = SOURCE

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings

    def fetch(self, request: FetchRequest, *, watermark: str | None = None) -> FetchResult:
        if request.path is None:
            raise InputError(
                "The file source needs a path.", hint="Pass the file to read, e.g. `--file x.csv`."
            )
        return read_papers(request.path, request.format)


def read_papers(path: Path | str, fmt: str | None = None) -> FetchResult:
    path = Path(path).expanduser()
    if fmt is not None and fmt not in FORMATS:
        raise InputError(
            f"Unknown file format {fmt!r}.", hint=f"Use one of {', '.join(FORMATS)}, or omit it."
        )
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file.", hint="Check the path.") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a directory.", hint="Give the path of a file.") from None
    except OSError as exc:
        raise InputError(
            f"{path}: cannot read it ({exc.strerror}).", hint="Check the path and its permissions."
        ) from None
    text = decode(data, path)
    if not text.strip():
        raise _fail(path, "the file is empty.", "Give a file with at least one paper.")
    fmt = fmt or detect_format(text)
    log.info("reading %s as %s", path, fmt)
    if fmt in ("atom", "rss"):
        papers, skipped = _parse_xml(data, path)
    elif fmt in ("json", "hf"):
        papers, skipped = _parse_json(text, path, require_hf=fmt == "hf")
    elif fmt == "jsonl":
        papers, skipped = _parse_jsonl(text, path)
    elif fmt == "csv":
        papers, skipped = _parse_csv(text, path)
    else:
        papers, skipped = _parse_text(text, path)
    papers = _dedupe(papers, skipped)
    empty = None if papers or skipped else f"{path} holds no papers (an empty feed)"
    return FetchResult(papers=papers, skipped=skipped, empty_reason=empty)


def _dedupe(papers: list[Paper], skipped: list[ItemFailure]) -> list[Paper]:
    seen: dict[str, Paper] = {}
    for paper in papers:
        if paper.id in seen:
            skipped.append(
                ItemFailure(item=paper.id, step="fetch", reason="duplicate of an earlier record")
            )
        else:
            seen[paper.id] = paper
    return list(seen.values())


# --- XML ------------------------------------------------------------------------------------
def _parse_xml(data: bytes, path: Path) -> Parsed:
    if looks_like_html(data):
        raise _fail(
            path,
            "this is an HTML page, not a feed.",
            "Save the arXiv API/RSS answer itself, or paste the titles and abstracts as text.",
        )
    try:
        root = parse_xml(data)
    except XMLSyntaxError as exc:
        hint = "The file is not well-formed XML: was it saved completely?"
        raise _fail(path, f"{exc}.", hint) from None
    if is_announcement_feed(root):
        feed = parse_announcements(root, source=SOURCE)
        return feed.papers, feed.skipped
    if not is_atom_feed(root):
        raise _fail(
            path,
            f"XML with root <{root.tag.rsplit('}', 1)[-1]}> is not an Atom or RSS feed.",
            "Give an arXiv API (Atom) or RSS answer, or another format (CSV, JSON Lines, text).",
        )
    page = parse_api_page(root, source=SOURCE)
    if page.error is not None:
        raise _fail(
            path, f"the feed is an arXiv error answer: {page.error!r}.", "Re-run the query."
        )
    return page.papers, page.skipped


# --- JSON -----------------------------------------------------------------------------------
def _json_error(path: Path, exc: json.JSONDecodeError, what: str = "malformed JSON") -> InputError:
    return _fail(
        path,
        f"{what} at line {exc.lineno}, column {exc.colno}: {exc.msg}.",
        "Fix the JSON at that line (a truncated download or a missing comma/bracket?).",
    )


def _parse_json(text: str, path: Path, *, require_hf: bool) -> Parsed:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        # `{...}\n{...}` fails with "Extra data": it is JSON Lines.
        if text.lstrip().startswith("{") and not require_hf and _first_line_is_object(text):
            return _parse_jsonl(text, path)
        raise _json_error(path, exc) from None
    if isinstance(data, dict) and not is_hf_shape(data):
        for key in ("papers", "items", "data", "results"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
    if is_hf_shape(data):
        return parse_hf_items(data, source=SOURCE)
    if require_hf:
        raise _fail(
            path,
            "not Hugging Face daily-papers JSON (items need a 'paper' object).",
            "Omit the format to detect it, or give the /api/daily_papers answer.",
        )
    records = data if isinstance(data, list) else [data]
    bad = next((r for r in records if not isinstance(r, dict)), None)
    if bad is not None:
        raise _fail(
            path,
            f"expected JSON objects, found a {type(bad).__name__}.",
            "Give one object per paper with title and abstract fields.",
        )
    return _records(records, path, label="record")


def _first_line_is_object(text: str) -> bool:
    first = text.lstrip().splitlines()[0]
    try:
        return isinstance(json.loads(first), dict)
    except json.JSONDecodeError:
        return False


def _parse_jsonl(text: str, path: Path) -> Parsed:
    records: list[dict[str, Any]] = []
    lines = text.splitlines()
    last = max((i for i, line in enumerate(lines, 1) if line.strip()), default=0)
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            cut = " (the file looks truncated)" if number == last else ""
            raise _fail(
                path,
                f"line {number} is not valid JSON{cut}: {exc.msg} at column {exc.colno}.",
                "Each line must be one complete JSON object; fix or remove that line.",
            ) from None
        if not isinstance(obj, dict):
            raise _fail(
                path,
                f"line {number} is a JSON {type(obj).__name__}, not an object.",
                "Each line must be one JSON object with title and abstract fields.",
            )
        obj.setdefault("__line__", number)
        records.append(obj)
    return _records(records, path, label="line")


def _records(records: list[dict[str, Any]], path: Path, *, label: str) -> Parsed:
    hf_items = [r for r in records if is_hf_shape(r)]
    flat = [r for r in records if not is_hf_shape(r)]
    keys = sorted({str(k) for r in flat for k in r if k != "__line__"})
    missing = missing_required(keys)
    if flat and missing:  # no record at all has the field: a wrong file, not a bad record
        raise _fail(
            path,
            f"no record has a {' or '.join(missing)} field; fields found: "
            f"{', '.join(keys) or 'none'}.",
            "Name the fields `title` and `abstract` (or `summary`).",
        )
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


# --- CSV ------------------------------------------------------------------------------------
def _parse_csv(text: str, path: Path) -> Parsed:
    # The csv module refuses fields over 128 KiB, and that failed the whole file for one
    # over-long abstract: allow any field this file can hold (ingest cuts long text, saying so).
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(text) + 1))
    try:
        return _read_csv(text, path)
    finally:
        csv.field_size_limit(limit)


def _read_csv(text: str, path: Path) -> Parsed:
    delimiter = _sniff_delimiter(text) or ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(r for r in reader if any(c.strip() for c in r))
        missing = missing_required(header)
        if missing:
            found = ", ".join(c.strip() for c in header)
            raise _fail(
                path,
                f"CSV has no {' or '.join(missing)} column; columns found: {found}.",
                _COLUMNS_HINT,
            )
        columns = [c.strip() for c in header]
        papers: list[Paper] = []
        skipped: list[ItemFailure] = []
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
                papers.append(record_to_paper(record, source=SOURCE))
            except ValueError as exc:
                item = f"{path.name} line {reader.line_num}"
                skipped.append(ItemFailure(item=item, step="fetch", reason=str(exc)))
    except csv.Error as exc:
        raise _fail(
            path,
            f"malformed CSV at line {reader.line_num}: {exc}.",
            "Check the quoting near that line (an unclosed quote?).",
        ) from None
    return papers, skipped


# --- text -----------------------------------------------------------------------------------
def _parse_text(text: str, path: Path) -> Parsed:
    blocks = find_blocks(text)
    if not blocks:
        raise _fail(
            path,
            "found no papers. Expected, for each paper, a title line, a blank line and the "
            "abstract paragraph (25+ words).",
            "Paste titles and abstracts in that shape, or give CSV / JSON Lines with title and "
            "abstract fields.",
        )
    return [block_to_paper(b, source=SOURCE) for b in blocks], []
