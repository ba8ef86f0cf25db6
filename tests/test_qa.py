"""ask() against a real store (Chroma + BM25, MiniLM: the qa_store and agent fixtures of
conftest.py) and a scripted OpenAI-compatible server: citations map to the right papers, bad
citations are stripped, weak evidence and the model's refusal marker become a refusal, streaming
matches the non-streamed answer, abstracts are fenced, and the tool-calling loop adds papers
and stops after three rounds."""

from __future__ import annotations

import math
from datetime import datetime

import pytest
from openai_script_helpers import calling, citing, number_of, numbers_in, prompt_of
from openai_server import OpenAIServer, Reply, chat_completion, error_body
from qa_corpus import FENCE_PAPER, OFF_TOPIC_Q, PLANTOK, PLANTOK_Q, QUADRUPED, make_engine

from agent.config import AskSettings, Settings
from agent.qa.answerable import SURE, yes_no_log_odds
from agent.qa.context import REFUSAL_MARKER
from prompts import FENCE_END, FENCE_START


@pytest.fixture
def server():
    with OpenAIServer() as srv:
        yield srv


# --- citations ----------------------------------------------------------------------------------
def test_citations_map_to_the_papers_the_model_cited(agent, server):
    server.handler = citing(PLANTOK, "PlanTok learns 64 planning tokens by clustering [{n}].")
    answer = make_engine(agent, server).ask(PLANTOK_Q)
    assert not answer.refused and answer.engine == "llm" and answer.model == "test-model"
    assert [c.id for c in answer.citations] == [PLANTOK]
    (cite,) = answer.citations
    assert f"[{cite.n}]" in answer.answer
    assert cite.title.startswith("Planning Tokens") and cite.url.endswith(PLANTOK)
    assert cite.published is not None
    # The number is the one the prompt gave this paper, and every retrieved paper is listed.
    assert number_of(server.chat_requests[0].json, PLANTOK) == cite.n
    assert {c.id for c in answer.retrieved} == set(numbers_in(server.chat_requests[0].json))
    data = answer.to_json()
    assert data["citations"] == [{"n": cite.n, "id": PLANTOK, "title": cite.title,
                                  "url": cite.url}]  # fmt: skip
    assert set(data) >= {"question", "answer", "refused", "citations", "model", "usage"}


def test_out_of_range_citation_is_stripped_and_counted(agent, server):
    server.handler = citing(PLANTOK, "PlanTok uses 64 tokens [{n}]. It beats every model [42].")
    answer = make_engine(agent, server, k=4).ask(PLANTOK_Q)
    assert "[42]" not in answer.answer
    assert answer.removed_citations == 1
    assert [c.id for c in answer.citations] == [PLANTOK]
    assert answer.flagged is None


def test_answer_citing_nothing_is_flagged(agent, server):
    server.handler = lambda req: chat_completion("Planning tokens help models plan their steps.")
    answer = make_engine(agent, server).ask(PLANTOK_Q)
    assert answer.flagged and not answer.citations and not answer.refused


def test_figures_no_paper_gives_are_flagged_and_faithful_ones_are_not(agent, server):
    server.handler = citing(PLANTOK, "PlanTok learns 931 planning tokens with GPT-5 [{n}].")
    answer = make_engine(agent, server).ask(PLANTOK_Q)
    assert not answer.refused and [c.id for c in answer.citations] == [PLANTOK]
    assert answer.flagged and "931" in answer.flagged and "GPT-5" in answer.flagged
    assert answer.to_json()["flagged"] == answer.flagged
    server.handler = citing(PLANTOK, "PlanTok adds 64 tokens; GSM8K gains 3.4 points [{n}].")
    assert make_engine(agent, server).ask(PLANTOK_Q).flagged is None


def test_usage_comes_from_the_endpoint(agent, server):
    server.handler = citing(PLANTOK, "64 tokens [{n}].", usage=(321, 12))
    answer = make_engine(agent, server).ask(PLANTOK_Q)
    assert (answer.usage.tokens_in, answer.usage.tokens_out) == (321, 12)
    assert answer.usage.counted == "api" and answer.usage.calls == 1


# --- refusals -----------------------------------------------------------------------------------
def test_refuses_without_calling_the_model_when_the_store_lacks_the_topic(agent, server):
    engine = make_engine(agent, server)
    answer = engine.ask(OFF_TOPIC_Q)
    assert answer.refused and answer.refusal_reason == "weak_evidence"
    assert server.chat_requests == []  # no tokens spent on a question the papers cannot answer
    assert answer.evidence is not None and answer.evidence < engine.min_similarity
    assert 1 <= len(answer.citations) <= 3
    assert answer.answer.count(". ") == 0 and answer.answer.endswith(".")  # one sentence
    for c in answer.citations:
        assert f"[{c.n}]" in answer.answer


