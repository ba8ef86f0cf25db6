"""The typed records of full text: what was asked for, what each route did, and the document.

``FullTextTarget`` says where a paper's text may be found (an arXiv id, a record's ``html_url``
or ``pdf_url``, a local PDF). ``FullTextResult`` says which route worked (``html``, ``pdf`` or
``none``), every ``Attempt`` on the way and, when one worked, the parsed ``Document``: title,
abstract, numbered ``Section``s of paragraphs, and apart from the body its ``Caption``s,
``Footnote``s and ``Reference``s (references are never body text).
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from agent.models import Paper

Route = Literal["html", "pdf", "none"]
CaptionKind = Literal["figure", "table"]

# New-style arXiv ids (2401.01234) and old-style ones (hep-th/9901001, math.GT/0309136).
_ARXIV_ID = re.compile(r"(?:\d{4}\.\d{4,5}|[a-z][a-z-]*(?:\.[A-Z]{2})?/\d{7})")


class Outcome(StrEnum):
    """How one attempt ended. Everything but ``ok`` is an expected, per-paper failure."""

    OK = "ok"
    NO_HTML = "no_html"  # arXiv's 200 "No HTML for ..." stub page
    CONVERSION_FAILED = "conversion_failed"  # LaTeXML's "Conversion to HTML had a Fatal error"
    HTTP_ERROR = "http_error"  # a 4xx, or a 5xx after the client's retries
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"  # DNS, refused or reset connections after retries
    INVALID_URL = "invalid_url"
    TOO_LARGE = "too_large"  # more than [fulltext] max_bytes
    NOT_HTML = "not_html"  # an answer that is not a paper page
    NOT_PDF = "not_pdf"  # bytes that are not a PDF
    UNREADABLE = "unreadable"  # a PDF or page the parser could not read
    EMPTY = "empty"  # parsed, but no body text (a scanned PDF, an empty page)
    MISSING_FILE = "missing_file"  # a local PDF that is not there
    OVER_BUDGET = "over_budget"  # [fulltext] time_budget spent before this route was tried


class Attempt(BaseModel):
    """One route tried for one paper."""

    route: Literal["html", "pdf"]
    url: str = Field(description="the URL or local path read")
    outcome: Outcome
    status: int | None = Field(None, description="HTTP status, when an answer came")
    detail: str = Field("", description="why it failed, in a few words")
    bytes: int = Field(0, description="bytes received")
    seconds: float = Field(0.0, description="wall time of the request and the parse")


class Section(BaseModel):
    """A section, subsection or appendix, in reading order (the list is flat; ``level`` and
    ``number`` give the nesting: "5" > "5.3" > "5.3.1")."""

    number: str | None = Field(None, description='"5.3", "A.1"; None for unnumbered sections')
    heading: str
    level: int = Field(1, ge=1, description="1 = section, 2 = subsection, 3 = subsubsection")
    appendix: bool = False
    paragraphs: list[str] = Field(default_factory=list)

    @property
    def label(self) -> str:
        """How a citation names it: ``§5.3 Optimizer`` (or just the heading)."""
        return f"§{self.number} {self.heading}" if self.number else self.heading


class Caption(BaseModel):
    kind: CaptionKind
    label: str = Field(description='"Figure 2", "Table 1"')
    text: str
    section: str | None = Field(None, description="number of the section it appears in")


def caption_kind(label: str, default: CaptionKind = "figure") -> CaptionKind:
    """A caption labelled "Table ..." is a table's; anything else keeps ``default``."""
    return "table" if label.lower().startswith("table") else default


class Footnote(BaseModel):
    mark: str = Field("", description='the footnote mark: "3", "*"')
    text: str
    section: str | None = None


class Reference(BaseModel):
    label: str = Field("", description='"[12]", or empty for author-year lists')
    text: str


class Document(BaseModel):
    """A paper's full text, parsed. ``sections`` hold only body text (appendices included,
    marked ``appendix``); captions, footnotes and references are kept apart."""

    format: Literal["html", "pdf"]
    title: str | None = None
    abstract: str = ""
    sections: list[Section] = Field(default_factory=list)
    captions: list[Caption] = Field(default_factory=list)
    footnotes: list[Footnote] = Field(default_factory=list)
    references: list[Reference] = Field(default_factory=list)
    truncated: bool = Field(False, description="body text was cut at [fulltext] max_chars")

    @property
    def body_chars(self) -> int:
        return sum(len(p) for s in self.sections for p in s.paragraphs)

    def body_text(self) -> str:
        """Headings and paragraphs as plain text, one block per paragraph."""
        blocks: list[str] = []
        for section in self.sections:
            blocks.append(section.label)
            blocks.extend(section.paragraphs)
        return "\n\n".join(blocks)

    def section(self, number: str) -> Section | None:
        return next((s for s in self.sections if s.number == number), None)


class FullTextTarget(BaseModel):
    """Where one paper's full text may be found. ``from_paper`` reads a stored ``Paper``."""

    paper_id: str
    version: int | None = None
    arxiv: bool = Field(False, description="an arXiv paper: read arXiv's HTML, then its PDF")
    html_url: str | None = None
    pdf_url: str | None = None
    pdf_path: Path | None = Field(None, description="a local PDF (ingest --file paper.pdf)")

    @property
    def versioned_id(self) -> str:
        return f"{self.paper_id}v{self.version}" if self.version else self.paper_id

    @classmethod
    def from_paper(cls, paper: Paper) -> FullTextTarget:
        """arXiv papers by id; others by the ``pdf_url`` field or ``extra["html_url"]`` /
        ``extra["pdf_path"]`` that a file record carries."""
        arxiv = is_arxiv_id(paper.id)
        extra = paper.extra or {}
        html_url = extra.get("html_url")
        pdf_path = extra.get("pdf_path")
        return cls(
            paper_id=paper.id,
            version=paper.version,
            arxiv=arxiv,
            html_url=str(html_url) if html_url and not arxiv else None,
            pdf_url=paper.pdf_url if not arxiv else None,
            pdf_path=Path(str(pdf_path)) if pdf_path else None,
        )


def is_arxiv_id(paper_id: str) -> bool:
    return bool(_ARXIV_ID.fullmatch(paper_id))


class FullTextResult(BaseModel):
    """What fetching one paper's full text gave; never raised, always returned."""

    paper_id: str
    version: int | None = None
    route: Route = Field(description="html or pdf: where the text came from; none: no text")
    url: str | None = Field(None, description="where the text came from")
    document: Document | None = None
    attempts: list[Attempt] = Field(default_factory=list)
    reason: str | None = Field(
        None, description="why there is no text (route none), or why the HTML was passed over"
    )
    fetched_at: datetime

    @property
    def ok(self) -> bool:
        return self.document is not None
