"""The rules planner: lexicon + vocabulary grounding + negation/release/scope, on many phrases."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from planner_support import DATA, EXAMPLE, PRODUCTS, VOCABULARIES, context

from fashrec.evaluation.planner import compare, load_cases, vocabulary_from_lists
from fashrec.planner import Plan, PlanContext, RulesPlanner

rules = RulesPlanner()


def plan(text: str, vocabulary=EXAMPLE, previous: Plan | None = None, **anchor: str) -> Plan:
    return rules.plan(text, PlanContext(vocabulary=vocabulary, anchor=anchor, previous=previous))


def test_rules_on_the_labelled_set():
    """Most labelled phrases come out exactly as a person labelled them (the rest are reported)."""
    cases = load_cases(DATA / "planner_phrases.jsonl")
    exact = 0
    for case in cases:
        result = rules.plan(case.text, PlanContext(VOCABULARIES[case.vocabulary], case.anchor, case.previous))
        fields = compare(case.expected, result)
        exact += all(fields[f] for f in ("set", "exclude", "price", "drop", "stock"))
    assert exact / len(cases) >= 0.95


@pytest.mark.parametrize("text,vocabulary,expected", [
    ("in navy", EXAMPLE, "navy"),
    ("in navy", PRODUCTS, "navy blue"),         # the catalog's own spelling
    ("dark blue", PRODUCTS, "navy blue"),
    ("in burgundy", EXAMPLE, "maroon"),          # the family's closest value when the exact one is missing
    ("in burgundy", PRODUCTS, "burgundy"),       # ... and the exact one when it exists
    ("charcoal grey", PRODUCTS, "charcoal"),     # most specific match wins over "grey"
    ("charcoal grey", EXAMPLE, "grey"),
    ("gray", EXAMPLE, "grey"),
])
def test_colours_ground_in_each_catalog(text, vocabulary, expected):
    assert plan(text, vocabulary).set == {"color": expected}


@pytest.mark.parametrize("text,vocabulary,category,extra", [
    ("as a skirt", EXAMPLE, "skirt", {}),
    ("as a skirt", PRODUCTS, "skirts", {}),      # singular request, plural catalog value
    ("make it a dress", PRODUCTS, "dresses", {}),
    ("jeans instead", EXAMPLE, "trousers", {"material": "denim"}),  # family switch without a jeans value
    ("jeans instead", PRODUCTS, "jeans", {}),
    ("sneakers", PRODUCTS, "casual shoes", {}),
    ("running shoes", PRODUCTS, "sports shoes", {}),
    ("hoodie", EXAMPLE, "sweater", {}),
    ("tee", PRODUCTS, "tshirts", {}),
    ("t-shirt", EXAMPLE, "t-shirt", {}),
])
def test_category_switches(text, vocabulary, category, extra):
    assert plan(text, vocabulary).set == {"category": category, **extra}


def test_a_family_word_keeps_the_anchors_specific_category():
    assert plan("same shoes in black", PRODUCTS, category="formal shoes").set["category"] == "formal shoes"
    assert plan("same shoes in black", PRODUCTS, category="tshirts").set["category"] == "casual shoes"


@pytest.mark.parametrize("text,excluded", [
    ("not black", ["black"]),
    ("anything but red or pink", ["red", "pink"]),
    ("anything but red, pink or white", ["red", "pink", "white"]),
    ("no black no white", ["black", "white"]),
    ("i hate pink", ["pink"]),
    ("not in any black or grey", ["black", "grey"]),
])
def test_negated_colour_lists(text, excluded):
    result = plan(text)
    assert result.exclude == {"color": excluded}
    assert result.set == {}


def test_a_new_clause_ends_the_negation():
    assert plan("not black, navy please").exclude == {"color": ["black"]}
    assert plan("not black, navy please").set == {"color": "navy"}
    assert plan("not leather, maybe cotton", category="jacket").set == {"material": "cotton"}
    assert plan("no stripes but in navy").set == {"color": "navy"}


def test_a_product_noun_after_a_negated_pattern_is_not_excluded():
    result = plan("no checked shirts please", PRODUCTS)
    assert result.exclude == {"pattern": ["checked"]}


@pytest.mark.parametrize("text,vocabulary,expected_set,expected_exclude", [
    ("no prints", EXAMPLE, {"pattern": "solid"}, {}),             # no "printed" value: plain means solid
    ("no prints", PRODUCTS, {}, {"pattern": ["printed"]}),
    ("without stripes", EXAMPLE, {}, {"pattern": ["striped"]}),
    ("plaid", EXAMPLE, {"pattern": "checked"}, {}),
    ("with polka dots", PRODUCTS, {"pattern": "dotted"}, {}),
    ("something with flowers on it", EXAMPLE, {"pattern": "floral"}, {}),
])
def test_patterns(text, vocabulary, expected_set, expected_exclude):
    result = plan(text, vocabulary)
    assert (result.set, result.exclude) == (expected_set, expected_exclude)


def test_releases():
    assert plan("any colour is fine, just cheaper").drop == ["color"]
    assert plan("any colour is fine, just cheaper").relative == ["cheaper"]
    assert plan("colour doesn't matter").drop == ["color"]
    assert plan("forget the budget").drop == ["price"]
    assert plan("money is no object").drop == ["price"]
    assert plan("forget the linen", material="linen").drop == ["material"]
    assert sorted(plan("forget the colour and the budget").drop) == ["color", "price"]
    # 'any' before a value is not a release: it asks for the value.
    assert plan("any in maroon?").set == {"color": "maroon"}
    assert plan("any in maroon?").drop == []


def test_different_excludes_the_reference_value():
    assert plan("a different colour", color="black").exclude == {"color": ["black"]}
    previous = Plan(set={"color": "red"})
    assert plan("another colour", previous=previous, color="black").exclude == {"color": ["red"]}
    unknown = plan("a different colour")
    assert unknown.exclude == {} and any("unknown" in n for n in unknown.notes)


def test_same_keeps_and_instead_of_replaces():
    assert plan("same colour but in wool", color="white").keep == ["color"]
    result = plan("trousers in navy instead of beige", color="beige")
    assert result.set == {"category": "trousers", "color": "navy"} and result.exclude == {}
    assert plan("swap the leather for cotton", material="leather").set == {"material": "cotton"}


def test_occasions_and_relative_wishes():
    assert plan("something more formal").set == {"usage": "formal"}
    assert plan("something more formal").relative == ["more formal"]
    assert plan("something dressier for a party").set == {"usage": "party"}  # explicit beats implied
    assert plan("darker").relative == ["darker"] and plan("darker").set == {}
    assert plan("slim fit").relative == ["tighter"]  # no fit attribute: only a wish


def test_gender():
    assert plan("the women's version").set == {"gender": "women"}
    assert plan("for him").set == {"gender": "men"}
    assert plan("ladies").set == {"gender": "women"}
    assert plan("for my daughter", PRODUCTS).set == {"gender": "girls"}
    assert plan("for my daughter", EXAMPLE).set == {"gender": "women"}


def test_out_of_stock():
    assert plan("in stock or not").include_out_of_stock is True
    assert plan("sold out is fine, in red").include_out_of_stock is True
    assert plan("in red").include_out_of_stock is False


@pytest.mark.parametrize("typo,value", [("lenin", "linen"), ("burgandy", "maroon"), ("skrit", "skirt"),
                                        ("navvy", "navy"), ("stripped", "striped")])
def test_typos_are_read_and_noted(typo, value):
    result = plan(f"in {typo}")
    assert value in result.set.values()
    assert any(typo in note for note in result.notes)


def test_english_words_are_not_corrected_into_fashion_words():
    assert plan("in a smaller size").set == {}
    assert plan("something bold").set == {}
    assert plan("cool").set == {}


def test_words_the_catalog_cannot_filter_on_go_to_the_query():
    result = plan("in linen with a hood", PRODUCTS)
    assert result.set == {}
    assert "linen" in result.query and "hood" in result.query
    assert any("linen" in n for n in result.notes)


def test_works_with_unfamiliar_attribute_names():
    """A catalog calling its attributes 'shade', 'fabric' and 'kind' is understood the same way."""
    vocabulary = vocabulary_from_lists({"shade": ["navy blue", "black", "white", "red"],
                                        "fabric": ["linen", "cotton"], "kind": ["shirts", "skirts"]})
    result = plan("a skirt in navy, not cotton", vocabulary)
    assert result.set == {"kind": "skirts", "shade": "navy blue"}
    assert result.exclude == {"fabric": ["cotton"]}
    assert plan("any colour", vocabulary).drop == ["shade"]


def test_prices_and_currency_notes():
    ctx = PlanContext(vocabulary=EXAMPLE, currency="EUR")
    result = rules.plan("same in navy, under $50", ctx)
    assert result.price_max == 50 and result.set == {"color": "navy"}
    assert any("USD" in n and "EUR" in n for n in result.notes)
    assert rules.plan("under 40 euros", ctx).notes == []


def _values_in(vocabulary, result: Plan) -> bool:
    ok = all(vocabulary.has(a, v) for a, v in result.set.items())
    return ok and all(vocabulary.has(a, v) for a, vs in result.exclude.items() for v in vs)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=120))
def test_any_text_yields_a_valid_plan(text):
    for vocabulary in (EXAMPLE, PRODUCTS):
        result = plan(text, vocabulary)
        assert _values_in(vocabulary, result)
        assert result.price_max is None or result.price_max > 0
        assert set(result.drop) <= set(vocabulary.attributes()) | {"price"}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(
    "not no any in navy black red linen skirt dress under 40 euros , . or and but forget the colour "
    "different same instead of cheaper for women stripes prints".split()), max_size=14))
def test_fashion_word_salad_yields_a_valid_plan(words):
    text = " ".join(words)
    for vocabulary in (EXAMPLE, PRODUCTS):
        result = plan(text, vocabulary, color="black")
        assert _values_in(vocabulary, result)
        assert not (set(result.set.items()) & {(a, v) for a, vs in result.exclude.items() for v in vs})


def test_context_normalises_the_anchor():
    ctx = context(EXAMPLE, Color=" Navy ")
    assert ctx.anchor == {"color": "navy"}
