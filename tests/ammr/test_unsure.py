"""An anchor read unsurely is shown and asked about, never silently kept or silently dropped: identity
attributes the request left alone and that fell under the keep threshold come back as ``unsure``, with
the likeliest values to name."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from fashrec.ammr.constraints import KEEP_CONFIDENCE
from fashrec.ammr.loop import RefineOptions
from fashrec.ammr.types import Anchor, AttributeGuess, Unsure
from fashrec.catalog.roles import KEEP_ORDER, role_of


def test_unsure_identity_attributes_are_asked_about_and_stated_ones_are_not(refiner):
    vector = refiner.index.image_vectors[0].copy()
    anchor = Anchor(vector, {
        "category": AttributeGuess("shirt", 0.9, "test"),
        "color": AttributeGuess("navy blue", 0.35, "test", (("blue", 0.3), ("black", 0.2))),
        "gender": AttributeGuess("men", 0.45, "test", (("unisex", 0.4),)),
        "material": AttributeGuess("linen", 0.2, "test"),
        "usage": AttributeGuess("casual", 0.3, "test"),            # not an identity attribute: not asked
    })
    result = refiner.refine(anchor, "in red", RefineOptions(k=4))
    assert result.plan.set == {"color": "red"}                      # the colour is the shopper's, not asked
    asked = [u.attribute for u in result.unsure]
    assert asked == ["gender", "material"]                          # in the order they would be kept
    gender = result.to_dict()["unsure"][0]
    assert gender["options"] == [{"value": "men", "confidence": 0.45}, {"value": "unisex", "confidence": 0.4}]
    assert gender["threshold"] == KEEP_CONFIDENCE
    assert "men (45%) or unisex (40%)" in gender["question"] and "not kept" in gender["question"]
    kept = refiner.refine(anchor, "in linen", RefineOptions(k=4))
    assert [u.attribute for u in kept.unsure] == ["gender", "color"]
    # the question names the likeliest value first, even when the reading chose a runner-up
    swapped = Unsure("gender", AttributeGuess("men", 0.41, "test", (("women", 0.59),)), KEEP_CONFIDENCE)
    assert "unsure: women (59%) or men (41%)" in swapped.question
    assert swapped.options[0] == ("men", 0.41)                       # the reading itself stays first
    assert not any(u.kept for u in kept.unsure)


def test_asking_above_the_keep_threshold_confirms_kept_guesses(refiner):
    anchor = Anchor(refiner.index.image_vectors[0].copy(), {
        "category": AttributeGuess("shirt", 0.95, "test"),
        "color": AttributeGuess("white", 0.6, "test", (("beige", 0.25),)),
        "gender": AttributeGuess("men", 0.3, "test"),
    })
    result = refiner.refine(anchor, "in linen", RefineOptions(k=4, ask_below=0.8))
    assert [(u.attribute, u.kept) for u in result.unsure] == [("gender", False), ("color", True)]
    color = result.to_dict()["unsure"][1]
    assert color["threshold"] == 0.8 and "kept as white" in color["question"] and "beige (25%)" in color["question"]
    # asking below the keep threshold would drop a keep unsaid: the keep threshold is the floor
    low = refiner.refine(anchor, "in linen", RefineOptions(k=4, ask_below=0.1))
    assert [(u.attribute, u.threshold) for u in low.unsure] == [("gender", KEEP_CONFIDENCE)]


def test_readings_carry_their_runners_up_on_the_confidence_scale(refiner):
    index, prompts = refiner.index, refiner.prompts
    from fashrec.ammr.anchor import ALTERNATIVE_SHARE, ALTERNATIVES, infer_attributes

    seen = 0
    for pos in range(len(index)):
        blend = (index.image_vectors[pos] + index.image_vectors[(pos + 7) % len(index)]) / 2
        for attr, guess in infer_attributes(index, blend / np.linalg.norm(blend), prompts).items():
            values = [v for v, _ in guess.alternatives]
            shares = [c for _, c in guess.alternatives]
            assert guess.value not in values and len(values) <= ALTERNATIVES
            assert shares == sorted(shares, reverse=True) and all(ALTERNATIVE_SHARE <= c <= 1 for c in shares)
            assert guess.confidence + sum(shares) <= 1 + 1e-6    # shares of one vote
            seen += bool(values)
    assert seen                                                     # blends of two products do split votes


def _pairs_of_different_categories(rows):
    """Products to blend into a photo halfway between them (an anchor the catalog lacks)."""
    for a in range(len(rows)):
        for b in range(a + 1, len(rows)):
            if rows[a]["attributes"]["category"] != rows[b]["attributes"]["category"]:
                yield a, b


def test_refine_shows_and_asks_about_an_unsure_reading(fashrec, small_catalog, tiny_model, tmp_path):
    assert fashrec("index", small_catalog, "--model", tiny_model, "--json").returncode == 0
    index = small_catalog.parent / "catalog.fashrec-index"
    rows = [json.loads(line) for line in small_catalog.read_text().splitlines()]
    for a, b in _pairs_of_different_categories(rows):
        first, second = (Image.open(small_catalog.parent / rows[i]["image"]).convert("RGB") for i in (a, b))
        photo = tmp_path / f"blend-{a}-{b}.png"
        Image.blend(first, second.resize(first.size), 0.5).save(photo)
        data = fashrec("refine", photo, "something casual", "--index", index, "--planner", "rules", "-k", "3",
                       "--json").json()
        if data["unsure"]:
            break
    else:
        raise AssertionError("no blend of two products was read unsurely")
    touched = set(data["plan"]["set"]) | set(data["plan"]["exclude"]) | set(data["plan"]["drop"])
    expected = [attr for attr, g in data["anchor"]["attributes"].items()
                if g["confidence"] < KEEP_CONFIDENCE and role_of(attr) in KEEP_ORDER and attr not in touched]
    assert sorted(u["attribute"] for u in data["unsure"]) == sorted(expected)
    for unsure in data["unsure"]:
        guess = data["anchor"]["attributes"][unsure["attribute"]]
        assert unsure["options"][0] == {"value": guess["value"], "confidence": guess["confidence"]}
        assert unsure["options"][1:] == guess["alternatives"]
    human = fashrec("refine", photo, "something casual", "--index", index, "--planner", "rules", "-k", "3")
    assert human.returncode == 0, human.stderr
    for unsure in data["unsure"]:
        likeliest = max(unsure["options"], key=lambda o: o["confidence"])["value"]
        assert f"? the photo's {unsure['attribute']} is unsure: {likeliest}" in human.stdout
    # --ask-below above every confidence: every identity attribute the request left alone is asked about,
    # the kept ones as confirmations; the results are the same
    eager = fashrec("refine", photo, "something casual", "--index", index, "--planner", "rules", "-k", "3",
                    "--ask-below", "1.01", "--json").json()
    assert eager["results"] == data["results"]
    identity = {attr: g for attr, g in eager["anchor"]["attributes"].items()
                if role_of(attr) in KEEP_ORDER and attr not in touched}
    assert {u["attribute"]: u["kept"] for u in eager["unsure"]} == {
        attr: g["confidence"] >= KEEP_CONFIDENCE for attr, g in identity.items()}
