"""build_digest without a store: relevance order, threshold, cap, top picks, empty-day reasons,
and theme naming with a scripted OpenAI-compatible server (one call per theme, cached)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from openai_server import OpenAIServer, Reply, error_body, structured

from agent.config import Settings
from agent.digest.build import build_digest, first_sentence, paper_date, safe_url, short_authors
from agent.digest.choose import Relevance, choose
from agent.digest.models import Digest, DigestOptions, Selection
from agent.digest.naming import LLMThemeNamer, Progress, ThemeNamer
from agent.digest.relevance import InterestProfile
from agent.llm.chat import make_llm
from agent.models import Paper, SourceReport, SourceStatus, Summary
from store.state.digest_history import SqliteDigestHistory

NOW = datetime(2026, 11, 25, 6, tzinfo=UTC)
AT_NOW = DigestOptions(now=NOW)


def digest_of(
    selection: Selection,
    vectors: np.ndarray,
    summaries: dict[str, Summary | None],
    options: DigestOptions,
    *,
    relevance: Relevance | None = None,
    namer: ThemeNamer | None = None,
    progress: Progress | None = None,
) -> Digest:
    """Rank, choose and build in one call, with no store (what PaperAgent.digest does with
    the store's vectors and summaries)."""
    dates = [paper_date(p) for p in selection.papers]
    assert options.now is not None
    choice = choose(
        selection, vectors, dates, options.now, relevance=relevance, max_papers=options.max_papers
    )
    return build_digest(choice, summaries, options, namer=namer, progress=progress)


TOPICS = {
    "robots": (
        "Legged robot locomotion policy {i}",
        "A quadruped robot learns to walk on rough "
        "terrain with a reinforcement learning policy trained in simulation, variant {i}.",
    ),
    "molecules": (
        "Graph neural networks for molecules {i}",
        "A graph neural network predicts "
        "molecular solubility and toxicity of drug candidates, variant {i}.",
    ),
    "weather": (
        "Forecasting heatwaves with transformers {i}",
        "A transformer forecasts surface "
        "temperature and weather extremes ten days ahead, variant {i}.",
    ),
}


def corpus(embedder, per_topic: int = 4) -> tuple[list[dict], np.ndarray]:
    papers = []
    for t, (title, abstract) in TOPICS.items():
        for i in range(per_topic):
            papers.append(
                {
                    "id": f"2611.{len(papers):05d}",
                    "title": title.format(i=i),
                    "abstract": abstract.format(i=i),
                    "authors": ["A. Author", "B. Author"],
                    "categories": ["cs.LG"],
                    "source": "file",
                    "topic": t,
                    "published": (NOW - timedelta(hours=len(papers))).isoformat(),
                }
            )
    vectors = embedder.embed([f"{p['title']}\n\n{p['abstract']}" for p in papers])
    return papers, vectors


@pytest.fixture(scope="module")
def data(minilm):
    return corpus(minilm)


def test_recency_order_without_profile_and_upvotes_break_ties(data):
    papers, vectors = data
    papers = [dict(p) for p in papers]
    papers[5]["published"] = papers[0]["published"]
    papers[5]["extra"] = {"upvotes": 80}
    digest = digest_of(Selection(papers), vectors, {}, AT_NOW)
    assert digest.papers[0].id == papers[5]["id"]
    assert digest.papers[1].id == papers[0]["id"]
    assert not digest.profile_used


def test_profile_orders_by_interest_keywords_and_dislikes(data, minilm):
    papers, vectors = data
    profile = InterestProfile(interests=["predicting properties of chemical compounds"])
    digest = digest_of(Selection(papers), vectors, {}, AT_NOW, relevance=Relevance(profile, minilm))
    assert {p.id for p in digest.papers[:4]} == {
        p["id"] for p in papers if p["topic"] == "molecules"
    }
    assert digest.themes[0].paper_ids[0] == digest.papers[0].id  # best theme first
    assert digest.top_picks == [p.id for p in digest.papers[:3]]
    # a dislike sinks every robot paper below the rest
    profile = InterestProfile(interests=["learning from data"], not_interested=["quadruped"])
    digest = digest_of(Selection(papers), vectors, {}, AT_NOW, relevance=Relevance(profile, minilm))
    assert all("Legged" in p.title for p in digest.papers[-4:])
    assert any("not interested in 'quadruped'" in r for r in digest.papers[-1].reasons)


def test_keywords_alone_make_a_profile_and_title_hits_count_more(data):
    papers, vectors = data
    profile = InterestProfile(keywords=["heatwaves with transformers 2", "temperature"])
    digest = digest_of(Selection(papers), vectors, {}, AT_NOW, relevance=Relevance(profile))
    assert digest.profile_used
    assert digest.papers[0].title == "Forecasting heatwaves with transformers 2"
    assert {p.id for p in digest.papers[:4]} == {p["id"] for p in papers if p["topic"] == "weather"}
    assert digest.papers[-1].score == 0.0 and digest.papers[0].score == pytest.approx(0.3)


def test_threshold_and_cap_are_counted(data, minilm):
    papers, vectors = data
    profile = InterestProfile(interests=["graph neural networks for chemistry"], min_score=0.45)
    digest = digest_of(
        Selection(papers),
        vectors,
        {},
        DigestOptions(now=NOW, max_papers=3),
        relevance=Relevance(profile, minilm),
    )
    kept = digest.stats.selected
    assert kept == 3 and digest.stats.over_cap >= 1
    assert digest.stats.below_threshold >= 8
    assert kept + digest.stats.over_cap + digest.stats.below_threshold == len(papers)
    assert all(p.score >= 0.45 for p in digest.papers)


def test_themes_cover_every_paper_once(data):
    papers, vectors = data
    digest = digest_of(Selection(papers), vectors, {}, AT_NOW)
    placed = [i for t in digest.themes for i in t.paper_ids] + digest.also_new
    assert sorted(placed) == sorted(p["id"] for p in papers)
    topics = {p["id"]: p["topic"] for p in papers}
    assert len(digest.themes) == 3
    for theme in digest.themes:
        assert len({topics[i] for i in theme.paper_ids}) == 1
        assert theme.named_by == "keywords" and theme.name
    as_json = digest.as_json()
    assert as_json["papers"] == len(papers)
    assert {"name", "overview", "papers"} <= set(as_json["themes"][0])


def test_summary_fields_and_abstract_fallback(data):
    papers, vectors = data
    first = papers[0]
    summary = Summary(
        paper_id=first["id"],
        content_hash="h",
        tldr="Robots walk.",
        summary="s",
        why_it_matters="Cheaper robots.",
        model="m",
        prompt_version="p",
        method="json_schema",
        flagged="invented 9%",
    )
    digest = digest_of(Selection(papers), vectors, {first["id"]: summary}, AT_NOW)
    shown = digest.paper(first["id"])
    assert (shown.tldr, shown.why_it_matters, shown.flagged) == (
        "Robots walk.",
        "Cheaper robots.",
        "invented 9%",
    )
    other = digest.paper(papers[1]["id"])
    assert other.summary_source == "abstract" and other.tldr.startswith("A quadruped robot")
    assert digest.stats.summaries_missing == len(papers) - 1 and digest.stats.flagged == 1
    assert digest.stats.models == ["m"]


@pytest.mark.parametrize(
    ("reports", "now", "expected"),
    [
        (
            [
                SourceReport(source="arxiv-rss", status=SourceStatus.FAILED, message="HTTP 503"),
                SourceReport(source="hf", status=SourceStatus.FAILED, message="timed out"),
            ],
            NOW,
            "Every source failed: arxiv-rss (HTTP 503); hf (timed out).",
        ),
        (
            [
                SourceReport(
                    source="arxiv-rss", status=SourceStatus.EMPTY, message="no announcements today"
                )
            ],
            NOW,
            "no announcements today",
        ),
        ([], datetime(2026, 11, 29, 6, tzinfo=UTC), "weekend"),
        ([], NOW, "No papers were announced or ingested since"),
    ],
)
def test_empty_digest_says_why(reports, now, expected):
    digest = digest_of(
        Selection([], start=now - timedelta(days=1), end=now),
        np.zeros((0, 384)),
        {},
        DigestOptions(now=now, source_reports=reports),
    )
    assert digest.empty and expected in digest.empty_reason
    assert digest.themes == [] and digest.top_picks == []


def test_all_papers_already_sent_is_the_reason():
    digest = digest_of(Selection([], excluded_sent=5), np.zeros((0, 4)), {}, AT_NOW)
    assert "All 5 papers in the window were in earlier digests" in digest.empty_reason


def name_by_content(request: dict) -> dict:
    text = request["messages"][-1]["content"].lower()
    name = next(
        (
            n
            for key, n in [
                ("robot", "Robots that walk"),
                ("molecul", "Chemistry by graph"),
                ("forecast", "Weather forecasting"),
            ]
            if key in text
        ),
        "Mixed",
    )
    return structured({"name": f'"{name}."', "overview": "One. Two. Three. Four."})(request)


def test_llm_names_one_call_per_theme_then_cached(data, tmp_path):
    papers, vectors = data
    history = SqliteDigestHistory.in_home(tmp_path)
    with OpenAIServer(handler=name_by_content) as srv:
        settings = Settings(llm_base_url=srv.url, openai_api_key="k", llm_model="test-model")
        namer = LLMThemeNamer(make_llm(settings, backoff=0.01), cache=history)
        seen: list[tuple[int, int | None]] = []
        digest = digest_of(
            Selection(papers),
            vectors,
            {},
            AT_NOW,
            namer=namer,
            progress=lambda stage, done, total: seen.append((done, total)),
        )
        assert len(srv.chat_requests) == len(digest.themes) == 3
        assert {t.name for t in digest.themes} == {
            "Robots that walk",
            "Chemistry by graph",
            "Weather forecasting",
        }
        assert all(t.overview == "One. Two. Three." for t in digest.themes)  # capped at 3
        assert digest.stats.llm_calls == 3 and digest.stats.tokens_in > 0
        assert "test-model" in digest.stats.models and seen[-1] == (3, 3)
        prompt = srv.chat_requests[0].json["messages"][-1]["content"]
        assert "<<<PAPER" in prompt  # titles are fenced as data
        again = digest_of(Selection(papers), vectors, {}, AT_NOW, namer=namer)
        assert len(srv.chat_requests) == 3  # every name came from the cache
        assert again.stats.llm_calls == 0 and all(t.cached for t in again.themes)


def test_failed_llm_name_falls_back_to_keywords(data, tmp_path):
    papers, vectors = data
    with OpenAIServer(handler=lambda r: Reply(400, error_body("nope"))) as srv:
        settings = Settings(llm_base_url=srv.url, openai_api_key="k", llm_max_retries=0)
        namer = LLMThemeNamer(make_llm(settings, backoff=0.01))
        digest = digest_of(Selection(papers), vectors, {}, AT_NOW, namer=namer)
    assert len(digest.themes) == 3 and all(t.named_by == "keywords" for t in digest.themes)
    assert digest.stats.naming_failures == 3
    assert any("keyword names" in n for n in digest.notes)


def test_helpers():
    assert (
        safe_url(Paper(id="x", title="t", abstract="a", source="s", url="javascript:alert(1)"))
        is None
    )
    assert safe_url(Paper(id="2401.00001", title="t", abstract="a", source="s")) == (
        "https://arxiv.org/abs/2401.00001"
    )
    assert short_authors(["A", "B", "C", "D"]) == "A, B, C et al."
    assert first_sentence("One thing. Two things.") == "One thing."
