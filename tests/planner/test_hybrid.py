"""The hybrid planner: rules first; the LLM only for unexplained words, and only when verified."""

from __future__ import annotations

import pytest
from planner_support import EXAMPLE, PRODUCTS, FakeBackend, context

from fashrec.errors import PlannerError
from fashrec.planner import (
    HybridPlanner,
    create_planner,
    register_planner,
    unregister_planner,
)


@pytest.fixture()
def fake_hybrid():
    backend = FakeBackend()
    register_planner("fake-hybrid", lambda **options: HybridPlanner(backend, **options), replace=True)
    yield backend
    unregister_planner("fake-hybrid")


def first_option(prompt: str, grammar: str) -> str:
    """A model that always picks the first option it is shown (what a weak model often does)."""
    return grammar.split('"')[1]


def test_the_model_is_not_asked_when_rules_explain_everything(fake_hybrid):
    result = create_planner("fake-hybrid").plan("same in navy, under 40 euros, not leather", context())
    assert fake_hybrid.calls == []
    assert result.set == {"color": "navy"} and result.source == "hybrid"


def test_a_near_spelling_is_resolved_by_the_model(fake_hybrid):
    fake_hybrid.answer = first_option
    result = create_planner("fake-hybrid").plan("in blu", context(PRODUCTS))
    assert result.set == {"color": "blue"}
    assert "blu" not in result.query
    assert any("llm read 'blu'" in n for n in result.notes)
    assert '"blue"' in fake_hybrid.calls[0]["grammar"] and '"none"' in fake_hybrid.calls[0]["grammar"]


def test_a_negated_near_spelling_is_excluded(fake_hybrid):
    fake_hybrid.answer = first_option
    result = create_planner("fake-hybrid").plan("anything but blu", context(PRODUCTS))
    assert result.exclude == {"color": ["blue"]}


def test_none_and_unverifiable_answers_change_nothing(fake_hybrid):
    for reply in ("none", "black", "gibberish"):
        fake_hybrid.answer = reply
        result = create_planner("fake-hybrid").plan("in blu", context(PRODUCTS))
        assert result.set == {}, reply


def test_synonyms_need_two_agreeing_answers(fake_hybrid):
    """With synonyms on, an answer not spelled like the word must survive the options being reversed."""
    fake_hybrid.answer = first_option  # position-biased: different answers for the two orders
    planner = create_planner("fake-hybrid", synonyms=True)
    assert planner.plan("in vermilion", context(EXAMPLE)).set == {}
    assert len(fake_hybrid.calls) == 2
    fake_hybrid.answer = "red"  # consistent
    assert planner.plan("in vermilion", context(EXAMPLE)).set == {"color": "red"}
    assert create_planner("fake-hybrid").plan("in vermilion", context(EXAMPLE)).set == {}  # off by default


def test_an_llm_answer_never_overrides_what_the_rules_set(fake_hybrid):
    fake_hybrid.answer = first_option
    result = create_planner("fake-hybrid").plan("in black, blu", context(PRODUCTS))
    assert result.set == {"color": "black"}


def test_model_failures_keep_the_rules_plan(fake_hybrid):
    fake_hybrid.error = PlannerError("the model failed: boom")
    result = create_planner("fake-hybrid").plan("in blu, not red", context(PRODUCTS))
    assert result.exclude == {"color": ["red"]}
    assert any(n.startswith("fallback:") and "boom" in n for n in result.notes)
    fake_hybrid.error = None
    fake_hybrid.finish = "timeout"
    result = create_planner("fake-hybrid").plan("in blu", context(PRODUCTS))
    assert result.set == {} and any("fallback:" in n for n in result.notes)


def test_a_missing_model_falls_back_to_rules_with_a_notice(tmp_path):
    planner = create_planner("hybrid", model_path=str(tmp_path / "missing.gguf"))
    result = planner.plan("in blu, under 30", context(PRODUCTS))
    assert result.price_max == 30
    assert any(n.startswith("fallback:") and "not found" in n for n in result.notes)
    # Requests the rules explain fully never even look for the model.
    assert planner.plan("in navy", context(PRODUCTS)).notes == []


def test_hybrid_is_at_least_as_good_as_rules_on_the_labelled_set_with_a_fake_model():
    from planner_support import DATA, VOCABULARIES

    from fashrec.evaluation.planner import load_cases, run_planner, score

    cases = load_cases(DATA / "planner_phrases.jsonl")
    rules_score = score("rules", run_planner(create_planner("rules"), cases, VOCABULARIES))
    hybrid = HybridPlanner(FakeBackend(first_option))
    hybrid_score = score("hybrid", run_planner(hybrid, cases, VOCABULARIES))
    assert hybrid_score.exact_match >= rules_score.exact_match
