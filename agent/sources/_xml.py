"""Strict XML parsing for feeds, and the date formats feeds use.

The stdlib parser never fetches external entities, and expat >= 2.4 caps entity expansion;
documents that declare entities are refused anyway, since no feed we read needs them.
"""

from __future__ import annotations

import email.utils
import logging
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime

from agent.errors import FeedParseError

log = logging.getLogger(__name__)

NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "arxiv": "http://arxiv.org/schemas/atom",
    "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
    "dc": "http://purl.org/dc/elements/1.1/",
}
ATOM = "{http://www.w3.org/2005/Atom}"
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_LOOKS_HTML = re.compile(rb"^\s*(<!doctype\s+html|<html)", re.IGNORECASE)


class XMLSyntaxError(FeedParseError, ValueError):
    """The bytes are not well-formed XML (message says where)."""


def looks_like_html(data: bytes) -> bool:
    return bool(_LOOKS_HTML.match(data[:512].lstrip(b"\xef\xbb\xbf")))


def parse_xml(data: bytes) -> ET.Element:
    if _ENTITY_DECL.search(data[:4096]):
        raise XMLSyntaxError("the document declares XML entities, which feeds never need")
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        line, column = exc.position
        raise XMLSyntaxError(f"malformed XML at line {line}, column {column + 1}") from None


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def child_text(elem: ET.Element, path: str) -> str | None:
    found = elem.find(path, NS)
    if found is None:
        return None
    return "".join(found.itertext())


def parse_datetime(text: str | None) -> datetime | None:
    """ISO 8601 or RFC 822 (RSS pubDate) -> aware UTC datetime; naive values are taken as UTC."""
    if not text or not text.strip():
        return None
    text = text.strip()
    parsed: datetime | None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def local_date(text: str | None) -> date | None:
    """The calendar date as written in the feed (its own time zone), e.g. arXiv's ET date."""
    if not text or not text.strip():
        return None
    text = text.strip()
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        try:
            return email.utils.parsedate_to_datetime(text).date()
        except (TypeError, ValueError, IndexError):
            return None


def watermark_date(watermark: str | None, source: str) -> date | None:
    """The day of a stored ISO watermark (date or datetime); unreadable ones are ignored."""
    if not watermark:
        return None
    try:
        return datetime.fromisoformat(watermark).date()
    except ValueError:
        log.warning("%s: ignoring unreadable watermark %r", source, watermark)
        return None
