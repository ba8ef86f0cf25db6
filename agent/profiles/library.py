"""A reader's library: import a file (BibTeX, RIS, CSL-JSON, Zotero CSV, id list), embed each
item, keep it under the profile; list and remove.

Library items are the strongest signal of taste a reader can give in one step, and they never
become "new papers": they live beside the store (``store.state.reader_signals``), not in Chroma.
A line of an id list that names only an id takes its title and abstract from the store when the
paper is there, else from arXiv (one ``id_list`` request per 100 ids); what neither knows is
reported as skipped, with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, Field

from agent.errors import InputError

if TYPE_CHECKING:
    from agent.config import Settings
    from agent.library.models import LibraryItem
    from agent.sources.http import HttpClient
    from store import PaperStore
    from store.embedding.embedders import Embedder
    from store.seams import ReaderSignals, StoredItem

_SPACE = re.compile(r"\W+")
# Fields a re-imported entry takes from the stored one when its own are empty.
_FILLABLE = ("abstract", "authors", "year", "arxiv_id", "doi", "url", "keywords", "venue")


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
    new: int = Field(0, description="of those, items the library did not hold before")
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
    return title_key(item.title or "")


def title_key(title: str) -> str:
    return "title:" + _SPACE.sub(" ", title.lower()).strip()


def import_library(
    path: Path,
    *,
    profile: str,
    signals: ReaderSignals,
    embedder: Embedder,
    store: PaperStore | None = None,
    lookup: Lookup | None = None,
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
    known = _index(signals.items(profile))
    items = _resolve_ids(library.items, store, known, report, lookup)
    keyed = _match_stored(items, known, report)
    if keyed:
        vectors = embedder.embed([it.text_for_embedding() for _, it in keyed])
        rows = [(key, it.title or "", it.model_dump(mode="json")) for key, it in keyed]
        report.imported = signals.put_items(profile, rows, vectors, embedder.model_id)
    report.total = signals.counts(profile)["library"]
    report.new = report.total - len({s.key for s in known.values()})
    return report


Signature = tuple[str, str]
# arXiv ids -> (id, title, abstract) of the papers arXiv knows; raises PaperbriefError when
# arXiv cannot be asked.
Lookup = Callable[[list[str]], list[tuple[str, str, str]]]


def lookup_arxiv(
    arxiv_ids: list[str], settings: Settings, http: HttpClient
) -> list[tuple[str, str, str]]:
    """Title and abstract of id-only library lines, from arXiv's API (rate rules kept)."""
    from agent.sources.arxiv_api import ArxivApiSource

    papers = ArxivApiSource(settings, http).lookup(arxiv_ids)
    return [(p.id, p.title, p.abstract) for p in papers]


def _signatures(arxiv_id: str | None, doi: str | None, title: str | None) -> list[Signature]:
    from agent.library.dedupe import title_fingerprint

    found = [("arxiv", arxiv_id), ("doi", doi), ("title", title_fingerprint(title))]
    return [(kind, value) for kind, value in found if value]


def _index(stored: Sequence[StoredItem]) -> dict[Signature, StoredItem]:
    """The profile's stored items by arXiv id, DOI and title fingerprint."""
    index: dict[Signature, StoredItem] = {}
    for s in stored:
        for sig in _signatures(s.item.get("arxiv_id"), s.item.get("doi"), s.title):
            index.setdefault(sig, s)
    return index


def _resolve_ids(
    items: Sequence[LibraryItem],
    store: PaperStore | None,
    known: dict[Signature, StoredItem],
    report: LibraryImport,
    lookup: Lookup | None,
) -> list[LibraryItem]:
    """Items that can be embedded: an id-only line takes its text from the store's paper, from
    the library's own entry for that paper (imported earlier from another file), or from arXiv."""
    usable = [it for it in items if not it.needs_lookup]
    pending = [it for it in items if it.needs_lookup]
    found: dict[str, dict[str, Any]] = {}
    if pending and store is not None:
        found = {p["id"]: p for p in store.get_many([_store_id(it) for it in pending])}
    unresolved = []
    for it in pending:
        paper = found.get(_store_id(it))
        ids = _signatures(it.arxiv_id, it.doi, None)
        entry = next((known[sig] for sig in ids if sig in known), None)
        if paper is not None:
            update = {"title": paper.get("title"), "abstract": paper.get("abstract") or None}
            usable.append(it.model_copy(update=update))
        elif entry is not None:  # _match_stored fills the rest from the entry
            usable.append(it.model_copy(update={"title": entry.title}))
        else:
            unresolved.append(it)
    fetched, why_not = _ask_arxiv(unresolved, lookup)
    for it in unresolved:
        if it.arxiv_id in fetched:
            title, abstract = fetched[it.arxiv_id]
            usable.append(it.model_copy(update={"title": title, "abstract": abstract or None}))
            continue
        what = f"arXiv {it.arxiv_id}" if it.arxiv_id else f"DOI {it.doi}" if it.doi else it.key
        reason = (
            f"{what}: {why_not}"
            if it.arxiv_id and why_not
            else f"{what} is not on arXiv; check the id"
            if it.arxiv_id
            else f"{what} is not in the store; add its title on the line, or export the item "
            "from your reference manager"
        )
        report.skipped.append(ImportedSkip(key=it.key, line=it.line, reason=reason))
    return usable


