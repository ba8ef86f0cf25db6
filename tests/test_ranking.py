"""The digest chooses for its reader: a library of one topic ranks that topic first, ratings move
the ranking, no profile gives a stated order, and every paper of the window is accounted for."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent import PaperAgent, Settings
from agent.sources import FetchRequest

DEMO = Path(__file__).resolve().parents[1] / "agent" / "data" / "demo_corpus.jsonl"
NOW = datetime(2026, 11, 29, 8, tzinfo=UTC)
WINDOW = {"since": "2000-01-01", "now": NOW, "save": False}


def rows() -> list[dict]:
    return [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines()]


def topic_of() -> dict[str, str]:
    return {r["id"]: r["topic"] for r in rows()}


@pytest.fixture(scope="module")
def ingested(tmp_path_factory, minilm) -> Path:
    home = tmp_path_factory.mktemp("rank-home")
    with PaperAgent(Settings(home=home), embedder=minilm) as agent:
        assert agent.ingest(request=FetchRequest(path=DEMO)).ok
    return home


@pytest.fixture
def home(ingested, tmp_path) -> Path:
    target = tmp_path / "home"
    shutil.copytree(ingested, target)
    return target


def library_bib(tmp_path: Path, topic: str, n: int = 3) -> tuple[Path, list[str]]:
    picked = [r for r in rows() if r["topic"] == topic][:n]
    entries = [
        f"@article{{lib{i},\n  title = {{{r['title']}}},\n  abstract = {{{r['abstract']}}},\n"
        f"  year = {{2025}}\n}}\n"
        for i, r in enumerate(picked)
    ]
    path = tmp_path / "library.bib"
    path.write_text("\n".join(entries), encoding="utf-8")
    return path, [r["id"] for r in picked]


def test_a_library_of_one_topic_ranks_that_topic_first(home, minilm, tmp_path):
    path, lib_ids = library_bib(tmp_path, "diffusion")
    topics = topic_of()
    with PaperAgent(Settings(home=home), embedder=minilm) as agent:
        before = agent.digest(max_papers=10, **WINDOW)
        report = agent.import_library(path)
        assert report.imported == 3
        after = agent.digest(max_papers=10, **WINDOW)
    ranked = after.ranked()
    top5 = [topics[r["id"]] for r in ranked[:5] if r["id"] not in lib_ids]
    assert top5.count("diffusion") >= 4, top5
    assert after.ranked_by == "library"
    assert "library" in after.ranking_note
    # a library claim for the closest picks; the picks past them say they are weaker matches
    assert all("in your library" in r["because"] for r in ranked[:4])
    assert ranked[-1]["because"] == "a weaker match for your interests"
    assert any(
        "*" + next(r for r in rows() if r["id"] == lib_ids[0])["title"][:20] in r["because"]
        for r in ranked
    )
    no_profile_top = [topics[r["id"]] for r in before.ranked()[:5]]
    assert no_profile_top.count("diffusion") < 4
    assert before.ranked_by == "default" and "No profile" in before.ranking_note


def test_ratings_move_the_ranking(home, minilm):
    topics = topic_of()
    robotics = [r["id"] for r in rows() if r["topic"] == "rl-robotics"]
    climate = [r["id"] for r in rows() if r["topic"] == "ml-climate"]
    with PaperAgent(Settings(home=home), embedder=minilm) as agent:
        for pid in robotics[:3]:
            agent.rate(pid, "up")
        for pid in climate[:2]:
            agent.rate(pid, "down")
        digest = agent.digest(max_papers=10, **WINDOW)
    ranked = [topics[r["id"]] for r in digest.ranked()]
    assert ranked[:5].count("rl-robotics") >= 4, ranked[:5]
    # a rated paper in the window is not explained by its own rating as "like itself"
    because = {r["id"]: r["because"] for r in digest.ranked()}
    assert {because[p] for p in robotics[:3] if p in because} == {"you rated it up"}
    rest_order = [topics[p.id] for p in digest.rest]
    assert "ml-climate" not in ranked[:10]
    assert rest_order.count("ml-climate") == 8
    # durable: a new agent on the same home ranks the same way
    with PaperAgent(Settings(home=home), embedder=minilm) as agent:
        again = agent.digest(max_papers=10, **WINDOW)
    assert [r["id"] for r in again.ranked()] == [r["id"] for r in digest.ranked()]


def test_every_paper_of_the_window_is_accounted_for(home, minilm):
    with PaperAgent(Settings(home=home), embedder=minilm) as agent:
        digest = agent.digest(max_papers=12, **WINDOW)
    shown = {p.id for p in digest.papers}
    rest = {p.id for p in digest.rest}
    assert len(shown) == 12
    assert shown | rest == {r["id"] for r in rows()}
    assert not shown & rest
    assert sum(c for _, c in digest.rest_groups()) == len(rest) == 36
    data = digest.as_json()
    assert [r["id"] for r in data["ranked"]] == [p.id for p in digest.papers]
    assert data["also_new_count"] == 36
    themed = [i for t in digest.themes for i in t.paper_ids]
    assert sorted(themed) == sorted(shown)  # small clusters fold into "Other", none dropped


def test_two_profiles_rank_differently_from_one_store(home, minilm, tmp_path):
    lab, _ = library_bib(tmp_path, "gnn-molecules")
    settings = Settings(
        home=home,
        profiles={"chem": {"interests": []}, "climate": {"interests": ["weather forecasting"]}},
    )
    topics = topic_of()
    with PaperAgent(settings, embedder=minilm) as agent:
        agent.import_library(lab, profile="chem")
        chem = agent.digest(max_papers=5, profile="chem", **WINDOW)
        climate = agent.digest(max_papers=5, profile="climate", **WINDOW)
    assert [topics[r["id"]] for r in chem.ranked()].count("gnn-molecules") >= 4
    assert [topics[r["id"]] for r in climate.ranked()].count("ml-climate") >= 4
    assert chem.profile == "chem" and climate.ranked_by == "interests"
