"""Cold start of `search` and `ask`: a fresh process imports only what the question needs, the
query tokenizer matches the documents' (bm25s) tokenization without importing bm25s, and
PAPERBRIEF_PROFILE_STARTUP=1 prints where the time went."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Never needed to answer from the store without a model: each costs 0.2-2 s of import.
NOT_NEEDED = (
    "openai",
    "langchain_core",
    "langchain_openai",
    "sklearn",
    "bm25s",
    "scipy",
    "tiktoken",
)

#: Runs the CLI in a child and writes {"code", "modules"} to the file named by argv[2]
#: (tests/test_daemon.py runs its clients with it too).
CLI_CHILD = """
import json, sys
from cli.main import app
out = sys.argv[2]
sys.argv = ["paperbrief", *json.loads(sys.argv[1])]
try:
    app()
except SystemExit as exc:
    code = exc.code or 0
else:
    code = 0
with open(out, "w") as f:
    json.dump({"code": code, "modules": sorted(sys.modules)}, f)
"""


def _cli(tmp_path: Path, home: Path, *args: str, env: dict | None = None):
    out = tmp_path / "modules.json"
    config = tmp_path / "empty.toml"
    config.write_text("")
    run_env = {**os.environ, "PAPERBRIEF_CONFIG": str(config), **(env or {})}
    done = subprocess.run(
        [sys.executable, "-c", CLI_CHILD, json.dumps(["--home", str(home), *args]), str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=run_env,
        timeout=120,
        check=False,
    )
    result = json.loads(out.read_text())
    return done, result["code"], {m.split(".")[0] for m in result["modules"]}


@pytest.mark.slow  # two fresh processes load Chroma and MiniLM: ~3 s each on a quiet machine
@pytest.mark.parametrize(
    "args",
    [
        ("search", "legged robots learning to walk", "--k", "3"),
        ("ask", "How do quadruped robots learn to walk?", "--no-stream"),
    ],
    ids=["search", "ask"],
)
def test_search_and_ask_import_only_what_they_need(qa_store, tmp_path, args):
    done, code, modules = _cli(tmp_path, qa_store.home, *args)
    assert code == 0, done.stderr
    assert done.stdout.strip()  # they answered
    assert {"chromadb", "onnxruntime"} <= modules  # the check sees real imports
    assert sorted(modules & set(NOT_NEEDED)) == []


@pytest.mark.slow
def test_profile_flag_prints_the_phases(qa_store, tmp_path):
    done, code, _ = _cli(
        tmp_path, qa_store.home, "search", "walking robots", env={"PAPERBRIEF_PROFILE_STARTUP": "1"}
    )
    assert code == 0, done.stderr
    report = done.stderr.split("paperbrief startup profile")[1]
    for name in ("chromadb import", "collections open", "query embedding", "dense query",
                 "BM25 query", "fetching records", "total"):  # fmt: skip
        assert name in report
    assert "startup profile" not in _cli(tmp_path, qa_store.home, "search", "robots")[0].stderr


def test_query_tokens_match_bm25s_tokenize():
    """The documents are tokenized by bm25s; a query tokenized any other way would miss them."""
    import bm25s
    from bm25s.stopwords import STOPWORDS_EN
    from day_corpus import day_papers

    from store.bm25 import tokens as bm25_tokens

    assert bm25_tokens.english_stopwords() == frozenset(STOPWORDS_EN)
    stop = sorted(set(STOPWORDS_EN) | bm25_tokens._QUERY_ONLY_STOPWORDS)
    queries = ["", "the", "a b c", "Which papers use reanalysis data?", "GPT-4o's 3D-CNN",
               "Über naïve CAFÉ résumé x_y 1x", "what what is is reasoning reasoning"]  # fmt: skip
    for p in day_papers(60, day=datetime(2026, 1, 5, tzinfo=UTC)):
        queries += [p["title"], p["abstract"][:300]]
    for q in queries:
        tokens = bm25s.tokenize(
            [q], stopwords=stop, stemmer=bm25_tokens._stemmer(), return_ids=False,
            show_progress=False,
        )[0]  # fmt: skip
        assert bm25_tokens.tokenize_query(q) == list(dict.fromkeys(tokens)), q
