"""Answer-path quality of `paperbrief ask`: retrieval as ask uses it, citation precision, and
refusal precision / recall, through the full QAEngine.

Two engines are measured on the same store (demo corpus, MiniLM, hybrid search, k papers):

* extractive (no model): every figure is a real measurement of paperbrief's own code;
* llm, against a scripted local OpenAI-compatible server (tests/openai_server.py). The script
  is NOT a language model: it refuses exactly the questions labelled unanswerable / near miss
  (an oracle) and otherwise cites the first two papers of its context, adding a citation to a
  paper that does not exist to every third answer. So the llm figures check the plumbing
  (refusal gate + marker detection, citation mapping and stripping, streaming = non-streaming),
  not a model's judgement.

The refusal threshold (``ask_min_similarity``) is calibrated here on the evidence the ask path
sees: the best-chunk cosine of the best retrieved paper. bench/questions.jsonl is the
calibration set; bench/qa_questions_extra.jsonl is held out and reported separately.

Usage: python bench/eval_qa.py [--k 6] [--threshold T] [--home DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT, ROOT / "bench", ROOT / "tests"):
    if str(extra) not in sys.path:  # run as a script from anywhere, without installing
        sys.path.insert(0, str(extra))

import eval_retrieval as er  # noqa: E402  (shared loaders and threshold fitting)

REFUSE_KINDS = er.REFUSE_KINDS


@dataclass
class Row:
    qid: str
    kind: str
    split: str
    relevant: list[str]
    retrieved: list[str]
    evidence: float | None
    refused: bool
    reason: str | None
    cited: list[str]
    removed: int = 0
    injected: int = 0
    flagged: bool = False
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def should_refuse(self) -> bool:
        return self.kind in REFUSE_KINDS


def load_questions(paths: list[tuple[str, Path]]) -> list[dict[str, Any]]:
    out = []
    for split, path in paths:
        if path.exists():
            out += [dict(q, split=split) for q in er.load_jsonl(path)]
    return out


def open_store(home: Path | None, corpus: Path, tmp: str) -> Any:
    from agent.config import Settings
    from agent.pipeline import PaperAgent
    from store import PaperStore, make_embedder

    embedder = make_embedder("minilm")
    path = home or Path(tmp) / "home"
    store = PaperStore(path, embedder)
    if store.stats().papers == 0:
        store.upsert(er.paper_records(er.load_jsonl(corpus)))
    return PaperAgent(Settings(home=path), store=store, embedder=embedder)


def row_of(q: dict[str, Any], answer: Any, seconds: float, injected: int = 0) -> Row:
    return Row(
        qid=q["id"],
        kind=q["kind"],
        split=q["split"],
        relevant=list(q["relevant"]),
        retrieved=[c.id for c in answer.retrieved],
        evidence=answer.evidence,
        refused=answer.refused,
        reason=answer.refusal_reason,
        cited=[c.id for c in answer.citations] if not answer.refused else [],
        removed=answer.removed_citations,
        injected=injected,
        flagged=bool(answer.flagged),
        seconds=seconds,
    )


def run_extractive(agent: Any, questions: list[dict], k: int, threshold: float) -> list[Row]:
    from agent.qa import QAEngine

    engine = QAEngine(agent.search, get_paper_fn=agent.get_paper, k=k, min_similarity=threshold)
    rows = []
    for q in questions:
        start = time.perf_counter()
        answer = engine.ask(q["question"])
        rows.append(row_of(q, answer, time.perf_counter() - start))
    return rows


def run_scripted_llm(
    agent: Any, questions: list[dict], k: int, threshold: float
) -> tuple[list[Row], dict]:
    from openai_script_helpers import numbers_in, prompt_of
    from openai_server import OpenAIServer, chat_completion

    from agent.config import Settings
    from agent.llm import make_llm
    from agent.qa import QAEngine
    from agent.qa_context import REFUSAL_MARKER

    by_text = {q["question"]: q for q in questions}
    injected: dict[str, int] = {}

    def script(request: Any) -> dict:
        text = prompt_of(request)
        question = text.rsplit("Question:", 1)[-1].strip()
        q = by_text[question]
        if q["kind"] in REFUSE_KINDS:
            return chat_completion(REFUSAL_MARKER)
        nums = sorted(numbers_in(request).values())
        reply = f"The first paper addresses this [{nums[0]}]."
        if len(nums) > 1:
            reply += f" The second adds a related result [{nums[1]}]."
        if int(q["id"].strip("qx")) % 3 == 0:
            reply += f" A third claim cites nothing real [{len(nums) + 5}]."
            injected[q["id"]] = 1
        return chat_completion(reply)

    rows: list[Row] = []
    stream_equal = []
    with OpenAIServer(handler=script) as server:
        settings = Settings(llm_base_url=server.url, openai_api_key="x", llm_model="scripted")
        engine = QAEngine(
            agent.search,
            llm=make_llm(settings),
            get_paper_fn=agent.get_paper,
            k=k,
            min_similarity=threshold,
            agentic="never",
        )
        for i, q in enumerate(questions):
            start = time.perf_counter()
            answer = engine.ask(q["question"])
            rows.append(row_of(q, answer, time.perf_counter() - start, injected.get(q["id"], 0)))
            if i % 4 == 0:
                pieces: list[str] = []
                streamed = engine.ask(q["question"], stream=pieces.append)
                stream_equal.append(streamed.answer == answer.answer)
        calls = len(server.chat_requests)
    return rows, {"chat_requests": calls, "stream_equal": stream_equal}


# --- metrics -------------------------------------------------------------------------------------
def metrics(rows: list[Row], threshold: float) -> dict[str, Any]:
    single = [r for r in rows if r.kind == "single"]
    multi = [r for r in rows if r.kind == "multi"]

    def rank(r: Row) -> int | None:
        return next((i for i, pid in enumerate(r.retrieved, 1) if pid in r.relevant), None)

    answered = [r for r in rows if not r.should_refuse and not r.refused]
    cited = [(pid, r) for r in answered for pid in r.cited]
    refuse_pred = [r.refused for r in rows]
    refuse_true = [r.should_refuse for r in rows]
    prf = er._prf(refuse_pred, refuse_true)
    by_kind = {
        kind: _mean([r.refused for r in rows if r.kind == kind])
        for kind in ("single", "multi", "unanswerable", "near_miss")
    }
    off_topic = [r for r in rows if r.kind != "near_miss"]
    ot = er._prf([r.refused for r in off_topic], [r.should_refuse for r in off_topic])
    return {
        "n": len(rows),
        "threshold": threshold,
        "hit@1": _mean([rank(r) == 1 for r in single]),
        "hit@5": _mean([(rank(r) or 99) <= 5 for r in single]),
        "multi_recall@k": _mean(
            [len(set(r.retrieved) & set(r.relevant)) / len(r.relevant) for r in multi]
        ),
        "citation_precision": _mean([pid in r.relevant for pid, r in cited]),
        "answers_citing_a_relevant_paper": _mean(
            [bool(set(r.cited) & set(r.relevant)) for r in answered]
        ),
        "citations": len(cited),
        "removed_citations": sum(r.removed for r in rows),
        "injected_bad_citations": sum(r.injected for r in rows),
        "flagged": sum(r.flagged for r in rows),
        "refusal": prf,
        "refusal_off_topic_only": ot,
        "refused_share_by_kind": by_kind,
        "refusal_reasons": {
            reason: sum(r.reason == reason for r in rows)
            for reason in ("weak_evidence", "no_papers", "model")
        },
        "false_refusals": [r.qid for r in rows if r.refused and not r.should_refuse],
        "missed_refusals": [f"{r.qid}:{r.kind}" for r in rows if r.should_refuse and not r.refused],
        "ask_ms_p50": 1000 * statistics.median(r.seconds for r in rows),
    }


def calibrate(rows: list[Row]) -> dict[str, Any]:
    """Fit the evidence threshold on this split: off-topic only, and all refusals."""
    out: dict[str, Any] = {}
    for label, subset in (
        ("unanswerable_only", [r for r in rows if r.kind != "near_miss"]),
        ("all_refusals", rows),
    ):
        scores = [r.evidence if r.evidence is not None else 0.0 for r in subset]
        refuse = [r.should_refuse for r in subset]
        t = er.best_threshold(scores, refuse)
        out[label] = {
            "threshold": t,
            "fitted": er.refusal_prf(scores, refuse, t),
            "leave_one_out": er.leave_one_out(scores, refuse),
        }
    answerable = [r.evidence for r in rows if not r.should_refuse and r.evidence is not None]
    refusals = [r.evidence for r in rows if r.should_refuse and r.evidence is not None]
    out["auroc"] = er.auroc(answerable, refusals)
    out["answerable_min"] = min(answerable)
    out["unanswerable_max"] = max(
        r.evidence for r in rows if r.kind == "unanswerable" and r.evidence is not None
    )
    return out


def _mean(values: list) -> float:
    return float(statistics.fmean(values)) if values else float("nan")


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    from agent.qa_context import DEFAULT_MIN_SIMILARITY

    threshold = args.threshold if args.threshold is not None else DEFAULT_MIN_SIMILARITY
    questions = load_questions([("calibration", args.questions), ("held_out", args.extra)])
    with tempfile.TemporaryDirectory(prefix="paperbrief-evalqa-", ignore_cleanup_errors=True) as t:
        agent = open_store(args.home, args.corpus, t)
        ext = run_extractive(agent, questions, args.k, threshold)
        llm_rows, llm_info = run_scripted_llm(agent, questions, args.k, threshold)
        agent.close()
    report: dict[str, Any] = {"k": args.k, "threshold": threshold, "splits": {}}
    for split in ("calibration", "held_out", "all"):
        pick = [r for r in ext if split == "all" or r.split == split]
        pick_llm = [r for r in llm_rows if split == "all" or r.split == split]
        if not pick:
            continue
        report["splits"][split] = {
            "kinds": {
                kind: sum(r.kind == kind for r in pick)
                for kind in ("single", "multi", "unanswerable", "near_miss")
            },
            "extractive": metrics(pick, threshold),
            "scripted_llm": metrics(pick_llm, threshold),
            "calibration": calibrate(pick),
        }
    report["scripted_llm"] = llm_info
    if args.rows:
        report["rows"] = [asdict(r) for r in ext]
    return report


def print_report(r: dict[str, Any]) -> None:
    print(f"k = {r['k']}, refusal threshold (best-chunk cosine) = {r['threshold']:.3f}")
    for split, s in r["splits"].items():
        kinds = ", ".join(f"{n} {k}" for k, n in s["kinds"].items())
        print(f"\n== {split}: {kinds}")
        for engine in ("extractive", "scripted_llm"):
            m = s[engine]
            rp, ot = m["refusal"], m["refusal_off_topic_only"]
            print(
                f"{engine:12} hit@1 {m['hit@1']:.3f}  hit@5 {m['hit@5']:.3f}  multi rec@k "
                f"{m['multi_recall@k']:.3f}  citation precision {m['citation_precision']:.3f} "
                f"({m['citations']} citations; answers citing a relevant paper "
                f"{m['answers_citing_a_relevant_paper']:.3f})"
            )
            print(
                f"{'':12} refusal P/R {rp['precision']:.3f}/{rp['recall']:.3f} (all refusals)  "
                f"{ot['precision']:.3f}/{ot['recall']:.3f} (off-topic only)  refused by kind "
                + " ".join(f"{k} {v:.2f}" for k, v in m["refused_share_by_kind"].items())
            )
            print(
                f"{'':12} reasons {m['refusal_reasons']}  removed/injected bad citations "
                f"{m['removed_citations']}/{m['injected_bad_citations']}  flagged {m['flagged']}"
                f"  ask p50 {m['ask_ms_p50']:.1f} ms"
            )
            if engine == "extractive":
                print(f"{'':12} false refusals {m['false_refusals']}")
                print(f"{'':12} missed refusals {m['missed_refusals']}")
        c = s["calibration"]
        print(
            f"calibration: AUROC {c['auroc']:.3f}; answerable min {c['answerable_min']:.3f}, "
            f"unanswerable max {c['unanswerable_max']:.3f}"
        )
        for label in ("unanswerable_only", "all_refusals"):
            f = c[label]
            fit, loo = f["fitted"], f["leave_one_out"]
            print(
                f"  fit on {label:17} t={f['threshold']:.3f} P/R {fit['precision']:.3f}/"
                f"{fit['recall']:.3f}; leave-one-out P/R {loo['precision']:.3f}/{loo['recall']:.3f}"
            )
    info = r["scripted_llm"]
    print(
        f"\nscripted server: {info['chat_requests']} chat requests; streamed == non-streamed "
        f"in {sum(info['stream_equal'])}/{len(info['stream_equal'])} sampled questions"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "agent/data/demo_corpus.jsonl")
    parser.add_argument("--questions", type=Path, default=ROOT / "bench/questions.jsonl")
    parser.add_argument("--extra", type=Path, default=ROOT / "bench/qa_questions_extra.jsonl")
    parser.add_argument("--k", type=int, default=6, help="papers in the context")
    parser.add_argument("--threshold", type=float, default=None, help="refusal threshold")
    parser.add_argument("--home", type=Path, default=None, help="reuse/keep the store here")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--rows", action="store_true", help="include per-question rows (JSON)")
    args = parser.parse_args(argv)
    report = evaluate(args)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print_report(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
