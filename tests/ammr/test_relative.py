"""Relative wishes ("shorter sleeves", "darker", "cheaper") resolved against the anchor."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fashrec.ammr.anchor import Anchor, AttributeGuess
from fashrec.ammr.relative import resolve_relative, wish_attribute
from fashrec.catalog import Product, Vocabulary
from fashrec.planner import Plan


def product(pid: str, **attrs) -> Product:
    return Product(id=pid, image=f"{pid}.jpg", image_path=Path(f"/x/{pid}.jpg"),
                   attributes={k: [v] for k, v in attrs.items()})


VOCAB = Vocabulary.from_products([
    product("a", category="shirt", sleeve="long", color="white", pattern="solid", season="summer"),
    product("b", category="shirt", sleeve="short", color="navy blue", pattern="striped", season="winter"),
    product("c", category="dress", sleeve="sleeveless", color="black", pattern="floral", season="spring"),
    product("d", category="shirt", sleeve="three quarter", color="beige", pattern="solid", season="fall"),
    product("e", category="shirt", sleeve="batwing", color="yellow", pattern="solid", season="summer"),
])


def anchor(price: float | None = None, confidence: float = 0.9, **attrs) -> Anchor:
    return Anchor(np.zeros(4, np.float32), {a: AttributeGuess(v, confidence, "test") for a, v in attrs.items()},
                  price=price)


def test_sleeves_move_along_the_scale_and_unknown_values_stay_out():
    r = resolve_relative(Plan(relative=["shorter sleeves"]), anchor(sleeve="long"), VOCAB)
    assert r.within == {"sleeve": ["three quarter", "short", "sleeveless"]}   # nearest first; not "batwing"
    assert "the anchor's is long" in r.notes[0]
    r = resolve_relative(Plan(relative=["longer sleeves"]), anchor(sleeve="short"), VOCAB)
    assert r.within == {"sleeve": ["three quarter", "long"]}
    # Plain "shorter" means the length first; this catalog has none, so the sleeve.
    assert resolve_relative(Plan(relative=["shorter"]), anchor(sleeve="short"), VOCAB).within == \
        {"sleeve": ["sleeveless"]}


def test_darker_and_lighter_use_the_colour_models_lightness():
    darker = resolve_relative(Plan(relative=["darker"]), anchor(color="white"), VOCAB).within["color"]
    assert "white" not in darker and "black" in darker and "navy blue" in darker
    assert darker.index("navy blue") < darker.index("black")    # nearest shade first
    lighter = resolve_relative(Plan(relative=["lighter"]), anchor(color="navy blue"), VOCAB).within["color"]
    assert "white" in lighter and "black" not in lighter and "navy blue" not in lighter


def test_warmer_simpler_bolder():
    assert resolve_relative(Plan(relative=["warmer"]), anchor(season="summer"), VOCAB).within == \
        {"season": ["fall", "spring", "winter"]}
    assert resolve_relative(Plan(relative=["simpler"]), anchor(pattern="floral"), VOCAB).within == \
        {"pattern": ["solid"]}
    bolder = resolve_relative(Plan(relative=["bolder"]), anchor(pattern="solid"), VOCAB).within
    assert {a: sorted(v) for a, v in bolder.items()} == {"pattern": ["floral", "striped"]}


def test_cheaper_and_pricier_need_an_anchor_price():
    r = resolve_relative(Plan(relative=["cheaper"]), anchor(price=50.0), VOCAB)
    assert r.price_max == 49.99 and r.price_min is None
    assert resolve_relative(Plan(relative=["pricier"]), anchor(price=50.0), VOCAB).price_min == 50.01
    soft = resolve_relative(Plan(relative=["cheaper"]), anchor(), VOCAB)
    assert soft.is_empty() and "no price" in soft.notes[0]
    own = resolve_relative(Plan(relative=["cheaper"], price_max=30.0), anchor(price=50.0), VOCAB)
    assert own.price_max is None        # the request's own price wins
    photo = anchor()
    photo.estimated_price = 80.0        # a photo from outside the catalog: its look-alikes' median price
    r = resolve_relative(Plan(relative=["cheaper"]), photo, VOCAB)
    assert r.price_max == 79.99 and "estimated" in r.notes[0]


def test_a_wish_stays_soft_and_says_why():
    cases = [
        (Plan(relative=["shorter sleeves"]), anchor(sleeve="long", confidence=0.3), "unknown"),
        (Plan(relative=["darker"], set={"color": "navy blue"}), anchor(color="white"), "sets the color"),
        (Plan(relative=["darker"], drop=["color"]), anchor(color="white"), "releases the color"),
        (Plan(relative=["shorter sleeves"]), anchor(sleeve="sleeveless"), "nothing in the catalog"),
        (Plan(relative=["looser"]), anchor(sleeve="long"), "no fit"),
        (Plan(relative=["shorter sleeves"]), anchor(sleeve="batwing"), "not on the sleeve scale"),
    ]
    for plan, a, why in cases:
        r = resolve_relative(plan, a, VOCAB)
        assert r.is_empty(), plan
        assert "only a hint for ranking" in r.notes[0] and why in r.notes[0], r.notes


def test_more_formal_is_left_to_the_planner_and_wish_attributes():
    assert resolve_relative(Plan(relative=["more formal"]), anchor(), VOCAB).notes == []
    assert wish_attribute("shorter sleeves", VOCAB) == "sleeve"
    assert wish_attribute("darker", VOCAB) == "color"
    assert wish_attribute("cheaper", VOCAB) is None


LENGTHS = Vocabulary.from_products([
    product("f", category="dresses", sleeve="long", length="maxi"),
    product("g", category="dresses", sleeve="short", length="midi"),
    product("h", category="dresses", sleeve="sleeveless", length="mini"),
    product("i", category="shirts", sleeve="short"),
])


def test_shorter_on_a_dress_moves_the_length_never_the_sleeves():
    """Issue 11: "shorter" on a dress changed its sleeves. What it moves is decided by the category."""
    dress = anchor(category="dresses", sleeve="long", length="maxi")
    assert resolve_relative(Plan(relative=["shorter"]), dress, LENGTHS).within == {"length": ["midi", "mini"]}
    # The dress's length unknown (read unsurely): a hint, not a sleeve filter.
    unsure = Anchor(np.zeros(4, np.float32), {"category": AttributeGuess("dresses", 0.9, "test"),
                                              "sleeve": AttributeGuess("long", 0.9, "test"),
                                              "length": AttributeGuess("maxi", 0.2, "test")})
    r = resolve_relative(Plan(relative=["shorter"]), unsure, LENGTHS)
    assert r.is_empty() and "only a hint" in r.notes[0] and "sleeve" not in r.within
    # A catalog with no length at all (the drawn example shop): still never the sleeves of a dress.
    r = resolve_relative(Plan(relative=["shorter"]), anchor(category="dress", sleeve="long"), VOCAB)
    assert r.is_empty() and "means the length, not the sleeves" in r.notes[0]
    # "a shorter dress" from a shirt photo: the category the request sets decides.
    r = resolve_relative(Plan(relative=["longer"], set={"category": "dresses"}),
                         anchor(category="shirts", sleeve="short", length="mini"), LENGTHS)
    assert r.within == {"length": ["midi", "maxi"]}
    # A top keeps the old reading: its length when known, else its sleeves.
    assert resolve_relative(Plan(relative=["shorter"]), anchor(category="shirt", sleeve="long"), VOCAB).within == \
        {"sleeve": ["three quarter", "short", "sleeveless"]}
    assert wish_attribute("shorter", LENGTHS, "dresses") == "length"
    assert wish_attribute("shorter", VOCAB, "dress") is None and wish_attribute("shorter", VOCAB, "shirt") == "sleeve"
