"""Retrieval quality of paperbrief's store: dense vs BM25 vs hybrid, and the refusal gate.

Builds a throwaway store (embedded Chroma + BM25 in a temp dir) from the demo corpus, runs the
benchmark questions in every search mode and prints:

* single-paper questions: hit@1, hit@5, MRR@k;
* multi-paper questions: recall@5 (share of the relevant papers found in the top 5);
* the refusal gate: ``dense_similarity`` of the top hit (cosine of its best chunk) for
  answerable vs unanswerable + near-miss questions, the threshold that maximises refusal F1,
  and a leave-one-out estimate of that F1 (each question judged by a threshold fitted on the
  others), so the published figure is not just fitted to the set.

Usage: python bench/eval_retrieval.py [--corpus agent/data/demo_corpus.jsonl]
       [--questions bench/questions.jsonl] [--k 10] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere, without installing
    sys.path.insert(0, str(ROOT))

MODES = ("dense", "bm25", "hybrid")
REFUSE_KINDS = ("unanswerable", "near_miss")
ANSWER_KINDS = ("single", "multi")
GATE_SCORES = ("top", "max")


@dataclass
class Outcome:
    """What one search returned for one question."""

    qid: str
    kind: str
    relevant: list[str]
    ranked: list[str]
    similarities: list[float | None]
    seconds: float

    def gate_score(self, how: str) -> float | None:
        """Evidence strength for the refusal gate: the top hit's best-chunk cosine ("top"),
        or the largest over all returned hits ("max")."""
        if not self.similarities:
            return None
        if how == "top":
            return self.similarities[0]
        known = [s for s in self.similarities if s is not None]
        return max(known) if known else None


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def paper_records(corpus: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Corpus lines -> the plain dicts PaperStore.upsert takes (via agent's Paper model)."""
    from agent.models import Paper

    records = []
    for row in corpus:
        extra = {key: row[key] for key in ("topic", "fictional", "injection") if key in row}
        paper = Paper(
            id=row["id"],
            title=row["title"],
            abstract=row["abstract"],
            authors=row.get("authors", []),
            categories=row.get("categories", []),
            primary_category=(row.get("categories") or [None])[0],
            published=datetime.fromisoformat(row["published"].replace("Z", "+00:00")),
            source="file",
            url=row.get("url"),
            extra=extra,
        )
        records.append(paper.model_dump(mode="json"))
    return records


def run_mode(store: Any, questions: list[dict[str, Any]], mode: str, k: int) -> list[Outcome]:
    outcomes = []
    for q in questions:
        start = time.perf_counter()
        hits = store.search(q["question"], k=k, mode=mode)
        seconds = time.perf_counter() - start
        outcomes.append(
            Outcome(
                qid=q["id"],
                kind=q["kind"],
                relevant=list(q["relevant"]),
                ranked=[h.paper["id"] for h in hits],
                similarities=[h.dense_similarity for h in hits],
                seconds=seconds,
            )
        )
    return outcomes


# --- ranking metrics ---------------------------------------------------------------------------
def first_rank(out: Outcome) -> int | None:
    """1-based rank of the first relevant paper, None if it is not in the returned list."""
    for i, pid in enumerate(out.ranked, 1):
        if pid in out.relevant:
            return i
    return None


def ranking_metrics(outcomes: list[Outcome]) -> dict[str, Any]:
    single = [o for o in outcomes if o.kind == "single"]
    multi = [o for o in outcomes if o.kind == "multi"]
    ranks = [first_rank(o) for o in single]
    metrics: dict[str, Any] = {
        "single_n": len(single),
        "hit@1": _mean([r == 1 for r in ranks]),
        "hit@5": _mean([r is not None and r <= 5 for r in ranks]),
        "mrr": _mean([1.0 / r if r else 0.0 for r in ranks]),
        "multi_n": len(multi),
        "multi_recall@5": _mean(
            [len(set(o.ranked[:5]) & set(o.relevant)) / len(o.relevant) for o in multi]
        ),
        "query_ms_p50": 1000 * statistics.median(o.seconds for o in outcomes),
    }
    metrics["single_misses"] = [
        {"id": o.qid, "rank": r, "top": o.ranked[:3]}
        for o, r in zip(single, ranks, strict=True)
        if r != 1
    ]
    metrics["multi_partial"] = [
        {"id": o.qid, "missing": sorted(set(o.relevant) - set(o.ranked[:5]))}
        for o in multi
        if not set(o.relevant) <= set(o.ranked[:5])
    ]
    return metrics


def _mean(values: list[bool] | list[float]) -> float:
    return float(statistics.fmean(values)) if values else float("nan")


# --- refusal gate ------------------------------------------------------------------------------
def refusal_prf(scores: list[float], refuse: list[bool], threshold: float) -> dict[str, float]:
    """Precision/recall/F1 of "refuse when the top similarity is below threshold"."""
    predicted = [s < threshold for s in scores]
    return _prf(predicted, refuse)


