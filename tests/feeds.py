"""Recorded-shape payloads the tests serve from the local HTTP / OpenAI-compatible servers: an
arXiv RSS 2.0 announcement (the shape of ../shared/samples/arxiv_rss2_*.xml) for any papers, and
the scripted model's faithful summary."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from openai_server import structured

SUMMARY_DRAFT = {
    "tldr": "The authors study a learning problem and report that their idea helps.",
    "summary": "The paper looks at a known problem. The authors try a new approach. "
    "They report that it works better than older ones.",
    "why_it_matters": "It could make this kind of work easier.",
    "key_terms": [],
    "tags": ["learning"],
}


def summary_reply(request: Any) -> dict[str, Any]:
    """A plain, faithful summary in the SummaryDraft shape."""
    return structured(SUMMARY_DRAFT)(request)


def arxiv_rss(papers: list[dict], stamp: str) -> bytes:
    """One day's announcement of ``papers`` (each with ``arxiv_id`` or ``id``, title, abstract,
    authors, categories); ``stamp`` is the RFC 2822 date of the day."""
    items = "".join(
        f"""<item><title>{escape(p["title"])}</title>
<link>https://arxiv.org/abs/{pid}</link>
<description>arXiv:{pid}v1 Announce Type: new
Abstract: {escape(p["abstract"])}</description>
<guid isPermaLink="false">oai:arXiv.org:{pid}v1</guid>
{"".join(f"<category>{c}</category>" for c in p["categories"])}
<pubDate>{stamp}</pubDate><arxiv:announce_type>new</arxiv:announce_type>
<dc:creator>{escape(", ".join(p["authors"]))}</dc:creator></item>"""
        for p in papers
        for pid in [p.get("arxiv_id") or p["id"]]
    )
    return f"""<?xml version='1.0' encoding='UTF-8'?>
<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/"
 version="2.0"><channel><title>cs.LG updates on arXiv.org</title>
<link>http://rss.arxiv.org/rss/cs.LG</link><description>cs.LG updates</description>
<pubDate>{stamp}</pubDate>{items}</channel></rss>""".encode()
