"""Issue 25, item 11: the state the user cannot recreate (ratings, library, digest history) has a
recovery path. Each successful write session leaves a backup beside home/state.sqlite3 (SQLite's
backup API); a truncated or emptied state file is named with its fix (exit 2, never 70, never
reset silently), `doctor` names the fix too, and `doctor --restore-state` brings the backup back.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time

import pytest
from typer.testing import CliRunner

from agent.config import Settings
from agent.pipeline import PaperAgent
from agent.sources.base import FetchRequest
from cli.main import app

ABSTRACT = (
    "We study sparse attention for long documents and show that routing tokens to a few "
    "experts keeps accuracy while cutting the cost of attention by half on three benchmarks."
)
PAPER = "2612.00101"


def cli(home, *args: str):
    return CliRunner().invoke(app, ["--home", str(home), *args],
                              env={"COLUMNS": "300", "PAPERBRIEF_SOURCES": "[]"})  # fmt: skip


@pytest.fixture
def home(tmp_path, minilm):
    """A home holding one paper and one rating, closed (no -wal left)."""
    home = tmp_path / "home"
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps({"id": PAPER, "title": "Sparse Routing", "abstract": ABSTRACT}),
                    encoding="utf-8")  # fmt: skip
    with PaperAgent(Settings(home=home), embedder=minilm) as agent:
        assert agent.ingest(request=FetchRequest(path=path)).ok
        agent.rate(PAPER, "up")
    return home


def ratings(db) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT paper_id, value FROM ratings").fetchall()


def test_a_write_session_leaves_a_backup_beside_the_state(home):
    backup = home / "state.sqlite3.backup"
    assert backup.is_file()
    assert ratings(backup) == [(PAPER, 1)]  # taken after the rating's session
    with sqlite3.connect(backup) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.parametrize("damage", ["truncated", "empty"])
def test_a_damaged_state_is_named_with_its_fix_and_restored_from_the_backup(home, damage):
    state = home / "state.sqlite3"
    size = state.stat().st_size
    with state.open("r+b") as fh:
        fh.truncate(0 if damage == "empty" else size // 2)
    again = str(home.parent / "one.jsonl")
    for command in (["status"], ["search", "sparse routing"], ["ingest", "--file", again]):
        result = cli(home, *command)
        assert result.exit_code == 2, (command, result.output, result.exception)
        assert "state.sqlite3" in result.stderr and "damaged" in result.stderr
        assert "paperbrief doctor --restore-state" in result.stderr
    assert state.stat().st_size == (0 if damage == "empty" else size // 2)  # never reset

    doctor = cli(home, "doctor", "--json")
    checks = {c["name"]: c for c in json.loads(doctor.stdout)}
    assert checks["state"]["status"] == "fail"
    assert "--restore-state" in checks["state"]["fix"]

    restored = cli(home, "doctor", "--restore-state")
    assert restored.exit_code == 0, restored.output
    assert "Restored" in restored.stdout
    assert ratings(state) == [(PAPER, 1)]  # the rating is back
    assert list(home.glob("state.sqlite3.damaged-*"))  # the damaged file is kept, aside
    assert cli(home, "status").exit_code == 0


def test_without_a_backup_the_fix_says_how_to_start_over(home):
    (home / "state.sqlite3.backup").unlink()
    state = home / "state.sqlite3"
    state.write_bytes(b"")
    os.utime(state, (time.time() - 3600,) * 2)  # emptied an hour ago, found now
    result = cli(home, "status")
    assert result.exit_code == 2 and "no backup" in result.stderr
    assert "mv " in result.stderr  # start a new state by hand, knowingly
    assert cli(home, "doctor", "--restore-state").exit_code == 2


def test_opening_the_state_again_keeps_this_process_writes_visible_to_others(tmp_path):
    """A long-lived process (the MCP server, the daemon) holds connections to state.sqlite3 and
    opens it again (a new PaperAgent checks the file). That check must not drop SQLite's POSIX
    locks: if it did, another process closing its connection would checkpoint and delete the
    WAL under the live writer, and the writer's next rating would be lost to every other
    process (the MCP rating test saw exactly this)."""
    import subprocess
    import sys

    from store.state.reader_signals import SqliteReaderSignals

    db = tmp_path / "state.sqlite3"
    held = SqliteReaderSignals(db)
    assert held.ratings("default") == []
    SqliteReaderSignals(db).close()  # the same process opens (and checks) the file again
    reader = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
    touch = reader + "c.execute('SELECT COUNT(*) FROM ratings').fetchall(); c.close()"
    subprocess.run([sys.executable, "-c", touch, str(db)], check=True)
    held.rate("default", PAPER, 1, "Sparse Routing")
    seen = subprocess.run(
        [sys.executable, "-c", reader + "print(c.execute('SELECT COUNT(*) FROM ratings')"
         ".fetchone()[0])", str(db)], capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert seen.stdout.strip() == "1"
    assert [r.paper_id for r in held.ratings("default")] == [PAPER]
    held.close()
