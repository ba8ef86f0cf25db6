"""Issue 13 (hardening): input that is plain, hostile or wrong gets a clear answer and the exit
code the README's table promises: lists written plainly, recipients parsed as addresses, terminal
escapes in titles and answers, the --out temporary file, credentials in URLs, bad files and
paths (exit 2, never a traceback or 70)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from httpserver import unused_port
from smtpserver import smtp_server
from typer.testing import CliRunner

from agent.config import Settings
from agent.digest.models import Digest, DigestPaper
from agent.digest.render import write_digest
from agent.errors import ConfigError, InputError, LockedError
from agent.models import RunReport, SourceReport
from agent.pipeline import PaperAgent
from agent.sources.base import FetchRequest
from cli.main import EXIT_UNEXPECTED, app
from cli.output import clean

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
HOSTILE_TITLE = "\x1b]0;pwned\x07\x1b[31mRed\x1b[0m Sparse Routing \x9b2J for Long Contexts"
HOSTILE = {
    "id": "2401.00001",
    "title": HOSTILE_TITLE,
    "abstract": "We study routing in sparse mixture-of-experts transformers when the context "
    "reaches 128k tokens. \x1b]8;;http://evil.example\x07click here\x1b]8;;\x07 Our router "
    "improves accuracy by 4 points while using fewer FLOPs than dense baselines.",
    "authors": ["Ada \x1b[5mLovelace"],
    "categories": ["cs.CL"],
    "published": "2026-11-20T00:00:00Z",
    "url": "https://arxiv.org/abs/2401.00001",
}
TERMINAL_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def cli(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)


@pytest.fixture(scope="module")
def hostile_home(tmp_path_factory, minilm) -> Path:
    """A store holding one paper whose title, abstract and authors carry terminal escapes."""
    home = tmp_path_factory.mktemp("hostile")
    path = home.parent / "hostile.jsonl"
    path.write_text(json.dumps(HOSTILE) + "\n", encoding="utf-8")
    with PaperAgent(Settings(home=home), embedder=minilm) as agent:
        assert agent.ingest(request=FetchRequest(path=path)).ok
    return home


# --- 8: plain values where a list is expected; exit 2, not 70 ------------------------------------
def test_plain_values_in_list_variables_are_lists(monkeypatch, tmp_path):
    monkeypatch.setenv("PAPERBRIEF_EMAIL_TO", "me@x.org")
    monkeypatch.setenv("PAPERBRIEF_SOURCES", "arxiv-rss, hf")
    monkeypatch.setenv("PAPERBRIEF_DIGEST__SEED_IDS", "2401.00001")  # an id, not the number 2401.0
    monkeypatch.setenv("PAPERBRIEF_INTERESTS", "graph networks, for chemistry")  # free text: one
    settings = Settings.load()
    assert settings.smtp.to == ["me@x.org"]
    assert settings.sources == ["arxiv-rss", "hf"]
    assert settings.digest.seed_ids == ["2401.00001"]
    assert settings.digest.interests == ["graph networks, for chemistry"]
    monkeypatch.setenv("PAPERBRIEF_SMTP__TO", '"Doe, John" <john@example.org>, b@example.org')
    assert Settings.load().smtp.to == ['"Doe, John" <john@example.org>', "b@example.org"]
    config = tmp_path / "c.toml"
    config.write_text('[arxiv]\ncategories = "cs.LG,cs.CL"\n', encoding="utf-8")
    assert Settings.load(config).arxiv.categories == ["cs.LG", "cs.CL"]


def test_plain_list_variables_through_the_cli(tmp_path):
    env = {"PAPERBRIEF_EMAIL_TO": "me@x.org", "PAPERBRIEF_SOURCES": "arxiv-rss,hf"}
    result = cli("--home", str(tmp_path / "h"), "config", "show", "--json", env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["sources"] == ["arxiv-rss", "hf"] and data["smtp"]["to"] == ["me@x.org"]


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("PAPERBRIEF_SOURCES", '["arxiv-rss"', "PAPERBRIEF_SOURCES is not valid JSON"),
        ("PAPERBRIEF_LLM__PRICES", "cheap", "PAPERBRIEF_LLM__PRICES is not valid JSON"),
        ("PAPERBRIEF_SMTP__TO", "Doe, John <john@example.org>", "'Doe'"),
        ("PAPERBRIEF_EMAIL_TO", "me@x.org\r\nBcc: evil@x.org", "control characters"),
    ],
)
def test_bad_variables_exit_2_naming_them(tmp_path, name, value, said):
    result = cli("--home", str(tmp_path / "h"), "config", "show", env={name: value})
    assert result.exit_code == 2, result.output
    assert said in " ".join(result.output.split()) and "Traceback" not in result.output


def test_a_home_that_is_a_file_exits_2(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("not a directory", encoding="utf-8")
    for home in (afile, afile / "below"):
        result = cli("--home", str(home), "search", "anything")
        assert result.exit_code == 2, result.output
        assert "is a file, not a directory" in " ".join(result.output.split())
    with pytest.raises(ConfigError, match="--home"):
        Settings.load(home=afile)


def test_out_that_is_a_directory_or_cannot_be_written_exits_2(tmp_path):
    home = str(tmp_path / "h")
    folder = tmp_path / "digest.html"
    folder.mkdir()
    result = cli("--home", home, "digest", "--out", str(folder))
    assert result.exit_code == 2, result.output
    assert "is a directory" in result.output
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a directory should be", encoding="utf-8")
    result = cli("--home", home, "digest", "--out", str(blocker / "digest.html"))
    assert result.exit_code == 2, result.output
    assert "Cannot write" in " ".join(result.output.split()) and "Traceback" not in result.output


def test_a_bad_input_file_exits_2_like_any_bad_input(tmp_path):
    bad = tmp_path / "cut.jsonl"
    bad.write_text('{"title": "A", "abstract": "B"}\n{"title": "C", "abs', encoding="utf-8")
    result = cli("--home", str(tmp_path / "h"), "ingest", "--file", str(bad))
    assert result.exit_code == 2, result.output
    assert "line 2" in result.output
    missing = cli("--home", str(tmp_path / "h"), "ingest", "--file", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 2, missing.output


def test_the_readme_exit_code_table_is_what_the_code_returns():
    rows = dict(re.findall(r"^\| (\d+) \| (.+) \|$", README.split("## Exit codes", 1)[1], re.M))
    assert sorted(map(int, rows)) == [0, 1, 2, 3, 70]
    assert "bad input" in rows["2"] and "--out" in rows["2"] and "--home" in rows["2"]
    assert ConfigError("x").exit_code == InputError("x").exit_code == 2
    assert LockedError("x").exit_code == 3 and EXIT_UNEXPECTED == 70
    failed = SourceReport(source="hf", status="failed")
    assert RunReport(step="ingest", sources=[failed]).exit_code == 1
    bad_file = SourceReport(source="file", status="failed", bad_input=True)
    assert RunReport(step="ingest", sources=[failed, bad_file]).exit_code == 2
    assert RunReport(step="ingest", sources=[SourceReport(source="hf")]).exit_code == 0


# --- 10: recipients are addresses, never comma-split ---------------------------------------------
def smtp_env(port: int) -> dict[str, str]:
    return {
        "PAPERBRIEF_SMTP__HOST": "127.0.0.1",
        "PAPERBRIEF_SMTP__PORT": str(port),
        "PAPERBRIEF_SMTP__SECURITY": "none",
        "PAPERBRIEF_SMTP__FROM_ADDR": "pb@example.org",
    }


def test_a_display_name_with_a_comma_is_one_recipient(tmp_path):
    home = str(tmp_path / "h")
    with smtp_server() as (sink, port):
        sent = cli("--home", home, "digest", "--email", '"Doe, John" <john@example.org>',
                   env=smtp_env(port))  # fmt: skip
        assert sent.exit_code == 0, sent.output
        assert [e.rcpt_tos for e in sink.envelopes] == [["john@example.org"]]
        to = sink.messages()[0]["To"]
        assert [a.addr_spec for a in to.addresses] == ["john@example.org"]
        assert to.addresses[0].display_name == "Doe, John"
        # Unquoted, it is "Doe" and "John <john@example.org>": refused, nothing sent.
        refused = cli("--home", home, "digest", "--email", "Doe, John <john@example.org>",
                      env=smtp_env(port))  # fmt: skip
        assert refused.exit_code == 2, refused.output
        assert "'Doe'" in refused.output and "not an e-mail address" in refused.output
        assert len(sink.envelopes) == 1
        # The daily job checks --email before it fetches anything.
        offline = {"PAPERBRIEF_ARXIV__RSS_URL": f"http://127.0.0.1:{unused_port()}/rss",
                   "PAPERBRIEF_HTTP__RETRIES": "0", **smtp_env(port)}  # fmt: skip
        daily = cli("--home", home, "run", "--email", "Doe, John <john@example.org>", env=offline)
        assert daily.exit_code == 2, daily.output
        assert "'Doe'" in daily.output and "rss" not in daily.output.lower()
        assert len(sink.envelopes) == 1


# --- 14: terminal escapes in untrusted text ------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\x1b[31mRed\x1b[0m title", "Red title"),
        ("\x1b]0;retitled\x07Title", "Title"),
        ("\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\ text", "link text"),
        ("a\x9b2Jb \x9d0;t\x9cc", "ab c"),
        ("\x1b\\]0;pwned\x07\x1b\\[31mRed", "Red"),  # as Markdown escapes it in an answer
        ("keeps\ttabs\nand newlines\r\n", "keeps\ttabs\nand newlines\n"),
        ("nul\x00 bell\x07 del\x7f", "nul bell del"),
        ("[bold]brackets[/] and ünïcode 漢字", "[bold]brackets[/] and ünïcode 漢字"),
    ],
)
def test_clean_removes_whole_sequences_and_keeps_text(text, expected):
    assert clean(text) == expected


def test_clean_one_line_folds_line_breaks():
    assert (
        clean("  A\ntitle\r\n\x1b[1mwith\x1b[0m\tbreaks ", one_line=True) == "A title with breaks"
    )


@pytest.mark.parametrize(
    "args",
    [("search", "sparse routing"), ("show", "2401.00001"),
     ("ask", "what does sparse routing improve?", "--no-stream"),
     ("search", "sparse routing", "--json"), ("ask", "what does sparse routing improve?", "--json"),
     ("digest", "--since", "2026-11-19", "--until", "2026-11-26", "--dry-run")],
)  # fmt: skip
def test_titles_answers_and_abstracts_reach_the_terminal_inert(hostile_home, args):
    result = CliRunner().invoke(app, ["--home", str(hostile_home), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert not TERMINAL_CONTROL.search(out), f"control characters reached the terminal: {out!r}"
    if "--json" in args:
        assert "\\u001b]0;pwned" in out and "\\u009b" in out  # the data, escaped, not lost
    elif "digest" in args:
        # The digest's text (also the mail's plain part) blanks control characters itself.
        assert "Sparse Routing" in out
    else:
        assert "Red Sparse Routing" in out and "pwned" not in out and "[31m" not in out


# --- 15: --out never writes through a planted symlink --------------------------------------------
def small_digest() -> Digest:
    paper = DigestPaper(id="2401.00001", title="Plain", url="https://arxiv.org/abs/2401.00001",
                        authors_short="Ada Lovelace", tldr="It works.")  # fmt: skip
    return Digest(id="t1", created_at=datetime(2026, 11, 24, 6, tzinfo=UTC), papers=[paper])


def test_out_ignores_a_symlink_planted_at_the_old_temporary_name(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    out = tmp_path / "digest.md"
    (tmp_path / "digest.md.tmp").symlink_to(victim)
    write_digest(small_digest(), out)
    assert victim.read_text(encoding="utf-8") == "precious"
    assert "Plain" in out.read_text(encoding="utf-8") and not out.is_symlink()
    leftovers = sorted(p.name for p in tmp_path.iterdir())
    assert leftovers == ["digest.md", "digest.md.tmp", "victim.txt"]  # no temporary file left


def test_out_replaces_a_symlink_at_the_target_instead_of_writing_through_it(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    out = tmp_path / "digest.md"
    out.symlink_to(victim)
    write_digest(small_digest(), out)
    assert victim.read_text(encoding="utf-8") == "precious" and not out.is_symlink()


# --- 16: credentials inside URLs are masked -------------------------------------------------------
def test_config_show_masks_credentials_inside_urls(tmp_path):
    env = {
        "PAPERBRIEF_LLM__BASE_URL": "https://alice:s3cret-pw@llm.example.org/v1",
        "PAPERBRIEF_STORE__CHROMA_URL": "http://tok3n-only@chroma.example.org:8000",
        "PAPERBRIEF_HF__API_URL": "https://huggingface.co/api/daily_papers",
    }
    home = str(tmp_path / "h")
    table = cli("--home", home, "config", "show", env={**env, "COLUMNS": "250"})
    data = cli("--home", home, "config", "show", "--json", env=env)
    assert table.exit_code == data.exit_code == 0, table.output
    for shown in (table.output, data.stdout):
        assert "s3cret-pw" not in shown and "tok3n-only" not in shown
    settings = json.loads(data.stdout)
    assert settings["llm"]["base_url"] == "https://alice:****@llm.example.org/v1"
    assert settings["store"]["chroma_url"] == "http://****@chroma.example.org:8000"
    assert settings["hf"]["api_url"] == "https://huggingface.co/api/daily_papers"


def test_errors_and_logs_that_quote_a_url_mask_its_credentials(tmp_path):
    # an unreachable feed whose URL carries a login: the failure names the URL, not the password
    env = {
        "PAPERBRIEF_ARXIV__RSS_URL": f"http://reader:s3cret-pw@127.0.0.1:{unused_port()}/rss",
        "PAPERBRIEF_HTTP__RETRIES": "1",
        "PAPERBRIEF_HTTP__BACKOFF": "0",
        "COLUMNS": "250",
    }
    result = cli("--home", str(tmp_path / "h"), "-v", "ingest", "-s", "arxiv-rss", env=env)
    assert result.exit_code == 1, result.output
    assert "GET http://reader:****@127.0.0.1:" in result.output  # the retry's log line
    assert "could not reach 127.0.0.1:" in result.output  # the error names the host only
    assert "s3cret-pw" not in result.output
