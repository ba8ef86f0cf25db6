"""Does the digest tell the truth about its picks? Because lines, theme names, no-model TL;DRs.

    .venv/bin/python bench/bench_digest_truth.py [--repo DIR] [--json]

``--repo`` measures another checkout of the code (``git worktree add /tmp/before HEAD`` gives
the code before a change; the corpora and thresholds below stay this file's). Two corpora: the
48 fictional demo abstracts (6 labelled topics) and the real payloads in ../shared/samples (HF
daily papers, arXiv API and RSS). Readers: no profile; a library of 3 papers; the same plus 2
papers rated up and 2 down; one typed interest. Each digest is built as ``run`` builds it
(``choose`` then ``build_digest``, the no-model summaries of the shown papers, keyword names).

(a) because lines: a line holds when its own similarity says so: "close to *X*" / "like *X*"
    at cosine >= LIBRARY_COSINE to X, "matches your interest 'I'" at >= INTEREST_COSINE to I
    (both calibrated on the ranking bench: ``bench/bench_ranking.py --calibrate``); a rated-down
    paper is never a reason; upvotes must be the paper's; "central to today's papers" needs two
    papers of the window at >= LIBRARY_COSINE. "generic" counts lines that say nothing about the
    paper ("central to today's papers", "new in the window"). On the demo corpus, "topic-true"
    checks a library or interest claim against the topic labels.
(b) theme names: fit = share of papers in a named theme whose own theme name is, of the
    digest's theme names, the closest to the paper (MiniLM cosine; goal >= 85%); cohesion = mean
    cosine of a paper to its theme's centre (without it) and the share closer to another
    theme's centre; "Other" share; names that are lists of single words; demo topic purity.
(c) TL;DRs of every abstract (the no-model engine, HF's ai_summary left out): fragments,
    dangling references, LaTeX remnants, Flesch-Kincaid grade, the abstract's first sentence,
    equal to the title, numbers carried, "why it matters" filled.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from statistics import mean
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parents[1]
SAMPLES = HERE.parent / "shared" / "samples"
NOW = datetime(2026, 11, 29, 8, tzinfo=UTC)
#: Calibrated on the ranking bench (see the module docstring): a claim above is true for most.
LIBRARY_COSINE = 0.48
INTEREST_COSINE = 0.25
DEMO_INTERESTS = {
    "llm-reasoning": "reasoning with large language models",
    "diffusion": "diffusion models for image generation",
    "rl-robotics": "reinforcement learning for robots",
    "gnn-molecules": "graph neural networks for molecules",
    "efficient-transformers": "efficient transformer architectures",
    "ml-climate": "machine learning for climate and weather",
}
REAL_INTERESTS = ["software testing", "LLM agents", "diffusion models for image generation"]


def load(repo: Path) -> tuple[list[dict], list[dict]]:
    sys.path.insert(0, str(repo))
    from agent.sources.files import read_papers

    demo = [json.loads(x) for x in (HERE / "agent/data/demo_corpus.jsonl").open()]
    real: list[dict] = []
    seen: set[str] = set()
    for path in sorted(SAMPLES.iterdir()) if SAMPLES.is_dir() else []:
        if path.suffix not in {".json", ".xml"} or "error" in path.name:
            continue
        try:
            papers = read_papers(path).papers
        except Exception:  # a payload the file reader does not take
            continue
        for p in papers:
            if p.abstract and p.title not in seen:
                seen.add(p.title)
                real.append(p.model_dump(mode="json"))
    for r in demo:
        r.setdefault("source", "demo")
    return demo, real


class Embed:
    def __init__(self) -> None:
        from store import make_embedder

        self.model = make_embedder("minilm")
        self.memo: dict[str, np.ndarray] = {}

    def __call__(self, texts: list[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if todo:
            for t, v in zip(todo, np.asarray(self.model.embed(todo), np.float32), strict=True):
                self.memo[t] = v / max(float(np.linalg.norm(v)), 1e-9)
        return np.stack([self.memo[t] for t in texts]) if texts else np.zeros((0, 384))

    def papers(self, rows: list[dict]) -> np.ndarray:
        return self([f"{r['title']}. {r['abstract']}" for r in rows])


# --- digests -------------------------------------------------------------------------------------
def digest_for(rows, vecs, embed, *, max_papers, profile=None, signal=None):
    from agent.digest.build import build_digest, paper_date
    from agent.digest.choose import Relevance, choose
    from agent.digest.models import DigestOptions, Selection
    from agent.models import Paper
    from agent.summaries.extractive import summarize_extractive

    selection = Selection([dict(r) for r in rows])
    dates = [paper_date(r) for r in rows]
    relevance = Relevance(profile, embed.model, signal)
    choice = choose(selection, vecs, dates, NOW, relevance=relevance, max_papers=max_papers)
    summaries = {}
    for r in choice.shown_papers:
        paper = Paper.model_validate({k: v for k, v in r.items() if k in Paper.model_fields})
        summaries[r["id"]] = summarize_extractive(paper)
    return build_digest(choice, summaries, DigestOptions(now=NOW))


def signal_of(vecs, library, up=(), down=(), titles=()):
    from agent.profiles.signal import ReaderSignal, _short

    liked = [vecs[i] for i in (*library, *up)]
    labels = [f"close to *{_short(titles[i])}* in your library" for i in library]
    labels += [f"like *{_short(titles[i])}*, which you rated up" for i in up]
    return ReaderSignal(
        np.stack(liked),
        labels,
        np.stack([vecs[i] for i in down]) if down else None,
        [f"close to *{_short(titles[i])}*, which you rated down" for i in down],
    )


def scenarios(name, rows, vecs, embed):
    """(label, day rows, day vectors, digest, items: title -> vector, interest or None)."""
    from agent.digest.relevance import InterestProfile

    titles = [r["title"] for r in rows]
    out = []
    max_papers = 12 if name == "demo" else 30
    out.append(("no profile", rows, vecs, digest_for(rows, vecs, embed, max_papers=max_papers),
                {}, None))  # fmt: skip
    if name == "demo":
        groups = {t: [i for i, r in enumerate(rows) if r["topic"] == t] for t in DEMO_INTERESTS}
        others = {t: [i for i, r in enumerate(rows) if r["topic"] != t] for t in DEMO_INTERESTS}
        interests = [(t, p) for t, p in DEMO_INTERESTS.items()]
    else:
        agents = [i for i, r in enumerate(rows) if "agent" in r["title"].lower()]
        groups = {"agents": agents}
        others = {"agents": [i for i in range(len(rows)) if i not in agents]}
        interests = [(None, p) for p in REAL_INTERESTS]
    for topic, members in groups.items():
        lib, up, down = members[:3], members[3:5], others[topic][:2]
        keep = [i for i in range(len(rows)) if i not in lib]
        day, dvec = [rows[i] for i in keep], vecs[keep]
        items = {titles[i]: vecs[i] for i in (*lib, *up, *down)}
        sig = signal_of(vecs, lib, titles=titles)
        d = digest_for(day, dvec, embed, max_papers=max_papers, signal=sig)
        out.append((f"library {topic}", day, dvec, d, items, None))
        sig = signal_of(vecs, lib, up, down, titles=titles)
        rated = {rows[i]["id"]: 1 for i in up} | {rows[i]["id"]: -1 for i in down}
        sig.rated = rated
        d = digest_for(day, dvec, embed, max_papers=max_papers, signal=sig)
        out.append((f"+ratings {topic}", day, dvec, d, items, None))
    for topic, phrase in interests:
        prof = InterestProfile(interests=[phrase])
        d = digest_for(rows, vecs, embed, max_papers=max_papers, profile=prof)
        out.append((f"interest {topic or phrase}", rows, vecs, d, {}, phrase))
    return out


# --- (a) because lines ---------------------------------------------------------------------------
GENERIC = re.compile(r"central to today's papers|^new in the window$")


def judge_because(because, paper, day, dvec, index, items, embed):
    """(kind, holds, topic-true or None) for one because line."""
    row, vec = day[index], dvec[index]
    if not because:
        return "none", True, None
    if "rated down" in because or because == "you rated it down":
        return "disliked", False, False
    if because == "you rated it up":
        return "rated up", True, True
    if m := re.search(r"(?:close to|like) \*(.+?)\*", because):
        label = m.group(1).rstrip("…")
        pool = {**items, **{r["title"]: dvec[i] for i, r in enumerate(day) if i != index}}
        title = next((t for t in pool if t.startswith(label)), None)
        if title is None:
            return "item", False, None
        cos = float(vec @ pool[title])
        topic = next((r.get("topic") for r in day if r["title"] == title), None)
        topic = topic or next((None for _ in ()), None)
        return "item", cos >= LIBRARY_COSINE, _same_topic(row, title, day)
    if m := re.search(r"matches your interest '(.+?)'", because):
        cos = float(vec @ embed([m.group(1)])[0])
        topic = row.get("topic")
        truth = None if topic is None else DEMO_INTERESTS.get(topic) == m.group(1)
        return "interest", cos >= INTEREST_COSINE, truth
    if m := re.search(r"([\d,]+) upvotes", because):
        return "upvotes", int(m.group(1).replace(",", "")) == (paper.upvotes or 0), None
    if "central to today" in because:
        sims = dvec @ vec
        return "central", int((sims >= LIBRARY_COSINE).sum()) - 1 >= 2, None
    if "weaker match" in because:
        return "weak, said so", True, None
    if m := re.search(r"mentions '(.+?)'", because):
        text = (row["title"] + " " + row["abstract"]).lower()
        return "keyword", m.group(1).lower() in text, None
    if m := re.search(r"new in (?:your categories: )?([\w.-]+\.[\w-]+)", because):
        return "category", m.group(1) in (row.get("categories") or []), None
    if because.startswith("new in the window"):
        return "new", True, None
    if m := re.search(r"version (\d+)|\(v(\d+)\)", because):
        return "revision", int(m.group(1) or m.group(2)) == (row.get("version") or 0), None
    return "other", True, None


def _same_topic(row, title, day):
    demo = {r["title"]: r.get("topic") for r in DEMO_ROWS}
    topic = row.get("topic")
    return None if topic is None or title not in demo else demo[title] == topic


DEMO_ROWS: list[dict] = []


# --- (b) theme names -----------------------------------------------------------------------------
def theme_figures(digest, day, dvec, embed):
    by_id = {r["id"]: i for i, r in enumerate(day)}
    named = [t for t in digest.themes if t.named_by != "fold" and t.name != "Other"]
    other = sum(len(t.paper_ids) for t in digest.themes if t not in named)
    fit = close = total = 0
    cohesion: list[float] = []
    purity: list[float] = []
    if named:
        name_vecs = embed([t.name for t in named])
        rows = {t.name: [by_id[i] for i in t.paper_ids] for t in named}
        sums = {n: dvec[r].sum(axis=0) for n, r in rows.items()}
        for j, t in enumerate(named):
            topics = [day[i].get("topic") for i in rows[t.name]]
            if topics[0] is not None:
                purity.append(max(topics.count(x) for x in set(topics)) / len(topics))
            for i in rows[t.name]:
                total += 1
                fit += int(np.argmax(name_vecs @ dvec[i]) == j)
                own = sums[t.name] - dvec[i]
                own_cos = float(dvec[i] @ own / max(np.linalg.norm(own), 1e-9))
                cohesion.append(own_cos)
                rivals = [
                    float(dvec[i] @ s / max(np.linalg.norm(s), 1e-9))
                    for n, s in sums.items() if n != t.name
                ]  # fmt: skip
                close += int(bool(rivals) and max(rivals) > own_cos)
    single = sum(all(len(p.split()) == 1 for p in re.split(r", | and ", t.name)) for t in named)
    return {"papers": total, "fit": fit, "cohesion": cohesion, "closer_elsewhere": close,
            "other": other, "shown": len(digest.papers), "names": [t.name for t in named],
            "single_word_lists": single, "purity": purity}  # fmt: skip


# --- (c) TL;DRs ----------------------------------------------------------------------------------
_LATEX = re.compile(r"\\[A-Za-z]|[{}]|\$(?!\d)|\{\+\}|[A-Za-z]to\s?infty|\binfty\b")
_DANGLING = re.compile(
    r"^(?:this|these|those|such|it|its|they|their|also|moreover|furthermore|however|thus|"
    r"hence|here|we also|our (?!paper|work|study)\w+|the proposed|both|another)\b",
    re.I,
)
_CONTRIBUTION = re.compile(
    r"\b(?:we|this (?:paper|work|study)|the paper)\b.{0,40}\b(?:propose|present|introduce|"
    r"develop|design|build|describe|study|investigate|derive|show|find)",
    re.I,
)
_DEMONSTRATIVE = re.compile(r"\b(?:this|these|those|such) (?!paper|work|study|article)\w+", re.I)


def tldr_figures(rows):
    from agent.models import Paper
    from agent.summaries.extractive import summarize_extractive
    from agent.summaries.plain_text import clean_text, split_sentences
    from agent.summaries.readability import fk_grade

    keys = ("n", "fragment", "dangling", "latex", "first", "background")
    keys += ("title", "why", "numbers", "with_numbers")
    out: dict[str, Any] = dict.fromkeys(keys, 0)
    grades, bad = [], []
    t0 = time.perf_counter()
    for r in rows:
        fields = {k: v for k, v in r.items() if k in Paper.model_fields and k != "extra"}
        s = summarize_extractive(Paper.model_validate(fields))
        tldr, first = s.tldr.strip(), split_sentences(clean_text(r["abstract"]))[0]
        problems = []
        words = len(tldr.split())
        if (
            words < 9
            or (tldr.startswith("To ") and "," not in tldr)
            or re.fullmatch(r"We \w+ [^,]+, an? [^,.]{1,45}\.", tldr)
        ):
            problems.append("fragment")
        head = split_sentences(tldr)[0] if tldr else ""
        if _DANGLING.match(tldr) or _DEMONSTRATIVE.search(head):
            problems.append("dangling")
        if _LATEX.search(tldr + " " + s.why_it_matters):
            problems.append("latex")
        if tldr == first or first.startswith(tldr.rstrip(".")):
            problems.append("first" if _CONTRIBUTION.search(first) else "background")
        if tldr.rstrip(".").lower() == clean_text(r["title"]).rstrip(".").lower():
            problems.append("title")
        for p in problems:
            out[p] += 1
        out["n"] += 1
        out["why"] += bool(s.why_it_matters.strip())
        if re.search(r"\d", r["abstract"]):
            out["with_numbers"] += 1
            out["numbers"] += bool(re.search(r"\d", tldr + s.why_it_matters))
        if (g := fk_grade(tldr)) is not None:
            grades.append(g)
        if set(problems) - {"first"}:
            bad.append(f"[{','.join(problems)}] {tldr}")
    out["seconds_per_paper"] = (time.perf_counter() - t0) / max(1, len(rows))
    out["fk_mean"] = round(mean(grades), 1) if grades else None
    out["fk_over_12"] = sum(g > 12 for g in grades)
    out["examples"] = bad[:8]
    return out


def pct(a, b):
    return f"{a}/{b} ({100 * a / b:.0f}%)" if b else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", type=Path, default=HERE, help="checkout whose code is measured")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    demo, real = load(args.repo.resolve())
    DEMO_ROWS.extend(demo)
    embed = Embed()
    report: dict[str, Any] = {"repo": str(args.repo)}
    for name, rows in (("demo", demo), ("real", real)):
        vecs = embed.papers(rows)
        because: dict[str, list] = {}
        themes: list[dict] = []
        for label, day, dvec, digest, items, _ in scenarios(name, rows, vecs, embed):
            index = {r["id"]: i for i, r in enumerate(day)}
            for p in digest.papers:
                j = judge_because(p.because, p, day, dvec, index[p.id], items, embed)
                because.setdefault(label.split()[0], []).append(j)
            themes.append({"label": label, **theme_figures(digest, day, dvec, embed)})
        report[name] = {"because": because, "themes": themes, "tldr": tldr_figures(rows)}
    if args.json:
        print(json.dumps(report, indent=1, default=str))
    print_report(report)


def print_report(report: dict[str, Any]) -> None:
    print(f"code measured: {report['repo']}  (thresholds: library {LIBRARY_COSINE}, "
          f"interest {INTEREST_COSINE})")  # fmt: skip
    for name in ("demo", "real"):
        r = report[name]
        print(f"\n== {name} corpus ==")
        print("(a) because lines that hold by their own similarity")
        all_j = [j for js in r["because"].values() for j in js]
        for reader, js in [*r["because"].items(), ("all", all_j)]:
            holds = sum(h for _, h, _ in js)
            generic = sum(k in ("central", "new") for k, _, _ in js)
            truth = [t for _, _, t in js if t is not None]
            kinds: dict[str, int] = {}
            for k, _, _ in js:
                kinds[k] = kinds.get(k, 0) + 1
            topic = f"; topic-true {pct(sum(truth), len(truth))}" if truth else ""
            print(f"  {reader:<11} hold {pct(holds, len(js)):<15} generic "
                  f"{pct(generic, len(js)):<14}{topic}  {kinds}")  # fmt: skip
        print("(b) theme names and cohesion")
        t = r["themes"]
        fit, papers = sum(x["fit"] for x in t), sum(x["papers"] for x in t)
        coh = [c for x in t for c in x["cohesion"]]
        other, shown = sum(x["other"] for x in t), sum(x["shown"] for x in t)
        names = [n for x in t for n in x["names"]]
        single = sum(x["single_word_lists"] for x in t)
        purity = [p for x in t for p in x["purity"]]
        print(f"  name fit {pct(fit, papers)} (goal 85%); cohesion {mean(coh):.3f}; closer to "
              f"another theme {pct(sum(x['closer_elsewhere'] for x in t), papers)}; in Other "
              f"{pct(other, shown)}; single-word-list names {pct(single, len(names))}"
              + (f"; topic purity {mean(purity):.2f}" if purity else ""))  # fmt: skip
        print("  names (no profile): " + " | ".join(t[0]["names"]))
        c = r["tldr"]
        n = c["n"]
        print(f"(c) TL;DRs of {n} abstracts ({1000 * c['seconds_per_paper']:.1f} ms each)")
        print(f"  fragments {pct(c['fragment'], n)}; dangling {pct(c['dangling'], n)}; LaTeX "
              f"{pct(c['latex'], n)}; opening background sentence {pct(c['background'], n)} "
              f"(first sentence, a contribution: {pct(c['first'], n)}); = title "
              f"{pct(c['title'], n)}")  # fmt: skip
        print(f"  FK grade mean {c['fk_mean']} (over 12: {pct(c['fk_over_12'], n)}); numbers "
              f"carried {pct(c['numbers'], c['with_numbers'])}; why-it-matters filled "
              f"{pct(c['why'], n)}")  # fmt: skip
        for ex in c["examples"]:
            print("    " + ex[:150])


if __name__ == "__main__":
    main()
