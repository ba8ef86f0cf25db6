"""The home's state file: a backup beside it, damage told with its fix, and the way back.

What ``state.sqlite3`` holds cannot be fetched again: ratings, the library, digest history, the
summaries an LLM was paid for. SQLite takes an empty file for a new database and a truncated
one fails with "database disk image is malformed" wherever a page is missing, so:

- ``backup_state`` copies the file to ``state.sqlite3.backup`` with SQLite's online backup API
  (consistent while others read) after each successful write session, once ``PRAGMA
  quick_check`` passed: a damaged file never replaces a good backup;
- ``check_file`` refuses, before any connection, a file that is empty (an existing state
  that would be started over silently); ``damage_of`` turns SQLite's own findings (not a
  database, malformed: a truncated file) into the same ``StateDamaged``, which names the
  file, the backup and ``paperbrief doctor --restore-state``;
- ``restore_state`` moves the damaged file aside (``state.sqlite3.damaged-<time>``, its -wal
  and -shm with it) and copies the backup back.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from store.errors import StateDamaged

log = logging.getLogger(__name__)

#: An empty file younger than this may be one another process is creating right now.
_FRESH_SECONDS = 5.0
_DAMAGE = ("database disk image is malformed", "file is not a database", "malformed database")
RESTORE = "paperbrief doctor --restore-state"


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".backup")


def check_file(path: Path) -> None:
    """StateDamaged when the SQLite file at ``path`` exists but is empty (an existing state
    that SQLite would start over silently); nothing when it is absent (a new home).

    Only ``stat``: opening and closing the file here would drop every POSIX lock this
    process's SQLite connections hold on it (close() releases them all), and another process
    would then checkpoint and delete the WAL under a live writer, losing its writes. A file
    that is not SQLite or is truncated is SQLite's own finding on the first read, which
    ``damage_of`` turns into the same StateDamaged."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return
    if stat.st_size == 0:
        age = time.time() - stat.st_mtime
        wal = path.with_name(path.name + "-wal")
        in_wal = wal.is_file() and wal.stat().st_size > 0  # SQLite rebuilds it from its WAL
        if not in_wal and (backup_path(path).is_file() or age > _FRESH_SECONDS):
            raise damaged(path, "is empty (0 bytes)")


def damage_of(exc: BaseException, path: Path) -> StateDamaged | None:
    """StateDamaged for SQLite's report of a damaged file at ``path``, else None."""
    text = str(exc).lower()
    if not isinstance(exc, sqlite3.DatabaseError) or not any(d in text for d in _DAMAGE):
        return None
    if "file is not a database" in text:
        return damaged(path, "is not an SQLite database")
    return damaged(path, f"cannot be read ({exc}): it may be truncated")


def damaged(path: Path, what: str) -> StateDamaged:
    backup = backup_path(path)
    if backup.is_file():
        hint = (
            f"Run `{RESTORE}`: it puts back the backup of {_when(backup)} ({backup}) and keeps "
            "the damaged file aside."
        )
    else:
        hint = _start_over(path, "There is no backup beside it.")
    return StateDamaged(
        f"The state file {path} {what}: it is damaged. It holds your ratings, library and "
        "digest history, so paperbrief does not start it over by itself.",
        path=str(path),
        hint=hint,
    )


def inspect_state(path: Path) -> str:
    """One line for `doctor`: the file sound (``quick_check``) and how old its backup is;
    StateDamaged when it is not."""
    check_file(path)
    if not path.is_file():
        return f"{path} not created yet: the first command that writes makes it"
    conn = sqlite3.connect(path, timeout=30)
    try:
        verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise damage_of(exc, path) or damaged(path, f"cannot be read ({exc})") from exc
    finally:
        conn.close()
    if verdict != "ok":
        raise damaged(path, f"fails SQLite's check ({verdict})")
    backup = backup_path(path)
    kept = (
        f"backup of {_when(backup)} beside it"
        if backup.is_file()
        else "no backup yet: the next command that writes makes one"
    )
    return f"{path} ({path.stat().st_size / 1e6:.1f} MB) is sound; {kept}"


def _start_over(path: Path, why: str) -> str:
    return (
        f"{why} To start a new, empty state (ratings, library and digest history are lost), "
        f"move it aside: `mv {path} {path}.damaged`, then run the command again."
    )


def backup_state(path: Path) -> Path | None:
    """Copy the state file beside itself (``.backup``) if it passes ``quick_check``; the
    backup's path, or None when there was nothing (or nothing sound) to copy."""
    if not path.is_file() or path.stat().st_size == 0:
        return None
    target = backup_path(path)
    partial = target.with_name(target.name + ".tmp")
    source = sqlite3.connect(path, timeout=30)
    try:
        verdict = source.execute("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            log.warning("not backing up %s: quick_check says %s", path, verdict)
            return None
        partial.unlink(missing_ok=True)
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)
        finally:
            copy.close()
    finally:
        source.close()
    os.replace(partial, target)
    return target


@dataclass(frozen=True)
class Restored:
    """What ``restore_state`` did: the backup put back (and when it was taken), the damaged
    file's new name (None when there was none)."""

    path: Path
    backup: Path
    taken: str
    damaged_copy: Path | None


def restore_state(path: Path) -> Restored:
    """Put the backup back in place of the (damaged) state file, keeping that file aside."""
    backup = backup_path(path)
    if not backup.is_file():
        raise StateDamaged(
            f"There is no backup of {path} to restore ({backup} does not exist).",
            path=str(path),
            hint=_start_over(path, "There is no backup."),
        )
    check = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        verdict = check.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        verdict = str(exc)
    finally:
        check.close()
    if verdict != "ok":
        raise StateDamaged(
            f"The backup {backup} is damaged too ({verdict}).",
            path=str(path),
            hint=_start_over(path, "There is no sound backup."),
        )
    aside = None
    if path.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        aside = path.with_name(f"{path.name}.damaged-{stamp}")
        os.replace(path, aside)
    for suffix in ("-wal", "-shm"):  # they belong to the damaged file, not to the backup
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.replace(side, (aside or path).with_name((aside or path).name + suffix))
    source = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    target = sqlite3.connect(path)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    return Restored(path=path, backup=backup, taken=_when(backup), damaged_copy=aside)


def _when(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%d %H:%M UTC")


__all__ = [
    "RESTORE",
    "Restored",
    "backup_path",
    "backup_state",
    "check_file",
    "damage_of",
    "damaged",
    "inspect_state",
    "restore_state",
]
