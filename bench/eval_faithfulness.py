"""Precision and recall of the summary faithfulness flags on a labelled set.

    .venv/bin/python bench/eval_faithfulness.py            # table
    .venv/bin/python bench/eval_faithfulness.py --show     # plus every wrong call
    .venv/bin/python bench/eval_faithfulness.py --json

bench/faithfulness_labelled.jsonl holds summaries of demo-corpus abstracts (agent/data), each
labelled faithful or unfaithful with the kind of error (reversed_direction, wrong_number,
invented_entity) or of faithful form (paraphrase, abbreviation, number_words). Split "before":
written before the new checks existed; split "after": written afterwards to try to break them
(tricky faithful paraphrases, errors of shapes the checks were not built for). A case counts as
flagged when ``check_facts`` reports any problem for its summary text; the reversed-claim
check is also scored on its own. Precision matters most: a flag that is often wrong teaches
readers to ignore flags.

Two unlabelled sanity sets follow: the extractive engine's summaries of the demo corpus
(sentences copied from the abstract, so every flag is false) and, when ../shared/samples is
present, the ai_summary lines of the Hugging Face payloads (written by a model, mostly
faithful: read the flags it prints).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from agent.models import Paper
from agent.summaries.claims import check_directions
from agent.summaries.extractive import summarize_extractive
from agent.summaries.faithfulness import check_facts

ROOT = Path(__file__).resolve().parent.parent
LABELLED = ROOT / "bench" / "faithfulness_labelled.jsonl"
DEMO = ROOT / "agent" / "data" / "demo_corpus.jsonl"
SAMPLES = ROOT.parent / "shared" / "samples"


def load(path: Path = LABELLED) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _source(case: dict[str, Any]) -> str:
    return f"{case['title']}\n{case['abstract']}"


def _pr(flags: list[bool], truth: list[bool]) -> dict[str, float | int]:
    tp = sum(f and t for f, t in zip(flags, truth, strict=True))
    fp = sum(f and not t for f, t in zip(flags, truth, strict=True))
    fn = sum(t and not f for f, t in zip(flags, truth, strict=True))
    return {
        "flagged": tp + fp,
        "true_flags": tp,
        "false_flags": fp,
        "missed": fn,
        "precision": round(tp / (tp + fp), 3) if tp + fp else 1.0,
        "recall": round(tp / (tp + fn), 3) if tp + fn else 1.0,
    }


def evaluate(cases: list[dict[str, Any]]) -> dict[str, Any]:
    unfaithful = [c["label"] == "unfaithful" for c in cases]
    problems = [check_facts([("summary", c["summary"])], _source(c)) for c in cases]
    reversed_ = [check_directions([("summary", c["summary"])], _source(c)) for c in cases]
    kinds: dict[str, dict[str, int]] = {}
    for case, found in zip(cases, problems, strict=True):
        row = kinds.setdefault(case["kind"], {"cases": 0, "flagged": 0})
        row["cases"] += 1
        row["flagged"] += bool(found)
    rev_flags = [bool(r) for r in reversed_]
    is_reversed = [c["kind"] == "reversed_direction" for c in cases]
    splits = {
        split: _pr(
            [bool(p) for c, p in zip(cases, problems, strict=True) if c.get("split") == split],
            [c["label"] == "unfaithful" for c in cases if c.get("split") == split],
        )
        for split in sorted({c.get("split", "") for c in cases})
    }
    return {
        "cases": len(cases),
        "unfaithful": sum(unfaithful),
        "overall": _pr([bool(p) for p in problems], unfaithful),
        "reversed_check": {
            # precision against "unfaithful"; recall on the reversed_direction cases
            **_pr(rev_flags, unfaithful),
            "recall": _pr(rev_flags, is_reversed)["recall"],
        },
        "by_kind": kinds,
        "by_split": splits,
        "wrong": [
            {"id": c["id"], "label": c["label"], "problems": p}
            for c, p, u in zip(cases, problems, unfaithful, strict=True)
            if bool(p) != u
        ],
    }


def sanity() -> dict[str, Any]:
    """Flags on summaries that should raise none (extractive) or few (HF ai_summary)."""
    out: dict[str, Any] = {}
    papers = [Paper(**json.loads(line), source="file") for line in DEMO.read_text().splitlines()]
    flagged = []
    for paper in papers:
        s = summarize_extractive(paper)
        texts = [("tldr", s.tldr), ("summary", s.summary), ("why_it_matters", s.why_it_matters)]
        if found := check_facts(texts, f"{paper.title}\n{paper.abstract}"):
            flagged.append({"id": paper.id, "problems": found})
    out["extractive"] = {"summaries": len(papers), "flagged": flagged}
    ai: list[tuple[str, str, str]] = []
    for path in sorted(SAMPLES.glob("hf_daily_papers_*.json")) if SAMPLES.is_dir() else []:
        for item in json.loads(path.read_text(encoding="utf-8")):
            paper = item.get("paper", item)
            if text := paper.get("ai_summary"):
                ai.append((paper["id"], text, f"{paper['title']}\n{paper['summary']}"))
    hf = [
        {"id": i, "ai_summary": t, "problems": found}
        for i, t, src in ai
        if (found := check_facts([("summary", t)], src))
    ]
    out["hf_ai_summary"] = {"summaries": len(ai), "flagged": hf}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--file", type=Path, default=LABELLED)
    parser.add_argument("--show", action="store_true", help="list every wrong call")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = evaluate(load(args.file))
    result["sanity"] = sanity()
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['cases']} cases, {result['unfaithful']} unfaithful ({args.file.name})")
    for name in ("overall", "reversed_check"):
        r = result[name]
        print(
            f"{name:15} precision {r['precision']:.3f}  recall {r['recall']:.3f}  "
            f"flags {r['flagged']} (false {r['false_flags']})"
        )
    for split, r in result["by_split"].items():
        print(
            f"  split {split or '-':9} precision {r['precision']:.3f}  recall {r['recall']:.3f}  "
            f"flags {r['flagged']} (false {r['false_flags']})"
        )
    print("flag rate by kind:")
    for kind, row in result["by_kind"].items():
        print(f"  {kind:20} {row['flagged']}/{row['cases']}")
    ext, hf = result["sanity"]["extractive"], result["sanity"]["hf_ai_summary"]
    print(f"extractive summaries flagged: {len(ext['flagged'])}/{ext['summaries']}")
    print(f"HF ai_summary lines flagged:  {len(hf['flagged'])}/{hf['summaries']}")
    if args.show:
        for row in result["wrong"] + ext["flagged"] + hf["flagged"]:
            print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
