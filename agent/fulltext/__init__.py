"""Full text: fetch a paper's body politely, parse it into sections, cut it into chunks.

Three entries, each in its own module:

- ``fetch_fulltext(target, settings=, http=)`` (``fetch``): arXiv's LaTeXML HTML, falling back to
  the PDF when arXiv answers with its "No HTML" stub or LaTeXML's fatal-error page; a record's
  ``html_url`` / ``pdf_url``, or a local PDF, for other papers. Requests to arXiv share the HTTP
  client's arXiv throttle. It never raises for a paper that cannot be read: the
  ``FullTextResult`` says ``route`` html / pdf / none, every ``Attempt`` and the ``reason``.
- ``parse_html(text)`` / ``parse_pdf(data)`` (``html_parse``, ``pdf_parse``): a page or a PDF as a
  ``Document``: title, abstract, numbered ``Section``s of paragraphs, and kept apart from the
  body its ``Caption``s, ``Footnote``s and ``Reference``s.
- ``chunk_document(document)`` (``chunks``): section-aware ``BodyChunk``s within MiniLM's
  window, at most ``[fulltext] max_chunks`` per paper.

    from agent.fulltext import FullTextTarget, fetch_fulltext, chunk_document
    result = fetch_fulltext(FullTextTarget.from_paper(paper), settings=s.fulltext, http=http)
    if result.document:
        chunks = chunk_document(result.document, title=paper.title)
"""

from agent.fulltext.chunks import BodyChunk, chunk_document
from agent.fulltext.fetch import fetch_fulltext
from agent.fulltext.html_parse import parse_html
from agent.fulltext.models import (
    Attempt,
    Caption,
    Document,
    Footnote,
    FullTextResult,
    FullTextTarget,
    Outcome,
    Reference,
    Section,
    is_arxiv_id,
)
from agent.fulltext.pdf_parse import PdfUnreadable, parse_pdf

__all__ = [
    "Attempt",
    "BodyChunk",
    "Caption",
    "Document",
    "Footnote",
    "FullTextResult",
    "FullTextTarget",
    "Outcome",
    "PdfUnreadable",
    "Reference",
    "Section",
    "chunk_document",
    "fetch_fulltext",
    "is_arxiv_id",
    "parse_html",
    "parse_pdf",
]
