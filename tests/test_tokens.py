from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from agent.llm.tokens import (
    EXPECTED_SHA256,
    TokenCounter,
    cache_key,
    encoding_for_model,
    ensure_offline_bpe,
)


def test_expected_hashes_are_the_ones_tiktoken_checks():
    source = resources.files("tiktoken_ext").joinpath("openai_public.py").read_text()
    for name, digest in EXPECTED_SHA256.items():
        block = re.search(rf"{name}\.tiktoken\",\s*expected_hash=\"([0-9a-f]+)\"", source)
        assert block, name
        assert block.group(1) == digest
        url = re.search(rf"\"(https://[^\"]+/{name}\.tiktoken)\"", source).group(1)
        assert cache_key(name) == hashlib.sha1(url.encode()).hexdigest()


def test_installs_verified_files_and_points_tiktoken_at_them(tmp_path: Path):
    target = ensure_offline_bpe(tmp_path / "cache")
    assert os.environ["TIKTOKEN_CACHE_DIR"] == str(target)
    for name, digest in EXPECTED_SHA256.items():
        data = (target / cache_key(name)).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest


def test_a_corrupted_cache_file_is_replaced(tmp_path: Path):
    target = tmp_path / "c2"
    target.mkdir()
    bad = target / cache_key("cl100k_base")
    bad.write_bytes(b"garbage")
    ensure_offline_bpe(target, encodings=["cl100k_base"])
    assert hashlib.sha256(bad.read_bytes()).hexdigest() == EXPECTED_SHA256["cl100k_base"]


@pytest.mark.parametrize("encoding", ["o200k_base", "cl100k_base"])
def test_tiktoken_loads_offline_from_a_fresh_cache(tmp_path: Path, encoding: str):
    # A fresh interpreter, an empty cache dir and a dead proxy: any download attempt fails,
    # so this passes only through the files we ship.
    code = (
        "import sys; from pathlib import Path; from agent.llm.tokens import get_encoding;"
        f"enc = get_encoding({encoding!r}, Path(sys.argv[1]));"
        "print(len(enc.encode('Tokens, counted offline.')))"
    )
    env = {
        **os.environ,
        "TIKTOKEN_CACHE_DIR": str(tmp_path / "unused"),
        "DATA_GYM_CACHE_DIR": str(tmp_path / "unused2"),
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
    }
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "fresh")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert 3 <= int(out.stdout) <= 8
    assert not (tmp_path / "unused").exists()


def test_counter_counts_text_and_chat_messages(tmp_path: Path):
    counter = TokenCounter("gpt-4o-mini", cache_dir=tmp_path)
    n = counter.count("hello world")
    assert n == 2
    msgs = [("system", "Be brief."), ("user", "hello world")]
    total = counter.count_messages(msgs)
    assert total > counter.count("Be brief.") + n  # role tokens and framing are counted too


def test_encoding_per_model_family():
    assert encoding_for_model("gpt-4o-mini") == "o200k_base"
    assert encoding_for_model("gpt-4-0613") == "cl100k_base"
    assert encoding_for_model("gpt-3.5-turbo") == "cl100k_base"
    assert encoding_for_model("llama3.1:8b") == "o200k_base"
