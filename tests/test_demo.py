"""`paperbrief demo` on the shipped corpus: offline, no key, everything written where it says."""

from __future__ import annotations

import re
from html import unescape

from typer.testing import CliRunner

from cli.main import app


def test_demo_runs_offline_and_writes_a_themed_digest(tmp_path):
    demo_home = tmp_path / "demo"
    result = CliRunner().invoke(
        app,
        ["--home", str(tmp_path / "home"), "demo", "--demo-home", str(demo_home)],
        catch_exceptions=False,
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "ingested 48 new / 48 fictional papers" in result.stdout
    assert "extractive engine" in result.stdout
    html = (demo_home / "demo-digest.html").read_text(encoding="utf-8")
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())
    assert "30 of 48 new papers" in text  # 30 shown in detail, the other 18 counted
    themes = re.search(r"30 of 48 papers shown in (\d+) themes", result.stdout)
    assert themes and 3 <= int(themes.group(1)) <= 8
    assert "IcoCast" in text  # a paper title from the corpus made it into the digest
    assert (demo_home / "demo-digest.md").exists()
    # Two questions answered, each with at least one citation, and the real store untouched.
    assert result.stdout.count("[1] ") >= 2
    assert not (tmp_path / "home" / "chroma").exists()
