"""What a library file holds once read: items, skipped entries, collapsed duplicates."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

LibraryFormat = Literal["bibtex", "ris", "csl-json", "zotero-csv", "id-list"]
FORMATS: tuple[LibraryFormat, ...] = ("bibtex", "ris", "csl-json", "zotero-csv", "id-list")

# Bounds: a library export is small; anything far beyond these is a wrong file or an attack.
MAX_FILE_BYTES = 20 * 1024 * 1024  # ~10,000 entries with abstracts; 50 MB took 187 s, 1.8 GB
MAX_ABSTRACT_CHARS = 20_000
MAX_TITLE_CHARS = 1_000
MAX_SHORT_CHARS = 500  # venue, one keyword, one author
MAX_URL_CHARS = 2_000
MAX_LIST_ITEMS = 200  # keywords; authors (collaboration papers list thousands; the first suffice)


class LibraryItem(BaseModel):
    """One paper from the file, normalised: plain Unicode text, bare arXiv id, bare DOI."""

    key: str = Field(description="entry key (BibTeX), ID/Key (RIS, CSV), id (CSL) or 'line N'")
    line: int | None = Field(None, description="1-based line where the entry starts, if known")
    title: str | None = Field(None, description="None for a bare id that still needs a lookup")
    abstract: str | None = None
    authors: list[str] = Field(default_factory=list, description="'Given Family' display names")
    year: int | None = None
    arxiv_id: str | None = Field(None, description="bare arXiv id, no version: 2312.00752")
    doi: str | None = Field(None, description="lower-case, no https://doi.org/ prefix")
    url: str | None = None
    keywords: list[str] = Field(default_factory=list, description="keywords and tags")
    venue: str | None = Field(None, description="journal, proceedings or repository name")
    source_format: LibraryFormat

    @property
    def needs_lookup(self) -> bool:
        """Only an id is known (an id-list line): the title and abstract must be fetched."""
        return self.title is None

    def text_for_embedding(self) -> str:
        """Title plus abstract, or title plus keywords when there is no abstract; '' if no title."""
        if not self.title:
            return ""
        if self.abstract:
            return f"{self.title}. {self.abstract}"
        if self.keywords:
            return f"{self.title}. Keywords: {', '.join(self.keywords)}"
        return self.title


class SkippedEntry(BaseModel):
    """A well-formed entry that cannot be used (no title and no id), with the reason."""

    key: str
    line: int | None = None
    reason: str


class DuplicateEntry(BaseModel):
    """An entry folded into an earlier one with the same arXiv id, DOI or title."""

    key: str
    line: int | None = None
    duplicate_of: str = Field(description="key of the item it was merged into")
    matched_on: Literal["arxiv_id", "doi", "title"]


class LibraryFile(BaseModel):
    """The whole file, read at once: either all of this or a LibraryFormatError, never part."""

    path: Path
    format: LibraryFormat
    items: list[LibraryItem]
    skipped: list[SkippedEntry] = Field(default_factory=list)
    duplicates: list[DuplicateEntry] = Field(default_factory=list)
