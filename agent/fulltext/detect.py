"""What an HTML answer is: a LaTeXML paper, arXiv's "no HTML" stub, a failed conversion, or
some other page.

arXiv answers 200 for all of them, so the status code cannot tell them apart:

- a paper without HTML gets a short page titled "No HTML for '<id>'" that says "HTML is not
  available for the source";
- a failed LaTeXML run leaves "Conversion to HTML had a Fatal error and exited abruptly. This
  document may be truncated or damaged." in an ``ltx_ERROR`` box (ar5iv marks it
  ``ar5iv-severity-fatal``), above whatever part of the paper was converted.

Only the start of a page and its markers are read, so a paper that *quotes* these sentences in
its body is still read as a paper.
"""

from __future__ import annotations

import re
from enum import StrEnum


class PageKind(StrEnum):
    LATEXML = "latexml"
    NO_HTML = "no_html"
    FATAL = "fatal"
    OTHER = "other"


_HEAD_BYTES = 64_000  # the stub and the error box sit at the top of the page
_STUB = re.compile(
    r"<title>\s*No HTML for\b|<h1[^>]*>\s*No HTML for\b|HTML is not available for the source",
    re.I,
)
_FATAL_MARK = re.compile(
    r"ar5iv-severity-fatal|class=\"[^\"]*\bltx_ERROR\b[^\"]*\"[^>]*>\s*Conversion to HTML had "
    r"a Fatal error",
    re.I,
)
_FATAL_TEXT = re.compile(r"Conversion to HTML had a Fatal error", re.I)
_LATEXML = re.compile(r"class=\"[^\"]*\bltx_(?:document|page_main|para|section)\b")


def classify_page(html: str) -> PageKind:
    """The kind of an HTML page (decoded text)."""
    head = html[:_HEAD_BYTES]
    is_latexml = bool(_LATEXML.search(html))
    if _FATAL_MARK.search(head) or (_FATAL_TEXT.search(head) and not is_latexml):
        return PageKind.FATAL
    if not is_latexml and _STUB.search(head):
        return PageKind.NO_HTML
    if is_latexml:
        return PageKind.LATEXML
    return PageKind.OTHER


def decode_html(data: bytes, declared: str | None = None) -> str:
    """Bytes as text: the charset the server declared, else the page's meta charset, else
    UTF-8; undecodable bytes become U+FFFD rather than failing the paper."""
    charset = declared
    if not charset:
        meta = re.search(rb"<meta[^>]+charset=[\"']?([A-Za-z0-9_-]+)", data[:4096], re.I)
        charset = meta.group(1).decode("ascii") if meta else "utf-8"
    try:
        return data.decode(charset, errors="replace")
    except LookupError:  # an unknown charset name
        return data.decode("utf-8", errors="replace")
