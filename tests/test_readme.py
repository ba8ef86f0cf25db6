"""The README's promises: its two commands (and .ci/run running the test one), a short page whose
links, file names, settings and Python examples are real, and a command reference that matches
the code."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.config import Settings
from cli.reference import REFERENCE, document

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
GUIDE = (REPO / "cli" / "GUIDE.md").read_text(encoding="utf-8")
CI = (REPO / ".ci" / "run").read_text(encoding="utf-8")
DEMO = REPO / "agent" / "data" / "demo_corpus.jsonl"


def blocks(lang: str, text: str = README) -> list[str]:
    return [b.strip() for b in re.findall(rf"```{lang}\n(.*?)```", text, re.DOTALL)]


def section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_readme_starts_with_the_two_commands_and_ci_runs_the_test_one():
    first, second = blocks("bash")[:2]
    assert "pip install -e ." in first and first.endswith("paperbrief demo")
    # A newcomer's install: the test extra only, nothing that compiles for minutes.
    assert '".[test]"' in second and "local-llm" not in second and second.endswith("pytest")
    ci = CI.splitlines()
    assert "set -euo pipefail" in ci and second in ci
    # Then CI installs the real-model extra and runs those tests too.
    step2 = CI.split(second, 1)[1]
    assert '".[test,local-llm]"' in step2 and "pytest -m local_llm" in step2


def test_readme_is_a_page_a_person_reads():
    assert len(README.encode("utf-8")) < 20_000
    assert "╭─" not in README, "help boxes belong in cli/REFERENCE.md"


def test_command_reference_is_generated_from_the_code():
    assert REFERENCE.read_text(encoding="utf-8") == document(), (
        "a command's --help changed: run python -m cli.reference --write"
    )
    assert "(cli/REFERENCE.md)" in README


def test_relative_links_and_images_exist():
    targets = re.findall(r"\]\(([^)#]+)\)", README)
    local = [t for t in targets if "://" not in t]
    assert "cli/REFERENCE.md" in local and any(t.endswith(".png") for t in local)
    assert "cli/GUIDE.md" in local
    for target in local:
        assert (REPO / target).exists(), target
    for target in re.findall(r"\]\(([^)#:]+)\)", GUIDE):  # the guide's, from cli/
        assert (REPO / "cli" / target).exists(), target


def test_architecture_names_files_and_functions_that_exist():
    text = section("Architecture")
    paths = re.findall(r"`((?:agent|store|prompts|cli)/[\w/]*(?:\.py)?)`", text)
    assert len(paths) >= 15
    for path in paths:
        assert (REPO / path).exists(), path
    # The table names the function where each refusal is decided, next to its file.
    for path, name in re.findall(r"`([\w/]+\.py)` \(`(\w+)`\)", text):
        assert re.search(rf"^(async )?def {name}\(", (REPO / path).read_text(), re.M), (path, name)


def _smtp_fields() -> list[str]:
    group = Settings.model_fields["smtp"].annotation
    return list(group.model_fields)  # type: ignore[union-attr]


def test_every_smtp_setting_is_documented_with_its_variable():
    text = section("Configuration")
    fields = _smtp_fields()
    assert {"host", "port", "user", "password", "security", "ca_file", "timeout"} <= set(fields)
    for field in fields:
        assert f"| `{field}` | `PAPERBRIEF_SMTP__{field.upper()}` |" in text, field
    for mode in ("starttls", "tls", "none"):
        assert f"`{mode}`" in text
    assert "OPENAI_BASE_URL" in text and "PAPERBRIEF_LLM_BASE_URL" in text


def test_every_config_example_loads(tmp_path: Path):
    first, *others = blocks("toml") + blocks("toml", GUIDE)
    path = tmp_path / "config.toml"
    path.write_text(first + "\n", encoding="utf-8")
    settings = Settings.load(config=path)
    assert settings.llm.base_url == "http://localhost:11434/v1"
    assert settings.smtp.host == "smtp.example.org" and settings.smtp.to == ["me@example.org"]
    assert settings.arxiv.categories == ["cs.LG", "cs.CL"]
    # The snippets a user copies for chat and the feed load as written.
    loaded = []
    for snippet in others:
        path.write_text(snippet + "\n", encoding="utf-8")
        loaded.append(Settings.load(config=path).digest)
    assert any(len(d.webhooks) == 7 for d in loaded)
    assert any(d.feed_entries == 50 and d.feed_path for d in loaded)


def _recent_demo_corpus(path: Path) -> None:
    """The demo corpus with its dates moved so the newest paper is a day old: the examples'
    "since 7d" windows hold papers whatever the date the test runs on."""
    rows = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines()]
    newest = max(datetime.fromisoformat(r["published"].replace("Z", "+00:00")) for r in rows)
    shift = datetime.now(UTC) - timedelta(days=1) - newest
    for row in rows:
        published = datetime.fromisoformat(row["published"].replace("Z", "+00:00")) + shift
        row["published"] = published.isoformat()
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.mark.timeout(600)
def test_python_examples_run_as_written(tmp_path: Path):
    examples = blocks("python")
    assert examples, "the README shows Python use"
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    _recent_demo_corpus(work / "papers.jsonl")
    # conftest.py already cleared PAPERBRIEF_* / OPENAI_* and pointed XDG dirs at a temp dir:
    # no config, no LLM, no network; "~" is the temp home.
    env = {**os.environ, "HOME": str(home)}
    for n, code in enumerate(examples, 1):
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=work, env=env, capture_output=True, text=True,
            timeout=500,
        )  # fmt: skip
        assert result.returncode == 0, f"README python block {n}:\n{result.stderr[-3000:]}"
        assert "demo-00" in result.stdout, (n, result.stdout)
    assert (home / "papers").is_dir(), "the examples' store lives under ~/papers"


def test_the_mcp_client_config_is_valid_json_that_starts_the_server():
    (snippet,) = blocks("json", GUIDE)
    server = json.loads(snippet)["mcpServers"]["paperbrief"]
    assert (server["command"], server["args"]) == ("paperbrief", ["mcp"])
    assert "## `paperbrief mcp`" in REFERENCE.read_text(encoding="utf-8")
