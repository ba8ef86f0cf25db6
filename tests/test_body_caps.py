"""Issue 25, item 5: every body read from a source has a size cap (``http.max_bytes``) and an
overall deadline (``http.deadline``), and a library file has an input cap. A 500 MB Hugging Face
answer is not read whole, a feed sent a byte a second is given up on, a 50 MB .bib is refused at
once; each names the setting or the fix."""

from __future__ import annotations

import time

import pytest
from httpserver import LocalHTTPServer, Resp
from typer.testing import CliRunner

from agent.config import Settings
from cli.main import app

MB = 1_000_000
CAP = 50 * MB  # the default http.max_bytes


def ingest(tmp_path, *args: str, env: dict[str, str]):
    started = time.monotonic()
    result = CliRunner().invoke(
        app,
        ["--home", str(tmp_path / "home"), "ingest", *args],
        env={"COLUMNS": "250", "PAPERBRIEF_HTTP__RETRIES": "2", "PAPERBRIEF_HTTP__BACKOFF": "0",
             **env},
    )  # fmt: skip
    return result, time.monotonic() - started


def endless_json(total: int):
    def chunks():
        yield b'[{"paper": {"id": "2611.00001", "title": "'
        for _ in range(total // MB):
            yield b"x" * MB

    return chunks


@pytest.mark.parametrize("declared", [False, True], ids=["no-length", "content-length"])
def test_a_500_mb_hf_answer_is_not_read_whole(tmp_path, declared):
    assert Settings().http.max_bytes == CAP
    with LocalHTTPServer() as srv:
        body = Resp(200, chunks=endless_json(500 * MB), length=500 * MB if declared else None,
                    headers={"Content-Type": "application/json"})  # fmt: skip
        srv.route("/api/daily_papers", [body])
        env = {"PAPERBRIEF_HF__API_URL": srv.url("/api/daily_papers")}
        result, seconds = ingest(tmp_path, "-s", "hf", env=env)
        sent = srv.sent
        asked = len(srv.requests)
    assert result.exit_code == 1, result.output
    assert "larger than 50,000,000 bytes" in result.stderr
    assert "PAPERBRIEF_HTTP__MAX_BYTES" in result.stderr
    assert asked == 1  # not retried: it would only be as large again
    assert sent < (5 * MB if declared else CAP + 20 * MB)  # socket buffers, not the 500 MB
    assert seconds < 30


def test_a_feed_sent_a_byte_a_second_is_given_up_at_the_deadline(tmp_path):
    with LocalHTTPServer() as srv:
        srv.route("/rss/cs.LG", [Resp(200, b"<rss>" + b" " * 100 + b"</rss>", drip=0.5)])
        env = {
            "PAPERBRIEF_ARXIV__RSS_URL": srv.url("/rss"),
            "PAPERBRIEF_ARXIV__CATEGORIES": "cs.LG",
            "PAPERBRIEF_ARXIV__MIN_INTERVAL": "0",
            "PAPERBRIEF_HTTP__DEADLINE": "2",
        }
        result, seconds = ingest(tmp_path, "-s", "arxiv-rss", env=env)
        asked = len(srv.requests)
    assert result.exit_code == 1, result.output
    assert "still arriving after 2 s" in result.stderr
    assert "PAPERBRIEF_HTTP__DEADLINE" in result.stderr
    assert asked == 1 and seconds < 15


def test_a_50_mb_bib_file_is_refused_at_once(tmp_path):
    entry = (
        "@article{key%07d,\n  title = {A Title About Sparse Attention},\n"
        "  abstract = {%s},\n  year = {2024}\n}\n"
    )
    path = tmp_path / "huge.bib"
    with path.open("w", encoding="utf-8") as out:
        n = 0
        while out.tell() < 50 * MB:
            out.write(entry % (n, "words " * 300))
            n += 1
    started = time.monotonic()
    result = CliRunner().invoke(
        app, ["--home", str(tmp_path / "home"), "library", "import", str(path)],
        env={"COLUMNS": "250"},
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert time.monotonic() - started < 10
    assert "MB limit" in result.stderr and "huge.bib" in result.stderr
