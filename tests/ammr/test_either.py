"""An identity read between two values ("sports shoes 66 %, casual shoes 34 %") is kept as either: the
likeliest is searched first, the other reading fills the answer only when the first runs short, and the
answer says so. On unseen photos such a pair is right far more often than the likeliest value alone
(see fashrec.ammr.constraints)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from fashrec.ammr.constraints import identity_readings, read_constraints
from fashrec.ammr.loop import RefineOptions
from fashrec.ammr.replan import Attempt, Outcome, Request, other_reading
from fashrec.ammr.types import SHOPPER, Anchor, AttributeGuess, Constraints, CriticConfig
from fashrec.evaluation.honesty import answer_honesty, promises
from fashrec.planner import Plan


def _guess(value, confidence, *runners_up, source="neighbours+zero-shot"):
    return AttributeGuess(value, confidence, source, tuple(runners_up))


def test_which_readings_are_kept_as_a_pair():
    assert identity_readings("category", _guess("sports shoes", 0.66, ("casual shoes", 0.34))) == \
        ("sports shoes", "casual shoes")
    assert identity_readings("gender", _guess("men", 0.53, ("women", 0.47))) == ("men", "women")
    # The strongest runner-up, not the first listed (the blend may list them out of vote order).
    assert identity_readings("category", _guess("shirt", 0.5, ("kurta", 0.2), ("tshirt", 0.3))) == ("shirt", "tshirt")
    assert identity_readings("category", _guess("shirt", 0.85, ("kurta", 0.15))) == ("shirt",)   # sure
    assert identity_readings("category", _guess("shirt", 0.7, ("kurta", 0.15))) == ("shirt",)    # no close second
    assert identity_readings("category", _guess("shirt", 0.45, ("kurta", 0.4))) == ("shirt",)    # too unsure
    assert identity_readings("color", _guess("white", 0.6, ("cream", 0.4))) == ("white",)        # look, not identity
    assert identity_readings("gender", _guess("women", 1.0, source=SHOPPER)) == ("women",)


def test_a_pair_below_the_identity_threshold_is_kept_and_a_single_unsure_reading_is_not(refiner):
    vector = np.zeros(refiner.index.image_vectors.shape[1], dtype=np.float32)
    pair = Anchor(vector, {"category": _guess("shirt", 0.55, ("t-shirt", 0.4)), "gender": _guess("men", 0.95)})
    c = read_constraints(Plan(), pair, refiner.index.vocabulary)
    assert c.hard["category"] == "shirt" and c.either == {"category": ("shirt", "t-shirt")}
    assert c.wanted()["category"] == {"shirt"}            # searched at its likeliest first
    assert c.widened("category").wanted()["category"] == {"shirt", "t-shirt"}
    alone = Anchor(vector, {"category": _guess("shirt", 0.55, ("t-shirt", 0.1))})
    c = read_constraints(Plan(), alone, refiner.index.vocabulary)
    assert "category" not in c.hard and c.soft["category"] == "shirt" and c.either == {}
    # A request that names the category decides it: no reading is kept.
    c = read_constraints(Plan(set={"category": "trousers"}), pair, refiner.index.vocabulary)
    assert "category" not in c.hard and c.either == {}


class FakeCounts:
    def __init__(self, first: int, both: int):
        self.first, self.both = first, both

    def count(self, constraints: Constraints) -> int:
        return self.both if constraints.wanted().get("gender") == {"men", "women"} else self.first


def _request(counts):
    anchor = Anchor(np.zeros(2), {"gender": _guess("men", 0.55, ("women", 0.45))})
    constraints = Constraints(Plan(), hard={"gender": "men"}, either={"gender": ("men", "women")})
    return Request(anchor, "", None, 0.5, 10, counts), Attempt(constraints, None, 50)


def test_the_other_reading_is_tried_only_when_it_adds_products():
    request, attempt = _request(FakeCounts(3, 12))
    following = other_reading(None, request, attempt, Outcome(3, 3, 3))
    assert following.action == "other reading" and "gender men or women" in following.detail
    assert following.constraints.narrowable() == [] and following.constraints.either == {"gender": ("men", "women")}
    assert other_reading(None, request, following, Outcome(12, 12, 12)) is None      # nothing left to widen
    request, attempt = _request(FakeCounts(3, 3))
    assert other_reading(None, request, attempt, Outcome(3, 3, 3)) is None           # it would add nothing


def _split_anchor(refiner, product_id="sku-1019"):
    """A catalog product's photo, its gender read as men at 60 %, women at 40 %."""
    anchor = refiner.anchor_from_image(refiner.index.get(product_id).image_path)
    attributes = {**anchor.attributes, "gender": _guess("men", 0.6, ("women", 0.4))}
    return replace(anchor, attributes=attributes, catalog_id=product_id)


# The tiny test model draws every photo alike: the near-duplicate rule would keep one product of each tier.
ALL = CriticConfig(dedupe_similarity=1.0)


def test_the_other_reading_fills_a_short_answer_after_the_first_and_says_so(refiner):
    result = refiner.refine(_split_anchor(refiner), "", RefineOptions(k=5, critic=ALL))
    data = result.to_dict()
    results = data["results"]
    # Shirts for men in stock (the anchor aside) first, then the one women's shirt in stock.
    assert {r["id"] for r in results[:2]} == {"sku-1001", "sku-1012"} and results[2]["id"] == "sku-1014"
    assert [r["tier"] for r in results] == sorted(r["tier"] for r in results) and results[2]["tier"] > 1
    assert "women (the photo's other reading)" in results[2]["why"]
    assert all("the photo's other reading" not in r["why"] for r in results[:2])
    assert any(s["action"] == "other reading" for s in data["steps"])
    uses = {a["attribute"]: a for a in data["assumptions"]}
    assert uses["gender"]["use"] == "either" and "men at 60% or women at 40%" in uses["gender"]["reason"]
    assert data["shortfall"]["message"] == "only 3 shirts for men or women"
    assert "gender=men or women" in data["shortfall"]["required"]
    honesty = answer_honesty(result)
    assert honesty.violations == [] and honesty.declared
    assert "gender=men or women" in [label for label, _ in promises(result)]
    for alt in data["alternatives"]:       # near misses lack only what their option drops
        assert alt["lacks"] and alt["id"] not in {r["id"] for r in results}


def test_when_the_first_reading_suffices_every_result_has_it(refiner):
    data = refiner.refine(_split_anchor(refiner), "", RefineOptions(k=2, critic=ALL)).to_dict()
    assert {r["id"] for r in data["results"]} == {"sku-1001", "sku-1012"}
    assert not any(s["action"] == "other reading" for s in data["steps"]) and data["shortfall"] is None
    gender = next(a for a in data["assumptions"] if a["attribute"] == "gender")
    assert gender["use"] == "required" and gender["reason"].endswith("every result is men")


def test_asking_to_confirm_a_pair_names_both_readings(refiner):
    result = refiner.refine(_split_anchor(refiner), "", RefineOptions(k=2, critic=ALL, ask_below=0.8))
    gender = next(u for u in result.unsure if u.attribute == "gender")
    assert gender.kept and gender.either == ("men", "women")
    assert "kept as men or women" in gender.question and "men (60%) or women (40%)" in gender.question
