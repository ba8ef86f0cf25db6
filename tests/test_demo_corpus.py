"""The shipped demo corpus and the retrieval benchmark questions are well-formed and consistent.

The corpus is what a new user sees first (``paperbrief demo``) and the questions decide the
published retrieval figures, so both are checked like code.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import pytest

from agent.models import Paper

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "bench" / "questions.jsonl"
CORPUS_RESOURCE = resources.files("agent") / "data" / "demo_corpus.jsonl"

TOPICS = {
    "llm-reasoning",
    "diffusion",
    "rl-robotics",
    "gnn-molecules",
    "efficient-transformers",
    "ml-climate",
}
PAPER_KEYS = {"id", "title", "abstract", "authors", "categories", "published", "url", "topic"}
KIND_MINIMUMS = {"single": 30, "multi": 12, "unanswerable": 10, "near_miss": 10}
# arXiv category codes: cs.LG, stat.ML, q-bio.BM, physics.ao-ph, cond-mat.mtrl-sci, eess.SY, ...
CATEGORY = re.compile(
    r"^(cs|stat|math|eess|econ|q-bio|q-fin|physics|cond-mat|astro-ph)\.[A-Za-z-]+$"
)
INJECTION = re.compile(r"ignore (all )?previous instructions", re.IGNORECASE)
WORD = re.compile(r"[a-z0-9]+(?:[.,'-][a-z0-9]+)*")
WINDOW_START = datetime(2026, 11, 19, tzinfo=UTC)
WINDOW_END = datetime(2026, 11, 26, tzinfo=UTC)


def _jsonl(text: str) -> list[dict]:
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        assert line.strip(), f"blank line {n}"
        row = json.loads(line)
        assert isinstance(row, dict), f"line {n} is not an object"
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def papers() -> list[dict]:
    return _jsonl(CORPUS_RESOURCE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def by_id(papers: list[dict]) -> dict[str, dict]:
    return {p["id"]: p for p in papers}


@pytest.fixture(scope="module")
def questions() -> list[dict]:
    return _jsonl(QUESTIONS.read_text(encoding="utf-8"))


def _published(p: dict) -> datetime:
    return datetime.fromisoformat(p["published"].replace("Z", "+00:00"))


def _words(text: str) -> list[str]:
    return WORD.findall(text.lower())


# --- corpus -----------------------------------------------------------------------------------
def test_corpus_has_48_unique_papers_with_every_field(papers: list[dict]) -> None:
    assert len(papers) == 48
    ids = [p["id"] for p in papers]
    assert len(set(ids)) == len(ids)
    for p in papers:
        assert re.fullmatch(r"demo-\d{4}", p["id"]), p["id"]
        assert not PAPER_KEYS - p.keys(), (p["id"], PAPER_KEYS - p.keys())
        assert p["fictional"] is True, p["id"]
        assert p["url"] is None, p["id"]


def test_six_topics_of_eight_papers(papers: list[dict]) -> None:
    assert Counter(p["topic"] for p in papers) == dict.fromkeys(TOPICS, 8)


def test_abstract_lengths_authors_and_categories(papers: list[dict]) -> None:
    for p in papers:
        n_words = len(p["abstract"].split())
        assert 120 <= n_words <= 300, (p["id"], n_words)
        assert 3 <= len(p["authors"]) <= 6, p["id"]
        assert len(set(p["authors"])) == len(p["authors"]), p["id"]
        assert p["categories"], p["id"]
        for cat in p["categories"]:
            assert CATEGORY.match(cat), (p["id"], cat)
        assert len(set(p["categories"])) == len(p["categories"]), p["id"]


def test_titles_and_texts_are_distinct(papers: list[dict]) -> None:
    assert len({p["title"].lower() for p in papers}) == len(papers)
    hashes = {Paper(**_as_paper(p)).content_hash for p in papers}
    assert len(hashes) == len(papers)


def test_published_dates_spread_over_the_week_before_2026_11_26(papers: list[dict]) -> None:
    days = Counter()
    for p in papers:
        when = _published(p)
        assert WINDOW_START <= when < WINDOW_END, (p["id"], p["published"])
        days[when.date()] += 1
    assert len(days) >= 5, days
    assert max(days.values()) <= 12, days  # several per day, not all on one


def _as_paper(p: dict) -> dict:
    cats = p["categories"]
    return {
        "id": p["id"],
        "title": p["title"],
        "abstract": p["abstract"],
        "authors": p["authors"],
        "categories": cats,
        "primary_category": cats[0],
        "published": _published(p),
        "source": "file",
        "url": p["url"],
        "extra": {"topic": p["topic"]},
    }


def test_every_record_validates_as_a_paper(papers: list[dict]) -> None:
    for p in papers:
        paper = Paper(**_as_paper(p))
        dumped = paper.model_dump(mode="json")
        assert dumped["primary_category"] == p["categories"][0]
        assert len(dumped["content_hash"]) == 32


def test_injection_text_only_in_flagged_abstracts(papers: list[dict]) -> None:
    flagged = [p for p in papers if p.get("injection")]
    assert flagged, "the corpus must carry at least one prompt-injection abstract"
    for p in papers:
        has_text = bool(INJECTION.search(p["abstract"]))
        assert has_text == bool(p.get("injection")), p["id"]


def test_one_abstract_carries_latex_and_citations(papers: list[dict]) -> None:
    latex = [p for p in papers if r"\mathcal{O}(n^2)" in p["abstract"]]
    assert latex, "expected an abstract with LaTeX math"
    text = latex[0]["abstract"]
    assert r"\emph{" in text
    assert re.search(r"\[\d+(, \d+)*\]|\\cite\{", text)


# --- questions --------------------------------------------------------------------------------
def test_questions_parse_with_unique_ids_and_known_kinds(questions: list[dict]) -> None:
    ids = [q["id"] for q in questions]
    assert len(set(ids)) == len(ids)
    for q in questions:
        assert re.fullmatch(r"q\d{2,}", q["id"]), q["id"]
        assert q["kind"] in KIND_MINIMUMS, q
        assert q["question"].strip(), q["id"]
        assert isinstance(q["relevant"], list) and isinstance(q["answer_terms"], list), q["id"]


def test_kind_counts_meet_minimums(questions: list[dict]) -> None:
    counts = Counter(q["kind"] for q in questions)
    assert len(questions) >= 60
    for kind, minimum in KIND_MINIMUMS.items():
        assert counts[kind] >= minimum, (kind, counts[kind])


def test_relevant_ids_exist_and_match_kind(questions: list[dict], by_id: dict) -> None:
    for q in questions:
        for pid in q["relevant"] + q.get("closest", []):
            assert pid in by_id, (q["id"], pid)
        n = len(q["relevant"])
        if q["kind"] == "single":
            assert n == 1, q["id"]
        elif q["kind"] == "multi":
            assert 2 <= n <= 4 and len(set(q["relevant"])) == n, q["id"]
        else:
            assert n == 0 and not q["answer_terms"], q["id"]


def test_answer_terms_are_grounded_in_the_relevant_papers(questions: list[dict], by_id) -> None:
    for q in questions:
        if q["kind"] not in ("single", "multi"):
            continue
        assert q["answer_terms"], q["id"]
        text = " ".join(
            by_id[pid]["title"] + " " + by_id[pid]["abstract"] for pid in q["relevant"]
        ).lower()
        for term in q["answer_terms"]:
            assert term.lower() in text, (q["id"], term)


def test_questions_paraphrase_rather_than_copy_abstracts(questions: list[dict], papers) -> None:
    """No question repeats 5 consecutive words of any title or abstract: retrieval must be
    semantic, not an exact-phrase lookup."""
    n = 5
    seen: set[tuple[str, ...]] = set()
    for p in papers:
        w = _words(p["title"] + " " + p["abstract"])
        seen.update(tuple(w[i : i + n]) for i in range(len(w) - n + 1))
    for q in questions:
        w = _words(q["question"])
        copied = [
            " ".join(w[i : i + n]) for i in range(len(w) - n + 1) if tuple(w[i : i + n]) in seen
        ]
        assert not copied, (q["id"], copied)


def test_every_topic_is_asked_about(questions: list[dict], by_id: dict) -> None:
    asked = Counter(
        by_id[pid]["topic"]
        for q in questions
        if q["kind"] in ("single", "multi")
        for pid in q["relevant"]
    )
    for topic in TOPICS:
        assert asked[topic] >= 4, (topic, asked[topic])


def test_data_readme_says_the_abstracts_are_fictional() -> None:
    readme = (resources.files("agent") / "data" / "README.md").read_text(encoding="utf-8")
    assert "fictional" in readme.lower()
    assert "resemblance" in readme.lower()
