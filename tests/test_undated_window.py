"""Issue 13 item 9 (part): one date rule for every window. A paper without a date (a pasted
page) is dated by when it was ingested: it used to appear in ``digest --since 1d`` but never in
``search/ask --since 7d``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from agent.config import Settings
from agent.models import PaperFilter
from agent.pipeline import PaperAgent
from agent.sources import FetchRequest

PASTED = """Tidal Energy Forecasting with Graph Neural Networks

We forecast tidal stream power at twelve coastal sites with a graph neural network that links
neighbouring turbines. The model cuts the forecast error of harmonic analysis by a third over a
full lunar cycle, and it stays accurate through spring tides and storm surges. We release the
turbine data and the code.
"""
OLD = {
    "id": "2001.00001",
    "title": "Tidal Energy Forecasting with Harmonic Analysis",
    "abstract": "We forecast tidal stream power at coastal sites with classical harmonic analysis "
    "of the tide gauge record. The method is accurate in calm weather and fails in storms.",
    "published": "2020-01-02T00:00:00Z",
}
QUESTION = "tidal stream power forecasting at coastal sites"


@pytest.fixture
def agent(tmp_path, minilm):
    (tmp_path / "pasted.txt").write_text(PASTED, encoding="utf-8")
    (tmp_path / "old.jsonl").write_text(json.dumps(OLD) + "\n", encoding="utf-8")
    agent = PaperAgent(Settings(home=tmp_path / "home"), embedder=minilm)
    for name in ("pasted.txt", "old.jsonl"):
        assert agent.ingest(["file"], request=FetchRequest(path=tmp_path / name)).ok
    yield agent
    agent.close()


def test_an_undated_paper_counts_from_its_ingest_time_in_every_window(agent):
    [pasted] = [p for p in agent.store.list_papers() if p["id"] != OLD["id"]]
    assert pasted["published"] is None  # it stays undated: only the windows use ingest time

    for mode in ("hybrid", "dense", "bm25"):
        found = {h.paper.id for h in agent.search(QUESTION, since="7d", mode=mode)}
        assert found == {pasted["id"]}, mode  # old: set() for every mode
        everything = {h.paper.id for h in agent.search(QUESTION, mode=mode)}
        assert everything == {pasted["id"], OLD["id"]}, mode

    answer = agent.ask(QUESTION, since="7d")  # the no-model engine: no LLM configured
    assert [c.paper.id for c in answer.retrieved] == [pasted["id"]]

    assert [p["id"] for p in agent.select(PaperFilter(since="1d")).papers] == [pasted["id"]]
    yesterday = datetime.now(UTC) - timedelta(days=1)
    earlier = agent.select(PaperFilter(since="2019-12-01", until=yesterday)).papers
    assert [p["id"] for p in earlier] == [OLD["id"]]
    assert agent.summarize(since="7d").counts["summarized"] == 1  # the same window
    assert agent.summary(pasted["id"]) is not None and agent.summary(OLD["id"]) is None


def test_a_store_written_before_the_rule_is_dated_once_and_then_selected_by_one_query(agent):
    [pasted] = [p for p in agent.store.list_papers() if p["id"] != OLD["id"]]
    # make the pasted paper look as an older version stored it: no published_ts anywhere
    store = agent.store
    got = store._papers.get(ids=[pasted["id"]], include=["metadatas"])
    meta = {**got["metadatas"][0], "published_ts": None}  # None deletes the key
    store._papers.update(ids=[pasted["id"]], metadatas=[meta])
    store.state.set_meta("store:undated_dated", "")
    assert store.list_papers(since_ts=0) == [store.get(OLD["id"])]  # the query misses it

    assert [p["id"] for p in agent.select(PaperFilter(since="1d")).papers] == [pasted["id"]]
    assert store.undated_are_dated and store.date_undated_papers() == 0
    # dated by its ingest time, kept undated as a paper, and found by a dated search too
    assert {p["id"] for p in store.list_papers(since_ts=0)} == {pasted["id"], OLD["id"]}
    assert store.get(pasted["id"])["published"] is None
    found = {h.paper.id for h in agent.search(QUESTION, since="7d", mode="bm25")}
    assert found == {pasted["id"]}
