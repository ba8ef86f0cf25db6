"""Where a backfill stands, kept in the store's state database so a rerun resumes.

A backfill walks one day of submissions at a time. Per categories-and-query, the state meta
key ``backfill:<categories>:<query>`` holds the days already stored completely and the day in
progress with the offset of its next page. It is rewritten after every stored page, so a run
stopped by Ctrl-C, a crash or an unreachable arXiv resumes at the page it was on; the days are
keyed by date (not by "365d"), so a rerun on a later day skips what is already there.
"""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from store.state import meta_keys

if TYPE_CHECKING:
    from store.state.db import StateDB


def position_key(categories: list[str], query: str | None) -> str:
    return meta_keys.backfill_position(categories, query)


class BackfillPosition(BaseModel):
    """Days stored completely, and the day being paged through (next page's offset)."""

    done: set[date] = Field(default_factory=set)
    day: date | None = None
    start: int = 0

    @classmethod
    def load(cls, state: StateDB, key: str) -> BackfillPosition:
        raw = state.get_meta(key)
        if not raw:
            return cls()
        try:
            return cls.model_validate(json.loads(raw))
        except ValueError:  # an unreadable position costs a re-fetch, never a failed run
            return cls()

    def save(self, state: StateDB, key: str) -> None:
        data = {"done": sorted(d.isoformat() for d in self.done), "start": self.start,
                "day": self.day.isoformat() if self.day else None}  # fmt: skip
        state.set_meta(key, json.dumps(data))

    def resume_at(self, day: date) -> int:
        """The offset to start ``day`` at: where a stopped run left it, else 0."""
        return self.start if self.day == day else 0
