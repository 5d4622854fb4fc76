"""End to end through the real `fashrec` command: the shopper corrects what was read from the photo
(`refine --anchor attr=value`) or starts from a catalog product (`refine --id`, `similar --id`)."""

from __future__ import annotations

import json


def _refine(fashrec, indexed, *args):
    run = fashrec("refine", *args, "--index", indexed, "--planner", "rules", "-k", "4", "--json")
    assert run.returncode == 0, run.stderr
    return run.json()


def test_anchor_correction_replaces_the_guess_and_keeps_it_visible(fashrec, indexed, products, small_catalog):
    photo = small_catalog.parent / products[0]["image"]
    guessed = _refine(fashrec, indexed, photo, "something casual")["anchor"]["attributes"]["category"]["value"]
    other = next(p["attributes"]["category"] for p in products if p["attributes"]["category"] != guessed)
    data = _refine(fashrec, indexed, photo, "something casual", "--anchor", f"category={other}")
    category = data["anchor"]["attributes"]["category"]
    assert (category["value"], category["source"]) == (other, "shopper")
    assert category["guessed"]["value"] == guessed             # what the photo said stays visible
    assert all(r["attributes"]["category"] == other for r in data["results"])   # exact matches only


def test_a_misspelt_correction_names_the_nearest_value(fashrec, indexed, products, small_catalog):
    photo = small_catalog.parent / products[0]["image"]
    value = products[0]["attributes"]["category"]
    run = fashrec("refine", photo, "in red", "--index", indexed, "--anchor", f"category={value}x", "--json")
    assert run.returncode == 2
    error = json.loads(run.stderr)
    assert f"category={value}" in error["message"] and "did you mean" in error["message"]


def test_refine_and_similar_start_from_a_catalog_product(fashrec, indexed, products):
    sku = products[3]["id"]
    data = _refine(fashrec, indexed, "--id", sku, "something casual")
    assert data["anchor"]["catalog_id"] == sku
    assert data["anchor"]["attributes"]["category"]["value"] == products[3]["attributes"]["category"]
    assert sku not in [r["id"] for r in data["results"]]          # not the anchor itself
    similar = fashrec("similar", "--id", sku, "--index", indexed, "-k", "3", "--json")
    assert similar.returncode == 0, similar.stderr
    ids = [r["id"] for r in similar.json()["results"]]
    assert len(ids) == 3 and sku not in ids


def test_an_id_and_an_image_together_are_refused(fashrec, indexed, products, small_catalog):
    photo = small_catalog.parent / products[0]["image"]
    for command in (("refine", photo, "in red"), ("similar", photo)):
        run = fashrec(*command, "--id", products[1]["id"], "--index", indexed, "--json")
        assert run.returncode == 2, run.stderr
        assert "not both" in json.loads(run.stderr)["message"]


def test_an_id_no_product_has_is_not_found_naming_it_with_a_hint(fashrec, indexed):
    """refine --id and similar --id with an unknown SKU: kind not-found (what a server answers as 404),
    exit code 2 as every mistake of the caller's, in --json and to a person alike; the id named, the hint
    saying where ids come from. A long id is cut short."""
    from fashrec.errors import PRODUCT_IDS_HINT

    for command in (("refine", "--id", "no-such-sku", "in red"), ("similar", "--id", "no-such-sku")):
        run = fashrec(*command, "--index", indexed, "--json")
        assert run.returncode == 2 and run.stdout == "", run.stderr
        assert json.loads(run.stderr) == {"error": "not-found", "message": "no product 'no-such-sku' in the index",
                                          "field": "id", "hint": PRODUCT_IDS_HINT}, run.stderr
        human = fashrec(*command, "--index", indexed)
        assert human.returncode == 2 and human.stdout == "", human.stderr
        assert "Error: no product 'no-such-sku' in the index" in human.stderr, human.stderr
        assert f"Hint: {PRODUCT_IDS_HINT}" in human.stderr, human.stderr
    long = fashrec("similar", "--id", "x" * 500, "--index", indexed, "--json")
    assert long.returncode == 2 and json.loads(long.stderr)["message"] == f"no product '{'x' * 77}...' in the index"
