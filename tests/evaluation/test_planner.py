"""The planner evaluation: scoring rules and the labelled data set itself."""

from __future__ import annotations

import json

import pytest
from planner_support import DATA, VOCABULARIES

from fashrec.errors import UsageError
from fashrec.evaluation.planner import (
    compare,
    evaluate_planners,
    load_cases,
    load_vocabularies,
    vocabulary_from_lists,
)
from fashrec.planner import Plan, RulesPlanner


def test_the_labelled_set_is_large_valid_and_grounded():
    cases = load_cases(DATA / "planner_phrases.jsonl")
    assert len(cases) >= 150
    assert {c.vocabulary for c in cases} == {"example", "products", "shop", "photos"}
    assert len({(c.text, c.vocabulary) for c in cases}) == len(cases)  # no duplicates
    for case in cases:
        vocabulary = VOCABULARIES[case.vocabulary]
        expected = case.expected
        for attribute, value in expected["set"].items():
            assert vocabulary.has(attribute, value), (case.line, attribute, value)
        for attribute, values in expected["exclude"].items():
            assert all(vocabulary.has(attribute, v) for v in values), (case.line, attribute)
        assert set(expected["drop"]) <= set(vocabulary.attributes()) | {"price", "brand", "size"}, case.line
        assert all(vocabulary.has_brand(b) for b in expected.get("brands", []) + expected.get("exclude_brands", []))
        assert all(vocabulary.has_size(z) for z in expected.get("sizes", [])), case.line
        for attribute, value in case.anchor.items():
            assert vocabulary.has(attribute, value), (case.line, "anchor", attribute, value)


def test_compare_is_field_by_field():
    expected = {"set": {"color": "navy"}, "exclude": {"pattern": ["striped", "checked"]},
                "price": {"min": None, "max": 40}, "relative": ["cheaper"], "drop": []}
    good = Plan(set={"color": "navy"}, exclude={"pattern": ["checked", "striped"]}, price_max=40.0,
                relative=["cheaper"])
    assert all(compare(expected, good).values())
    wrong = Plan(set={"color": "navy"}, exclude={}, price_max=45, relative=[], drop=["color"],
                 include_out_of_stock=True)
    fields = compare(expected, wrong)
    assert fields == {"set": True, "exclude": False, "price": False, "drop": False, "stock": False,
                      "relative": False, "brand": True, "size": True}
    sized = compare({**expected, "sizes": ["M"], "brands": ["Nordvik"]}, Plan(sizes=["m"], brands=["kestrel"]))
    assert sized["size"] and not sized["brand"]


def test_evaluation_reports_exact_fields_latency_and_splits(tmp_path):
    data = tmp_path / "phrases.jsonl"
    rows = [
        {"text": "in navy", "vocabulary": "v", "anchor": {}, "split": "dev",
         "expected": {"set": {"color": "navy"}, "exclude": {}, "price": {"min": None, "max": None}, "drop": []}},
        {"text": "not black", "vocabulary": "v", "anchor": {}, "split": "holdout",
         "expected": {"set": {}, "exclude": {"color": ["black"]}, "price": {"min": None, "max": None}, "drop": []}},
        {"text": "under 30", "vocabulary": "v", "anchor": {}, "split": "holdout",
         "expected": {"set": {}, "exclude": {}, "price": {"min": None, "max": 20}, "drop": []}},  # wrong label
    ]
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    vocabularies = {"v": vocabulary_from_lists({"color": ["black", "navy"]})}
    report = evaluate_planners({"rules": RulesPlanner()}, load_cases(data), vocabularies, data=str(data))
    score = report.scores[0]
    assert score.cases == 3
    assert score.exact_match == pytest.approx(2 / 3)
    assert score.fields["price"] == pytest.approx(2 / 3) and score.fields["set"] == 1.0
    assert score.exact_by_split == {"dev": 1.0, "holdout": 0.5}
    assert score.latency_p95_ms >= score.latency_p50_ms >= 0
    assert [f["text"] for f in score.failures] == ["under 30"]
    json.dumps(report.to_dict())


def test_vocabulary_files_single_or_named(tmp_path):
    single = tmp_path / "single.json"
    single.write_text(json.dumps({"color": ["black", "white"]}))
    assert load_vocabularies(single)["default"].values("color") == ["black", "white"]
    named = tmp_path / "named.json"
    named.write_text(json.dumps({"_comment": "x", "a": {"color": ["red"]}, "b": {"size": ["m"]},
                                 "c": {"_extends": "a", "_brands": ["Acme"], "_sizes": ["M"], "_prices": False}}))
    loaded = load_vocabularies(named)
    assert set(loaded) == {"a", "b", "c"}
    assert loaded["c"].values("color") == ["red"] and loaded["c"].has_brand("acme") and loaded["c"].has_size("m")
    assert not loaded["c"].has_prices and loaded["a"].has_prices
    named.write_text(json.dumps({"a": {"_extends": "b"}, "b": {"_extends": "a"}}))
    with pytest.raises(UsageError, match="circular"):
        load_vocabularies(named)
    with pytest.raises(UsageError):
        load_vocabularies(tmp_path / "missing.json")


def test_bad_phrase_lines_are_usage_errors(tmp_path):
    data = tmp_path / "bad.jsonl"
    data.write_text('{"text": "x"}\n')
    with pytest.raises(UsageError, match=":1:"):
        load_cases(data)