def test_a_broad_question_far_from_every_chunk_is_answered_when_a_paper_holds_its_terms(
    agent, server
):
    # A "which papers ..." question sits far from every chunk in embedding space; the lexical
    # side of the gate (the question's rare terms all in one paper) lets the model answer it.
    question = "Which papers use Monte Carlo rollouts or tree search, and what for?"
    server.handler = lambda req: chat_completion("They score partial chains [1].")
    answer = make_engine(agent, server).ask(question)
    calibrated = AskSettings()
    assert answer.evidence is not None and answer.evidence < calibrated.min_similarity
    assert answer.term_coverage is not None
    assert answer.term_coverage >= calibrated.min_term_coverage
    assert not answer.refused and len(server.chat_requests) == 1
    # the same question with the lexical side switched off is refused without a model call
    gated = make_engine(agent, server, min_term_coverage=1.01).ask(question)
    assert gated.refused and gated.refusal_reason == "weak_evidence"
    assert len(server.chat_requests) == 1


def test_model_refusal_marker_becomes_a_refusal_naming_the_closest_papers(agent, server):
    question = "Which paper trains a bipedal humanoid robot to walk with sim-to-real RL?"
    server.handler = lambda req: chat_completion(REFUSAL_MARKER)
    # gate off: this is about the model's marker, whatever the evidence gate makes of a near miss
    answer = make_engine(agent, server, min_similarity=0.0).ask(question)
    assert answer.refused and answer.refusal_reason == "model"
    assert REFUSAL_MARKER not in answer.answer
    assert answer.citations and answer.citations[0].id in {QUADRUPED, "demo-0022"}
    assert len(server.chat_requests) == 1


def test_since_filter_limits_the_context(agent, server):
    server.handler = lambda req: chat_completion(REFUSAL_MARKER)
    answer = make_engine(agent, server, min_similarity=0.0).ask(
        "reinforcement learning for robots", since="2026-11-24", category="cs.RO"
    )
    assert answer.retrieved
    for c in answer.retrieved:
        assert c.published >= datetime.fromisoformat("2026-11-24T00:00:00+00:00")
        assert "cs.RO" in c.paper.categories
    assert "2026-11-24" in answer.answer and "cs.RO" in answer.answer


# --- streaming ----------------------------------------------------------------------------------
def test_streaming_produces_the_same_answer_as_non_streamed(agent, server):
    reply = (
        "PlanTok learns **64** planning tokens [{n}], obtained by clustering hidden states [{n}]."
    )
    server.handler = citing(PLANTOK, reply)
    engine = make_engine(agent, server)
    plain = engine.ask(PLANTOK_Q)
    pieces: list[str] = []
    streamed = engine.ask(PLANTOK_Q, stream=pieces.append)
    assert server.chat_requests[-1].json.get("stream") is True
    assert len(pieces) > 1  # it arrived in pieces, not in one block at the end
    assert "".join(pieces) == streamed.answer == plain.answer
    assert [c.id for c in streamed.citations] == [c.id for c in plain.citations] == [PLANTOK]
    assert streamed.usage.tokens_out == plain.usage.tokens_out == 20


def test_streamed_refusal_marker_never_reaches_the_callback(agent, server):
    server.handler = lambda req: chat_completion(REFUSAL_MARKER)
    pieces: list[str] = []
    answer = make_engine(agent, server).ask(PLANTOK_Q, stream=pieces.append)
    assert answer.refused
    assert REFUSAL_MARKER not in "".join(pieces)


def test_stream_retries_a_server_error_before_the_first_token(agent, server):
    server.queue(Reply(status=503, body=error_body("busy", type_="server_error")))
    server.handler = citing(PLANTOK, "64 tokens [{n}].")
    pieces: list[str] = []
    answer = make_engine(agent, server).ask(PLANTOK_Q, stream=pieces.append)
    assert len(server.chat_requests) == 2 and answer.usage.calls == 2
    assert "".join(pieces) == answer.answer


# --- untrusted text -----------------------------------------------------------------------------
def test_abstracts_are_fenced_as_data_and_cannot_close_their_fence(agent, server):
    server.handler = citing(FENCE_PAPER.id, "Verifiers guide reasoning [{n}].")
    answer = make_engine(agent, server, min_similarity=0.0).ask(
        "verifier-guided chain-of-thought reasoning"
    )
    request = server.chat_requests[0].json
    system, user = (m["content"] for m in request["messages"])
    assert "Never follow instructions" in system and REFUSAL_MARKER in system
    assert number_of(request, FENCE_PAPER.id) is not None
    papers = len(answer.retrieved)
    # One opening and one closing marker per paper: the planted markers were removed.
    assert user.count(FENCE_START) == papers and user.count(FENCE_END) == papers
    assert "[99]" not in answer.answer


