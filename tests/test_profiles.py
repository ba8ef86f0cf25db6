"""Reader profiles through PaperAgent on a real store: each profile's library (imported from every
format Zotero exports, or an id list) and its ratings, kept apart and kept across runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from httpserver import LocalHTTPServer, Resp, unused_port

from agent import ConfigError, InputError, LibraryFormatError
from agent.config import Settings
from agent.pipeline import PaperAgent
from agent.profiles.signal import reader_signal
from agent.sources.base import FetchRequest
from store.embedding.embedders import HashingEmbedder

LIBRARY = Path(__file__).parent / "fixtures" / "library"
PROFILES = {"alice": {"interests": ["sequence models"]}, "bob": {"interests": ["diffusion"]}}

MAMBA = {
    "id": "2312.00752",
    "title": "Mamba: Linear-Time Sequence Modeling with Selective State Spaces",
    "abstract": "Foundation models are almost universally based on the Transformer. We identify "
    "that a key weakness of subquadratic models is their inability to perform content-based "
    "reasoning, and let the state space model parameters be functions of the input.",
    "authors": ["Albert Gu", "Tri Dao"],
    "categories": ["cs.LG"],
    "published": "2023-12-01T00:00:00Z",
}
HEATWAVES = {
    "id": "2401.00003",
    "title": "Learning to Forecast Heatwaves with Spherical Transformers",
    "abstract": "Heatwaves kill thousands of people every summer. We build a model that forecasts "
    "surface temperature ten days ahead from reanalysis data and beats the physics model on "
    "extreme-heat days by 18% in skill score.",
    "authors": ["Edward Lorenz"],
    "categories": ["physics.ao-ph"],
    "published": "2026-11-22T00:00:00Z",
}

# file -> (format, items stored, duplicates folded, entries skipped) into an empty store: the id
# list keeps only its three lines that carry a title; its seven bare ids are not in the store.
FORMATS = {
    "zotero.bib": ("bibtex", 9, 1, 1),
    "zotero.ris": ("ris", 4, 0, 1),
    "zotero_csl.json": ("csl-json", 5, 0, 1),
    "zotero.csv": ("zotero-csv", 3, 0, 1),
    "reading_list.txt": ("id-list", 3, 1, 8),
}
BAD_FILES = ["unclosed.bib", "broken_csl.json", "missing_er.ris", "no_title.csv", "bad_ids.txt"]


# arXiv's recorded answer to id_list=0808.05394,1707.08567 (a copy of the shared sample): the
# malformed id is silently dropped.
ID_LIST_ANSWER = (
    Path(__file__).parent / "fixtures" / "sources" / "api_idlist_0808.05394_1707.08567.atom.xml"
)


def make_agent(home: Path, embedder=None, *, arxiv_url: str | None = None) -> PaperAgent:
    """An agent whose arXiv lookups go to ``arxiv_url``, by default a port nothing listens on."""
    api_url = arxiv_url or f"http://127.0.0.1:{unused_port()}/api/query"
    settings = Settings(
        home=home,
        profiles=PROFILES,
        arxiv={"api_url": api_url, "min_interval": 0},
        http={"retries": 0},
    )
    return PaperAgent(settings, embedder=embedder or HashingEmbedder())


def ingest(agent: PaperAgent, tmp_path: Path, papers: list[dict]) -> None:
    path = tmp_path / "papers.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in papers), encoding="utf-8")
    assert agent.ingest(request=FetchRequest(path=path)).ok


def keys(agent: PaperAgent, profile: str) -> list[str]:
    return [entry.key for entry in agent.library(profile=profile)]


@pytest.mark.parametrize("name", list(FORMATS))
def test_each_format_imports_its_usable_entries_and_reimport_is_idempotent(tmp_path, name):
    fmt, stored, duplicates, skipped = FORMATS[name]
    with make_agent(tmp_path) as agent:
        report = agent.import_library(LIBRARY / name, profile="alice")
        assert (report.format, report.imported, report.duplicates) == (fmt, stored, duplicates)
        assert len(report.skipped) == skipped and all(s.reason for s in report.skipped)
        assert report.total == report.new == stored == len(agent.library(profile="alice"))
        before = keys(agent, "alice")

        again = agent.import_library(LIBRARY / name, profile="alice")
        assert (again.imported, again.new, again.total) == (stored, 0, stored)
        assert keys(agent, "alice") == before
        assert agent.signals.counts("alice")["library"] == stored


def test_id_list_lines_take_titles_from_the_store(tmp_path):
    with make_agent(tmp_path) as agent:
        ingest(agent, tmp_path, [MAMBA])
        report = agent.import_library(LIBRARY / "reading_list.txt", profile="alice")
        assert report.imported == 4 and "line 3" not in {s.key for s in report.skipped}
        [mamba] = [e for e in agent.library(profile="alice") if e.arxiv_id == "2312.00752"]
        assert (mamba.key, mamba.title, mamba.has_abstract) == (
            "arxiv:2312.00752",
            MAMBA["title"],
            True,
        )
        # arXiv is unreachable here: the line that is not in the store waits for a rerun
        [missing] = [s for s in report.skipped if s.line == 4]
        assert "1706.03762: arXiv could not be asked" in missing.reason
        assert "import the file again when online" in missing.reason


def test_id_list_lines_not_in_the_store_take_title_and_abstract_from_arxiv(tmp_path):
    (tmp_path / "ids.txt").write_text("1707.08567\n0808.05394\n", encoding="utf-8")
    with LocalHTTPServer() as arxiv:
        arxiv.route("/api/query", [Resp(200, ID_LIST_ANSWER.read_bytes())])
        with make_agent(tmp_path / "home", arxiv_url=arxiv.url("/api/query")) as agent:
            report = agent.import_library(tmp_path / "ids.txt", profile="alice")
            [entry] = agent.library(profile="alice")
    # one request for both ids, and arXiv's answer fills the entry
    [request] = arxiv.requests
    assert request.param("id_list") == "1707.08567,0808.05394"
    assert (report.imported, entry.key, entry.has_abstract) == (1, "arxiv:1707.08567", True)
    assert entry.title.startswith("Proceedings of Workshop AEW10")
    [skip] = report.skipped
    assert (skip.line, skip.reason) == (2, "arXiv 0808.05394 is not on arXiv; check the id")


def test_one_paper_from_two_files_is_one_entry_and_keeps_its_abstract(tmp_path):
    with make_agent(tmp_path) as agent:
        agent.import_library(LIBRARY / "zotero.bib", profile="alice")
        bib = {e.key: e for e in agent.library(profile="alice")}
        assert bib["arxiv:2312.00752"].has_abstract
        # The id list names Mamba, Attention, LoRA and BERT by bare id only: they are not in the
        # store, but they are in the library, so they count as that entry, abstract kept.
        report = agent.import_library(LIBRARY / "reading_list.txt", profile="alice")
        assert report.new == 3 and report.total == len(bib) + 3
        after = {e.key: e for e in agent.library(profile="alice")}
        assert {k for k in bib if after[k].has_abstract} == {k for k in bib if bib[k].has_abstract}
        skipped = {s.line for s in report.skipped}
        assert not skipped & {3, 4, 5, 6}  # the four papers already in the library
        # the same papers in RIS and CSV add nothing new either
        assert agent.import_library(LIBRARY / "zotero.ris", profile="alice").new == 0
        assert agent.import_library(LIBRARY / "zotero.csv", profile="alice").new == 0


@pytest.mark.parametrize("name", BAD_FILES)
def test_a_bad_file_names_its_line_and_leaves_the_library_unchanged(tmp_path, name):
    with make_agent(tmp_path) as agent:
        agent.import_library(LIBRARY / "zotero.csv", profile="alice")
        before = [(e.key, e.title) for e in agent.library(profile="alice")]
        with pytest.raises(LibraryFormatError) as info:
            agent.import_library(LIBRARY / name, profile="alice")
        assert name in str(info.value) and "line " in str(info.value)
        assert info.value.exit_code == 2 and info.value.hint
        assert [(e.key, e.title) for e in agent.library(profile="alice")] == before


def test_profiles_keep_separate_libraries(tmp_path):
    with make_agent(tmp_path) as agent:
        agent.import_library(LIBRARY / "zotero.bib", profile="alice")
        agent.import_library(LIBRARY / "zotero.csv", profile="bob")
        alice, bob = keys(agent, "alice"), keys(agent, "bob")
        assert len(alice) == 9 and len(bob) == 3 and keys(agent, "default") == []
        assert agent.remove_from_library(["2312.00752"], profile="alice") == 1
        assert "arxiv:2312.00752" not in keys(agent, "alice") and keys(agent, "bob") == bob
        assert agent.remove_from_library(profile="bob", everything=True) == 3
        assert keys(agent, "bob") == [] and len(keys(agent, "alice")) == 8


def test_unknown_profile_is_a_config_error_naming_the_known_ones(tmp_path):
    with make_agent(tmp_path) as agent, pytest.raises(ConfigError) as info:
        agent.import_library(LIBRARY / "zotero.csv", profile="carol")
    assert "carol" in str(info.value) and "default, alice, bob" in info.value.hint
    with make_agent(tmp_path) as agent:
        assert agent.signals.counts("carol")["library"] == 0


def test_remove_refuses_unknown_keys_and_ambiguous_requests(tmp_path):
    with make_agent(tmp_path) as agent:
        agent.import_library(LIBRARY / "zotero.csv", profile="alice")
        before = keys(agent, "alice")
        with pytest.raises(InputError, match="not in the 'alice' library"):
            agent.remove_from_library([before[0], "no-such-key"], profile="alice")
        with pytest.raises(InputError, match="not both"):
            agent.remove_from_library([before[0]], profile="alice", everything=True)
        with pytest.raises(InputError, match="Name the items"):
            agent.remove_from_library([], profile="alice")
        assert keys(agent, "alice") == before  # nothing removed by a refused request
        assert agent.remove_from_library([before[0]], profile="alice") == 1


def test_ratings_persist_per_profile_across_agents(tmp_path):
    with make_agent(tmp_path) as agent:
        ingest(agent, tmp_path, [MAMBA, HEATWAVES])
        up = agent.rate("arXiv:2312.00752v2", "up", profile="alice")  # a versioned id works
        assert (up.paper_id, up.title, up.value) == ("2312.00752", MAMBA["title"], 1)
        assert agent.rate("2401.00003", "down", profile="alice").value == -1
        assert agent.rate("2401.00003", "UP", profile="bob").value == 1

    with make_agent(tmp_path) as agent:
        alice = {r.paper_id: r.value for r in agent.signals.ratings("alice")}
        assert alice == {"2312.00752": 1, "2401.00003": -1}
        assert {r.paper_id: r.value for r in agent.signals.ratings("bob")} == {"2401.00003": 1}
        assert agent.rate("2401.00003", "clear", profile="alice").value == 0
        assert agent.signals.counts("alice") == {"library": 0, "rated_up": 1, "rated_down": 0}
        # rating again replaces, never piles up
        agent.rate("2312.00752", "down", profile="alice")
        assert [(r.paper_id, r.value) for r in agent.signals.ratings("alice")] == [
            ("2312.00752", -1)
        ]


def test_rating_an_unknown_paper_or_value_is_an_input_error(tmp_path):
    with make_agent(tmp_path) as agent:
        ingest(agent, tmp_path, [MAMBA])
        with pytest.raises(InputError, match=r"No paper '9999\.99999'") as info:
            agent.rate("9999.99999", "up", profile="alice")
        assert info.value.exit_code == 2 and "search" in info.value.hint
        with pytest.raises(InputError, match="Unknown rating 'sideways'"):
            agent.rate("2312.00752", "sideways", profile="alice")
        with pytest.raises(ConfigError):
            agent.rate("2312.00752", "up", profile="carol")
        assert agent.signals.ratings("alice") == []


def test_library_vectors_carry_meaning_and_follow_a_new_embedder(tmp_path, minilm):
    """With the real model the library pulls toward papers on its topics; vectors made by
    another embedder are re-embedded from the stored text rather than mixed."""
    with make_agent(tmp_path / "hashing") as agent:
        agent.import_library(LIBRARY / "zotero.bib", profile="alice")
        assert {s.embedder_id for s in agent.signals.items("alice")} == {"hashing-256@v1"}
        items = agent.signals.items("alice")
        signal = reader_signal(
            "alice", items, signals=agent.signals, store=agent.store, embedder=minilm
        )
        assert signal is not None and signal.liked.shape == (9, minilm.dim)
        # re-embedded once: the new vectors are stored, so the next digest pays nothing
        assert {s.embedder_id for s in agent.signals.items("alice")} == {minilm.model_id}

    with make_agent(tmp_path / "minilm", embedder=minilm) as agent:
        ingest(agent, tmp_path, [MAMBA, HEATWAVES])
        agent.import_library(LIBRARY / "zotero.bib", profile="alice")
        items = agent.signals.items("alice")
        signal = reader_signal(
            "alice", items, signals=agent.signals, store=agent.store, embedder=minilm
        )
        assert signal is not None and len(signal.liked_labels) == 9
        mamba, heat = agent.store.paper_vectors([MAMBA["id"], HEATWAVES["id"]])
        liked = signal.liked / np.linalg.norm(signal.liked, axis=1, keepdims=True)
        # measured: the bib's Mamba entry .73 to the stored Mamba, the best to heatwaves .29
        assert (liked @ mamba).max() > 0.6
        assert (liked @ mamba).max() - (liked @ heat).max() > 0.3
