"""The README's CLI reference, generated from the commands' own ``--help``.

``python -m cli.reference`` prints it; ``python -m cli.reference --write README.md`` replaces the
block between the markers. A test keeps README and code in sync.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

START, END = "<!-- cli-reference:start -->", "<!-- cli-reference:end -->"
WIDTH = "100"


def _commands() -> list[list[str]]:
    import typer

    from cli.main import app

    root = typer.main.get_command(app)
    paths: list[list[str]] = [[]]
    for name, cmd in sorted(root.commands.items()):  # type: ignore[attr-defined]
        paths.append([name])
        for sub in sorted(getattr(cmd, "commands", {}) or {}):
            paths.append([name, sub])
    return paths


def render() -> str:
    from typer.testing import CliRunner

    from cli.main import app

    env = {"COLUMNS": WIDTH, "NO_COLOR": "1", "TERM": "dumb"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        runner = CliRunner()
        blocks = []
        for path in _commands():
            result = runner.invoke(app, [*path, "--help"], prog_name="paperbrief")
            text = "\n".join(line.rstrip() for line in result.output.strip().splitlines())
            title = " ".join(["paperbrief", *path])
            blocks.append(f"### `{title}`\n\n```text\n{text}\n```\n")
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return "\n".join(blocks)


def splice(readme: str, reference: str) -> str:
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(readme):
        raise SystemExit(f"README has no {START} ... {END} block")
    return pattern.sub(lambda _: f"{START}\n{reference}\n{END}", readme)


def main(argv: list[str]) -> int:
    reference = render()
    if len(argv) == 2 and argv[0] == "--write":
        path = Path(argv[1])
        path.write_text(splice(path.read_text(encoding="utf-8"), reference), encoding="utf-8")
        return 0
    sys.stdout.write(reference)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
