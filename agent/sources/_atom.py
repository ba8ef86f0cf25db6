"""Reading arXiv query-API Atom: one page's totals, its entries, and arXiv's error entries."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from agent.models import ItemFailure, Paper
from agent.sources._ids import arxiv_abs_url, clean_text, paper_key
from agent.sources._xml import ATOM, NS, child_text, parse_datetime


@dataclass
class AtomPage:
    total: int | None
    start: int | None
    entries: int
    papers: list[Paper] = field(default_factory=list)
    skipped: list[ItemFailure] = field(default_factory=list)
    error: str | None = None  # arXiv's error summary when the page is an error answer


def is_atom_feed(root: ET.Element) -> bool:
    return root.tag == f"{ATOM}feed"


def _int(text: str | None) -> int | None:
    try:
        return int(text.strip()) if text else None
    except ValueError:
        return None


def error_summary(root: ET.Element) -> str | None:
    """arXiv answers a bad query with one entry titled "Error", id .../api/errors#..."""
    for entry in root.findall("atom:entry", NS):
        entry_id = child_text(entry, "atom:id") or ""
        title = clean_text(child_text(entry, "atom:title"))
        no_date = entry.find("atom:published", NS) is None
        if "/api/errors" in entry_id or (title == "Error" and no_date):
            return clean_text(child_text(entry, "atom:summary")) or title or entry_id
    return None


def parse_api_page(root: ET.Element, *, source: str) -> AtomPage:
    entries = root.findall("atom:entry", NS)
    page = AtomPage(
        total=_int(child_text(root, "opensearch:totalResults")),
        start=_int(child_text(root, "opensearch:startIndex")),
        entries=len(entries),
        error=error_summary(root),
    )
    if page.error is not None:
        return page
    for index, entry in enumerate(entries):
        try:
            page.papers.append(entry_to_paper(entry, source=source))
        except ValueError as exc:
            label = child_text(entry, "atom:id") or f"entry {index + 1}"
            page.skipped.append(ItemFailure(item=label.strip(), step="fetch", reason=str(exc)))
    return page


def entry_to_paper(entry: ET.Element, *, source: str) -> Paper:
    """One Atom entry (arXiv API shape) -> Paper; ValueError when title or abstract is missing."""
    raw_id = (child_text(entry, "atom:id") or "").strip()
    title = clean_text(child_text(entry, "atom:title"))
    abstract = clean_text(child_text(entry, "atom:summary") or child_text(entry, "atom:content"))
    if not title:
        raise ValueError("entry has no title")
    if not abstract:
        raise ValueError(f"entry {title[:60]!r} has no abstract")

    alternate = pdf = None
    for link in entry.findall("atom:link", NS):
        href = link.get("href")
        if not href:
            continue
        if link.get("title") == "pdf" or link.get("type") == "application/pdf":
            pdf = href
        elif link.get("rel", "alternate") == "alternate":
            alternate = href
    doi = clean_text(child_text(entry, "arxiv:doi")) or None

    paper_id, version = paper_key(raw_id, alternate, doi, title=title)
    is_arxiv = not paper_id.startswith(("doi:", "sha:"))
    categories = [c.get("term", "") for c in entry.findall("atom:category", NS) if c.get("term")]
    primary = entry.find("arxiv:primary_category", NS)
    primary_category = primary.get("term") if primary is not None else None
    extra: dict[str, str] = {}
    for key, path in (
        ("doi", "arxiv:doi"),
        ("journal_ref", "arxiv:journal_ref"),
        ("comment", "arxiv:comment"),
    ):
        value = clean_text(child_text(entry, path))
        if value:
            extra[key] = value

    return Paper(
        id=paper_id,
        version=version,
        title=title,
        abstract=abstract,
        authors=[
            name
            for a in entry.findall("atom:author", NS)
            if (name := clean_text(child_text(a, "atom:name")))
        ],
        categories=categories,
        primary_category=primary_category or (categories[0] if categories else None),
        published=parse_datetime(child_text(entry, "atom:published")),
        updated=parse_datetime(child_text(entry, "atom:updated")),
        source=source,
        url=arxiv_abs_url(paper_id) if is_arxiv else alternate,
        pdf_url=pdf,
        extra=extra,
    )