def _ask_arxiv(
    items: Sequence[LibraryItem], lookup: Lookup | None
) -> tuple[dict[str, tuple[str, str]], str | None]:
    """({arxiv id: (title, abstract)}, why the rest could not be asked for, if so)."""
    from agent.errors import PaperbriefError

    ids = [it.arxiv_id for it in items if it.arxiv_id]
    if not ids:
        return {}, None
    if lookup is None:
        return {}, "not in the store (no arXiv lookup here); add its title on the line"
    try:
        return {pid: (title, abstract) for pid, title, abstract in lookup(ids)}, None
    except PaperbriefError as exc:
        # The rest of the file is still imported; only these lines wait for a rerun.
        return {}, f"arXiv could not be asked ({exc.message}); import the file again when online"


def _store_id(item: LibraryItem) -> str:
    """The id the store keeps this paper under (sources.paper_key: arXiv id, else doi:DOI)."""
    return item.arxiv_id or f"doi:{item.doi}"


def _match_stored(
    items: Sequence[LibraryItem], known: dict[Signature, StoredItem], report: LibraryImport
) -> list[tuple[str, LibraryItem]]:
    """(key, item) pairs to store. An item that is a paper already in the library (same arXiv id,
    DOI or title, e.g. from an earlier import in another format) keeps that entry's key, and
    what the new entry lacks (an abstract, a year) is kept from the stored one, so one paper is
    one entry and a thinner export never erases a richer one."""
    from agent.library import LibraryItem as Item

    out: dict[str, LibraryItem] = {}
    for it in items:
        match = next(
            (
                known[sig]
                for sig in _signatures(it.arxiv_id, it.doi, it.title)
                if sig in known and not _two_papers(sig, it, known[sig])
            ),
            None,
        )
        if match is None:
            key = item_key(it)
        else:
            key = match.key
            old = Item.model_validate(match.item)
            fill = {f: getattr(old, f) for f in _FILLABLE if not getattr(it, f) and getattr(old, f)}
            it = it.model_copy(update=fill) if fill else it
        if key in out:  # two entries of this file are one stored paper
            report.duplicates += 1
            continue
        out[key] = it
    return list(out.items())


def _two_papers(sig: Signature, item: LibraryItem, stored: StoredItem) -> bool:
    """Same title, different arXiv ids: two papers (e.g. "Introduction"), not one."""
    other = stored.item.get("arxiv_id")
    return sig[0] == "title" and bool(item.arxiv_id and other and other != item.arxiv_id)


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
    if everything and keys:
        raise InputError(
            "Give keys or --all, not both.",
            hint="`paperbrief library remove --all` empties the library; keys remove just those.",
        )
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


class LibrarySync(BaseModel):
    """What ``run`` did with a profile's configured library files."""

    imported: list[LibraryImport] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)
    failed: dict[str, str] = Field(default_factory=dict, description="file -> what went wrong")


class MetaStore(Protocol):
    """Where each configured file's last imported hash is kept (the store's state)."""

    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...


def sync_library_files(
    paths: Sequence[Path], *, profile: str, state: MetaStore,
    do_import: Callable[[Path], LibraryImport],
) -> LibrarySync:  # fmt: skip
    """Re-import each configured file whose bytes changed since its last import.

    A file that is missing or broken is reported, not raised: the profile keeps the library it
    had, and the digest still goes out. ``state`` keeps each file's last imported hash
    (``get_meta``/``set_meta``), set only after the import succeeded, so a fixed file is retried.
    """
    import hashlib

    from agent.errors import PaperbriefError
    from store.state import meta_keys

    sync = LibrarySync()
    for path in paths:
        key = meta_keys.library_file(profile, Path(path).expanduser().resolve())
        try:
            digest = hashlib.sha256(Path(path).expanduser().read_bytes()).hexdigest()
        except OSError as exc:
            sync.failed[str(path)] = f"cannot read it ({exc.strerror or exc}); fix `library` in "
            f"[profiles.{profile}] or restore the file"
            continue
        if state.get_meta(key) == digest:
            sync.unchanged.append(str(path))
            continue
        try:
            sync.imported.append(do_import(Path(path)))
        except PaperbriefError as exc:
            sync.failed[str(path)] = exc.message + (f" {exc.hint}" if exc.hint else "")
            continue
        state.set_meta(key, digest)
    return sync