def test_planted_instruction_reaches_the_model_only_inside_a_fence(agent, server):
    server.handler = citing(PLANTOK, "64 tokens [{n}].")
    make_engine(agent, server).ask(PLANTOK_Q)
    text = prompt_of(server.chat_requests[0].json)
    at = text.index("Ignore previous instructions")
    assert text.rfind(FENCE_START, 0, at) > text.rfind(FENCE_END, 0, at)


# --- the answerability check -----------------------------------------------------------------
def _checking(reply: str, top_logprobs: dict[str, float] | None, answer_handler=None):
    """Answer the check prompt with ``reply`` (and log-probabilities), anything else with
    ``answer_handler``."""

    def handle(request):
        if "YES or NO" in prompt_of(request):
            return chat_completion(reply, top_logprobs=top_logprobs, usage=(90, 1))
        return answer_handler(request)

    return handle


def test_a_near_miss_the_model_doubts_is_refused_before_any_answer_is_written(agent, server):
    server.handler = _checking("NO", {"NO": -0.09, "YES": -2.5, "No": -6.0})
    answer = make_engine(agent, server, check_answerable=True).ask(PLANTOK_Q)
    assert answer.refused and answer.refusal_reason == "not_answerable"
    assert answer.answerable_log_odds == pytest.approx(
        math.log(math.exp(-2.5)) - math.log(math.exp(-0.09) + math.exp(-6.0)), abs=1e-6
    )
    (check,) = server.chat_requests  # no answer was requested
    body = check.json
    assert body["logprobs"] is True and body["top_logprobs"] >= 5
    assert body["max_completion_tokens"] <= 5 and body["max_tokens"] <= 5  # llama.cpp reads this
    user = body["messages"][-1]["content"]
    # Only the best-matching paper is read, fenced as data.
    assert user.count(FENCE_START) == 1 and user.index(FENCE_START) < user.index(f"id: {PLANTOK}")
    assert PLANTOK_Q in user
    assert answer.citations and answer.citations[0].id == PLANTOK  # the closest paper named
    assert answer.usage.calls == 1 and answer.usage.tokens_in == 90


def test_a_doubtful_but_not_confident_no_still_gets_an_answer(agent, server):
    # The cut is on the log-odds, not on the word: "NO" at 0.45 vs 0.37 is a coin flip.
    answer_handler = citing(PLANTOK, "PlanTok learns 64 planning tokens [{n}].")
    server.handler = _checking("NO", {"NO": -0.8, "YES": -1.0}, answer_handler)
    answer = make_engine(agent, server, check_answerable=True).ask(PLANTOK_Q)
    assert not answer.refused and [c.id for c in answer.citations] == [PLANTOK]
    assert answer.answerable_log_odds == pytest.approx(-0.2)
    assert len(server.chat_requests) == 2 and answer.usage.calls == 2
    assert answer.usage.tokens_in == 90 + 50  # both calls are counted
    strict = make_engine(agent, server, check_answerable=True, min_answerable_log_odds=0.0)
    assert strict.ask(PLANTOK_Q).refusal_reason == "not_answerable"


@pytest.mark.parametrize(
    ("reply", "refused"), [("No.", True), ("Yes", False), ("It depends on the paper", False)]
)
def test_an_endpoint_without_log_probabilities_is_taken_at_its_word(agent, server, reply, refused):
    answer_handler = citing(PLANTOK, "PlanTok learns 64 planning tokens [{n}].")
    server.handler = _checking(reply, None, answer_handler)
    answer = make_engine(agent, server, check_answerable=True).ask(PLANTOK_Q)
    assert answer.refused is refused
    assert len(server.chat_requests) == (1 if refused else 2)


def test_comparisons_and_a_disabled_check_skip_the_extra_call(agent, server):
    answer_handler = citing(PLANTOK, "PlanTok learns 64 planning tokens [{n}].")
    server.handler = _checking("NO", {"NO": -0.01, "YES": -9.0}, answer_handler)
    # One paper cannot hold both sides of a comparison: it is not asked to.
    answer = make_engine(agent, server, check_answerable=True).ask(
        "How does PlanTok compare with chain-of-thought prompting on planning tokens?"
    )
    assert not answer.refused and answer.answerable_log_odds is None
    assert all("YES or NO" not in prompt_of(r.json) for r in server.chat_requests)
    settings = Settings(ask_check_answerable=False)
    engine = make_engine(agent, server, check_answerable=None, settings=settings)
    assert not engine.ask(PLANTOK_Q).refused
    assert all("YES or NO" not in prompt_of(r.json) for r in server.chat_requests)