def _prf(predicted: list[bool], refuse: list[bool]) -> dict[str, float]:
    tp = sum(p and r for p, r in zip(predicted, refuse, strict=True))
    fp = sum(p and not r for p, r in zip(predicted, refuse, strict=True))
    fn = sum(r and not p for p, r in zip(predicted, refuse, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def best_threshold(scores: list[float], refuse: list[bool]) -> float:
    """Threshold with the highest refusal F1.

    Candidates are midpoints between neighbouring distinct scores (plus both ends). Among equally
    good candidates the middle one is taken, which keeps the widest margin on both sides when the
    groups separate cleanly, instead of hugging one group's extreme score.
    """
    values = sorted(set(scores))
    candidates = [values[0] - 1e-6]
    candidates += [(a + b) / 2 for a, b in pairwise(values)]
    candidates.append(values[-1] + 1e-6)
    f1s = [refusal_prf(scores, refuse, t)["f1"] for t in candidates]
    top = max(f1s)
    best = [t for t, f in zip(candidates, f1s, strict=True) if f >= top - 1e-12]
    return best[len(best) // 2]


def leave_one_out(scores: list[float], refuse: list[bool]) -> dict[str, Any]:
    """Judge each question with a threshold fitted on all the others."""
    predicted, thresholds = [], []
    for i in range(len(scores)):
        rest_s = scores[:i] + scores[i + 1 :]
        rest_r = refuse[:i] + refuse[i + 1 :]
        t = best_threshold(rest_s, rest_r)
        thresholds.append(t)
        predicted.append(scores[i] < t)
    out: dict[str, Any] = dict(_prf(predicted, refuse))
    out["threshold_min"] = min(thresholds)
    out["threshold_max"] = max(thresholds)
    return out


def auroc(answerable: list[float], refusals: list[float]) -> float:
    """P(an answerable question scores above a refusal one); ties count half."""
    if not answerable or not refusals:
        return float("nan")
    wins = sum((a > r) + 0.5 * (a == r) for a in answerable for r in refusals)
    return wins / (len(answerable) * len(refusals))


def describe(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]

    return {
        "n": len(ordered),
        "min": ordered[0],
        "p10": pct(0.10),
        "median": statistics.median(ordered),
        "p90": pct(0.90),
        "max": ordered[-1],
    }


def gate_metrics(outcomes: list[Outcome], how: str) -> dict[str, Any] | None:
    pairs = [(o, o.gate_score(how)) for o in outcomes]
    if not pairs or any(s is None for _, s in pairs):
        return None  # this mode does not report a dense similarity (bm25)
    scored = [o for o, _ in pairs]
    scores = [float(s) for _, s in pairs]  # type: ignore[arg-type]
    refuse = [o.kind in REFUSE_KINDS for o in scored]
    by_kind = {
        kind: [s for s, o in zip(scores, scored, strict=True) if o.kind == kind]
        for kind in (*ANSWER_KINDS, *REFUSE_KINDS)
    }
    answerable = by_kind["single"] + by_kind["multi"]
    refusals = by_kind["unanswerable"] + by_kind["near_miss"]
    threshold = best_threshold(scores, refuse)
    # What a similarity threshold can do on its own: near misses are on-topic by design, so
    # fit on answerable vs off-topic questions and report how many near misses it still stops.
    off_topic = [(s, o.kind == "unanswerable") for s, o in zip(scores, scored, strict=True)]
    off_topic = [pair for pair, o in zip(off_topic, scored, strict=True) if o.kind != "near_miss"]
    ot_scores = [s for s, _ in off_topic]
    ot_refuse = [r for _, r in off_topic]
    ot_threshold = best_threshold(ot_scores, ot_refuse)
    near = by_kind["near_miss"]
    return {
        "answerable": describe(answerable),
        "unanswerable": describe(by_kind["unanswerable"]),
        "near_miss": describe(by_kind["near_miss"]),
        "margin": min(answerable) - max(refusals),
        "auroc": auroc(answerable, refusals),
        "threshold": threshold,
        "fitted": refusal_prf(scores, refuse, threshold),
        "leave_one_out": leave_one_out(scores, refuse),
        "unanswerable_only": {
            "threshold": ot_threshold,
            "fitted": refusal_prf(ot_scores, ot_refuse, ot_threshold),
            "leave_one_out": leave_one_out(ot_scores, ot_refuse),
            "near_miss_refused": _mean([s < ot_threshold for s in near]) if near else None,
        },
        "errors": [
            {"id": o.qid, "kind": o.kind, "similarity": s}
            for s, o in zip(scores, scored, strict=True)
            if (s < threshold) != (o.kind in REFUSE_KINDS)
        ],
    }


# --- driver ------------------------------------------------------------------------------------
def evaluate(corpus_path: Path, questions_path: Path, k: int) -> dict[str, Any]:
    from store import PaperStore, make_embedder

    corpus = load_jsonl(corpus_path)
    questions = load_jsonl(questions_path)
    known = {row["id"] for row in corpus}
    unknown = sorted({pid for q in questions for pid in q["relevant"]} - known)
    if unknown:
        raise SystemExit(f"questions name papers missing from the corpus: {unknown}")

    report: dict[str, Any] = {
        "corpus": str(corpus_path),
        "questions": str(questions_path),
        "papers": len(corpus),
        "question_kinds": {
            kind: sum(q["kind"] == kind for q in questions)
            for kind in (*ANSWER_KINDS, *REFUSE_KINDS)
        },
        "k": k,
        "modes": {},
    }
    with tempfile.TemporaryDirectory(prefix="paperbrief-eval-", ignore_cleanup_errors=True) as tmp:
        embedder = make_embedder("minilm")
        with PaperStore(Path(tmp) / "home", embedder) as store:
            start = time.perf_counter()
            upserted = store.upsert(paper_records(corpus))
            report["build_seconds"] = time.perf_counter() - start
            report["chunks"] = upserted.chunks
            report["embedder"] = getattr(embedder, "model_id", type(embedder).__name__)
            report["gates"] = {}
            for mode in MODES:
                outcomes = run_mode(store, questions, mode, k)
                report["modes"][mode] = ranking_metrics(outcomes)
                for how in GATE_SCORES:
                    gate = gate_metrics(outcomes, how)
                    # in dense mode the top hit is the most similar one: "max" repeats "top"
                    if gate is not None and not (mode == "dense" and how == "max"):
                        report["gates"][f"{mode} {how}"] = gate
    return report


def print_report(r: dict[str, Any]) -> None:
    kinds = ", ".join(f"{n} {kind}" for kind, n in r["question_kinds"].items())
    print(f"corpus {r['corpus']}: {r['papers']} papers, {r['chunks']} chunks")
    print(f"embedder {r['embedder']}; store built in {r['build_seconds']:.1f} s; k = {r['k']}")
    print(f"questions {r['questions']}: {kinds}\n")

    print("Ranking (single: hit@1 hit@5 MRR; multi: recall@5)")
    print(f"{'mode':8} {'hit@1':>6} {'hit@5':>6} {'MRR':>6} {'rec@5':>6} {'q ms':>6}")
    for mode, rk in r["modes"].items():
        print(
            f"{mode:8} {rk['hit@1']:6.3f} {rk['hit@5']:6.3f} {rk['mrr']:6.3f} "
            f"{rk['multi_recall@5']:6.3f} {rk['query_ms_p50']:6.1f}"
        )
    for mode, rk in r["modes"].items():
        for miss in rk["single_misses"]:
            print(
                f"  {mode}: {miss['id']} first relevant at rank {miss['rank']}; top {miss['top']}"
            )
        for part in rk["multi_partial"]:
            print(f"  {mode}: {part['id']} missing from top 5: {part['missing']}")

    print("\nRefusal gate: best-chunk cosine of the top hit (top) or of any hit (max)")
    print("refuse = unanswerable + near_miss; the question is refused when the score is below t")
    for name, g in r["gates"].items():
        print(f"{name}:")
        for group in ("answerable", "unanswerable", "near_miss"):
            d = g[group]
            print(
                f"  {group:12} n={d['n']:2}  min {d['min']:.3f}  p10 {d['p10']:.3f}  "
                f"median {d['median']:.3f}  p90 {d['p90']:.3f}  max {d['max']:.3f}"
            )
        print(
            f"  margin (min answerable - max refused) {g['margin']:+.3f}   AUROC {g['auroc']:.3f}"
        )
        _print_fit("all refusals", g["threshold"], g["fitted"], g["leave_one_out"])
        ot = g["unanswerable_only"]
        _print_fit("unanswerable only", ot["threshold"], ot["fitted"], ot["leave_one_out"])
        if ot["near_miss_refused"] is not None:
            print(f"    that threshold also refuses {ot['near_miss_refused']:.0%} of near misses")
        wrong = ", ".join(f"{e['id']} {e['kind']} {e['similarity']:.3f}" for e in g["errors"])
        print(f"  misjudged at t={g['threshold']:.3f}: {wrong or 'none'}")


def _print_fit(label: str, t: float, fit: dict[str, float], loo: dict[str, Any]) -> None:
    print(
        f"  {label:17} t={t:.3f}  fitted P/R/F1 {fit['precision']:.3f}/{fit['recall']:.3f}/"
        f"{fit['f1']:.3f}  leave-one-out P/R/F1 {loo['precision']:.3f}/{loo['recall']:.3f}/"
        f"{loo['f1']:.3f} (t {loo['threshold_min']:.3f}-{loo['threshold_max']:.3f})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "agent/data/demo_corpus.jsonl")
    parser.add_argument("--questions", type=Path, default=ROOT / "bench/questions.jsonl")
    parser.add_argument("--k", type=int, default=10, help="results per search (MRR depth)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    report = evaluate(args.corpus, args.questions, args.k)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
