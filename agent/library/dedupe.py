"""Fold entries that are the same paper (same arXiv id, DOI or title) into the first one."""

from __future__ import annotations

import re
from typing import Literal

from agent.library.models import DuplicateEntry, LibraryItem

MatchKind = Literal["arxiv_id", "doi", "title"]
_NON_WORD = re.compile(r"[\W_]+")


def title_fingerprint(title: str | None) -> str | None:
    """Case, punctuation and spacing removed: 'Attention is all you need.' == 'Attention Is…'."""
    if not title:
        return None
    return _NON_WORD.sub(" ", title.casefold()).strip() or None


def _signatures(item: LibraryItem) -> list[tuple[MatchKind, str]]:
    found: list[tuple[MatchKind, str | None]] = [
        ("arxiv_id", item.arxiv_id),
        ("doi", item.doi),
        ("title", title_fingerprint(item.title)),
    ]
    return [(kind, value) for kind, value in found if value]


def _merge(kept: LibraryItem, extra: LibraryItem) -> LibraryItem:
    """Fill what the first entry lacks from the later one (e.g. one copy has the abstract)."""
    update = {
        field: getattr(extra, field)
        for field in ("title", "abstract", "year", "arxiv_id", "doi", "url", "venue")
        if getattr(kept, field) is None and getattr(extra, field) is not None
    }
    if not kept.authors and extra.authors:
        update["authors"] = extra.authors
    seen = {k.lower() for k in kept.keywords}
    new_keywords = [k for k in extra.keywords if k.lower() not in seen]
    if new_keywords:
        update["keywords"] = kept.keywords + new_keywords
    return kept.model_copy(update=update) if update else kept


def collapse(items: list[LibraryItem]) -> tuple[list[LibraryItem], list[DuplicateEntry]]:
    kept: list[LibraryItem] = []
    index: dict[tuple[MatchKind, str], int] = {}
    duplicates: list[DuplicateEntry] = []
    for item in items:
        match: tuple[int, MatchKind] | None = None
        for signature in _signatures(item):
            position = index.get(signature)
            if position is None:
                continue
            other = kept[position]
            # Same title, different arXiv ids: two papers (e.g. "Introduction"), not one.
            if signature[0] == "title" and other.arxiv_id and item.arxiv_id:
                continue
            match = (position, signature[0])
            break
        if match is None:
            index.update({sig: len(kept) for sig in _signatures(item) if sig not in index})
            kept.append(item)
            continue
        position, kind = match
        kept[position] = _merge(kept[position], item)
        index.update({sig: position for sig in _signatures(kept[position]) if sig not in index})
        duplicates.append(
            DuplicateEntry(
                key=item.key, line=item.line, duplicate_of=kept[position].key, matched_on=kind
            )
        )
    return kept, duplicates