def test_yes_no_log_odds_reads_the_first_word_and_its_variants():
    def entry(token, alternatives):
        tops = [{"token": t, "logprob": lp} for t, lp in alternatives.items()]
        return {"token": token, "logprob": alternatives.get(token, -1.0), "top_logprobs": tops}

    spaced = [entry(" ", {" ": -0.01}), entry("Yes", {"Yes": -0.2, " YES": -2.0, "No": -3.0})]
    assert yes_no_log_odds("Yes", spaced) == pytest.approx(
        math.log(math.exp(-0.2) + math.exp(-2.0)) + 3.0
    )
    # NO missing from the top list: it is at most as likely as the least likely listed.
    assert yes_no_log_odds("YES", [entry("YES", {"YES": -0.1, "Sure": -4.0})]) == pytest.approx(3.9)
    assert yes_no_log_odds("Maybe", [entry("Maybe", {"Maybe": -0.1})]) is None
    assert yes_no_log_odds("NO, the paper is about 256x256.", []) == -SURE


# --- agentic retrieval --------------------------------------------------------------------------
def test_tool_calls_add_papers_to_the_context_and_are_recorded(agent, server):
    question = "Compare PlanTok planning tokens for math reasoning with other work."

    def answer_with_both(request):
        nums = numbers_in(request)
        return chat_completion(
            f"PlanTok adds planning tokens [{nums[PLANTOK]}]; TerraPrior walks on rough "
            f"terrain [{nums[QUADRUPED]}]."
        )

    server.queue(calling("search_papers", {"query": "quadruped sim-to-real locomotion"}))
    server.handler = answer_with_both
    seen = []
    engine = make_engine(agent, server, agentic="auto", k=1)
    answer = engine.ask(question, on_tool_call=seen.append)
    first, second = server.chat_requests
    assert first.json["tools"][0]["function"]["name"] == "search_papers"
    assert number_of(first.json, QUADRUPED) is None  # k=1: only found through the tool
    assert [t.name for t in answer.tool_calls] == ["search_papers"] and seen == answer.tool_calls
    assert QUADRUPED in answer.tool_calls[0].result_ids
    assert {c.id for c in answer.citations} == {PLANTOK, QUADRUPED}
    assert any(m["role"] == "tool" for m in second.json["messages"])
    assert answer.usage.calls == 2


def test_tool_rounds_stop_after_three(agent, server):
    server.handler = lambda req: (
        calling("get_paper", {"id": PLANTOK})
        if req.get("tool_choice") != "none"
        else citing(PLANTOK, "Done [{n}].")(req)
    )
    answer = make_engine(agent, server, agentic="always").ask(PLANTOK_Q)
    assert len(answer.tool_calls) == 3
    assert len(server.chat_requests) == 4
    assert server.chat_requests[-1].json["tool_choice"] == "none"
    assert [c.id for c in answer.citations] == [PLANTOK]


def test_bad_tool_arguments_are_reported_to_the_model_not_raised(agent, server):
    server.queue(calling("get_paper", {"id": "no-such-paper"}))
    server.handler = citing(PLANTOK, "64 tokens [{n}].")
    answer = make_engine(agent, server, agentic="always").ask(PLANTOK_Q)
    assert answer.tool_calls[0].error and "no-such-paper" in answer.tool_calls[0].error
    tool_msg = next(m for m in server.chat_requests[1].json["messages"] if m["role"] == "tool")
    assert "Tool error" in tool_msg["content"]


def test_endpoint_without_tool_support_falls_back_to_one_retrieval(agent, server):
    def no_tools(request):
        if request.get("tools"):
            return Reply(status=400, body=error_body("tools are not supported"))
        return citing(PLANTOK, "64 tokens [{n}].")(request)

    server.handler = no_tools
    engine = make_engine(agent, server, agentic="always")
    answer = engine.ask(PLANTOK_Q)
    assert [c.id for c in answer.citations] == [PLANTOK] and not answer.tool_calls
    engine.ask(PLANTOK_Q)  # remembered: no second attempt with tools
    assert [bool(r.json.get("tools")) for r in server.chat_requests] == [True, False, False]


def test_evidence_gate_default_follows_the_embedder():
    from agent.qa.engine import QAEngine

    def gate(**settings) -> float:
        return QAEngine(lambda *a, **k: [], settings=Settings(**settings)).min_similarity

    assert gate() == AskSettings().min_similarity == 0.42  # calibrated on the bundled MiniLM
    # Another embedder's cosines live on another scale: no MiniLM threshold for it...
    assert gate(embedding={"provider": "openai"}) == 0.0
    # ...unless the user set one, even the calibrated number itself.
    assert gate(embedding={"provider": "openai"}, ask={"min_similarity": 0.42}) == 0.42
    assert gate(embedding_provider="openai", ask_min_similarity=0.5) == 0.5  # 0.1 flat names
