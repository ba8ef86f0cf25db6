"""Large files a batch at a time: JSON Lines and CSV are read line by line, never whole.

A file is still accepted or rejected whole: a first pass reads every line and raises the same
InputError the whole-file reader would (bad UTF-8, a broken line, missing columns) before the
second pass yields the first batch, so a bad file stores nothing. Both passes hold one line and
one batch at a time; only the ids seen so far (to skip duplicates) grow with the file.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from agent.errors import InputError
from agent.models import ItemFailure, Paper
from agent.sources.base import FetchResult

log = logging.getLogger(__name__)

#: Formats that are read a line at a time (the others need the whole document to parse).
STREAMED = ("jsonl", "csv")
_HEAD = 65536
_BOM = b"\xef\xbb\xbf"
Item = Paper | ItemFailure


def file_error(path: Path, problem: str, hint: str) -> InputError:
    """The one shape of a bad input file's error: '<path>: <problem>' plus the fix."""
    return InputError(f"{path}: {problem}", hint=hint)


_fail = file_error
_JUNK_HINT = (
    "Give one JSON object per paper with title and abstract fields: is this the right file?"
)
_NUL_HINT = "Give the papers as JSON Lines, CSV, JSON, an Atom/RSS feed or plain text."


def load_json(text: str, path: Path, where: str = "the file") -> Any:
    """``json.loads(text)``; JSON no paper list holds (nested past Python's recursion limit,
    a number thousands of digits long) is the file's InputError. JSONDecodeError passes on."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        problem = f"{where} is JSON nested too deeply to read (thousands of brackets)."
        raise file_error(path, problem, _JUNK_HINT) from None
    except ValueError as exc:  # int() of a 5,000-digit number
        raise file_error(
            path, f"{where} holds a number too long to read ({exc}).", _JUNK_HINT
        ) from None


def check_text(text: str, path: Path, line: int | None = None) -> None:
    """InputError for text holding NUL bytes: binary data, not a list of papers."""
    if "\x00" in text:
        where = f" (line {line})" if line is not None else ""
        problem = f"contains NUL bytes{where}: this is a binary file, not a list of papers."
        raise file_error(path, problem, _NUL_HINT)


def jsonl_object(line: str, number: int, path: Path, last: Callable[[], bool]) -> dict[str, Any]:
    """One JSON Lines line as its object (with ``__line__``); ``last()`` says whether no line
    follows, so a broken last line is reported as a truncated file."""
    try:
        obj = load_json(line, path, f"line {number}")
    except json.JSONDecodeError as exc:
        cut = " (the file looks truncated)" if last() else ""
        raise file_error(
            path,
            f"line {number} is not valid JSON{cut}: {exc.msg} at column {exc.colno}.",
            "Each line must be one complete JSON object; fix or remove that line.",
        ) from None
    if not isinstance(obj, dict):
        raise file_error(
            path,
            f"line {number} is a JSON {type(obj).__name__}, not an object.",
            "Each line must be one JSON object with title and abstract fields.",
        )
    obj.setdefault("__line__", number)
    return obj


def stream_format(path: Path, fmt: str | None) -> str | None:
    """``jsonl`` or ``csv`` when the file can be read line by line, else None (read it whole)."""
    from agent.sources._tabular import detect_format

    try:
        with path.open("rb") as fh:
            head = fh.read(_HEAD)
    except OSError:
        return None  # the whole-file reader says what is wrong
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    text = head.removeprefix(_BOM).decode("utf-8", errors="ignore")
    if not text.strip():
        return None  # empty: the whole-file reader says so
    if fmt is not None:
        return fmt if fmt in STREAMED else None
    found = detect_format(text)
    if found == "csv":
        return "csv"
    if found == "json" and text.lstrip().startswith("{"):
        first = text.lstrip().splitlines()[0]
        try:
            return "jsonl" if isinstance(json.loads(first), dict) else None
        except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
            return None  # one object over several lines, or junk: read whole, which says so
    return None


def decoded_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text with its line end) of a UTF-8 file; errors as files.decode's."""
    offset = 0
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            data = raw
            if number == 1:
                if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
                    raise _fail(
                        path,
                        "the file is UTF-16, not UTF-8.",
                        "Re-save it as UTF-8 (in most editors: Save As > Encoding: UTF-8).",
                    )
                data = raw.removeprefix(_BOM)
                offset = len(raw) - len(data)
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                where = offset + exc.start
                raise _fail(
                    path,
                    f"not valid UTF-8: byte 0x{data[exc.start]:02x} at offset {where} "
                    f"(line {number}).",
                    "Re-save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8 IN > OUT`, or "
                    "Save As > Encoding: UTF-8 in your editor).",
                ) from None
            offset += len(data)
            check_text(text, path, number)
            yield number, text


def jsonl_records(path: Path) -> Iterator[dict[str, Any]]:
    """Each line's object (with ``__line__``); a broken line raises the whole-file error."""
    lines = decoded_lines(path)
    for number, line in lines:
        if line.strip():
            yield jsonl_object(
                line, number, path, lambda: not any(rest.strip() for _, rest in lines)
            )


def _jsonl_items(path: Path, *, check: bool) -> Iterator[Item]:
    from agent.sources._tabular import check_fields, convert_records
    from agent.sources.hf import is_hf_shape

    keys: set[str] = set()
    flat = False
    for record in jsonl_records(path):
        if check:  # the first pass only checks; converting is the second pass's work
            if not is_hf_shape(record):
                flat = True
                keys.update(str(k) for k in record if k != "__line__")
            continue
        papers, skipped = convert_records([record], path, label="line", check=False)
        yield from papers
        yield from skipped
    if check and flat:
        check_fields(sorted(keys), path)


def _csv_items(path: Path, *, check: bool) -> Iterator[Item]:
    from agent.sources._tabular import csv_items, sniff_file_delimiter

    delimiter = sniff_file_delimiter(path)
    lines = (line for _, line in decoded_lines(path))
    yield from csv_items(lines, path, delimiter, size_limit=path.stat().st_size + 1)


def paper_batches(path: Path, fmt: str, size: int) -> Iterator[FetchResult]:
    """The file's papers, ``size`` at a time, duplicates of an earlier id skipped as
    ``read_papers`` skips them. Raises InputError, before the first batch, for a bad file."""
    reader: Callable[..., Iterator[Item]] = _jsonl_items if fmt == "jsonl" else _csv_items
    for _ in reader(path, check=True):
        pass
    log.info("reading %s as %s, %d papers at a time", path, fmt, size)
    seen: set[str] = set()
    papers: list[Paper] = []
    skipped: list[ItemFailure] = []
    any_item = False
    for item in reader(path, check=False):
        any_item = True
        if isinstance(item, ItemFailure):
            skipped.append(item)
        elif item.id in seen:
            reason = "duplicate of an earlier record"
            skipped.append(ItemFailure(item=item.id, step="fetch", reason=reason))
        else:
            seen.add(item.id)
            papers.append(item)
            if len(papers) >= size:
                yield FetchResult(papers=papers, skipped=skipped)
                papers, skipped = [], []
    if papers or skipped:
        yield FetchResult(papers=papers, skipped=skipped)
    elif not any_item:
        yield FetchResult(empty_reason=f"{path} holds no papers (an empty feed)")
