"""arXiv's daily announcement feed (``rss.arxiv.org/rss/cs.LG+cs.AI``; the ``/atom/`` form too).

Parsed with the stdlib XML parser rather than feedparser: feedparser does expose
``arxiv_announce_type``, but it reads an HTML error page as a valid empty feed, which we would
then report as a quiet weekend.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from agent.config import Settings
from agent.errors import ConfigError, FeedParseError
from agent.models import ItemFailure, Paper, utcnow
from agent.sources._ids import arxiv_abs_url, arxiv_pdf_url, clean_text, paper_key
from agent.sources._xml import (
    NS,
    XMLSyntaxError,
    child_text,
    local_date,
    local_name,
    parse_datetime,
    parse_xml,
)
from agent.sources.base import FetchRequest, FetchResult
from agent.sources.http import HttpClient

log = logging.getLogger(__name__)

_CATEGORY = re.compile(r"^[A-Za-z-]+(\.[A-Za-z-]+)?$")
# "arXiv:2409.12345v2 Announce Type: new \nAbstract: ..."
_DESCRIPTION = re.compile(
    r"^\s*arXiv:(?P<id>\S+)\s+Announce Type:\s*(?P<type>[\w-]+)\s*(?:Abstract:\s*)?(?P<abs>.*)$",
    re.DOTALL,
)
_AUTHOR_SPLIT = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+")


@dataclass
class Announcement:
    """One feed: the announcement day and every item in it (all announce types)."""

    day: date | None
    papers: list[Paper] = field(default_factory=list)
    skipped: list[ItemFailure] = field(default_factory=list)


def check_categories(categories: list[str]) -> list[str]:
    bad = [c for c in categories if not _CATEGORY.match(c)]
    if bad or not categories:
        raise ConfigError(
            f"Invalid arXiv categories {bad or categories!r}.",
            hint="Use arXiv category codes such as cs.LG, cs.CL or stat.ML "
            "(arxiv_categories in the config, or --category).",
        )
    return categories


def is_announcement_feed(root: ET.Element) -> bool:
    """RSS 2.0 always; Atom only when entries carry arxiv:announce_type (the /atom/ form)."""
    if local_name(root.tag) == "rss":
        return True
    return root.find("atom:entry/arxiv:announce_type", NS) is not None


def parse_announcements(root: ET.Element, *, source: str) -> Announcement:
    """Papers of an arXiv RSS 2.0 or Atom announcement feed; ValueError if it is neither."""
    kind = local_name(root.tag)
    if kind == "rss":
        channel = root.find("channel")
        if channel is None:
            raise ValueError("RSS document has no <channel>")
        day = local_date(child_text(channel, "pubDate") or child_text(channel, "lastBuildDate"))
        items = [(item, _rss_fields(item)) for item in channel.findall("item")]
    elif kind == "feed":
        items = [(entry, _atom_fields(entry)) for entry in root.findall("atom:entry", NS)]
        first = root.find("atom:entry/atom:published", NS)
        day = local_date(first.text if first is not None else child_text(root, "atom:updated"))
    else:
        raise ValueError(f"not an RSS or Atom feed (root element <{kind}>)")

    result = Announcement(day=day)
    for index, (_, fields) in enumerate(items):
        try:
            result.papers.append(_to_paper(fields, source=source))
        except ValueError as exc:
            label = str(fields.get("guid") or fields.get("link") or f"item {index + 1}")
            result.skipped.append(ItemFailure(item=label, step="fetch", reason=str(exc)))
    if result.day is None and result.papers and result.papers[0].published:
        result.day = result.papers[0].published.date()
    return result


def _rss_fields(item: ET.Element) -> dict[str, object]:
    return {
        "title": child_text(item, "title"),
        "description": child_text(item, "description"),
        "link": child_text(item, "link"),
        "guid": child_text(item, "guid"),
        "categories": [c.text.strip() for c in item.findall("category") if c.text],
        "published": child_text(item, "pubDate"),
        "announce_type": child_text(item, "arxiv:announce_type"),
        "creators": [c.text or "" for c in item.findall("dc:creator", NS)],
        "doi": child_text(item, "arxiv:DOI"),
        "journal_ref": child_text(item, "arxiv:journal_reference"),
    }


def _atom_fields(entry: ET.Element) -> dict[str, object]:
    link = entry.find("atom:link", NS)
    return {
        "title": child_text(entry, "atom:title"),
        "description": child_text(entry, "atom:summary"),
        "link": link.get("href") if link is not None else None,
        "guid": child_text(entry, "atom:id"),
        "categories": [c.get("term", "") for c in entry.findall("atom:category", NS)],
        "published": child_text(entry, "atom:published") or child_text(entry, "atom:updated"),
        "announce_type": child_text(entry, "arxiv:announce_type"),
        "creators": [c.text or "" for c in entry.findall("dc:creator", NS)],
        "doi": child_text(entry, "arxiv:DOI"),
        "journal_ref": child_text(entry, "arxiv:journal_reference"),
    }


def _split_authors(creators: list[str]) -> list[str]:
    names: list[str] = []
    for creator in creators:
        names.extend(n for part in _AUTHOR_SPLIT.split(clean_text(creator)) if (n := part.strip()))
    return names


def _to_paper(fields: dict, *, source: str) -> Paper:
    title = clean_text(fields["title"])
    description = fields["description"] or ""
    match = _DESCRIPTION.match(description)
    abstract = clean_text(match.group("abs") if match else description)
    if not title:
        raise ValueError("item has no title")
    if not abstract:
        raise ValueError(f"item {title[:60]!r} has no abstract")
    desc_id = "arXiv:" + match.group("id") if match else None
    paper_id, version = paper_key(desc_id, fields["guid"], fields["link"], title=title)
    is_arxiv = not paper_id.startswith(("doi:", "sha:"))
    announce = clean_text(fields["announce_type"]) or (match.group("type") if match else None)
    categories = [c for c in fields["categories"] if c]
    extra = {k: v for k in ("doi", "journal_ref") if (v := clean_text(fields[k]))}
    return Paper(
        id=paper_id,
        version=version,
        title=title,
        abstract=abstract,
        authors=_split_authors(fields["creators"]),
        categories=categories,
        primary_category=categories[0] if categories else None,
        published=parse_datetime(fields["published"]),
        source=source,
        url=arxiv_abs_url(paper_id) if is_arxiv else fields["link"],
        pdf_url=arxiv_pdf_url(paper_id, version) if is_arxiv else None,
        announce_type=announce or None,
        extra=extra,
    )


class ArxivRssSource:
    """Today's announcements for the configured categories, filtered by announce type."""

    name = "arxiv-rss"

    def __init__(
        self, settings: Settings, http: HttpClient, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.settings = settings
        self.http = http
        self.clock = clock

    def fetch(self, request: FetchRequest, *, watermark: str | None = None) -> FetchResult:
        # The feed only ever holds the latest announcement, so the watermark cannot select a
        # window; ingest dedupes a feed it has already seen.
        categories = check_categories(request.categories or self.settings.arxiv.categories)
        joined = "+".join(categories)
        url = f"{self.settings.arxiv.rss_url.rstrip('/')}/{joined}"
        response = self.http.get(url, throttle="arxiv", source=self.name)
        try:
            feed = parse_announcements(parse_xml(response.content), source=self.name)
        except (XMLSyntaxError, ValueError) as exc:
            raise FeedParseError(
                f"arxiv-rss: {url} did not return an arXiv feed: {exc}.",
                source=self.name,
                hint="arXiv may be down or the URL may be wrong; check arxiv_rss_url and the "
                "categories, then retry later.",
            ) from None

        day = (feed.day or self.clock().date()).isoformat()
        wanted = request.announce_types or self.settings.arxiv.announce_types
        papers = [p for p in feed.papers if p.announce_type in wanted]
        empty_reason = None
        if not feed.papers and not feed.skipped:
            empty_reason = (
                f"arXiv announced nothing in {joined} for {day} "
                "(weekends and holidays have no announcements)"
            )
        elif not papers and not feed.skipped:
            empty_reason = (
                f"arXiv announced {len(feed.papers)} item(s) in {joined} for {day}, none of "
                f"type {', '.join(wanted)}"
            )
        log.info(
            "arxiv-rss %s %s: %d items, %d kept (%s)",
            joined,
            day,
            len(feed.papers),
            len(papers),
            ", ".join(wanted),
        )
        return FetchResult(
            papers=papers, empty_reason=empty_reason, watermark=day, skipped=feed.skipped
        )
