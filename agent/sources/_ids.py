"""Paper keys: bare arXiv ids (+ version), DOIs, or a hash of the title.

Every source builds ids here so the same paper gets the same key whichever way it arrives.
"""

from __future__ import annotations

import hashlib
import html
import re

from agent.models import normalize_text

# New style 2401.01234v2 (4 or 5 digits after the dot) and old style hep-th/9901001v1 or
# math.GT/0309136. Not anchored: ids hide inside URLs, "arXiv:..." and OAI identifiers.
_NEW_ID = re.compile(r"(?<![\d.])(\d{4}\.\d{4,5})(?:v(\d+))?(?![\d.]*\d)")
_OLD_ID = re.compile(r"(?<![\w.-])([a-z][a-z-]*(?:\.[A-Z]{2})?/\d{7})(?:v(\d+))?(?!\d)")
_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"'<>]+)", re.IGNORECASE)
# arXiv's own DOIs (10.48550/arXiv.2401.01234, 10.48550/arXiv.hep-th/9901001): the dot before
# the id defeats _NEW_ID's guard, and DOIs are often upper-cased.
_ARXIV_DOI = re.compile(
    r"10\.48550/arxiv\.(\d{4}\.\d{4,5}|[a-z][a-z-]*(?:\.[a-z]{2})?/\d{7})(?:v(\d+))?(?!\d)",
    re.IGNORECASE,
)


def parse_arxiv_id(text: str | None) -> tuple[str, int | None] | None:
    """Bare arXiv id and version from an id, an ``arXiv:`` reference or an arxiv.org URL."""
    if not text:
        return None
    text = text.strip()
    # Inside a URL only trust arxiv.org paths: other sites have numbers like 2401.01234 too.
    lowered = text.lower()
    if "://" in text and "arxiv" not in lowered:
        return None
    # A DOI's suffix can look like a new-style id (10.1000/1234.56789); only arXiv's own DOIs
    # (10.48550/arXiv.2401.01234) carry one.
    if _DOI.search(text) and "arxiv" not in lowered:
        return None
    for pattern in (_ARXIV_DOI, _NEW_ID, _OLD_ID):
        match = pattern.search(text)
        if match:
            version = int(match.group(2)) if match.group(2) else None
            return _old_style_case(match.group(1)), version
    return None


def _old_style_case(arxiv_id: str) -> str:
    """Old-style archives are lower-case, their subject class upper-case (math.GT/0309136)."""
    if "/" not in arxiv_id:
        return arxiv_id
    archive, number = arxiv_id.split("/", 1)
    head, _, subject = archive.partition(".")
    return f"{head.lower()}.{subject.upper()}/{number}" if subject else f"{head.lower()}/{number}"


def parse_doi(text: str | None) -> str | None:
    """A DOI (lower-cased, without trailing punctuation) found in text or a doi.org URL."""
    if not text:
        return None
    match = _DOI.search(text)
    if not match:
        return None
    return match.group(1).rstrip(".,;)]}").lower()


def title_key(title: str) -> str:
    """Stable key from the title alone, so an edited abstract updates the same paper."""
    norm = normalize_text(title.lower())
    return "sha:" + hashlib.sha256(norm.encode("utf-8")).hexdigest()[:16]


def paper_key(*candidates: str | None, title: str) -> tuple[str, int | None]:
    """The best key from id-ish strings (tried in order: arXiv first, then DOI), else the title."""
    for text in candidates:
        found = parse_arxiv_id(text)
        if found:
            return found
    for text in candidates:
        doi = parse_doi(text)
        if doi:
            return "doi:" + doi, None
    return title_key(title), None


def arxiv_abs_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/abs/{arxiv_id}"


def arxiv_pdf_url(arxiv_id: str, version: int | None) -> str:
    suffix = f"v{version}" if version else ""
    return f"https://arxiv.org/pdf/{arxiv_id}{suffix}"


def clean_text(text: str | None) -> str:
    """Decode HTML entities and collapse whitespace; LaTeX is left for later steps."""
    if not text:
        return ""
    return normalize_text(html.unescape(text))
