"""Every key of the ``meta`` table (key/value strings in home/state.sqlite3), named in one place.

A key is ``<scope>:<name>``, then ``:<qualifier>`` for one per source, profile or file:

=========================================  ==================================  =================
key                                        written by                          value
=========================================  ==================================  =================
``store:generation``                       store.chroma.generations            live generation
``store:embedder_id``                      store.chroma.generations            its embedder id
``store:undated_dated``                    store.papers.writing                "1" once done
``run:last_window_end[:<profile>]``        agent.daily (no suffix: default)    ISO datetime
``last_ingest:<source>``                   agent.ingest                        JSON report
``backfill:<categories>:<query>``          agent.backfill.position             JSON position
``library_file:<profile>:<path>``          agent.profiles.library              sha256 of file
``deliver:refused:<profile>``              agent.digest.refused                JSON recipients
=========================================  ==================================  =================

Renaming a key would strand what existing homes hold, so a key once spelled otherwise keeps its
old spellings in ``LEGACY``: :class:`store.state.db.StateDB` reads a key under them too, and a
write of the key drops them. (The first two keys were ``store.generation`` and
``store.embedder_id`` up to 0.1.)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

GENERATION = "store:generation"
EMBEDDER_ID = "store:embedder_id"
UNDATED_DATED = "store:undated_dated"
RUN_WINDOW_END = "run:last_window_end"

#: key -> the spellings it had before, read when the key itself is absent.
LEGACY: dict[str, tuple[str, ...]] = {
    GENERATION: ("store.generation",),
    EMBEDDER_ID: ("store.embedder_id",),
}


def run_window_end(profile: str | None = None) -> str:
    """Where the last ``run`` of a profile ended (None: the default profile, which has no
    suffix because it was the only one when the key was named)."""
    return RUN_WINDOW_END if profile is None else f"{RUN_WINDOW_END}:{profile}"


def last_ingest(source: str) -> str:
    return f"last_ingest:{source}"


def backfill_position(categories: Sequence[str], query: str | None) -> str:
    return f"backfill:{'+'.join(sorted(categories))}:{(query or '').strip()}"


def library_file(profile: str, path: Path) -> str:
    """The last imported hash of a profile's library file (``path`` as resolved)."""
    return f"library_file:{profile}:{path}"


def refused_recipients(profile: str) -> str:
    """The recipients the SMTP server refused a profile's digests for, awaiting a resend."""
    return f"deliver:refused:{profile}"
