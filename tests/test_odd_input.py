"""Issue 25, item 10: odd input is never changed without a note. An id with an invisible
character is read without it and the run report says so (it once became another, valid-looking
id); a date paperbrief cannot read is reported, not silently dropped; a title or abstract that
is a list, an object or a number is a per-record failure, not stringified and accepted."""

from __future__ import annotations

import json

import pytest

from agent.config import Settings
from agent.pipeline import PaperAgent
from agent.sources.base import FetchRequest

ABSTRACT = (
    "We study sparse attention for long documents and show that routing tokens to a few "
    "experts keeps accuracy while cutting the cost of attention by half on three benchmarks."
)


def ingest(tmp_path, minilm, records: list[dict]):
    path = tmp_path / "odd.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    agent = PaperAgent(Settings(home=tmp_path / "home"), embedder=minilm)
    return agent, agent.ingest(request=FetchRequest(path=path))


def test_an_invisible_character_in_an_id_is_removed_and_reported(tmp_path, minilm):
    agent, report = ingest(tmp_path, minilm, [
        {"id": "2612.0001\u200b1", "title": "Sparse Routing", "abstract": ABSTRACT},
    ])  # fmt: skip
    with agent:
        assert agent.get_paper("2612.00011") is not None
        assert agent.get_paper("2612.0001") is None  # not another, valid-looking id
    notes = " ".join(report.notes)
    assert "U+200B" in notes and "2612.00011" in notes, report.notes


def test_an_unreadable_date_is_reported(tmp_path, minilm):
    agent, report = ingest(tmp_path, minilm, [
        {"id": "2612.00021", "title": "Sparse Routing", "abstract": ABSTRACT,
         "date": "next Tuesday"},
    ])  # fmt: skip
    with agent:
        assert agent.get_paper("2612.00021").published is None
    notes = " ".join(report.notes)
    assert "next Tuesday" in notes and "2612.00021" in notes, report.notes


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [("title", ["Sparse", "Routing"], "a list"), ("abstract", {"text": ABSTRACT}, "an object"),
     ("title", 2024, "a number")],
)  # fmt: skip
def test_a_title_or_abstract_that_is_not_text_fails_the_record(tmp_path, minilm, field, value,
                                                                kind):  # fmt: skip
    good = {"id": "2612.00031", "title": "Sparse Routing", "abstract": ABSTRACT}
    odd = {**good, "id": "2612.00032", field: value}
    agent, report = ingest(tmp_path, minilm, [good, odd])
    with agent:
        assert agent.get_paper("2612.00031") is not None
        assert agent.get_paper("2612.00032") is None
    (failure,) = report.failures
    assert "line 2" in failure.item and f"{field} is {kind}, not text" in failure.reason
    assert report.exit_code == 1  # some records failed, the rest ran
