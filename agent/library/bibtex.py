"""BibTeX and BibLaTeX (Zotero, Better BibTeX, Mendeley) through bibtexparser v2.

bibtexparser keeps going after a broken block and files it under ``failed_blocks``; we turn the
first one into a LibraryFormatError instead, so a damaged file imports nothing.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from agent.library.models import LibraryItem, SkippedEntry
from agent.library.normalize import (
    arxiv_in,
    build_item,
    doi_in,
    fail,
    split_list,
    unescape_latex_specials,
    year_in,
)
from agent.models import normalize_text
from agent.summaries.plain_text import latex_to_text

if TYPE_CHECKING:
    from bibtexparser.model import Entry, ParsingFailedBlock

_ENTRY_HEAD = re.compile(r"@\s*(\w+)\s*[{(]\s*([^,\s{}()=]*)")
_HINT = (
    'Look near that line for an unbalanced `{` or `"` (often inside a title or abstract), '
    "or re-export the library (Zotero: File > Export Library > BibTeX / Better BibTeX)."
)
# bibtexparser logs every broken block as a warning before we raise our own clearer error;
# without a handler Python would print those to stderr ahead of the CLI's message.
logging.getLogger("bibtexparser").addHandler(logging.NullHandler())


def parse_bibtex(text: str, name: str) -> list[LibraryItem | SkippedEntry]:
    """Every entry of a .bib file, or LibraryFormatError naming the first broken one."""
    import bibtexparser
    from bibtexparser.model import DuplicateBlockKeyBlock, Entry, ParsingFailedBlock

    try:
        library = bibtexparser.parse_string(text)
    except Exception as exc:  # the parser's own state errors: report, do not crash
        raise fail(name, None, f"the BibTeX parser stopped: {exc}", _HINT) from exc
    out: list[LibraryItem | SkippedEntry] = []
    seen_keys: dict[str, int] = {}
    for parsed in library.blocks:
        block: object = parsed
        if isinstance(parsed, DuplicateBlockKeyBlock):
            # Two entries sharing a key (concatenated exports) are both valid; dedupe decides.
            block = parsed.ignore_error_block
        elif isinstance(parsed, ParsingFailedBlock):
            raise _block_error(parsed, text, name)
        if not isinstance(block, Entry):
            continue  # @string, @preamble, @comment and text between entries
        count = seen_keys[block.key] = seen_keys.get(block.key, 0) + 1
        key = block.key if count == 1 else f"{block.key}#{count}"
        out.append(_entry_to_item(block, key))
    return out


def _block_error(block: ParsingFailedBlock, text: str, name: str) -> Exception:
    raw = block.raw or ""
    head = _ENTRY_HEAD.match(raw.lstrip())
    key = head.group(2) if head and head.group(2) else None
    line = (block.start_line or 0) + 1
    what = f"entry '{key}'" if key else "entry"
    error = block.error
    duplicates = getattr(block, "duplicate_keys", None)
    if duplicates:
        problem = f"{what} has the field {', '.join(sorted(duplicates))} more than once"
        return fail(name, line, problem, "Keep one copy of the field and retry.")
    reason = getattr(error, "abort_reason", None) or str(error) or type(error).__name__
    reason = reason.strip()
    end = getattr(error, "end_index", None)
    if end is not None and "end of file" not in reason:
        reason += f" (at line {text.count(chr(10), 0, end) + 1})"
    return fail(name, line, f"{what} is not closed properly: {reason}", _HINT)


def field_text(value: str | None) -> str:
    """A field as plain text: its LaTeX rendered (`Schr{\\"o}dinger`, `$\\ell_1$`), then the
    braces BibTeX keeps for case protection (`{B}ERT`, `{{Deep Learning}}`) dropped and the
    field's line breaks joined."""
    if not value:
        return ""
    return normalize_text(latex_to_text(value).replace("{", "").replace("}", ""))


def _entry_to_item(entry: Entry, key: str) -> LibraryItem | SkippedEntry:
    fields = {f.key.lower(): str(f.value) for f in entry.fields if f.value is not None}
    get = fields.get
    line = (entry.start_line or 0) + 1
    title = field_text(get("title"))
    if title and get("subtitle"):
        title = f"{title}: {field_text(get('subtitle'))}"
    archive = (get("archiveprefix") or get("eprinttype") or "arxiv").lower()
    eprint = get("eprint") if "arxiv" in archive else None
    url = unescape_latex_specials(get("url")) or None
    doi_field = unescape_latex_specials(get("doi"))
    arxiv_id = arxiv_in(eprint, get("arxivid"), marked=False) or arxiv_in(
        doi_field,
        url,
        get("note"),
        get("number"),
        get("journal"),
        get("journaltitle"),
        get("howpublished"),
    )
    return build_item(
        "bibtex",
        key,
        line,
        title=title,
        abstract=field_text(get("abstract")),
        authors=_authors(get("author") or get("editor")),
        year=year_in(get("year"), get("date")),
        arxiv_id=arxiv_id,
        doi=doi_in(doi_field, url if url and "doi.org" in url else None),
        url=url,
        keywords=split_list(field_text(k) for k in (get("keywords"), get("mendeley-tags"))),
        venue=field_text(
            get("journal") or get("journaltitle") or get("booktitle") or get("publisher")
        ),
    )


def _authors(field: str | None) -> list[str]:
    if not field:
        return []
    from bibtexparser.middlewares.names import (
        InvalidNameError,
        parse_single_name_into_parts,
        split_multiple_persons_names,
    )

    names = []
    for raw in split_multiple_persons_names(field):
        try:
            display = parse_single_name_into_parts(raw, strict=False).merge_first_name_first
        except InvalidNameError:
            display = raw  # an odd name is still a name; keep it as written
        names.append(field_text(display))
    return names
