"""Digest history on a shared Chroma server: which papers each profile was sent, whichever
machine sent them, so a digest built on another machine never repeats them.

The shared twin of store.state.digest_history (store.seams.DigestHistory). The digest's files
stay in the local home (``home/digests/<id>/``); the rows go to four shared collections:
``pb_shared_digest_runs`` (one per digest: the row the local history keeps),
``pb_shared_digest_sent`` ((digest, paper) with the digest's profile copied in, so ``sent_ids``
is one filtered read),
``pb_shared_digest_themes`` (LLM theme names, so no machine pays to name a theme twice) and
``pb_shared_digest_posts`` ((digest, chat channel) post records: a channel is a hash of its
webhook URL, never the URL, which holds a token).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from store.layout import StoreLayout
from store.shared.table import Meta, SharedTable
from store.state.digest_history import write_files


def _now() -> str:
    return datetime.now(UTC).isoformat()


class SharedDigestHistory:
    def __init__(self, chroma_url: str, digests_dir: Path, *, client: Any = None) -> None:
        self.digests_dir = Path(digests_dir)
        self._runs = SharedTable(chroma_url, "digest_runs", client=client)
        self._sent = SharedTable(chroma_url, "digest_sent", client=self._runs.client)
        self._themes = SharedTable(chroma_url, "digest_themes", client=self._runs.client)
        self._posts = SharedTable(chroma_url, "digest_posts", client=self._runs.client)

    @classmethod
    def in_home(cls, home: Path, chroma_url: str) -> SharedDigestHistory:
        return cls(chroma_url, StoreLayout(home).digests)

    # --- saving -----------------------------------------------------------------------------
    def save(
        self,
        digest_id: str,
        files: Mapping[str, str],
        *,
        created_at: str,
        subject: str,
        papers: int,
        themes: int,
        window_start: str | None = None,
        window_end: str | None = None,
        profile: str = "default",
    ) -> Path:
        folder = write_files(self.digests_dir, digest_id, files)
        row = self.run(digest_id) or {
            "digest_id": digest_id, "created_at": created_at, "window_start": window_start,
            "window_end": window_end, "status": "saved", "recipients": "", "sent_at": None,
            "error": None, "profile": profile,
        }  # fmt: skip
        row.update(papers=papers, themes=themes, subject=subject, folder=str(folder))
        self._put_run(row)
        return folder

    def mark_sent(
        self, digest_id: str, paper_ids: Sequence[str], recipients: Sequence[str] = ()
    ) -> None:
        at = _now()
        run = self.run(digest_id)
        profile = str((run or {}).get("profile", "default"))
        self._sent.put([
            (f"{digest_id}|{pid}", None, {"paper_id": pid, "digest_id": digest_id,
                                          "profile": profile, "sent_at": at})
            for pid in dict.fromkeys(paper_ids)
        ])  # fmt: skip
        if run is not None:
            run.update(status="sent", sent_at=at, recipients=", ".join(recipients), error=None)
            self._put_run(run)

    def mark_failed(self, digest_id: str, error: str) -> None:
        run = self.run(digest_id)
        if run is not None:
            run.update(status="failed", error=error[:1000])
            self._put_run(run)

    def _put_run(self, row: dict[str, Any]) -> None:
        meta: Meta = {k: row.get(k) for k in ("created_at", "profile", "status")}
        self._runs.put([(row["digest_id"], row, meta)])

    # --- reading ----------------------------------------------------------------------------
    def sent_ids(self, paper_ids: Sequence[str], profile: str = "default") -> set[str]:
        rows = self._sent.where_in("paper_id", paper_ids, profile=profile)
        return {str(r.meta["paper_id"]) for r in rows}

    def runs(self, limit: int = 20, profiles: Sequence[str] | None = None) -> list[dict[str, Any]]:
        if profiles is None:
            rows = [r.doc for r in self._runs.where()]
        else:
            rows = [r.doc for r in self._runs.where_in("profile", profiles)]
        rows.sort(key=lambda r: (r["created_at"], r["digest_id"]), reverse=True)
        return rows[:limit]

    def run(self, digest_id: str) -> dict[str, Any] | None:
        row = self._runs.one(digest_id)
        return dict(row.doc) if row else None

    def exists(self, digest_id: str) -> bool:
        return self.run(digest_id) is not None

    # --- chat posts ---------------------------------------------------------------------------
    def record_post(
        self, digest_id: str, channel: str, *, label: str, ok: bool, error: str | None = None
    ) -> None:
        row_id = f"{digest_id}|{channel}"
        old = self._posts.one(row_id)
        doc: dict[str, Any] = dict(old.doc) if old else {"digest_id": digest_id, "channel": channel,
                                                         "attempts": 0}  # fmt: skip
        doc["attempts"] = int(doc.get("attempts", 0)) + 1
        doc["label"] = label
        if doc.get("status") != "posted":  # a success is final
            doc.update(status="posted" if ok else "failed", at=_now(),
                       error=None if ok else (error or "")[:1000])  # fmt: skip
        run = self.run(digest_id) or {}
        meta: Meta = {
            "digest_id": digest_id, "channel": channel, "status": doc["status"],
            "profile": str(run.get("profile", "default")),
            "created_at": str(run.get("created_at", "")),
        }  # fmt: skip
        self._posts.put([(row_id, doc, meta)])

    def posted_channels(self, digest_id: str) -> set[str]:
        rows = self._posts.where({"$and": [{"digest_id": digest_id}, {"status": "posted"}]})
        return {str(r.meta["channel"]) for r in rows}

    def failed_posts(
        self, profile: str, channels: Sequence[str], since: str | None = None
    ) -> list[tuple[str, str]]:
        if not channels:
            return []
        rows = self._posts.where_in("channel", channels, profile=profile, status="failed")
        found = [r for r in rows if str(r.meta.get("created_at", "")) >= (since or "")]
        found.sort(key=lambda r: (str(r.meta.get("created_at", "")), str(r.meta["digest_id"])))
        return [(str(r.meta["digest_id"]), str(r.meta["channel"])) for r in found]

    def posts(self, digest_id: str) -> list[dict[str, Any]]:
        rows = [r.doc for r in self._posts.where({"digest_id": digest_id})]
        keys = ("channel", "label", "status", "at", "attempts", "error")
        return sorted(({k: d.get(k) for k in keys} for d in rows), key=lambda d: d["label"])

    # --- theme-name cache ---------------------------------------------------------------------
    def get_theme_name(self, key: str) -> tuple[str, str] | None:
        row = self._themes.one(_key_id(key))
        return (row.doc["name"], row.doc["overview"]) if row else None

    def put_theme_name(
        self, key: str, name: str, overview: str, *, model: str, prompt_version: str
    ) -> None:
        doc = {"name": name, "overview": overview}
        meta = {"model": model, "prompt_version": prompt_version, "created_at": _now()}
        self._themes.put([(_key_id(key), doc, meta)])

    def close(self) -> None:
        """Nothing held open: rows live on the server."""


def _key_id(key: str) -> str:
    """Theme keys can be long (they name paper ids): a fixed-length row id."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]
