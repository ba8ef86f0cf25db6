"""Issue 25, item 8: binary junk given to `ingest --file` is bad input (exit 2, the file named,
nothing stored), never a bug (exit 70): NUL bytes, JSON nested past the parser's depth, a number
too long to convert."""

from __future__ import annotations

import random

import pytest
from typer.testing import CliRunner

from cli.main import app


def ascii_junk() -> bytes:
    rng = random.Random(1)
    return bytes(rng.randrange(0, 128) for _ in range(20_000))


JUNK = {
    "junk.atom": (ascii_junk(), "NUL bytes"),
    "junk.txt": (ascii_junk(), "NUL bytes"),
    "junk.jsonl": (ascii_junk(), "NUL bytes"),
    "junk.csv": (ascii_junk(), "NUL bytes"),
    "deep.json": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    "deep.jsonl": (b'{"a":' * 50_000 + b"1" + b"}" * 50_000 + b"\n", "nested too deeply"),
    "bignum.jsonl": (
        b'{"title": "t", "abstract": "x", "published": 1' + b"0" * 5000 + b"}\n",
        "a number too long",
    ),
}


@pytest.mark.parametrize("name", sorted(JUNK))
def test_junk_is_bad_input_not_a_bug(tmp_path, name):
    data, problem = JUNK[name]
    path = tmp_path / name
    path.write_bytes(data)
    home = tmp_path / "home"
    result = CliRunner().invoke(app, ["--home", str(home), "ingest", "--file", str(path)],
                                env={"COLUMNS": "300"})  # fmt: skip
    assert result.exit_code == 2, (result.output, result.exception)
    assert name in result.stderr and problem in result.stderr, result.stderr
    status = CliRunner().invoke(app, ["--home", str(home), "status", "--json"])
    assert '"papers": 0' in status.stdout
