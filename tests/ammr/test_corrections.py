"""Visible, correctable assumptions: what was read from the anchor can be overridden (and a typo is an
error naming the closest spelling); a photo's price estimate comes from look-alikes of its own kind."""

from __future__ import annotations

import numpy as np
import pytest

from fashrec.ammr.anchor import estimate_price
from fashrec.ammr.corrections import YOU_SAID, correct_anchor, parse_overrides
from fashrec.ammr.loop import RefineOptions
from fashrec.ammr.types import Anchor, AttributeGuess
from fashrec.errors import UsageError


def _photo(refiner, product_id: str, **guesses: tuple[str, float]) -> Anchor:
    """An anchor with the look of a catalog product but read as ``guesses``, with no catalog price."""
    vector = refiner.index.image_vectors[refiner.index.position(product_id)].copy()
    return Anchor(vector, {a: AttributeGuess(v, c, "neighbours") for a, (v, c) in guesses.items()}, "photo.jpg")


def test_overrides_are_parsed_and_checked_against_the_catalog(refiner):
    assert parse_overrides(["category = Dress", "color=navy blue", "color=red"]) == {"category": "dress",
                                                                                    "color": "red"}
    with pytest.raises(UsageError, match="attribute=value"):
        parse_overrides(["dress"])
    anchor = _photo(refiner, "sku-1002", category=("skirt", 0.9))
    with pytest.raises(UsageError, match=r"no category 'dres' \(did you mean category=dress\?\)"):
        correct_anchor(refiner.index, anchor, {"category": "dres"})
    with pytest.raises(UsageError, match=r"no attribute 'colour' \(did you mean color=red\?\)"):
        correct_anchor(refiner.index, anchor, {"colour": "red"})


def test_a_correction_replaces_the_guess_keeps_it_visible_and_the_answer_follows(refiner):
    anchor = _photo(refiner, "sku-1002", category=("skirt", 0.93), gender=("women", 0.55), color=("red", 0.8))
    corrected = correct_anchor(refiner.index, anchor, {"category": "dress"})
    guess = corrected.attributes["category"]
    assert (guess.value, guess.confidence, guess.source) == ("dress", 1.0, YOU_SAID)
    assert guess.to_dict()["guessed"] == {"value": "skirt", "confidence": 0.93, "source": "neighbours",
                                          "alternatives": []}
    assert anchor.attributes["category"].value == "skirt"          # the original is not changed
    again = correct_anchor(refiner.index, corrected, {"category": "shirt"})
    assert again.attributes["category"].guessed.value == "skirt"   # still what the photo said
    data = refiner.refine(corrected, "", RefineOptions(k=5)).to_dict()
    uses = {a["attribute"]: (a["use"], a["source"]) for a in data["assumptions"]}
    assert uses["category"] == ("required", YOU_SAID) and uses["gender"][0] == "preferred"   # 55 %: unsure
    assert data["results"] and all(r["attributes"]["category"] == "dress" for r in data["results"])


def test_the_price_estimate_comes_from_look_alikes_of_the_same_kind(refiner):
    index = refiner.index
    anchor = _photo(refiner, "sku-1019", category=("shirt", 0.9), gender=("men", 0.9))
    estimate, basis = estimate_price(index, anchor.vector, anchor.attributes)
    # Three priced shirts for men are too few to judge by: the gender goes first (a shirt's price
    # depends more on its being a shirt), so the five priced shirts of any gender decide.
    shirts = [p.price for p in index.products if p.first("category") == "shirt" and p.price is not None]
    assert len(shirts) == 5 and estimate == round(float(np.median(shirts)), 2)
    assert basis == f"median of the 5 nearest shirts with a price, {min(shirts):g}-{max(shirts):g} EUR"
    # With enough of its own kind (here: any dress or skirt for women), only those count.
    dress = _photo(refiner, "sku-1002", gender=("women", 0.9))
    womens = sorted((float(p @ dress.vector), p_.price) for p, p_ in zip(index.image_vectors, index.products)
                    if p_.first("gender") == "women" and p_.price is not None)[-15:]
    estimate, basis = estimate_price(index, dress.vector, dress.attributes)
    assert estimate == round(float(np.median([price for _, price in womens])), 2)
    assert basis.startswith(f"median of the {len(womens)} nearest products of any kind for women")
    # An unsure reading (below 0.5) is not used to choose the look-alikes.
    vague = _photo(refiner, "sku-1019", category=("shirt", 0.3))
    assert "of any kind with a price" in estimate_price(index, vague.vector, vague.attributes)[1]


def test_cheaper_than_a_photo_says_what_its_estimate_rests_on(refiner):
    anchor = _photo(refiner, "sku-1019", category=("shirt", 0.9), gender=("men", 0.9))
    anchor.estimated_price, anchor.price_basis = estimate_price(refiner.index, anchor.vector, anchor.attributes)
    data = refiner.refine(anchor, "cheaper", RefineOptions(k=5)).to_dict()
    assert data["anchor"]["estimated_price_basis"] == anchor.price_basis
    assert data["relative"]["price"]["max"] == round(anchor.estimated_price - 0.01, 2)
    assert anchor.price_basis in data["relative"]["notes"][0]
    assert all(r["price"] < anchor.estimated_price for r in data["results"])
