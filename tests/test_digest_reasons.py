"""Because lines say only what holds: a library or interest claim only at the calibrated cosine,
never a paper rated down as the reason, a weak pick said plainly, and with no profile a line
that tells something about the paper (upvotes, close papers of the day, its category)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from agent import PaperAgent, Settings
from agent.digest.ranking import RankInputs, rank
from agent.digest.reasons import INTEREST_REASON_COSINE, LIBRARY_REASON_COSINE, WEAK_PICK
from agent.digest.relevance import InterestProfile
from agent.profiles.signal import ReaderSignal
from agent.sources import FetchRequest

DEMO = Path(__file__).resolve().parents[1] / "agent" / "data" / "demo_corpus.jsonl"
NOW = datetime(2026, 11, 29, 8, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(minilm):
    rows = [json.loads(x) for x in DEMO.read_text(encoding="utf-8").splitlines()]
    vecs = np.asarray(minilm.embed([f"{r['title']}. {r['abstract']}" for r in rows]), np.float32)
    return rows, vecs


def inputs(rows, vecs):
    return RankInputs(rows, vecs, [NOW] * len(rows), NOW)


def signal(rows, vecs, liked, disliked=()):
    labels = [f"close to *{rows[i]['title'][:60]}* in your library" for i in liked]
    return ReaderSignal(
        vecs[list(liked)],
        labels,
        vecs[list(disliked)] if disliked else None,
        [f"close to *{rows[i]['title'][:60]}*, which you rated down" for i in disliked],
    )


def test_a_library_claim_is_made_only_at_the_calibrated_cosine(demo):
    rows, vecs = demo
    lib = [i for i, r in enumerate(rows) if r["topic"] == "diffusion"][:3]
    day = [i for i in range(len(rows)) if i not in lib]
    ranked, regime = rank(inputs([rows[i] for i in day], vecs[day]), signal=signal(rows, vecs, lib))
    assert regime == "library"
    claims = weak = 0
    for r in ranked[:12]:
        vec = vecs[day[r.index]]
        best = float((vecs[lib] @ vec).max())
        if "in your library" in r.because:
            claims += 1
            named = next(i for i in lib if rows[i]["title"][:60] in r.because)
            assert float(vecs[named] @ vec) >= LIBRARY_REASON_COSINE
        else:
            weak += 1
            assert r.because == WEAK_PICK and best < LIBRARY_REASON_COSINE
    assert claims >= 3 and weak >= 3  # the off-topic picks of a 3-paper library say so


def test_a_paper_rated_down_is_never_the_reason(demo):
    rows, vecs = demo
    robots = [i for i, r in enumerate(rows) if r["topic"] == "rl-robotics"]
    climate = [i for i, r in enumerate(rows) if r["topic"] == "ml-climate"]
    liked, disliked = robots[:3], climate[:2]
    papers = [dict(r) for r in rows]
    sig = signal(rows, vecs, liked, disliked)
    sig.rated = {rows[climate[2]]["id"]: -1}  # a paper of the window itself rated down
    ranked, _ = rank(inputs(papers, vecs), signal=sig)
    assert ranked
    assert not [r.because for r in ranked if "rated down" in r.because]
    own = next(r for r in ranked if r.index == climate[2])
    assert own.because == WEAK_PICK and "you rated it down" in own.reasons


def test_an_interest_claim_is_made_only_when_it_matches(demo, minilm):
    rows, vecs = demo
    profile = InterestProfile(interests=["state space models for long sequences"])
    ranked, regime = rank(inputs(rows, vecs), profile, embedder=minilm)
    assert regime == "interests"
    phrase = np.asarray(minilm.embed(profile.interests), np.float32)[0]
    for r in ranked[:12]:
        cos = float(vecs[r.index] @ phrase)
        if r.because.startswith("matches your interest"):
            assert cos >= INTEREST_REASON_COSINE
        else:
            assert r.because == WEAK_PICK and cos < INTEREST_REASON_COSINE
    assert any(r.because == WEAK_PICK for r in ranked[:12])


def test_a_keyword_it_mentions_is_a_reason_that_holds(demo):
    rows, vecs = demo
    profile = InterestProfile(keywords=["diffusion"])
    ranked, regime = rank(inputs(rows, vecs), profile)
    assert regime == "keywords"
    for r in ranked:
        text = (rows[r.index]["title"] + " " + rows[r.index]["abstract"]).lower()
        assert (r.because == "mentions 'diffusion'") == ("diffusion" in text)
        assert r.because in ("mentions 'diffusion'", WEAK_PICK)


def test_no_profile_reasons_say_something_about_the_paper(demo):
    rows, vecs = demo
    papers = [dict(r, categories=["cs.LG"]) for r in rows]
    papers[0]["extra"] = {"upvotes": 42}
    # one paper far from every other: nothing close, so its category is what is known
    lonely = dict(papers[1], title="Lonely", abstract="x", categories=["q-bio.NC"])
    papers.append(lonely)
    others = vecs.mean(axis=0)
    far = np.random.default_rng(0).normal(size=vecs.shape[1]).astype(np.float32)
    far -= (far @ others) / (others @ others) * others
    vecs = np.vstack([vecs, far / np.linalg.norm(far)])
    profile = InterestProfile(categories=["q-bio.NC", "cs.LG"])
    ranked, regime = rank(inputs(papers, vecs), profile)
    assert regime == "default"
    because = {r.index: r.because for r in ranked}
    assert because[0] == "42 upvotes on Hugging Face"
    assert because[len(papers) - 1] == "new in your categories: q-bio.NC"
    for i, line in because.items():
        assert "central to today's papers" not in line
        if m := re.match(r"close to \*(.+?)\* and (\d+) more of today's papers", line):
            j = next(k for k, p in enumerate(papers) if p["title"].startswith(m.group(1)[:40]))
            assert float(vecs[i] @ vecs[j]) >= LIBRARY_REASON_COSINE
            close = int((vecs @ vecs[i] >= LIBRARY_REASON_COSINE).sum()) - 1
            assert close == int(m.group(2)) + 1


def test_the_digest_names_the_configured_categories(tmp_path, minilm):
    papers = [
        {"id": f"p{i}", "title": title, "abstract": abstract, "categories": [cat],
         "published": "2026-11-28T00:00:00Z"}
        for i, (title, abstract, cat) in enumerate([
            ("Sparse attention kernels", "We make attention kernels faster by 2x.", "cs.LG"),
            ("Coral reef acoustics", "Hydrophones record reef fish choruses at night.", "q-bio.PE"),
        ])
    ]  # fmt: skip
    path = tmp_path / "papers.jsonl"
    path.write_text("\n".join(json.dumps(p) for p in papers), encoding="utf-8")
    settings = Settings(home=tmp_path / "home", arxiv={"categories": ["cs.LG"]})
    with PaperAgent(settings, embedder=minilm) as agent:
        assert agent.ingest(request=FetchRequest(path=path)).ok
        digest = agent.digest(since="2026-11-01", now=NOW, save=False)
    because = {p.id: p.because for p in digest.papers}
    assert because == {"p0": "new in your categories: cs.LG", "p1": "new in q-bio.PE"}
