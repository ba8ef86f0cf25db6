"""`paperbrief library import|list|remove` and `paperbrief rate` through the real CLI: exit codes,
--json shapes, and what a reader sees when a file is bad or a name is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from httpserver import unused_port
from typer.testing import CliRunner

from agent.config import Settings
from agent.pipeline import PaperAgent
from cli.main import app

LIBRARY = Path(__file__).parent / "fixtures" / "library"
CONFIG = """
[http]
retries = 0

[arxiv]
api_url = "http://127.0.0.1:{port}/api/query"

[profiles.alice]
interests = ["sequence models"]

[profiles.bob]
interests = ["diffusion"]
"""
EVIL_TITLE = "State [bold red]Spaces[/] for \x1b]0;owned\x07Long \x1b[31mSequences"
PAPERS = [
    {
        "id": "2312.00752",
        "title": "Mamba: Linear-Time Sequence Modeling with Selective State Spaces",
        "abstract": "Foundation models are almost universally based on the Transformer. We let "
        "the state space model parameters be functions of the input.",
        "published": "2023-12-01T00:00:00Z",
    },
    {
        "id": "2401.00009",
        "title": EVIL_TITLE,
        "abstract": "A title that tries to restyle the terminal must be printed as plain text.",
        "published": "2024-01-09T00:00:00Z",
    },
]
IMPORT_KEYS = {"profile", "file", "format", "imported", "new", "duplicates", "skipped", "total"}
ENTRY_KEYS = {"key", "title", "arxiv_id", "doi", "year", "has_abstract", "added_at"}


@pytest.fixture
def cli(tmp_path):
    home, config = tmp_path / "home", tmp_path / "config.toml"
    config.write_text(CONFIG.format(port=unused_port()), encoding="utf-8")
    runner = CliRunner()

    def invoke(*args: str):
        argv = ["--home", str(home), "--config", str(config), *args]
        return runner.invoke(app, argv, catch_exceptions=False)

    invoke.home = home  # type: ignore[attr-defined]
    return invoke


def as_json(result) -> object:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def library(cli, profile: str) -> list[dict]:
    return as_json(cli("library", "list", "--profile", profile, "--json"))


def test_import_json_reports_what_it_did(cli):
    report = as_json(cli("library", "import", str(LIBRARY / "zotero.bib"), "-p", "alice", "--json"))
    assert set(report) == IMPORT_KEYS
    assert (report["profile"], report["format"], report["imported"], report["total"]) == (
        "alice", "bibtex", 9, 9
    )  # fmt: skip
    assert report["duplicates"] == 1
    assert report["skipped"] == [
        {"key": "zotero_attachment_only", "line": 118, "reason": "no title, arXiv id or DOI"}
    ]
    again = as_json(cli("library", "import", str(LIBRARY / "zotero.bib"), "-p", "alice", "--json"))
    assert (again["imported"], again["new"], again["total"]) == (9, 0, 9)


def test_import_with_skips_exits_0_and_names_each_skip(cli):
    result = cli("library", "import", str(LIBRARY / "reading_list.txt"), "--profile", "bob")
    assert result.exit_code == 0, result.output
    assert "skipped line 15: a link that is neither arXiv nor a DOI" in result.stderr
    assert "skipped line 3: arXiv 2312.00752: arXiv could not be asked" in result.stderr
    assert "import the file again when online" in result.stderr
    assert "bob: imported 3 (3 new)" in result.stdout and "8 skipped" in result.stdout
    assert "library size 3" in result.stdout
    assert library(cli, "alice") == [] and len(library(cli, "bob")) == 3


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("unclosed.bib", "unclosed.bib line 9: entry 'smith2020' is not closed properly"),
        ("broken_csl.json", "broken_csl.json line 7: not valid JSON"),
        ("missing_er.ris", "missing_er.ris line 7: record 2 has no `ER  - ` line"),
        ("no_title.csv", "no_title.csv line 1: the header has no Title column"),
        ("bad_ids.txt", "bad_ids.txt line 3: '2106.096' looks like an arXiv id"),
    ],
)
def test_bad_file_exits_2_naming_the_line_and_stores_nothing(cli, name, expected):
    as_json(cli("library", "import", str(LIBRARY / "zotero.csv"), "-p", "alice", "--json"))
    before = library(cli, "alice")
    result = cli("library", "import", str(LIBRARY / name), "-p", "alice")
    assert result.exit_code == 2
    assert " ".join(expected.split()) in " ".join(result.stderr.split())
    assert "Fix:" in result.stderr
    assert result.stdout == ""
    assert library(cli, "alice") == before


def test_missing_file_and_unknown_profile_exit_2(cli, tmp_path):
    result = cli("library", "import", str(tmp_path / "nope.bib"), "-p", "alice")
    assert result.exit_code == 2 and "nope.bib" in result.stderr
    for args in (
        ["library", "import", str(LIBRARY / "zotero.csv"), "-p", "carol"],
        ["library", "list", "-p", "carol"],
        ["library", "remove", "--all", "-p", "carol"],
        ["rate", "2312.00752", "up", "-p", "carol"],
    ):
        result = cli(*args)
        assert result.exit_code == 2, args
        assert "No profile named 'carol'" in result.stderr
        assert "default, alice, bob" in result.stderr


def test_list_shows_each_profiles_library(cli):
    cli("library", "import", str(LIBRARY / "zotero.csv"), "-p", "alice")
    entries = library(cli, "alice")
    assert len(entries) == 3 and all(set(e) == ENTRY_KEYS for e in entries)
    result = cli("library", "list", "-p", "alice")
    assert result.exit_code == 0
    for entry in entries:  # long keys wrap in the table: their start is on one line
        assert entry["key"][:24] in result.stdout and str(entry["year"]) in result.stdout
    assert "3 items" in result.stderr
    empty = cli("library", "list")  # the default profile
    assert empty.exit_code == 0 and "library is empty" in empty.stderr
    assert as_json(cli("library", "list", "--json")) == []


def test_remove_by_key_or_all(cli):
    cli("library", "import", str(LIBRARY / "zotero.bib"), "-p", "alice")
    cli("library", "import", str(LIBRARY / "zotero.csv"), "-p", "bob")
    removing = ("2312.00752", "arxiv:1706.03762")
    out = as_json(cli("library", "remove", *removing, "-p", "alice", "--json"))
    assert out == {"removed": 2, "remaining": 7}
    keys = {e["key"] for e in library(cli, "alice")}
    assert not keys & {"arxiv:2312.00752", "arxiv:1706.03762"}

    unknown = cli("library", "remove", "no-such-key", "-p", "alice")
    assert unknown.exit_code == 2
    assert "'no-such-key' is not in the 'alice' library" in unknown.stderr
    assert cli("library", "remove", "-p", "alice").exit_code == 2  # neither keys nor --all
    assert len(library(cli, "alice")) == 7

    result = cli("library", "remove", "--all", "-p", "alice")
    assert result.exit_code == 0 and "removed 7; 0 left" in result.stdout
    assert library(cli, "alice") == [] and len(library(cli, "bob")) == 3


def ingest(cli, tmp_path: Path) -> None:
    path = tmp_path / "papers.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in PAPERS), encoding="utf-8")
    as_json(cli("ingest", "--file", str(path), "--json"))


def test_rate_up_down_clear_is_stored_per_profile(cli, tmp_path):
    ingest(cli, tmp_path)
    up = as_json(cli("rate", "2312.00752", "up", "--profile", "alice", "--json"))
    assert up == {"profile": "alice", "paper_id": "2312.00752", "title": PAPERS[0]["title"],
                  "value": 1}  # fmt: skip
    assert as_json(cli("rate", "2401.00009", "down", "-p", "alice", "--json"))["value"] == -1
    assert as_json(cli("rate", "2401.00009", "up", "--json"))["profile"] == "default"

    settings = Settings.load(cli.home.parent / "config.toml", home=cli.home)
    with PaperAgent(settings) as agent:  # a later process sees them
        alice = {r.paper_id: r.value for r in agent.signals.ratings("alice")}
        assert alice == {"2312.00752": 1, "2401.00009": -1}
        assert [r.paper_id for r in agent.signals.ratings("bob")] == []

    cleared = cli("rate", "2312.00752", "clear", "-p", "alice")
    assert cleared.exit_code == 0 and "alice: cleared the rating of 2312.00752" in cleared.stdout
    with PaperAgent(settings) as agent:
        assert agent.signals.counts("alice") == {"library": 0, "rated_up": 0, "rated_down": 1}


def test_rate_prints_untrusted_titles_as_plain_text(cli, tmp_path):
    ingest(cli, tmp_path)
    result = cli("rate", "2401.00009", "up", "-p", "bob")
    assert result.exit_code == 0
    line = " ".join(result.stdout.split())
    assert "bob: rated up 2401.00009 State [bold red]Spaces[/] for" in line  # markup not read
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout  # no terminal escapes
    assert "owned" not in line and "Long Sequences" in line  # whole sequences go, text stays


def test_rate_refuses_unknown_ids_and_values(cli, tmp_path):
    ingest(cli, tmp_path)
    unknown = cli("rate", "9999.99999", "up", "-p", "alice")
    assert unknown.exit_code == 2 and "No paper '9999.99999' in the store" in unknown.stderr
    bad = cli("rate", "2312.00752", "sideways", "-p", "alice")
    assert bad.exit_code == 2 and "Unknown rating 'sideways'" in bad.stderr
    assert "`up`, `down` or `clear`" in bad.stderr
