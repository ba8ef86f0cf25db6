"""Papers from a local file: HF daily-papers JSON, arXiv Atom/RSS, JSON Lines, CSV or pasted text.

The format is read from the content, not the extension. A file that cannot be read as a whole
(bad encoding, broken JSON/XML, missing columns) is rejected whole with an InputError; single
records without a title or abstract are reported in ``skipped`` while the rest are returned.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from agent.config import Settings
from agent.errors import InputError
from agent.models import ItemFailure, Paper
from agent.sources._atom import is_atom_feed, parse_api_page
from agent.sources._stream import check_text, file_error, jsonl_object, load_json
from agent.sources._tabular import (
    SOURCE,
    Parsed,
    _sniff_delimiter,
    convert_records,
    csv_items,
    detect_format,
)
from agent.sources._textblocks import block_to_paper, find_blocks
from agent.sources._xml import XMLSyntaxError, looks_like_html, parse_xml
from agent.sources.arxiv_rss import is_announcement_feed, parse_announcements
from agent.sources.base import FetchRequest, FetchResult
from agent.sources.hf import is_hf_shape, parse_hf_items

log = logging.getLogger(__name__)

FORMATS = ("hf", "json", "jsonl", "csv", "atom", "rss", "text")
_BOM = b"\xef\xbb\xbf"


_fail = file_error


def decode(data: bytes, path: Path) -> str:
    """Strict UTF-8 (a leading BOM is dropped) without NUL bytes; the error names the byte
    and line."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _fail(
            path,
            "the file is UTF-16, not UTF-8.",
            "Re-save it as UTF-8 (in most editors: Save As > Encoding: UTF-8).",
        )
    offset = 3 if data.startswith(_BOM) else 0
    try:
        text = data[offset:].decode("utf-8")
    except UnicodeDecodeError as exc:
        where = offset + exc.start
        line = data[:where].count(b"\n") + 1
        raise _fail(
            path,
            f"not valid UTF-8: byte 0x{data[where]:02x} at offset {where} (line {line}).",
            "Re-save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8 IN > OUT`, or Save As > "
            "Encoding: UTF-8 in your editor).",
        ) from None
    check_text(text, path)
    return text


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

    def fetch_batches(self, request: FetchRequest, size: int) -> Iterator[FetchResult]:
        """The file's papers ``size`` at a time: JSON Lines and CSV are read line by line
        (agent.sources._stream); other formats are parsed whole and handed out in slices."""
        if request.path is None:
            raise InputError(
                "The file source needs a path.", hint="Pass the file to read, e.g. `--file x.csv`."
            )
        return _file_batches(Path(request.path).expanduser(), request.format, max(1, size))


def _file_batches(path: Path, fmt: str | None, size: int) -> Iterator[FetchResult]:
    from agent.sources._stream import paper_batches, stream_format

    streamed = stream_format(path, fmt) if path.is_file() else None
    if streamed is not None:
        yield from paper_batches(path, streamed, size)
        return
    whole = read_papers(path, fmt)
    if not whole.papers:
        yield whole
    for start in range(0, len(whole.papers), size):
        skipped = whole.skipped if start == 0 else []
        yield FetchResult(papers=whole.papers[start : start + size], skipped=skipped)


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
        data = load_json(text, path)
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
    return convert_records(records, path, label="record")


def _first_line_is_object(text: str) -> bool:
    first = text.lstrip().splitlines()[0]
    try:
        return isinstance(json.loads(first), dict)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
        return False


def _parse_jsonl(text: str, path: Path) -> Parsed:
    records: list[dict[str, Any]] = []
    lines = text.splitlines()
    last = max((i for i, line in enumerate(lines, 1) if line.strip()), default=0)
    for number, line in enumerate(lines, start=1):
        if line.strip():
            records.append(jsonl_object(line, number, path, _answer(number == last)))
    return convert_records(records, path, label="line")


def _answer(value: bool) -> Callable[[], bool]:
    return lambda: value


# --- CSV ------------------------------------------------------------------------------------
def _parse_csv(text: str, path: Path) -> Parsed:
    delimiter = _sniff_delimiter(text) or ","
    lines = io.StringIO(text, newline="")
    items = list(csv_items(lines, path, delimiter, size_limit=len(text) + 1))
    papers = [i for i in items if isinstance(i, Paper)]
    return papers, [i for i in items if isinstance(i, ItemFailure)]


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
