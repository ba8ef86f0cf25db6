"""PaperAgent's reader methods: library import/list/remove and ratings, per profile.

A mixin so the facade stays one class (``PaperAgent.rate(...)``) while this capability keeps its
code in its own folder. It needs the agent's ``settings``, ``store``, ``embedder`` and
``signals``; nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from agent.profiles.library import (
    LibraryEntry,
    LibraryImport,
    LibrarySync,
    import_library,
    list_library,
    remove_from_library,
    sync_library_files,
)
from agent.profiles.signal import Rating
from agent.profiles.signal import rate as _rate

if TYPE_CHECKING:
    from agent.config import Settings
    from agent.sources.http import HttpClient
    from store import PaperStore
    from store.embedder import Embedder
    from store.reader_signals import ReaderSignals


class ReaderMethods:
    # Provided by PaperAgent (declared here for type checkers only).
    settings: Settings
    store: PaperStore
    embedder: Embedder
    signals: ReaderSignals
    http: HttpClient

    def _profile_name(self, profile: str | None) -> str:
        from agent.config import DEFAULT_PROFILE

        name = profile or DEFAULT_PROFILE
        self.settings.profile(name)  # raises ConfigError naming the known profiles
        return name

    def import_library(self, path: Path | str, *, profile: str | None = None) -> LibraryImport:
        """Read a BibTeX / RIS / CSL-JSON / Zotero CSV / id-list file whole, embed its items and
        keep them as the profile's library (a bad entry raises before anything is stored)."""
        from agent.storage import store_errors

        name = self._profile_name(profile)
        with store_errors():
            return import_library(
                Path(path), profile=name, signals=self.signals, embedder=self.embedder,
                store=self.store, lookup=self._arxiv_lookup,
            )  # fmt: skip

    def sync_library(self, *, profile: str | None = None) -> LibrarySync:
        """Re-import the profile's configured ``library`` files that changed since last time;
        a missing or broken file is reported in the result, the stored library kept."""
        name = self._profile_name(profile)
        paths = self.settings.profile(name).library
        return sync_library_files(
            paths,
            profile=name,
            state=self.store.state,
            do_import=lambda path: self.import_library(path, profile=name),
        )

    def _arxiv_lookup(self, arxiv_ids: list[str]) -> list[tuple[str, str, str]]:
        """Title and abstract of id-only library lines, from arXiv's API (rate rules kept)."""
        from agent.sources.arxiv_api import ArxivApiSource

        papers = ArxivApiSource(self.settings, self.http).lookup(arxiv_ids)
        return [(p.id, p.title, p.abstract) for p in papers]

    def library(self, *, profile: str | None = None) -> list[LibraryEntry]:
        return list_library(self._profile_name(profile), self.signals)

    def remove_from_library(
        self, keys: Sequence[str] = (), *, profile: str | None = None, everything: bool = False
    ) -> int:
        return remove_from_library(
            self._profile_name(profile), self.signals, list(keys), everything=everything
        )

    def rate(self, paper_id: str, value: str, *, profile: str | None = None) -> Rating:
        """``up``, ``down`` or ``clear``: the profile's ranker learns from it at the next digest."""
        from agent.storage import store_errors

        name = self._profile_name(profile)
        with store_errors():
            return _rate(paper_id, value, profile=name, store=self.store, signals=self.signals)
