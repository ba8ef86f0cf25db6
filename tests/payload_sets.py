"""The payload sets the parser tests run on: the project's own (always) and the real ones.

``OWN`` is ``tests/fixtures/payloads``: small payloads we wrote, in exactly the formats arXiv and
Hugging Face send (fictional papers). ``SHARED`` is ``../shared/samples``: real recorded
responses, a conformance pass that runs where that folder exists (CI) and skips in a user's
checkout. Each set names its files by role and carries what the tests assert about them, so one
test body checks both sets exactly: ids, versions, titles, authors, counts, announce types.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.models import Paper

TESTS = Path(__file__).resolve().parent
OWN_ROOT = TESTS / "fixtures" / "payloads"
SHARED_ROOT = TESTS.parent.parent / "shared" / "samples"

#: Paper attribute -> exact value. Also "abstract_start" (a prefix of the abstract) and
#: "extra.<key>" (one key of ``extra``; "extra" itself compares the whole dict).
Fields = dict[str, Any]


@dataclass(frozen=True)
class ApiExpect:
    page_size: int  # entries on each of the two pages (the source's arxiv_page_size)
    total: int  # their opensearch:totalResults
    first: Fields  # the first paper of page 1
    page2: dict[str, Fields]  # papers of page 2, by id
    error: str  # arXiv's message in the HTTP 400 answer
    idlist_asked: tuple[str, ...]
    idlist_found: dict[str, Fields]  # what the answer holds, in order


@dataclass(frozen=True)
class FeedExpect:
    day: str  # the announcement day (the watermark)
    items: tuple[tuple[str, int, str], ...]  # (id, version, announce type) of every item, in order
    papers: dict[str, Fields]  # some of them, by id

    def __post_init__(self) -> None:
        unknown = set(self.papers) - {item[0] for item in self.items}
        assert not unknown, f"expectations for papers the feed does not hold: {unknown}"

    def of_types(self, *types: str) -> list[tuple[str, int, str]]:
        return [item for item in self.items if item[2] in types]

    def papers_of_types(self, *types: str) -> dict[str, Fields]:
        ids = {item[0] for item in self.of_types(*types)}
        return {pid: fields for pid, fields in self.papers.items() if pid in ids}


@dataclass(frozen=True)
class HfExpect:
    day: date
    count: int
    first: Fields  # the first item's paper


@dataclass(frozen=True)
class PayloadSet:
    name: str
    root: Path
    # role -> file name in root. Roles: api_page1, api_page2 (the query API's first two pages,
    # opensearch totals and startIndex), api_empty (totalResults 0), api_error (the HTTP 400
    # answer, one "Error" entry), api_idlist (an id_list answer without the unknown id), rss2 and
    # rss_atom (the daily announcement, RSS 2.0 and Atom), hf_2026 and hf_2024 (daily_papers,
    # with and without the optional fields).
    files: dict[str, str]
    api: ApiExpect
    rss2: FeedExpect
    atom: FeedExpect
    unannounced: tuple[str, str]  # (feed role, an announce type that feed has no item of)
    hf_2026: HfExpect
    hf_2024: HfExpect
    summarisable: int  # at least this many papers in all of root's *.xml and *.json

    def path(self, role: str) -> Path:
        return self.root / self.files[role]

    def read(self, role: str) -> bytes:
        return self.path(role).read_bytes()

    def feed(self, role: str) -> FeedExpect:
        return {"rss2": self.rss2, "rss_atom": self.atom}[role]


def fields_of(paper: Paper, want: Fields) -> Fields:
    """The paper's values for the keys of ``want``, to compare with ``==``."""
    got: Fields = {}
    for key, value in want.items():
        if key == "abstract_start":
            got[key] = paper.abstract[: len(value)]
        elif key.startswith("extra."):
            got[key] = paper.extra.get(key.removeprefix("extra."))
        else:
            got[key] = getattr(paper, key)
    return got


