"""The foundation end to end through the CLI: ingest a file, rerun, search, status, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app

PAPERS = [
    {
        "id": "2401.00001",
        "title": "Sparse Mixture-of-Experts Routing for Long-Context Language Models",
        "abstract": "We study routing in sparse mixture-of-experts transformers when the context "
        "reaches 128k tokens. Our router, SlideRoute, assigns tokens to experts using a sliding "
        "window of attention statistics. On the LongBench suite it improves accuracy by 4.1 points "
        "while using 30% fewer FLOPs than dense baselines. We release code and checkpoints.",
        "authors": ["Ada Lovelace", "Alan Turing"],
        "categories": ["cs.CL", "cs.LG"],
        "published": "2026-11-20T00:00:00Z",
    },
    {
        "id": "2401.00002",
        "title": "Graph Neural Networks Predict Solubility of Drug-like Molecules",
        "abstract": "Aqueous solubility decides whether a candidate drug can be absorbed. We "
        "train a message-passing graph neural network on 40,000 measured molecules and reach "
        "a mean absolute error of 0.52 log units on a held-out scaffold split. Attention maps "
        "highlight polar groups that chemists already associate with solubility.",
        "authors": ["Rosalind Franklin"],
        "categories": ["cs.LG", "q-bio.BM"],
        "published": "2026-11-21T00:00:00Z",
    },
    {
        "id": "2401.00003",
        "title": "Learning to Forecast Heatwaves with Spherical Transformers",
        "abstract": "Heatwaves kill thousands of people every summer. We build a transformer that "
        "operates on the sphere and forecasts surface temperature ten days ahead from reanalysis "
        "data. It beats the operational physics model on extreme-heat days by 18% in skill score "
        "and runs in two minutes on a single GPU.",
        "authors": ["Edward Lorenz", "Joanne Simpson"],
        "categories": ["physics.ao-ph", "cs.LG"],
        "published": "2026-11-22T00:00:00Z",
    },
]


def write_jsonl(path: Path, papers: list[dict]) -> Path:
    path.write_text("".join(json.dumps(p) + "\n" for p in papers), encoding="utf-8")
    return path


@pytest.fixture
def cli(tmp_path):
    runner = CliRunner()
    home = tmp_path / "home"

    def invoke(*args: str):
        return runner.invoke(app, ["--home", str(home), *args], catch_exceptions=False)

    return invoke


def ingest_json(cli, path: Path) -> dict:
    result = cli("ingest", "--file", str(path), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def totals(report: dict) -> dict[str, int]:
    keys = ("fetched", "new", "updated", "unchanged", "failed")
    return {k: sum(s[k] for s in report["sources"]) for k in keys}


def test_ingest_rerun_update_search_status(cli, tmp_path):
    path = write_jsonl(tmp_path / "papers.jsonl", PAPERS)
    assert totals(ingest_json(cli, path)) == {
        "fetched": 3,
        "new": 3,
        "updated": 0,
        "unchanged": 0,
        "failed": 0,
    }
    # A rerun of the same input adds nothing.
    assert totals(ingest_json(cli, path))["unchanged"] == 3

    changed = [dict(p) for p in PAPERS]
    changed[1]["abstract"] += " A second version adds results on 2,000 natural products."
    counts = totals(ingest_json(cli, write_jsonl(tmp_path / "v2.jsonl", changed)))
    assert (counts["new"], counts["updated"], counts["unchanged"]) == (0, 1, 2)

    result = cli("search", "predicting how well medicines dissolve in water", "--json", "--k", "2")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert hits[0]["id"] == "2401.00002"
    assert set(hits[0]) >= {"id", "title", "score", "url"}

    result = cli("search", "SlideRoute", "--json")  # an exact rare term: the BM25 arm
    assert json.loads(result.stdout)[0]["id"] == "2401.00001"

    result = cli("search", "heat", "--json", "--category", "physics.ao-ph")
    assert [h["id"] for h in json.loads(result.stdout)] == ["2401.00003"]

    result = cli("search", "molecules", "--json", "--since", "2026-11-22")
    assert "2401.00002" not in [h["id"] for h in json.loads(result.stdout)]

    status = json.loads(cli("status", "--json").stdout)
    assert status["papers"] == 3
    assert status["chunks"] >= 3
    assert "MiniLM" in status["embedding_model"]


def test_human_output_ends_with_one_line_report(cli, tmp_path):
    path = write_jsonl(tmp_path / "papers.jsonl", PAPERS[:2])
    result = cli("ingest", "--file", str(path))
    assert result.exit_code == 0
    assert "ingest: fetched 2, new 2, updated 0, unchanged 0, failed 0" in result.stdout


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("latin1.jsonl", '{"title": "Caf\xe9", "abstract": "x"}\n'.encode("latin-1"), "UTF-8"),
        ("cols.csv", b"name,text\nA,B\n", "abstract"),
        (
            "cut.jsonl",
            (json.dumps(PAPERS[0]) + "\n" + json.dumps(PAPERS[1])[:60]).encode(),
            "line 2",
        ),
        ("empty.jsonl", b"", "empty"),
    ],
)
def test_bad_files_fail_clearly_and_store_nothing(cli, tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    result = cli("ingest", "--file", str(path))
    assert result.exit_code != 0
    assert expected.lower() in result.output.lower()
    assert "Traceback" not in result.output
    assert json.loads(cli("status", "--json").stdout)["papers"] == 0


def test_unknown_source_is_a_config_error(cli):
    result = cli("ingest", "--source", "nowhere")
    assert result.exit_code == 2
    assert "arxiv-rss" in result.output  # names the valid choices


def test_empty_query_is_rejected(cli):
    result = cli("search", "   ")
    assert result.exit_code == 2
    assert "empty" in result.output.lower()


def test_python_api(tmp_path, minilm):
    from agent import PaperAgent, RunReport, SearchHit, Settings
    from agent.sources import FetchRequest

    path = write_jsonl(tmp_path / "papers.jsonl", PAPERS)
    with PaperAgent(Settings(home=tmp_path / "h"), embedder=minilm) as agent:
        report = agent.ingest(request=FetchRequest(path=path))
        assert isinstance(report, RunReport) and report.ok
        assert report.total("new") == 3
        hits = agent.search("weather forecasting with deep learning", k=1)
        assert isinstance(hits[0], SearchHit)
        assert hits[0].paper.id == "2401.00003"
        assert hits[0].paper.authors == ["Edward Lorenz", "Joanne Simpson"]


FIXTURES = Path(__file__).parent / "fixtures" / "sources"


def test_feed_outcomes_through_the_cli(tmp_path):
    """Empty day -> exit 0 and says so; HTTP 400 / unreachable -> exit 1 with the fix; the store
    keeps what earlier runs stored."""
    from httpserver import LocalHTTPServer, Resp, unused_port

    runner = CliRunner()
    home = tmp_path / "home"

    def run(*args: str, env: dict[str, str]):
        return runner.invoke(
            app, ["--home", str(home), *args], env={**env, "COLUMNS": "200"},
            catch_exceptions=False,
        )  # fmt: skip

    with LocalHTTPServer() as srv:
        srv.route("/rss/cs.LG", [Resp(200, (FIXTURES / "rss_empty.xml").read_bytes())])
        srv.route("/api", [Resp(400, b"<feed xmlns='http://www.w3.org/2005/Atom'><entry>"
                                b"<title>Error</title><summary>incorrect id format for 1234"
                                b"</summary></entry></feed>")])  # fmt: skip
        env = {
            "PAPERBRIEF_ARXIV_RSS_URL": srv.url("/rss"),
            "PAPERBRIEF_ARXIV_API_URL": srv.url("/api"),
            "PAPERBRIEF_ARXIV_MIN_INTERVAL": "0",
            "PAPERBRIEF_HTTP_RETRIES": "0",
            "PAPERBRIEF_ARXIV_CATEGORIES": '["cs.LG"]',
        }
        empty = run("ingest", "--source", "arxiv-rss", env=env)
        assert empty.exit_code == 0, empty.output
        assert "announced nothing" in empty.output

        bad = run("ingest", "--source", "arxiv", "--since", "2026-11-20", env=env)
        assert bad.exit_code == 1
        assert "incorrect id format" in bad.output and "Fix:" in bad.output

    gone = run(
        "ingest", "--source", "hf", "--date", "2026-11-20",
        env={**env, "PAPERBRIEF_HF_API_URL": f"http://127.0.0.1:{unused_port()}/api"},
    )  # fmt: skip
    assert gone.exit_code == 1
    assert "127.0.0.1" in gone.output and "Traceback" not in gone.output
