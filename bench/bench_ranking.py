"""Ranking quality for simulated readers, and how the ranker was chosen.

The labelled mixed corpus: the 48 demo abstracts (6 topics x 8, fictional) plus every real
abstract in ../shared/samples (arXiv API/RSS and Hugging Face payloads) as unlabelled
distractors. A simulated reader of topic T has a library of ``--library`` papers drawn from T;
the day is everything else. We report precision@5 (5 of T's papers remain in the day, so 1.0 is
reachable) and precision@10 (at most 0.5 here), averaged over every topic and ``--draws`` draws:

* recency             no profile at all (upvotes / centrality / recency: the no-profile order)
* interests only      a typed interest naming the topic
* nearest item        max cosine to a library item (the regime below MIN_POSITIVES)
* centroid            cosine to the library's mean vector
* logistic / svm      a linear model, library vs the day (arxiv-sanity style)
* shipped ranker      agent.digest.ranking (the SVM, with the nearest item as reason)
* +ratings            the shipped ranker after the reader rated 2 papers of T up and 2 others down

``--calibrate`` also prints the cosines from which the digest's because lines may claim a
similarity (agent/digest/reasons.py): over the same simulated readers, a "close to X" claim (the
nearest library item) is true when X has the paper's topic, a "matches your interest" claim when
the interest names the paper's topic; the threshold is the lowest cosine from which every 0.05
wide band (with 10 or more labelled claims) holds a majority of true claims.

Usage: python bench/bench_ranking.py [--draws 10] [--library 3] [--json] [--calibrate]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from agent.digest.ranking import RankInputs, rank  # noqa: E402
from agent.digest.relevance import InterestProfile  # noqa: E402
from agent.profiles.signal import ReaderSignal  # noqa: E402

TOPIC_PHRASES = {
    "llm-reasoning": "reasoning with large language models",
    "diffusion": "diffusion models for image generation",
    "rl-robotics": "reinforcement learning for robots",
    "gnn-molecules": "graph neural networks for molecules",
    "efficient-transformers": "efficient transformer architectures",
    "ml-climate": "machine learning for climate and weather",
}


def load_corpus() -> list[dict]:
    rows = [json.loads(x) for x in (REPO / "agent/data/demo_corpus.jsonl").open()]
    samples = REPO.parent / "shared" / "samples"
    seen = {r["title"] for r in rows}
    if samples.is_dir():
        from agent.sources.files import read_papers

        for path in sorted(samples.iterdir()):
            if path.suffix not in {".json", ".xml"} or "error" in path.name:
                continue
            try:
                records = read_papers(path).papers
            except Exception:  # a payload our file reader does not take is just skipped
                continue
            for rec in records:
                data = rec.model_dump()
                if data["title"] not in seen and data.get("abstract"):
                    seen.add(data["title"])
                    rows.append({**data, "topic": None})
    return rows


def precision(order: list[int], relevant: set[int], k: int) -> float:
    return sum(1 for i in order[:k] if i in relevant) / k


def methods(vecs, lib_idx, day_idx, topic, embedder, rated):
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    lib, day = vecs[lib_idx], vecs[day_idx]
    now = datetime(2026, 11, 29, tzinfo=UTC)
    inputs = RankInputs([{"id": str(i)} for i in day_idx], day, [now] * len(day_idx), now)
    out = {}
    out["recency (no profile)"] = [r.index for r in rank(inputs)[0]]
    prof = InterestProfile(interests=[TOPIC_PHRASES[topic]])
    out["interests only"] = [r.index for r in rank(inputs, prof, embedder=embedder)[0]]
    out["nearest item"] = list(np.argsort(-(day @ lib.T).max(axis=1)))
    centroid = lib.mean(axis=0)
    out["centroid"] = list(np.argsort(-(day @ centroid)))
    x = np.vstack([lib, day])
    y = np.r_[np.ones(len(lib)), np.zeros(len(day))]
    for name, model in (
        ("logistic", LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000)),
        ("svm", LinearSVC(C=0.1, class_weight="balanced", max_iter=5000)),
    ):
        model.fit(x, y)
        out[name] = list(np.argsort(-model.decision_function(day)))
    labels = [f"lib {i}" for i in lib_idx]
    signal = ReaderSignal(lib, labels)
    out["shipped ranker"] = [r.index for r in rank(inputs, signal=signal)[0]]
    up, down = rated
    liked = np.vstack([lib, vecs[up]])
    sig2 = ReaderSignal(liked, labels + ["up"] * len(up), vecs[down], ["down"] * len(down))
    out["shipped +ratings"] = [r.index for r in rank(inputs, signal=sig2)[0]]
    return out


def majority_threshold(claims: list[tuple[float, bool]], band: float = 0.05) -> float | None:
    """The lowest cosine (0.01 steps) from which every band with >= 10 claims is mostly true."""
    cos = np.array([c for c, _ in claims])
    true = np.array([t for _, t in claims])
    best = None
    for t in np.arange(0.95, -0.01, -0.01):
        inside = (cos >= t) & (cos < t + band)
        if inside.sum() >= 10 and true[inside].mean() < 0.5:
            break
        best = round(float(t), 2)
    return best


def print_calibration(claims: dict[str, list[tuple[float, bool]]]) -> None:
    print("\nbecause-line calibration (labelled claims; true = same topic)")
    print(f"{'claim':<22} {'claims':>6} {'threshold':>9} {'true at or above':>16} {'kept':>6}")
    for kind, found in claims.items():
        t = majority_threshold(found)
        above = [ok for c, ok in found if t is not None and c >= t]
        kept = sum(above) / max(1, sum(ok for _, ok in found))
        share = sum(above) / max(1, len(above))
        print(f"{kind:<22} {len(found):>6} {t!s:>9} {share:>16.3f} {kept:>6.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=10)
    ap.add_argument("--library", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--calibrate", action="store_true", help="print the because-line cosines")
    args = ap.parse_args()
    from store.embedding.embedders import make_embedder

    corpus = load_corpus()
    embedder = make_embedder("minilm", threads=2)
    t0 = time.perf_counter()
    vecs = np.asarray(
        embedder.embed([f"{r['title']}. {r['abstract']}" for r in corpus]), np.float32
    )
    embed_s = time.perf_counter() - t0
    rng = random.Random(7)
    scores: dict[str, dict[str, list[float]]] = {}
    claims: dict[str, list[tuple[float, bool]]] = {"close to a library item": [],
                                                   "matches an interest": []}  # fmt: skip
    phrases = np.asarray(embedder.embed(list(TOPIC_PHRASES.values())), np.float32)
    for j, topic in enumerate(TOPIC_PHRASES):
        claims["matches an interest"] += [
            (float(vecs[i] @ phrases[j]), r["topic"] == topic)
            for i, r in enumerate(corpus) if r.get("topic")
        ]  # fmt: skip
    for topic in TOPIC_PHRASES:
        members = [i for i, r in enumerate(corpus) if r.get("topic") == topic]
        others = [i for i, r in enumerate(corpus) if r.get("topic") != topic]
        for _ in range(args.draws):
            lib_idx = rng.sample(members, args.library)
            day_idx = [i for i in range(len(corpus)) if i not in lib_idx]
            relevant = {j for j, i in enumerate(day_idx) if corpus[i].get("topic") == topic}
            claims["close to a library item"] += [
                (float((vecs[i] @ vecs[lib_idx].T).max()), corpus[i]["topic"] == topic)
                for i in day_idx if corpus[i].get("topic")
            ]  # fmt: skip
            rest = [i for i in members if i not in lib_idx]
            rated = (rng.sample(rest, 2), rng.sample(others, 2))
            for name, order in methods(vecs, lib_idx, day_idx, topic, embedder, rated).items():
                s = scores.setdefault(name, {"p@5": [], "p@10": []})
                s["p@5"].append(precision(order, relevant, 5))
                s["p@10"].append(precision(order, relevant, 10))
    result = {
        "corpus": len(corpus),
        "labelled": sum(1 for r in corpus if r.get("topic")),
        "library_size": args.library,
        "draws_per_topic": args.draws,
        "embed_seconds": round(embed_s, 1),
        "methods": {
            k: {m: round(float(np.mean(v)), 3) for m, v in s.items()} for k, s in scores.items()
        },
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"corpus {result['corpus']} papers ({result['labelled']} labelled, 6 topics); "
        f"library of {args.library}; {args.draws} draws per topic"
    )
    print(f"{'method':<24} {'p@5':>6} {'p@10 (max .5)':>14}")
    for name, m in result["methods"].items():
        print(f"{name:<24} {m['p@5']:>6.3f} {m['p@10']:>14.3f}")
    if args.calibrate:
        print_calibration(claims)


if __name__ == "__main__":
    main()
