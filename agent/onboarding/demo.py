"""`paperbrief demo`: the whole product on a shipped, fictional corpus, offline, in under a minute.

It uses its own data dir (``<home>/demo`` unless told otherwise) so fictional papers never mix
with a real store.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from agent.config import Settings
from agent.models import RunReport

if TYPE_CHECKING:
    from agent.digest.models import Digest
    from agent.models import Paper
    from agent.pipeline import PaperAgent, Progress
    from agent.qa.models import Answer

QUESTIONS = (
    "How can large language models be made cheaper to run on phones?",
    "Which papers use graph neural networks for weather forecasting?",
)


class DemoResult(BaseModel):
    home: Path
    digest_html: Path
    digest_md: Path
    ingest: RunReport
    summarize: RunReport
    digest: Digest
    answers: list[Answer] = Field(default_factory=list)
    seconds: dict[str, float] = Field(default_factory=dict)
    engine: str = "extractive"


def corpus_path() -> Path:
    return Path(str(resources.files("agent") / "data" / "demo_corpus.jsonl"))


def demo_settings(settings: Settings, home: Path | None) -> Settings:
    return settings.model_copy(update={"home": home or settings.home / "demo", "sources": []})


def run_demo(agent: PaperAgent, *, progress: Progress | None = None) -> DemoResult:
    from agent.digest.models import Digest
    from agent.digest.render import write_digest
    from agent.qa.models import Answer
    from agent.sources import FetchRequest

    DemoResult.model_rebuild(_types_namespace={"Digest": Digest, "Answer": Answer})
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    ingested = agent.ingest(
        request=FetchRequest(path=corpus_path(), format="jsonl"), progress=progress
    )
    timings["ingest"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    summarized = agent.summarize(limit=None)
    timings["summarize"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    oldest = min((p.published for p in _papers(agent) if p.published), default=None)
    since = (oldest - timedelta(days=1)) if oldest else datetime.now(UTC) - timedelta(days=30)
    digest = agent.digest(since=since, include_sent=True, progress=progress)
    home = agent.settings.home
    html_path, md_path = home / "demo-digest.html", home / "demo-digest.md"
    write_digest(digest, html_path)
    write_digest(digest, md_path)
    timings["digest"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    answers = [agent.ask(q) for q in QUESTIONS]
    timings["ask"] = time.perf_counter() - t0

    return DemoResult(
        home=home,
        digest_html=html_path,
        digest_md=md_path,
        ingest=ingested,
        summarize=summarized,
        digest=digest,
        answers=answers,
        seconds={k: round(v, 2) for k, v in timings.items()},
        engine="llm" if agent.llm is not None else "extractive",
    )


def _papers(agent: PaperAgent) -> list[Paper]:
    from agent.models import Paper

    return [Paper.model_validate(r) for r in agent.store.list_papers()]
