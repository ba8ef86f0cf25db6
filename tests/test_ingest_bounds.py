"""Issue 13 item 6: one huge record can neither stall an ingest nor sink the records beside it.

A 20 MB abstract used to run past 600 s at 2.5 GB, print nothing and store nothing; a CSV field
over 128 KiB failed the whole file; a pasted page of many paragraphs parsed in quadratic time.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from pathlib import Path

from agent.config import Settings
from agent.models import Paper
from agent.pipeline import PaperAgent
from agent.sources.bounds import CUT_MARK, MAX_ABSTRACT_CHARS, MAX_TITLE_CHARS, bound_paper
from agent.sources.files import read_papers
from store.papers.chunking import MAX_CHUNKS

REPO = Path(__file__).resolve().parents[1]
GOOD = {
    "id": "2401.00001",
    "title": "Sparse Mixture-of-Experts Routing for Long-Context Language Models",
    "abstract": "We study routing in sparse mixture-of-experts transformers when the context "
    "reaches 128k tokens. Our router assigns tokens to experts using a sliding window of "
    "attention statistics. It improves accuracy by 4.1 points with 30% fewer FLOPs.",
    "published": "2026-11-20T00:00:00Z",
}
SENTENCES = [
    "We measure how the routing policy changes the accuracy of the model.",
    "The experts specialise on syntax, numbers and rare entities.",
    "Training is stable when the auxiliary balancing loss is small.",
    "Long documents benefit most from the sliding statistics.",
]
# Runs the CLI in a child and reports the child's own peak RSS (KiB on Linux).
CHILD = """
import resource, sys
from cli.main import app
try:
    app(sys.argv[1:], prog_name="paperbrief")
    code = 0
except SystemExit as exc:
    code = exc.code or 0
print(f"MAXRSS_KB {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", file=sys.stderr)
sys.exit(code)
"""


def prose(chars: int) -> str:
    out: list[str] = []
    size = i = 0
    while size < chars:
        sentence = SENTENCES[i % len(SENTENCES)]
        out.append(sentence)
        size += len(sentence) + 1
        i += 1
    return " ".join(out)


def test_a_20_mb_abstract_is_cut_and_the_good_record_beside_it_is_stored(tmp_path, minilm):
    huge = {"id": "huge-1", "title": "A Record Gone Wrong", "abstract": prose(20_000_000)}
    path = tmp_path / "papers.jsonl"
    path.write_text(json.dumps(huge) + "\n" + json.dumps(GOOD) + "\n", encoding="utf-8")
    home = tmp_path / "home"
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, "--home", str(home), "ingest", "--file", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,  # the old code ran past 600 s
    )
    seconds = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "new 2" in proc.stdout
    said = " ".join(proc.stderr.split())
    assert (
        f"huge-1 ('A Record Gone Wrong'): cut the abstract from {len(huge['abstract']):,}" in said
    )
    peak_mb = int(proc.stderr.rsplit("MAXRSS_KB", 1)[1].split()[0]) / 1024
    assert seconds < 120 and peak_mb < 2048, (seconds, peak_mb)  # old: > 600 s, 2.5 GB

    agent = PaperAgent(Settings(home=home), embedder=minilm)
    try:
        good = agent.get_paper(GOOD["id"])
        assert good is not None and good.abstract == GOOD["abstract"]
        cut = agent.get_paper("huge-1")
        assert cut is not None and cut.abstract.endswith(CUT_MARK)
        assert MAX_ABSTRACT_CHARS // 2 < len(cut.abstract) <= MAX_ABSTRACT_CHARS + len(CUT_MARK)
        assert cut.extra["cut"] == {"abstract_chars": len(huge["abstract"])}
        assert 0 < len(agent.store.chunks_of("huge-1")) <= MAX_CHUNKS
    finally:
        agent.close()


def test_bounds_leave_real_abstracts_and_pasted_pages_whole():
    page = prose(60_000)  # a long paper's full text, pasted
    paper = Paper(id="x", title="T" * 300, abstract=page, source="file")
    assert bound_paper(paper) == (paper, None)
    long = Paper(id="y", title="word " * 400, abstract=page * 2, source="file")
    bounded, note = bound_paper(long)
    assert len(bounded.title) <= MAX_TITLE_CHARS + len(CUT_MARK)
    assert bounded.title.endswith(" word" + CUT_MARK)  # cut at a word
    assert len(bounded.abstract) <= MAX_ABSTRACT_CHARS + len(CUT_MARK)
    assert (page * 2).startswith(bounded.abstract.removesuffix(CUT_MARK))
    assert bounded.extra["cut"] == {"title_chars": 2000, "abstract_chars": 2 * len(page)}
    assert note and "title from 2,000" in note and f"abstract from {2 * len(page):,}" in note
    assert bounded.content_hash != long.content_hash  # the stored text is what is hashed


def test_a_csv_field_over_128_kib_does_not_fail_the_whole_file(tmp_path):
    path = tmp_path / "papers.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "title", "abstract"])
        writer.writerow(["big-1", "Big Record", prose(300_000)])
        writer.writerow([GOOD["id"], GOOD["title"], GOOD["abstract"]])
    limit = csv.field_size_limit()
    result = read_papers(path)  # old: InputError "field larger than field limit (131072)"
    assert [p.id for p in result.papers] == ["big-1", GOOD["id"]]
    assert csv.field_size_limit() == limit  # the process-wide limit is restored


def test_a_pasted_page_of_many_paragraphs_parses_in_linear_time(tmp_path):
    # 16 MB: each paragraph used to copy the abstract so far; now ~3 s
    paragraphs = [prose(500) for _ in range(30_000)]
    text = f"{GOOD['title']}\n\n{GOOD['abstract']}\n\nA Pasted Book\n\n" + "\n\n".join(paragraphs)
    path = tmp_path / "paste.txt"
    path.write_text(text, encoding="utf-8")
    started = time.monotonic()
    result = read_papers(path)
    seconds = time.monotonic() - started
    assert [p.title for p in result.papers] == [GOOD["title"], "A Pasted Book"]
    # every paragraph kept (the ingest cuts what is too long, saying so)
    assert result.papers[1].abstract == " ".join(paragraphs)
    assert seconds < 15, seconds  # old code: 38 s
