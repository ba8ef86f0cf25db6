"""A reader's library: import a file (BibTeX, RIS, CSL-JSON, Zotero CSV, id list), embed each
item, keep it under the profile; list and remove.

Library items are the strongest signal of taste a reader can give in one step, and they never
become "new papers": they live beside the store (``store.reader_signals``), not in Chroma.
A line of an id list that names only an id takes its title and abstract from the store when the
paper is there; otherwise it is reported as skipped, with the command that fetches it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from agent.errors import InputError

if TYPE_CHECKING:
    from agent.library.models import LibraryItem
    from store import PaperStore
    from store.embedder import Embedder
    from store.reader_signals import ReaderSignals

_SPACE = re.compile(r"\W+")


class ImportedSkip(BaseModel):
    key: str
    line: int | None = None
    reason: str


class LibraryImport(BaseModel):
    """What ``paperbrief library import`` did."""

    profile: str
    file: str
    format: str
    imported: int = Field(0, description="items stored (new or replaced)")
    duplicates: int = Field(0, description="entries folded into another entry of the file")
    skipped: list[ImportedSkip] = Field(default_factory=list)
    total: int = Field(0, description="the profile's library size after the import")


class LibraryEntry(BaseModel):
    """One stored library item, as ``library list`` shows it."""

    key: str
    title: str
    arxiv_id: str | None = None
    doi: str | None = None
    year: int | None = None
    has_abstract: bool = False
    added_at: str = ""


def item_key(item: LibraryItem) -> str:
    """A stable identity across re-imports and formats: arXiv id, else DOI, else the title."""
    if item.arxiv_id:
        return f"arxiv:{item.arxiv_id}"
    if item.doi:
        return f"doi:{item.doi}"
    return "title:" + _SPACE.sub(" ", (item.title or "").lower()).strip()


def import_library(
    path: Path,
    *,
    profile: str,
    signals: ReaderSignals,
    embedder: Embedder,
    store: PaperStore | None = None,
) -> LibraryImport:
    """Read the whole file first (a bad entry raises before anything is stored), then embed and
    store every usable item in one transaction."""
    from agent.library import read_library

    library = read_library(Path(path).expanduser())
    report = LibraryImport(
        profile=profile,
        file=str(path),
        format=library.format,
        duplicates=len(library.duplicates),
        skipped=[ImportedSkip(key=s.key, line=s.line, reason=s.reason) for s in library.skipped],
    )
    items = _resolve_ids(library.items, store, report)
    if items:
        texts = [it.text_for_embedding() for it in items]
        vectors = embedder.embed(texts)
        rows = [(item_key(it), it.title or "", it.model_dump(mode="json")) for it in items]
        report.imported = signals.put_items(profile, rows, vectors, embedder.model_id)
    report.total = signals.counts(profile)["library"]
    return report


def _resolve_ids(
    items: Sequence[LibraryItem], store: PaperStore | None, report: LibraryImport
) -> list[LibraryItem]:
    """Items that can be embedded: id-only lines take their text from the store."""
    usable = [it for it in items if not it.needs_lookup]
    pending = [it for it in items if it.needs_lookup]
    found: dict[str, dict[str, Any]] = {}
    if pending and store is not None:
        ids = [it.arxiv_id for it in pending if it.arxiv_id]
        found = {p["id"]: p for p in store.get_many(ids)} if ids else {}
    for it in pending:
        paper = found.get(it.arxiv_id or "")
        if paper:
            usable.append(
                it.model_copy(
                    update={"title": paper.get("title"), "abstract": paper.get("abstract")}
                )
            )
            continue
        what = f"arXiv {it.arxiv_id}" if it.arxiv_id else f"DOI {it.doi}" if it.doi else it.key
        hint = (
            f"fetch it first: paperbrief ingest -s arxiv -q 'id:{it.arxiv_id}'"
            if it.arxiv_id
            else "add its title on the line, or export the item from your reference manager"
        )
        report.skipped.append(
            ImportedSkip(key=it.key, line=it.line, reason=f"{what} is not in the store; {hint}")
        )
    return usable


def list_library(profile: str, signals: ReaderSignals) -> list[LibraryEntry]:
    out = []
    for stored in signals.items(profile):
        item = stored.item
        out.append(
            LibraryEntry(
                key=stored.key,
                title=stored.title,
                arxiv_id=item.get("arxiv_id"),
                doi=item.get("doi"),
                year=item.get("year"),
                has_abstract=bool(item.get("abstract")),
                added_at=stored.added_at,
            )
        )
    return out


def remove_from_library(
    profile: str, signals: ReaderSignals, keys: Sequence[str] | None, *, everything: bool = False
) -> int:
    """Remove items by key (``arxiv:2312.00752``, a bare arXiv id or DOI works too), or all."""
    if everything:
        return signals.remove_items(profile)
    if not keys:
        raise InputError(
            "Name the items to remove.",
            hint="Give keys from `paperbrief library list`, or --all to empty the library.",
        )
    stored = {s.key for s in signals.items(profile)}
    wanted = []
    for key in keys:
        candidates = [key, f"arxiv:{key}", f"doi:{key.lower()}"]
        match = next((c for c in candidates if c in stored), None)
        if match is None:
            raise InputError(
                f"{key!r} is not in the {profile!r} library.",
                hint="See the keys with `paperbrief library list`.",
            )
        wanted.append(match)
    return signals.remove_items(profile, wanted)
