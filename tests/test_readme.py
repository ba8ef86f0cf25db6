"""The README's promises: its two commands, .ci/run running the test one, and a CLI reference
that matches the code."""

from __future__ import annotations

import re
from pathlib import Path

from cli.reference import END, START, render

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def bash_blocks(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", text, re.DOTALL)]


def test_readme_starts_with_the_two_commands_and_ci_runs_the_test_one():
    first, second = bash_blocks(README)[:2]
    assert "pip install" in first and "paperbrief demo" in first
    assert "pip install" in second and "pytest" in second
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert second in ci.splitlines()


def test_cli_reference_is_generated_from_the_code():
    block = README.split(START, 1)[1].split(END, 1)[0].strip()
    assert block == render().strip(), "run: python -m cli.reference --write README.md"