def assert_papers(papers: list[Paper], expected: dict[str, Fields]) -> None:
    """Each paper named in ``expected`` is in ``papers``, with exactly those fields."""
    assert expected, "the payload set names no paper to check here"
    by_id = {p.id: p for p in papers}
    got = {
        pid: fields_of(by_id[pid], want) if pid in by_id else None for pid, want in expected.items()
    }
    assert got == expected


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --- the project's own payloads (tests/fixtures/payloads) ------------------------------------
OWN = PayloadSet(
    name="own",
    root=OWN_ROOT,
    files={
        "api_page1": "arxiv_api_search_start0_max4.atom.xml",
        "api_page2": "arxiv_api_search_start4_max4.atom.xml",
        "api_empty": "arxiv_api_empty_totalResults0.atom.xml",
        "api_error": "arxiv_api_error_http400_bad_id.atom.xml",
        "api_idlist": "arxiv_api_idlist_1010.99999_2508.13370.atom.xml",
        "rss2": "arxiv_rss2_multi-cs.LG+cs.AI+cs.CL+stat.ML_2026-10-14.xml",
        "rss_atom": "arxiv_rss_atom_cs.LG_2026-10-15.xml",
        "hf_2026": "hf_daily_papers_2026-10-14.json",
        "hf_2024": "hf_daily_papers_2024-05-07_raw_bytes.json",
    },
    api=ApiExpect(
        page_size=4,
        total=57,
        first={
            "id": "2507.01842",
            "version": 2,
            "title": "Calibrated Early Exits for Streaming Speech Recognition",  # was 2 lines
            "abstract": (
                "Streaming automatic speech recognition architectures conventionally allocate "
                "identical computational resources to every acoustic frame, notwithstanding "
                "substantial heterogeneity in frame-level difficulty. We attach a light exit "
                "classifier to each encoder block and stop as soon as its calibrated confidence "
                r"exceeds a threshold $\tau$. Calibration relies on post-hoc temperature scaling "
                "fitted on 2,000 held-out utterances, thereby eliminating any requirement for "
                "retraining or architectural modification of the underlying encoder. On a "
                r"960-hour benchmark the method cuts encoder FLOPs by 41\% at a word error rate "
                "within 0.2 points of the full model. Latency at the 90th percentile falls from "
                "310 ms to 180 ms on a laptop CPU. The exit heads cost $\\mathcal{O}(L d)$ for $L$ "
                r"blocks of width $d$, which is under 1\% of the encoder."
            ),
            "authors": ["Søren Kjærgaard", "Tomás Ibáñez", "Mei-Ling Chow"],
            "categories": ["cs.CL", "cs.LG", "eess.AS"],
            "primary_category": "cs.CL",
            "published": _utc(2025, 7, 2, 17, 45, 10),
            "updated": _utc(2025, 9, 30, 8, 12, 3),
            "source": "arxiv",
            "url": "https://arxiv.org/abs/2507.01842",
            "pdf_url": "https://arxiv.org/pdf/2507.01842v2",
            "announce_type": None,
            "extra": {
                "doi": "10.1000/interspeech.2025-1187",
                "journal_ref": "Proc. Interspeech 2025, pp. 1021-1025",
                "comment": "14 pages, 5 figures; v2 adds results on noisy audio",
            },
        },
        page2={
            "2503.20871": {
                "version": 2,
                "abstract_start": "Fine-tuning a language model on a new task often erodes skills "
                "it had before. We systematically compare full-parameter fine-tuning against "
                r"low-rank adaptation with rank $r \in \{4, 16, 64\}$ across 7",
                "authors": ["Inês Carvalho", "Dmitri Volkov"],
            },
            "cs/0611045": {  # old-style id, hard-wrapped abstract, an entity in journal_ref
                "version": 3,
                "title": "Approximate Counting of Graph Colourings by Markov Chains",
                "abstract_start": "Counting the proper colourings of a graph exactly is hard, so "
                "we study approximate counting by sampling. We analyse a simple Markov chain",
                "authors": ["Henrik Åberg"],
                "categories": ["cs.DM", "cs.DS"],
                "primary_category": "cs.DM",
                "published": _utc(2006, 11, 9, 14, 0),
                "updated": _utc(2008, 3, 17, 10, 22, 41),
                "url": "https://arxiv.org/abs/cs/0611045",
                "pdf_url": "https://arxiv.org/pdf/cs/0611045v3",
                "extra": {
                    "doi": "10.1000/rsa.2008.0032",
                    "journal_ref": "Random Structures & Algorithms 32 (2008) 211-230",
                    "comment": "21 pages; v3: corrected the proof of Lemma 4",
                },
            },
            "2410.16402": {
                "version": 4,
                "authors": ["Nadia Rahman", "François Lefèvre"],
                "published": _utc(2024, 10, 21, 15, 3, 27),
                "updated": _utc(2025, 7, 19, 13, 37, 58),
                "extra": {"comment": "ICLR 2026 camera-ready"},
            },
        },
        error="incorrect id format for 2507.x1842",
        idlist_asked=("1010.99999", "2508.13370"),
        idlist_found={
            "2508.13370": {
                "version": 1,
                "title": "Energy-Based Priors for Protein Backbone Design",
                "authors": ["Aiko Tanaka", "Mateus Araújo", "Ruth Abebe"],
                "categories": ["q-bio.BM", "cs.LG"],
                "primary_category": "q-bio.BM",
            },
        },
    ),
    rss2=FeedExpect(
        day="2026-10-14",
        items=(
            ("2610.08812", 1, "new"),
            ("2610.08830", 1, "new"),
            ("2604.17765", 2, "cross"),
            ("2511.04410", 3, "replace"),
            ("2302.09921", 5, "replace-cross"),
        ),
        papers={
            "2610.08812": {
                "version": 1,
                "title": "Curriculum Pruning of Vision Transformers",  # was 2 lines
                "abstract_start": "Pruning a vision transformer in one shot removes heads",
                "authors": ["Olusegun Adeyemi", "Marta Kowalczyk"],
                "categories": ["cs.LG", "cs.CV"],
                "primary_category": "cs.LG",
                "published": _utc(2026, 10, 14, 4, 0),
                "source": "arxiv-rss",
                "url": "https://arxiv.org/abs/2610.08812",
                "pdf_url": "https://arxiv.org/pdf/2610.08812v1",
                "extra": {},
            },
            "2610.08830": {
                "title": "Counterfactual Explanations & Their Limits for Time-Series Classifiers",
                "authors": ["Yusuf Demir", "Ana Lúcia Ferreira", "Kenji Mori"],  # "..., and ..."
            },
            "2604.17765": {
                "categories": ["stat.ME", "stat.ML"],
                "primary_category": "stat.ME",
                "extra": {
                    "doi": "10.1000/jas.2026.0417",
                    "journal_ref": "Journal of Applied Statistics 53 (2026) 1-19",
                },
            },
            "2511.04410": {
                "authors": ["Tomasz Nowak", "Sofía Herrera", "Ravi Iyer"],
                "abstract": (
                    "Most large models are trained with a learning rate that rises linearly for "
                    "the first few thousand steps. We show that warmup acts as a regulariser on "
                    "the sharpness of the loss surface. Without warmup, the maximal Hessian "
                    r"eigenvalue overshoots the stability threshold $2/\eta$ during early "
                    "optimisation, and the resulting instability leaves persistent degradation "
                    "that subsequent training never fully repairs. A short warmup keeps sharpness "
                    "below this limit. Substituting warmup with an explicit sharpness penalty "
                    "achieves equivalent final loss across three autoregressive language "
                    "modelling benchmarks."
                ),
            },
            "2302.09921": {
                "authors": ["Hélène Dubois"],
                "primary_category": "math.ST",
                "pdf_url": "https://arxiv.org/pdf/2302.09921v5",
            },
        },
    ),
    atom=FeedExpect(
        day="2026-10-15",
        items=(
            ("2610.09901", 1, "new"),
            ("2403.12207", 2, "cross"),
            ("2509.14471", 2, "replace"),
        ),
        papers={
            "2610.09901": {
                "categories": ["cs.LG", "cs.SD"],
                "authors": ["Ngozi Eze", "Pál Horváth"],
                "abstract_start": "Speech models slow down on long recordings",
                "published": _utc(2026, 10, 15, 4, 0),
                "pdf_url": "https://arxiv.org/pdf/2610.09901v1",
                "extra": {"doi": "10.1000/icassp.2027.0191", "journal_ref": "Proc. ICASSP 2027"},
            },
            "2403.12207": {
                "categories": ["cs.IT", "cs.LG", "stat.ML"],
                "primary_category": "cs.IT",
                "extra": {},
            },
        },
    ),
    unannounced=("rss_atom", "replace-cross"),
    hf_2026=HfExpect(
        day=date(2026, 10, 14),
        count=3,
        first={
            "id": "2610.07715",
            "version": None,
            "title": "WebNav-Bench: Evaluating Browser Agents on Long Tasks",
            "authors": ["Zoltán Kovács", "Hannah Schmidt", "Wei Zhang", "Aroha Ngata"],
            "published": _utc(2026, 10, 13),
            "source": "hf",
            "url": "https://arxiv.org/abs/2610.07715",
            "pdf_url": "https://arxiv.org/pdf/2610.07715",
            "extra": {  # no ai_summary on this one, as on real days
                "upvotes": 41,
                "github_repo": "https://github.com/example-lab/webnav-bench",
                "project_page": "https://webnav-bench.example.org/",
                "num_comments": 3,
                "hf_url": "https://huggingface.co/papers/2610.07715",
            },
        },
    ),
    hf_2024=HfExpect(
        day=date(2024, 5, 7),
        count=3,
        first={
            "id": "2405.03318",
            "version": None,
            "title": "Compressing KV Caches with Learned Quantisers",
            "abstract_start": "Long prompts make the key-value cache the largest consumer of "
            "accelerator memory when serving autoregressive",  # hard-wrapped in the payload
            "authors": ["Małgorzata Zielińska", "Arjun Mehta", "Nguyễn Thị Hương"],
            "published": _utc(2024, 5, 6, 16, 20, 41),
            "extra": {
                "upvotes": 52,
                "num_comments": 2,
                "hf_url": "https://huggingface.co/papers/2405.03318",
            },
        },
    ),
    summarisable=23,
)


