"""A realistic arXiv day of any size, deterministic from a seed: for tests and benchmarks that
need the volume of a real announcement (600-1,000 papers in cs.LG + cs.CL + cs.AI).

Each paper belongs to one of the fields below, in the uneven proportions of a real day (a few
big fields, a long tail). Its abstract is assembled from the field's own methods, tasks,
datasets and findings plus the common phrasing of abstracts, with numbers varied, so papers of
one field share vocabulary without being copies: about 900-1,500 characters, like real ones.
Titles carry a method name and a colon, as many do; a few carry LaTeX and markup-like text.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Field:
    """A research field: its share of the day, arXiv categories and ";"-separated vocabulary."""

    weight: int
    categories: str
    methods: str
    tasks: str
    datasets: str
    findings: str

    def words(self, kind: str) -> list[str]:
        return [w.strip() for w in getattr(self, kind).split(";")]


#: The fields of a day in cs.LG + cs.CL + cs.AI and neighbours, weighted as such a day is.
FIELDS: dict[str, Field] = {
    "llm-reasoning": Field(
        14,
        "cs.CL cs.AI cs.LG",
        (
            "chain-of-thought decoding; process reward models; self-consistency voting; "
            "verifier-guided search; tree-of-thought planning; reflection prompting"
        ),
        (
            "multi-step arithmetic reasoning; mathematical problem solving; logical deduction; "
            "long-horizon question answering; theorem proving in natural language"
        ),
        "GSM8K; MATH; StrategyQA; ARC-Challenge; BIG-Bench Hard; ProofWriter",
        (
            "errors in early reasoning steps propagate to the final answer; longer chains help "
            "only when each step is verified; small verifiers rival much larger generators at "
            "ranking solutions"
        ),
    ),
    "retrieval-rag": Field(
        10,
        "cs.CL cs.IR",
        (
            "retrieval-augmented generation; dense passage retrieval; late-interaction rerankers; "
            "query rewriting; hybrid sparse-dense retrieval; citation-grounded decoding"
        ),
        (
            "open-domain question answering; fact verification; multi-hop retrieval; enterprise "
            "document search; attributed answer generation"
        ),
        "Natural Questions; HotpotQA; BEIR; MS MARCO; FEVER; KILT",
        (
            "retrieval errors, not generation errors, cause most unsupported answers; rerankers "
            "recover documents the first-stage retriever ranks low; grounded answers cite fewer "
            "but more relevant passages"
        ),
    ),
    "diffusion": Field(
        10,
        "cs.CV cs.LG",
        (
            "latent diffusion; consistency distillation; classifier-free guidance; flow matching; "
            "rectified flows; score-based sampling"
        ),
        (
            "text-to-image generation; image editing; video synthesis; super-resolution; "
            "inpainting of large regions"
        ),
        "MS-COCO; ImageNet 256x256; LAION-Aesthetics; UCF-101; FFHQ; DrawBench",
        (
            "few-step samplers lose detail mostly in high-frequency texture; guidance strength "
            "trades diversity for prompt alignment; distilled students match teachers in FID with "
            "a tenth of the steps"
        ),
    ),
    "efficient-transformers": Field(
        9,
        "cs.LG cs.CL",
        (
            "linear attention; state-space layers; mixture-of-experts routing; KV-cache "
            "compression; sparse attention kernels; speculative decoding"
        ),
        (
            "long-context language modelling; efficient inference on a single GPU; sequence "
            "modelling of audio and genomics; low-latency text generation"
        ),
        "PG-19; Long Range Arena; SCROLLS; WikiText-103; RULER; The Pile",
        (
            "memory, not compute, bounds throughput at long context; hybrid layers recover the "
            "recall that purely linear models lose; quantised caches keep perplexity within one "
            "percent of full precision"
        ),
    ),
    "rl-robotics": Field(
        8,
        "cs.RO cs.LG cs.AI",
        (
            "model-based reinforcement learning; offline policy learning; sim-to-real transfer; "
            "diffusion policies; reward shaping from language; imitation from video"
        ),
        (
            "dexterous manipulation; legged locomotion; robot grasping of unseen objects; mobile "
            "navigation in clutter; bimanual assembly"
        ),
        "MetaWorld; D4RL; RLBench; Isaac Gym; Habitat; CALVIN",
        (
            "policies trained in simulation fail mostly on contact-rich phases; a few real "
            "demonstrations close most of the sim-to-real gap; world models let the robot plan "
            "without new interaction"
        ),
    ),
    "vision-detection": Field(
        7,
        "cs.CV",
        (
            "open-vocabulary detectors; vision transformers; self-supervised pretraining; masked "
            "image modelling; segment-anything prompting; test-time adaptation"
        ),
        (
            "object detection; semantic segmentation; 3D scene understanding; pose estimation; "
            "tracking in crowded scenes"
        ),
        "COCO; LVIS; ADE20K; nuScenes; ScanNet; Cityscapes",
        (
            "rare categories gain most from language supervision; pretraining scale matters less "
            "than pretraining data curation; adaptation at test time fixes most errors under "
            "weather shift"
        ),
    ),
    "gnn-molecules": Field(
        6,
        "cs.LG q-bio.QM physics.chem-ph",
        (
            "equivariant graph networks; message passing; molecular diffusion; graph transformers; "
            "contrastive molecular pretraining"
        ),
        (
            "molecular property prediction; drug-target binding affinity; conformer generation; "
            "retrosynthesis planning; crystal structure prediction"
        ),
        "QM9; MoleculeNet; PDBbind; GEOM-Drugs; OC20; ZINC",
        (
            "equivariance helps most on small training sets; generated molecules are valid but "
            "often hard to synthesise; pretraining on conformers transfers to binding prediction"
        ),
    ),
    "ml-climate": Field(
        5,
        "cs.LG physics.ao-ph",
        (
            "neural weather models; probabilistic downscaling; graph-based forecasting; "
            "physics-informed networks; ensemble emulators"
        ),
        (
            "medium-range weather forecasting; precipitation nowcasting; flood prediction; climate "
            "model emulation; wildfire risk mapping"
        ),
        "ERA5; WeatherBench 2; CMIP6; IMERG; CAMELS",
        (
            "learned models beat numerical baselines up to ten days ahead; extremes remain "
            "under-predicted by deterministic models; ensembles calibrate uncertainty at a "
            "fraction of the cost"
        ),
    ),
    "speech-audio": Field(
        5,
        "eess.AS cs.SD cs.CL",
        (
            "self-supervised speech encoders; neural audio codecs; streaming transducers; "
            "text-to-speech with discrete tokens; speaker adaptation"
        ),
        (
            "automatic speech recognition; speech translation; voice conversion; low-resource "
            "language recognition; audio captioning"
        ),
        "LibriSpeech; Common Voice; FLEURS; VoxCeleb; AudioCaps",
        (
            "codec tokens keep prosody that mel features lose; a few hours of target speech halve "
            "the word error rate; streaming models lag offline ones mainly on rare words"
        ),
    ),
    "federated-privacy": Field(
        4,
        "cs.LG cs.CR",
        (
            "federated averaging; differentially private SGD; secure aggregation; personalised "
            "federated learning; membership inference audits"
        ),
        (
            "training across hospitals without sharing data; on-device keyboard prediction; "
            "privacy auditing of language models; learning under client drift"
        ),
        "FEMNIST; CIFAR-10 split across clients; Shakespeare; StackOverflow; eICU",
        (
            "client drift, not communication, limits accuracy; privacy budgets below one cost only "
            "a few points of accuracy; audits find leakage that theoretical bounds miss"
        ),
    ),
    "time-series": Field(
        4,
        "cs.LG stat.ML",
        (
            "foundation models for time series; patch-based transformers; probabilistic "
            "forecasting with quantiles; anomaly detection with autoencoders"
        ),
        (
            "electricity load forecasting; traffic prediction; sensor anomaly detection; demand "
            "forecasting in retail"
        ),
        "ETTh1; Electricity; Traffic; M4; UCR archive",
        (
            "simple linear baselines remain hard to beat on long horizons; zero-shot forecasts "
            "rival tuned models on seasonal data; quantile losses give better calibrated intervals"
        ),
    ),
    "causal-stats": Field(
        3,
        "stat.ML stat.ME cs.LG",
        (
            "doubly robust estimators; causal discovery from interventions; conformal prediction; "
            "instrumental variable learning"
        ),
        (
            "treatment effect estimation; uncertainty quantification; off-policy evaluation; "
            "fairness under distribution shift"
        ),
        "IHDP; Jobs; Twins; ACIC 2016",
        (
            "coverage holds even when the model is misspecified; interventional data identifies "
            "structures observation cannot; estimators remain unbiased but variance grows with "
            "overlap violations"
        ),
    ),
    "code-agents": Field(
        6,
        "cs.SE cs.CL cs.AI",
        (
            "tool-using language agents; execution feedback; repository-level retrieval; planning "
            "with self-critique; test-driven code generation"
        ),
        (
            "program synthesis; bug fixing in real repositories; web navigation; data analysis "
            "with notebooks; agentic task completion"
        ),
        "HumanEval; SWE-bench; MBPP; WebArena; LiveCodeBench",
        (
            "agents fail mostly when localising the faulty file; running tests during generation "
            "doubles the solve rate; long trajectories drift from the original instruction"
        ),
    ),
    "medical-imaging": Field(
        3,
        "eess.IV cs.CV",
        (
            "foundation models for radiology; weakly supervised segmentation; report generation "
            "from scans; federated tumour segmentation"
        ),
        (
            "chest X-ray diagnosis; tumour segmentation in MRI; histopathology grading; retinal "
            "disease screening"
        ),
        "MIMIC-CXR; BraTS; CheXpert; CAMELYON16",
        (
            "models trained at one hospital lose accuracy at another; weak labels from reports "
            "suffice for coarse segmentation; radiologists preferred generated reports in a third "
            "of cases"
        ),
    ),
    "optimization-theory": Field(
        3,
        "math.OC cs.LG stat.ML",
        (
            "adaptive gradient methods; sharpness-aware minimisation; learning-rate schedules; "
            "second-order preconditioning; implicit regularisation"
        ),
        (
            "training of deep networks; convergence of stochastic methods; generalisation of "
            "overparameterised models; large-batch training"
        ),
        "CIFAR-100; ImageNet; synthetic quadratic problems; GPT-2 small pretraining",
        (
            "warmup matters because of early curvature, not of noise; flat minima generalise "
            "better only under some reparameterisations; preconditioning halves the steps to a "
            "target loss"
        ),
    ),
    "fairness-safety": Field(
        3,
        "cs.CY cs.CL cs.AI",
        (
            "red-teaming with language models; preference optimisation; constitutional training; "
            "bias audits; refusal calibration"
        ),
        (
            "harmful content detection; jailbreak robustness; bias in hiring models; alignment of "
            "chat assistants"
        ),
        "HarmBench; BBQ; TruthfulQA; RealToxicityPrompts; AdvBench",
        (
            "safety training generalises poorly to other languages; over-refusal rises as "
            "harmful-answer rates fall; audits expose gaps that aggregate metrics hide"
        ),
    ),
}

OPENERS = [
    "Progress in {task} has been driven by {method}, yet {problem}.",
    "{Task} remains difficult: {problem}.",
    "Recent work on {task} relies on {method}, but {problem}.",
    "Although {method} has become the standard tool for {task}, {problem}.",
]
PROBLEMS = [
    "existing approaches scale poorly with the size of the input",
    "current systems are brittle when the test distribution shifts",
    "the cost of annotation limits how much supervised data is available",
    "most methods are evaluated on narrow benchmarks that hide failure modes",
    "strong results often depend on heavy tuning that is rarely reported",
    "little is known about why these models fail when they do",
]
CONTRIBUTIONS = [
    "We introduce {name}, which combines {method} with {method2} so that {benefit}.",
    "We propose {name}, a simple recipe built on {method} in which {benefit}.",
    "This paper presents {name}: {method} guided by {method2}, so that {benefit}.",
    "We study {task} through {name}, an approach where {benefit}.",
]
BENEFITS = [
    "the model spends computation where it is most needed",
    "no additional labelled data is required",
    "training remains stable at larger scales",
    "errors are detected and corrected during inference",
    "the same model serves several tasks without retraining",
    "inference cost grows linearly rather than quadratically",
]
RESULTS = [
    "On {d1} and {d2}, {name} improves over the strongest baseline by {x:.1f} points while "
    "using {y}% less compute.",
    "Experiments on {d1}, {d2} and {d3} show gains of {x:.1f} to {z:.1f} points, with the "
    "largest gains on the hardest subsets.",
    "Across {n} settings drawn from {d1} and {d2}, {name} matches or exceeds prior methods in "
    "{m} of them and reduces variance across seeds by {y}%.",
]
DETAILS = [
    "The key idea is to treat {task} as a sequence of decisions, each scored by {method2}, and "
    "to revisit only those whose scores fall below a threshold learned on held-out data.",
    "{Name} keeps a small memory of past errors and conditions {method} on it, which adds "
    "fewer than {n} million parameters to the base model.",
    "Training uses {d1} alone; we evaluate zero-shot on {d2} and {d3} and compare against {n} "
    "published baselines under matched compute budgets.",
    "We give a theoretical account of when {method} fails for {task} and derive a bound that "
    "motivates the design of {name}.",
]
ANALYSES = [
    "Ablations show that {finding}.",
    "A careful analysis reveals that {finding}.",
    "We further find that {finding}, which suggests a direction for future work.",
    "Surprisingly, {finding}.",
]
CLOSERS = [
    "Code and models are publicly available.",
    "We release our code, data and evaluation scripts to support reproducible research.",
    "Our results suggest that {method} deserves a closer look for {task}.",
    "We discuss limitations, including evaluation on English-only data, and broader impacts.",
]
NAME_STARTS = (
    "Re Flash Deep Meta Hyper Omni Sparse Turbo Self Neuro Proto Quant Graph Long Fast Mono "
    "Poly Uni"
)
NAME_ENDS = (
    "Former Mix Flow Net Guide Scope Bench Lens Path Tune Gate Mamba Diff Plan Verse Fuse Cast"
)
TITLE_TAILS = [
    "{Method} for {Task}",
    "Rethinking {Method} in {Task}",
    "Scaling {Method} for {Task}",
    "When Does {Method} Help {Task}?",
    "Towards Reliable {Task} with {Method}",
    "Efficient and Robust {Task} via {Method}",
]
ODD_TITLES = [  # what real feeds also carry: LaTeX and text that looks like markup
    "$\\mathcal{{O}}(n)$ {Method} for {Task}",
    "{Method} for {Task} with <b>Guarantees</b> & Bounds",
    "{Method}: $k$-Sparse {Task} at Scale",
]
FIRST = (
    "Ana Wei Priya Jonas Fatima Diego Yuki Olga Kwame Lena Mateo Sara Ivan Mei Omar Chloé Ravi "
    "Noah Zeynep Tariq"
)
LAST = (
    "Kowalski Zhang Iyer Müller Haddad García Tanaka Petrova Mensah Schmidt Rossi Nguyen Novak "
    "Chen Farouk Dubois Patel Okafor Yilmaz Andersson"
)


def _pick(rng: random.Random, words: str) -> str:
    return rng.choice(words.split())


def _title_case(text: str) -> str:
    small = {"of", "for", "in", "with", "and", "to", "on", "at", "by", "via"}
    words = text.split(" ")
    return " ".join(
        w if (i and w in small) or not w[:1].isalpha() else w[:1].upper() + w[1:]
        for i, w in enumerate(words)
    )


def _abstract(rng: random.Random, name: str, field: Field) -> str:
    methods, tasks = field.words("methods"), field.words("tasks")
    datasets, findings = field.words("datasets"), field.words("findings")
    method, method2 = rng.sample(methods, 2)
    task = rng.choice(tasks)
    d1, d2, d3 = rng.sample(datasets, 3)
    finding, finding2 = rng.sample(findings, 2)
    values = {
        "method": method, "method2": method2, "task": task, "Task": task[:1].upper() + task[1:],
        "name": name, "Name": name, "problem": rng.choice(PROBLEMS),
        "benefit": rng.choice(BENEFITS), "d1": d1, "d2": d2, "d3": d3,
        "x": rng.uniform(0.8, 9.5), "z": rng.uniform(10, 19),
        "y": rng.randint(12, 68), "n": rng.randint(8, 40), "m": rng.randint(5, 8),
    }  # fmt: skip
    sentences = [
        rng.choice(OPENERS),
        rng.choice(CONTRIBUTIONS),
        *rng.sample(DETAILS, 2),
        "Unlike prior work, it does not assume access to {d3}-style annotations at training time.",
        rng.choice(RESULTS),
        rng.choice(ANALYSES).replace("{finding}", finding),
    ]
    if rng.random() < 0.7:
        sentences.append(rng.choice(ANALYSES[1:]).replace("{finding}", finding2))
    if rng.random() < 0.6:
        sentences.append(
            "We also evaluate {name} on {d2} under a distribution shift and observe that the "
            "gap to the baseline widens as the shift grows."
        )
    sentences.append(rng.choice(CLOSERS))
    return " ".join(s.format(**values) for s in sentences)


def day_papers(n: int, *, day: datetime, seed: int = 0, prefix: str = "2611") -> list[dict]:
    """``n`` papers announced on ``day`` (UTC datetime), ids ``{prefix}.NNNNN``, as store
    records. Every field is deterministic from ``seed``; a field's papers share its
    vocabulary. ``topic`` (the field) is left in for tests; stores ignore unknown keys."""
    rng = random.Random(seed)
    names = list(FIELDS)
    weights = [FIELDS[f].weight for f in names]
    papers = []
    for i in range(n):
        topic = rng.choices(names, weights)[0]
        field = FIELDS[topic]
        name = _pick(rng, NAME_STARTS) + _pick(rng, NAME_ENDS)
        method = _title_case(rng.choice(field.words("methods")))
        task = _title_case(rng.choice(field.words("tasks")))
        pattern = rng.choice(ODD_TITLES if rng.random() < 0.03 else TITLE_TAILS)
        title = f"{name}: " + pattern.format(Method=method, Task=task)
        paper_id = f"{prefix}.{10000 + i:05d}"
        authors = [f"{_pick(rng, FIRST)} {_pick(rng, LAST)}" for _ in range(rng.randint(2, 9))]
        papers.append(
            {
                "id": paper_id,
                "version": 1,
                "title": title,
                "abstract": _abstract(rng, name, field),
                "authors": authors,
                "categories": field.categories.split(),
                "primary_category": field.categories.split()[0],
                "published": (day - timedelta(minutes=i % 600)).isoformat(),
                "source": "arxiv-rss",
                "url": f"https://arxiv.org/abs/{paper_id}",
                "announce_type": "new",
                "topic": topic,
            }
        )
    return papers


def library_csl(topic: str, n: int = 30, *, seed: int = 1) -> list[dict]:
    """``n`` older papers of one field as a reader's CSL-JSON library export (what Zotero
    writes): title, abstract, authors, year; none of them is in the day."""
    rng = random.Random(seed)
    field = FIELDS[topic]
    out = []
    for i in range(n):
        name = _pick(rng, NAME_STARTS) + _pick(rng, NAME_ENDS)
        method = _title_case(rng.choice(field.words("methods")))
        task = _title_case(rng.choice(field.words("tasks")))
        people = [(_pick(rng, FIRST), _pick(rng, LAST)) for _ in range(rng.randint(2, 5))]
        out.append(
            {
                "id": f"lib{i}",
                "type": "article-journal",
                "title": f"{name}: " + rng.choice(TITLE_TAILS).format(Method=method, Task=task),
                "abstract": _abstract(rng, name, field),
                "author": [{"given": g, "family": f} for g, f in people],
                "issued": {"date-parts": [[rng.randint(2021, 2025)]]},
            }
        )
    return out
