"""PDF -> ``Document``: pypdf extracts each page's text, the page furniture is taken off, and
the lines are read into sections (``pdf_pages`` cleans pages, ``pdf_layout`` finds the
structure).

Extraction costs about 50 ms a page; only the first ``max_pages`` pages are read. A PDF that
pypdf cannot open, an encrypted one it cannot decrypt with the empty password, or one without a
text layer (a scan) raises ``PdfUnreadable`` with the reason: the caller turns it into a
"none" result for that paper.
"""

from __future__ import annotations

import io
import logging

from agent.errors import InputError
from agent.fulltext.models import Document
from agent.fulltext.pdf_layout import build_document
from agent.fulltext.pdf_pages import clean_pages

log = logging.getLogger(__name__)

#: A PDF whose text layer gives less than this is a scan or a figure, not a readable paper.
MIN_TEXT_CHARS = 400


class PdfUnreadable(InputError):
    """The bytes are not a PDF we can read text from; ``str()`` says why."""

    default_hint = "Check the file is a PDF with a text layer (a scan has none)."


def is_pdf(data: bytes) -> bool:
    """PDF bytes start with ``%PDF-`` (some servers put a few bytes of junk first)."""
    return b"%PDF-" in data[:1024]


def parse_pdf(data: bytes, *, max_pages: int = 80, max_chars: int = 300_000) -> Document:
    """Read a PDF's text into sections; PdfUnreadable when there is no usable text."""
    if not is_pdf(data):
        raise PdfUnreadable("not a PDF (no %PDF- header)")
    pages = _extract_pages(data, max_pages)
    if sum(len(p) for p in pages) < MIN_TEXT_CHARS:
        raise PdfUnreadable("no text layer (a scanned or image-only PDF?)")
    return build_document(clean_pages(pages), max_chars=max_chars)


def _extract_pages(data: bytes, max_pages: int) -> list[str]:
    from pypdf import PdfReader  # imported here: `paperbrief --help` must not pay for it

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise PdfUnreadable("encrypted PDF")
        count = len(reader.pages)
    except PdfUnreadable:
        raise
    except Exception as exc:  # pypdf raises many types on damaged files
        raise PdfUnreadable(f"damaged PDF ({type(exc).__name__}: {exc})") from exc
    pages: list[str] = []
    failed = 0
    for index in range(min(count, max_pages)):
        try:
            pages.append(reader.pages[index].extract_text() or "")
        except Exception as exc:  # one bad page costs that page, not the paper
            failed += 1
            log.debug("page %d of a PDF could not be read: %s", index + 1, exc)
            pages.append("")
    if failed and failed == len(pages):
        raise PdfUnreadable(f"no page could be read ({failed} pages)")
    if count > max_pages:
        log.info("PDF has %d pages; read the first %d", count, max_pages)
    return pages