# --- the real payloads (../shared/samples/README.md) -----------------------------------------
SHARED = PayloadSet(
    name="shared",
    root=SHARED_ROOT,
    files={
        "api_page1": "arxiv_api_search_testing_start0_max10.atom.xml",
        "api_page2": "arxiv_api_search_testing_start10_max10.atom.xml",
        "api_empty": "arxiv_api_empty_totalResults0.atom.xml",
        "api_error": "arxiv_api_error_http400_bad_id.atom.xml",
        "api_idlist": "arxiv_api_idlist_0808.05394_1707.08567.atom.xml",
        "rss2": "arxiv_rss2_multi-cs.LG+cs.AI+cs.CL+stat.ML_2026-09-24_excerpt.xml",
        "rss_atom": "arxiv_rss_atom_cs.LG_2026-09-25_excerpt_truncated_abstracts.xml",
        "hf_2026": "hf_daily_papers_2026-08-19.json",
        "hf_2024": "hf_daily_papers_2024-03-12_raw_bytes.json",
    },
    api=ApiExpect(
        page_size=10,
        total=214881,
        first={
            "id": "2202.12139",
            "version": 1,
            "title": "Testing Deep Learning Models: A First Comparative Study of Multiple Testing "
            "Techniques",
            "authors": ["Mohit Kumar Ahuja", "Arnaud Gotlieb", "Helge Spieker"],
            "categories": ["cs.SE", "cs.LG"],
            "primary_category": "cs.SE",
            "published": _utc(2022, 2, 24, 15, 5, 19),
            "updated": _utc(2022, 2, 24, 15, 5, 19),
            "pdf_url": "https://arxiv.org/pdf/2202.12139v1",
            "url": "https://arxiv.org/abs/2202.12139",
            "extra": {
                "doi": "10.1109/ICSTW55395.2022.00035",
                "journal_ref": "Artificial Intelligence in Software Testing @ 2022 IEEE "
                "International Conference on Software Testing, Verification and Validation "
                "Workshops (ICSTW)",
                "comment": "Artificial Intelligence in Software Testing 2022 workshop @ ICST 2022",
            },
        },
        page2={
            "2403.16981": {
                "version": 2,
                "primary_category": "math.ST",
                "published": _utc(2024, 3, 25, 17, 42, 32),
                "updated": _utc(2025, 5, 24, 5, 50, 33),
            },
        },
        error="incorrect id format for abc",
        idlist_asked=("0808.05394", "1707.08567"),
        idlist_found={
            "1707.08567": {
                "version": 1,
                "title": "Proceedings of Workshop AEW10: Concepts in Information Theory and "
                "Communications",
                "primary_category": "cs.IT",
            },
        },
    ),
    rss2=FeedExpect(
        day="2026-09-24",
        items=(
            ("2609.26811", 1, "new"),
            ("2609.26820", 1, "new"),
            ("2205.06398", 2, "cross"),
            ("2009.13987", 3, "replace"),
        ),
        papers={
            "2609.26820": {
                "version": 1,
                "authors": ["Naser Mansour", "Sidahmed Benabderrahmane", "Ameer Rahwan"],
                "categories": ["cs.LG", "cs.AI"],
                "primary_category": "cs.LG",
                "abstract_start": "Physiological time series such as electrocardiograms",
                "published": _utc(2026, 9, 24, 4, 0),
                "url": "https://arxiv.org/abs/2609.26820",
                "pdf_url": "https://arxiv.org/pdf/2609.26820v1",
                "source": "arxiv-rss",
            },
            "2205.06398": {
                "version": 2,
                "primary_category": "stat.ME",
                "extra": {"doi": "10.1093/bioinformatics/btac431"},
            },
            "2009.13987": {"authors": ["Michael Joswig", "Marek Kaluba", "Lukas Ruff"]},
        },
    ),
    atom=FeedExpect(
        day="2026-09-25",
        items=(
            ("2609.28553", 1, "new"),
            ("2402.10149", 3, "cross"),
            ("2401.08875", 3, "replace"),
        ),
        papers={
            "2609.28553": {
                "categories": ["cs.LG", "cs.AI"],
                "authors": [
                    "Quang Minh Nguyen",
                    "Thuy Quynh Nguyen",
                    "Duc Minh Le",
                    "Ho Nhat Minh Nguyen",
                    "Thanh Long Dai Doan",
                    "Trong Nghia Nguyen",
                ],
                "abstract_start": "Drug toxicity prediction",
                "extra": {
                    "doi": "10.1109/MAPR72750.2026.11685822",
                    "journal_ref": "2026 International Conference on Multimedia Analysis and "
                    "Pattern Recognition (MAPR)",
                },
            },
            "2402.10149": {
                "primary_category": "hep-ph",
                "extra": {"doi": "10.1103/PhysRevD.111.032004"},
            },
        },
    ),
    unannounced=("rss2", "replace-cross"),
    hf_2026=HfExpect(
        day=date(2026, 8, 19),
        count=26,
        first={
            "id": "2608.17271",
            "url": "https://arxiv.org/abs/2608.17271",
            "extra.hf_url": "https://huggingface.co/papers/2608.17271",
            "extra.project_page": "https://asibench.apexin.ai/",
            "published": _utc(2026, 8, 18),
            "source": "hf",
        },
    ),
    hf_2024=HfExpect(
        day=date(2024, 3, 12),
        count=9,
        first={
            "id": "2403.06634",
            "version": None,
            "authors": [
                "Nicholas Carlini",
                "Daniel Paleka",
                "Krishnamurthy Dj Dvijotham",
                "Thomas Steinke",
                "Jonathan Hayase",
                "A. Feder Cooper",
                "Katherine Lee",
                "Matthew Jagielski",
                "Milad Nasr",
                "Arthur Conmy",
                "Eric Wallace",
                "David Rolnick",
                "Florian Tramèr",
            ],
            "extra": {
                "upvotes": 63,
                "num_comments": 3,
                "hf_url": "https://huggingface.co/papers/2403.06634",
            },
        },
    ),
    summarisable=41,  # every arXiv and HF payload there, and more formats besides
)

PAYLOAD_SETS = (OWN, SHARED)
