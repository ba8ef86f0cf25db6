"""Shared fixtures: every test runs with a clean environment and its own data/config dirs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO.parent / "shared" / "samples"
DEMO_CORPUS = REPO / "agent" / "data" / "demo_corpus.jsonl"


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


@pytest.fixture
def samples() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip("../shared/samples is not present in this checkout")
    return SAMPLES
