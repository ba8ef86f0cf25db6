"""Issue 25, items 6 and 8: a home on a full disk or a read-only one. Each command says what is
wrong with which path and how to fix it (exit 2), instead of blaming another writer or exiting
70. The disks are real: a small tmpfs, mounted in a private mount namespace (``unshare``)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "agent" / "data" / "demo_corpus.jsonl"


def in_namespace(mount: Path, size: str, *commands: list[str], readonly: bool = False):
    """Run ``commands`` (paperbrief argument lists) with a ``size`` tmpfs on ``mount``; the
    last one's CompletedProcess. Skips when this machine cannot make a mount namespace."""
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1) for a private tmpfs")
    setup = f"mount -t tmpfs -o size={size} tmpfs {shlex.quote(str(mount))}"
    if readonly:
        setup += f" && mkdir {shlex.quote(str(mount / 'h'))} && mount -o remount,ro {mount}"
    runs = [shlex.join([sys.executable, "-m", "cli.main", *c]) for c in commands]
    script = " && ".join([setup, *[f'{{ {r}; echo "rc=$?" >&2; }}' for r in runs]])
    probe = subprocess.run(["unshare", "--mount", "--map-root-user", "true"],
                           capture_output=True)  # fmt: skip
    if probe.returncode != 0:
        pytest.skip(f"cannot create a mount namespace here: {probe.stderr.decode().strip()}")
    env = {**os.environ, "COLUMNS": "300", "PAPERBRIEF_SOURCES": "[]"}
    argv = ["unshare", "--mount", "--map-root-user", "sh", "-c", script]
    return subprocess.run(argv, capture_output=True, text=True, cwd=REPO, env=env, timeout=300)


def test_a_full_disk_is_named_with_its_path_and_the_fix(tmp_path):
    home = tmp_path / "h"
    proc = in_namespace(tmp_path, "1m", ["--home", str(home), "ingest", "--file", str(DEMO)])
    err = proc.stderr
    assert "rc=2" in err, err
    assert "disk" in err and "is full" in err and str(tmp_path) in err, err
    assert "another process" not in err and "report it as a bug" not in err
    assert "df -h" in err


@pytest.mark.parametrize(
    "command", [["status"], ["search", "graph networks"], ["ingest", "--file", str(DEMO)]],
    ids=["status", "search", "ingest"],
)  # fmt: skip
def test_a_read_only_home_is_bad_configuration_named_with_the_fix(tmp_path, command):
    home = tmp_path / "h"
    proc = in_namespace(tmp_path, "1m", ["--home", str(home), *command], readonly=True)
    err = proc.stderr
    assert "rc=2" in err, err
    assert "read-only" in err and str(home) in err and "--home" in err, err
    assert "report it as a bug" not in err
