"""Outfit composition: slot definition, colour model, outfits on a small drawn catalog, and the CLI."""

from __future__ import annotations

import json
import re
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

from fashrec.ammr.anchor import Anchor, AttributeGuess, anchor_from_product
from fashrec.demo import draw_garment
from fashrec.errors import UsageError
from fashrec.index import open_index
from fashrec.index.build import build_index
from fashrec.outfit import (
    OutfitComposer,
    color_info,
    compose_outfits,
    harmony,
    load_definition,
)
from fashrec.outfit.harmony import (
    DENIM_PENALTY,
    LOUD_PENALTY,
    loud_colors,
    outfit_penalty,
)
from fashrec.outfit.slots import category_key, parse_definition
from fashrec.outfit.wardrobe import RoleNames, traits_of
from fashrec.planner import PlanContext, RulesPlanner

# (category, colour, material, gender, usage, season, in_stock): a small shop with every garment group
# of the example catalog, two genders, a unisex bag, off-season and out-of-stock pieces.
WARDROBE = [
    ("shirt", "white", "cotton", "men", "formal", "summer", True),
    ("shirt", "light blue", "linen", "men", "casual", "summer", True),
    ("t-shirt", "black", "cotton", "men", "casual", "summer", True),
    ("t-shirt", "red", "cotton", "women", "casual", "summer", True),
    ("sweater", "grey", "wool", "women", "casual", "winter", True),
    ("trousers", "navy blue", "cotton", "men", "formal", "summer", True),
    ("trousers", "beige", "linen", "men", "casual", "summer", True),
    ("trousers", "blue", "denim", "men", "casual", "summer", True),
    ("trousers", "khaki", "cotton", "men", "casual", "summer", False),
    ("trousers", "black", "wool", "men", "casual", "winter", True),
    ("trousers", "blue", "denim", "women", "casual", "summer", True),
    ("skirt", "black", "cotton", "women", "casual", "summer", True),
    ("skirt", "yellow", "silk", "women", "party", "summer", True),
    ("dress", "navy blue", "silk", "women", "party", "summer", True),
    ("jacket", "brown", "leather", "men", "casual", "fall", True),
    ("jacket", "black", "wool", "women", "formal", "winter", True),
    ("shoes", "brown", "leather", "men", "formal", "summer", True),
    ("shoes", "white", "leather", "men", "casual", "summer", True),
    ("shoes", "black", "leather", "men", "casual", "summer", False),
    ("shoes", "black", "suede", "women", "casual", "summer", True),
    ("shoes", "red", "leather", "women", "party", "summer", True),
    ("bag", "tan", "leather", "unisex", "casual", "summer", True),
    ("bag", "black", "leather", "women", "formal", "summer", True),
    ("bag", "green", "polyester", "men", "sports", "summer", True),
]


def make_wardrobe_catalog(folder: Path) -> Path:
    """Write WARDROBE as a catalog with drawn product images; returns the JSONL path."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    lines = []
    for i, (cat, color, material, gender, usage, season, stock) in enumerate(WARDROBE):
        draw_garment(cat, color, material=material, seed=i).save(folder / "images" / f"w{i}.png")
        lines.append(json.dumps({
            "id": f"w{i}", "image": f"images/w{i}.png", "title": f"{color} {material} {cat}",
            "attributes": {"category": cat, "color": color, "material": material, "gender": gender,
                           "usage": usage, "season": season},
            "price": 20.0 + i, "currency": "EUR", "in_stock": stock}))
    path = folder / "shop.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


# The 46 baseColour names of the fashion-products dataset, lowercased as the catalog converter writes them.
FASHION_PRODUCT_COLOURS = [
    "black", "white", "blue", "brown", "grey", "red", "green", "pink", "navy blue", "purple", "silver", "yellow",
    "beige", "gold", "maroon", "orange", "olive", "multi", "cream", "steel", "charcoal", "off white", "peach",
    "skin", "lavender", "grey melange", "khaki", "magenta", "tan", "teal", "mustard", "bronze", "copper",
    "turquoise blue", "rust", "burgundy", "metallic", "coffee brown", "mauve", "nude", "sea green", "rose",
    "mushroom brown", "taupe", "fluorescent green", "lime green",
]


# --- slot definition -----------------------------------------------------------------------------

def test_builtin_definition_matches_categories_of_both_catalog_styles():
    d = load_definition()
    cases = {
        "top": ["shirt", "Shirts", "t-shirt", "T-Shirt", "Tshirts", "tops", "sweater", "Kurtas", "Kurtis"],
        "bottom": ["trousers", "Jeans", "skirt", "Skirts", "shorts", "Track Pants", "Capris"],
        "one_piece": ["dress", "Dresses", "Sarees", "jumpsuit"],
        "outerwear": ["jacket", "Jackets", "Blazers", "denim jackets"],   # the last one by its head noun
        "footwear": ["shoes", "shoe", "Casual Shoes", "Sports Shoes", "Heels", "sandal", "Flip Flops"],
        "accessory": ["bag", "Handbags", "watch", "Watches", "Belts", "Sunglasses", "Clutches"],
        None: ["Briefs", "Socks", "Lipstick", "Lounge Pants", "Laptop Bag", "", None],
    }
    for group, names in cases.items():
        for name in names:
            assert d.group_of(name) == group, name
    assert category_key("Watches") == category_key("watch")
    assert category_key("Dresses") == category_key("dress")


def test_builtin_slots_never_repeat_the_anchor_group_and_mark_optional_slots():
    d = load_definition()
    top = d.slots_for("top")
    assert [s.group for s in top if not s.optional] == ["bottom", "footwear"]
    assert {s.group for s in top if s.optional} == {"accessory", "outerwear"}
    assert [s.group for s in d.slots_for("one_piece") if not s.optional] == ["footwear", "accessory"]
    for group in d.groups:
        assert all(s.group != group for s in d.slots_for(group))


def _minimal(**overrides):
    table = {"fit": {"a": {"a": 1.0}}}
    data = {"groups": {"top": ["shirt"], "bottom": ["trousers"]},
            "outfits": {"top": [{"slot": "bottom"}]}, "gender": table, "occasion": table, "season": table}
    data.update(overrides)
    return data


def test_definition_validation_names_the_problem(tmp_path):
    parse_definition(_minimal())
    with pytest.raises(UsageError, match="repeats the anchor's own group"):
        parse_definition(_minimal(outfits={"top": [{"slot": "top"}]}))
    with pytest.raises(UsageError, match="unknown group 'shoes'"):
        parse_definition(_minimal(outfits={"top": [{"slot": "shoes"}]}))
    with pytest.raises(UsageError, match="between 0 and 1"):
        parse_definition(_minimal(season={"fit": {"summer": {"winter": 2}}}))
    bad = tmp_path / "slots.json"
    bad.write_text("{nope")
    with pytest.raises(UsageError, match="malformed JSON"):
        load_definition(bad)


def test_edited_copy_of_the_definition_is_used(tmp_path):
    data = json.loads((Path(__file__).resolve().parents[2] / "fashrec" / "data" / "outfit_slots.json").read_text())
    data["groups"]["bottom"].append("kilt")
    path = tmp_path / "slots.json"
    path.write_text(json.dumps(data))
    assert load_definition(path).group_of("Kilts") == "bottom"
    assert load_definition().group_of("Kilts") is None


# --- colour model --------------------------------------------------------------------------------

def test_every_fashion_products_colour_resolves():
    missing = [name for name in FASHION_PRODUCT_COLOURS if color_info(name) is None]
    assert not missing
    assert color_info("Navy Blue").name == "navy blue"
    assert color_info("gray").name == "grey"
    assert color_info("dark green").name == "green"          # falls back to the last word
    assert color_info("plaid-ish") is None


def test_navy_and_white_and_other_neutrals_are_harmonious():
    navy_white = harmony("navy blue", "white")
    assert navy_white.score >= 0.85 and navy_white.relation == "neutral"
    for colour in ("red", "mustard", "teal", "lavender", "multi"):
        for neutral in ("black", "white", "beige", "charcoal", "khaki", "denim", "silver", "gold"):
            assert harmony(neutral, colour).score >= 0.85, (neutral, colour)


def test_hue_relations_and_clashes():
    assert harmony("red", "mustard").relation == "clash"
    assert harmony("green", "purple").relation == "clash"
    assert harmony("blue", "orange").relation == "complementary"
    assert harmony("red", "green").relation == "complementary"    # on the artists' wheel
    assert harmony("pink", "red").relation == "tonal"
    assert harmony("red", "mustard").score < harmony("blue", "orange").score < harmony("navy blue", "white").score
    assert harmony("multi", "red").score < harmony("multi", "black").score
    assert harmony("red", "no-such-colour").score == 0.5
    assert harmony("lavender", "peach").score >= 0.55            # pastels never clash outright


def test_at_most_one_loud_colour():
    infos = [color_info(c) for c in ("red", "white", "yellow", "fluorescent green")]
    assert loud_colors(infos) == ["fluorescent green", "red", "yellow"]
    assert outfit_penalty(infos) == pytest.approx(2 * LOUD_PENALTY)
    assert outfit_penalty([color_info("red"), color_info("navy blue"), color_info("pink")]) == 0


def test_at_most_one_blue_denim_piece():
    denim, black, white = color_info("denim"), color_info("black"), color_info("white")
    assert outfit_penalty([denim, white, black]) == 0
    assert outfit_penalty([denim, denim, white]) == pytest.approx(DENIM_PENALTY)
    assert outfit_penalty([denim, denim, denim]) == pytest.approx(2 * DENIM_PENALTY)


def test_double_denim_is_explained_and_costs_the_outfit(composer):
    index = composer.index
    traits = {"category": "jacket", "color": "blue", "material": "denim", "gender": "men", "usage": "casual",
              "season": "summer"}
    anchor = Anchor(index.image_vectors[index.position("w14")].copy(),
                    {a: AttributeGuess(v, 0.9, "test") for a, v in traits.items()})
    outfits = composer.compose(anchor, n=20).outfits
    with_jeans = [o for o in outfits if "w7" in o.ids]        # the blue denim trousers
    assert with_jeans
    colour = next(r for r in with_jeans[0].reasons if r.rule == "colour")
    assert "double denim" in colour.detail
    colors = [color_info("denim")] + [composer.wardrobe.traits[index.position(i)].color for i in with_jeans[0].ids]
    assert sum(c.name == "denim" for c in colors) == 2
    plain = sum(harmony(a, b).score for a, b in combinations(colors, 2)) / (len(colors) * (len(colors) - 1) / 2)
    others = outfit_penalty([c for c in colors if c.name != "denim"])
    assert plain - others - colour.score == pytest.approx(0.15, abs=1e-3)   # the double-denim penalty
    assert "w7" not in outfits[0].ids           # the best outfit avoids double denim


def test_blue_denim_counts_as_neutral_but_black_denim_stays_black():
    d = load_definition()
    roles = RoleNames(category="category", color="color", material="material")
    jeans = traits_of({"category": "Jeans", "color": "blue"}, roles, d)
    assert jeans.denim and jeans.color.name == "denim" and jeans.color.is_neutral
    assert traits_of({"category": "trousers", "color": "blue", "material": "denim"}, roles, d).color.name == "denim"
    assert traits_of({"category": "jeans", "color": "black"}, roles, d).color.name == "black"
    assert traits_of({"category": "trousers", "color": "blue"}, roles, d).color.name == "blue"


# --- outfits on a small drawn catalog -----------------------------------------------------------

@pytest.fixture(scope="module")
def shop(tmp_path_factory, tiny_model):
    folder = tmp_path_factory.mktemp("outfit-shop")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FASHREC_HOME", str(folder / "home"))
        mp.setenv("FASHREC_THREADS", "1")
        catalog = make_wardrobe_catalog(folder)
        build_index(catalog, folder / "idx", model=str(tiny_model))
    return folder


@pytest.fixture(scope="module")
def composer(shop):
    from fashrec.encoder import load_encoder

    index = open_index(shop / "idx")
    return OutfitComposer(index, load_encoder(index.encoder_spec))


def _gender(product):
    return product.first("gender")


def check_outfits(composer, anchor, outfits, *, in_stock_only=True):
    """The invariants every result must satisfy, whatever the catalog."""
    d = composer.definition
    own = d.group_of(anchor.attributes["category"].value)
    anchor_gender = anchor.attributes.get("gender").value if "gender" in anchor.attributes else None
    sets = [frozenset(o.ids) for o in outfits]
    assert len(set(sets)) == len(sets), "two outfits with the same pieces"
    for o in outfits:
        assert o.pieces, "an outfit without pieces"
        assert anchor.catalog_id not in o.ids
        groups = [d.group_of(p.product.first("category")) for p in o.pieces]
        assert own not in groups, "a piece from the anchor's own group"
        assert len(groups) == len(set(groups)), "two pieces for one group"
        genders = {_gender(p.product) for p in o.pieces} - {"unisex", None}
        assert len(genders) <= 1
        if anchor_gender in ("men", "women"):
            assert genders <= {anchor_gender}
        if in_stock_only:
            assert all(p.product.in_stock is not False for p in o.pieces)
        assert {r.rule for r in o.reasons} >= {"consistency", "colour", "style", "coverage"}
        assert abs(sum(r.points for r in o.reasons) - o.score) < 1e-6
        assert all(p.why for p in o.pieces)
    assert [o.score for o in outfits] == sorted((o.score for o in outfits), reverse=True)


def test_outfits_for_every_anchor_keep_the_rules(composer):
    index = composer.index
    for product in index.products:
        anchor = anchor_from_product(index, product.id)
        outfits = composer.compose(anchor, n=3).outfits
        check_outfits(composer, anchor, outfits)


def test_men_shirt_gets_complete_distinct_summer_outfits(composer):
    anchor = anchor_from_product(composer.index, "w1")        # light blue linen men's shirt, casual summer
    result = composer.compose(anchor, n=3)
    assert len(result.outfits) == 3
    assert result.context.traits.group == "top"
    for o in result.outfits:
        assert not o.missing
        slots = {p.slot for p in o.pieces}
        assert {"bottom", "footwear"} <= slots
        assert all(p.product.first("season") != "winter" for p in o.pieces)   # summer anchor
        assert "w9" not in o.ids                                              # winter wool trousers
    used = [pid for o in result.outfits for pid in o.ids]
    assert len(set(used)) >= 4, "the outfits should differ, not only in one piece"
    payload = json.loads(json.dumps(result.to_dict()))
    first = payload["outfits"][0]
    assert set(first) >= {"score", "pieces", "reasons"}
    assert set(first["pieces"][0]) >= {"slot", "id", "title", "image", "attributes", "why"}


def test_occasion_steers_usage_and_excludes_sports(composer):
    anchor = anchor_from_product(composer.index, "w0")        # white formal men's shirt
    outfits = composer.compose(anchor, occasion="formal", n=3).outfits
    pieces = [p.product for o in outfits for p in o.pieces]
    assert "w23" not in {p.id for p in pieces}                # the sports bag never goes formal
    assert all(p.first("usage") != "sports" for p in pieces)
    assert outfits[0].pieces[0].product.first("usage") == "formal"    # navy formal trousers first
    assert any(r.rule == "occasion" for r in outfits[0].reasons)


def test_out_of_stock_pieces_only_on_request(composer):
    anchor = anchor_from_product(composer.index, "w2")        # black men's t-shirt
    default = {pid for o in composer.compose(anchor, n=20).outfits for pid in o.ids}
    assert not default & {"w8", "w18"}
    allowed = {pid for o in composer.compose(anchor, n=20, include_out_of_stock=True).outfits for pid in o.ids}
    assert allowed & {"w8", "w18"}


def test_unisex_anchor_gets_single_gender_outfits(composer):
    anchor = anchor_from_product(composer.index, "w21")       # the unisex tan bag
    outfits = composer.compose(anchor, n=3).outfits
    assert outfits
    check_outfits(composer, anchor, outfits)   # one gender per outfit, though the anchor fits both


def test_library_call_without_encoder_and_anchor_outside_every_group(composer):
    anchor = anchor_from_product(composer.index, "w13")      # navy party dress
    outfits = compose_outfits(composer.index, anchor, n=2)
    assert len(outfits) == 2
    assert all("occasion" not in {r.rule for r in o.reasons} for o in outfits)
    assert {p.slot for p in outfits[0].pieces} >= {"footwear", "accessory"}
    perfume = Anchor(np.asarray(composer.index.image_vectors[0]),
                     {"category": AttributeGuess("perfume", 1.0, "test")})
    with pytest.raises(UsageError, match="perfume"):
        compose_outfits(composer.index, perfume)
    with pytest.raises(UsageError):
        composer.compose(anchor, n=0)


def test_generated_demo_catalog(small_catalog, tiny_model, fashrec_env, tmp_path):
    build_index(small_catalog, tmp_path / "idx", model=str(tiny_model))
    index = open_index(tmp_path / "idx")
    composer = OutfitComposer(index)
    built = 0
    for product in index.products:
        anchor = anchor_from_product(index, product.id)
        outfits = composer.compose(anchor, n=3).outfits
        check_outfits(composer, anchor, outfits)
        built += len(outfits)
    assert built > 0


# --- command line --------------------------------------------------------------------------------

def test_cli_outfit_json_human_and_sheet(fashrec, shop, tmp_path):
    image = shop / "images" / "w1.png"
    run = fashrec("outfit", image, "--index", shop / "idx", "--json", "-n", "2")
    assert run.returncode == 0, run.stderr
    data = run.json()
    assert data["anchor"]["catalog_id"] == "w1" and data["anchor"]["group"] == "top"
    assert len(data["outfits"]) == 2
    piece = data["outfits"][0]["pieces"][0]
    assert set(piece) >= {"slot", "id", "title", "image", "attributes", "why", "price", "in_stock"}
    first = data["outfits"][0]
    assert first["total"]["price"] == pytest.approx(sum(p["price"] for p in first["pieces"]))

    sheet = tmp_path / "look.png"
    budget = round(max(o["total"]["price"] for o in data["outfits"]), 2)
    run = fashrec("outfit", image, "--index", shop / "idx", "--occasion", "party", "--sheet", sheet,
                  "--budget", budget)
    assert run.returncode == 0, run.stderr
    assert "Outfit 1" in run.stdout and "score" in run.stdout and "colour" in run.stdout
    assert "total" in run.stdout and "EUR" in run.stdout and f"Budget: {budget:g}" in run.stdout
    assert sheet.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_outfit_for_an_image_outside_the_catalog(fashrec, shop, tmp_path):
    image = tmp_path / "new.png"
    draw_garment("shirt", "white", seed=99).save(image)
    run = fashrec("outfit", image, "--index", shop / "idx", "--json")
    assert run.returncode == 0, run.stderr
    data = run.json()
    assert data["anchor"]["catalog_id"] is None
    assert isinstance(data["outfits"], list)


def test_cli_outfit_errors_are_json(fashrec, shop):
    run = fashrec("outfit", "--index", shop / "idx", "--json")
    assert run.returncode == 2 and run.stdout == ""
    assert json.loads(run.stderr)["error"] == "usage"
    run = fashrec("outfit", "--id", "nope", "--index", shop / "idx", "--json")   # a missing thing: 404 on a server
    assert run.returncode == 2 and json.loads(run.stderr)["error"] == "not-found"
    run = fashrec("outfit", shop / "no-such.png", "--index", shop / "idx", "--json")
    assert run.returncode == 3 and run.stdout == "" and json.loads(run.stderr)["error"] == "image"


def test_cli_outfit_occasion_the_catalog_lacks_is_refused(fashrec, shop):
    """One occasion vocabulary: a word the catalog has no usage value for is refused by name."""
    run = fashrec("outfit", "--id", "w1", "--index", shop / "idx", "--occasion", "Beach", "--json")
    assert run.returncode == 2 and run.stdout == ""
    error = json.loads(run.stderr)
    assert "beach" in error["message"].casefold() and "party" in error["hint"]   # names what there is
    run = fashrec("outfit", "--id", "w13", "--index", shop / "idx", "--occasion", "evening", "--json")
    assert run.returncode == 0, run.stderr
    assert run.json()["anchor"]["occasion"] == "party"


@pytest.mark.parametrize("occasion", ["wedding", "for a wedding", "office", "night out"])
def test_outfit_reads_occasions_as_refine_does(composer, occasion):
    """'wedding' once meant ethnic in outfit and party in refine; both now read the planner's table."""
    refine_reading = RulesPlanner().plan(occasion, PlanContext(composer.index.vocabulary)).set["usage"]
    anchor = anchor_from_product(composer.index, "w1")
    assert composer.context(anchor, occasion).occasion == refine_reading


def test_cli_eval_outfit(fashrec, shop):
    run = fashrec("eval", "outfit", "--index", shop / "idx", "--n-anchors", "8", "--json")
    assert run.returncode == 0, run.stderr
    data = run.json()
    assert data["anchors"] == 8
    ours, base = data["composer"], data["baseline"]
    assert ours["gender_agreement"] == 1.0 and ours["season_compatible"] == 1.0
    assert ours["gender_agreement"] >= base["gender_agreement"]
    assert 0 < ours["distinct_piece_share"] <= 1
    assert ours["latency_p50_ms"] > 0
    run = fashrec("eval", "outfit", "--index", shop / "idx", "--n-anchors", "4")
    assert run.returncode == 0 and "random baseline" in run.stdout


def test_evaluate_outfits_builds_the_catalog_index(small_catalog, tiny_model, fashrec_env):
    from fashrec.evaluation.outfit import evaluate_outfits
    from fashrec.index import index_dir_for

    report = evaluate_outfits(small_catalog, n_anchors=5, model=str(tiny_model))
    assert (index_dir_for(small_catalog) / "manifest.json").exists()
    assert report.anchors == 5 and report.composer.gender_agreement == 1.0


# --- personal profile ----------------------------------------------------------------------------

def _limits(composer, anchor, **values):
    from fashrec.profile import Profile, profile_limits

    return profile_limits(Profile().with_values(values), composer.index, anchor)


def test_profile_budget_and_avoid_limit_every_piece(composer):
    anchor = anchor_from_product(composer.index, "w1")          # light blue linen men's shirt
    free = composer.compose(anchor, n=3)
    assert any(p.product.price > 30 for o in free.outfits for p in o.pieces)
    assert any(p.product.id == "w6" for o in free.outfits for p in o.pieces)   # the beige trousers

    limited = composer.compose(anchor, n=3, profile=_limits(composer, anchor, budget="30", avoid="beige"))
    pieces = [p.product for o in limited.outfits for p in o.pieces]
    assert pieces, "the budget leaves trousers to wear"
    assert all(p.price <= 30 for p in pieces)                  # the budget holds for every piece
    assert all(p.first("color") != "beige" for p in pieces)
    assert all("footwear" in o.missing for o in limited.outfits)   # every pair of shoes costs more than 30
    # ... and each look says so: the profile's budget emptied the slot, not a lack of stock.
    assert all("over your profile budget 30" in o.empty["footwear"] for o in limited.outfits)
    rules = {r["rule"]: r for r in limited.to_dict()["profile"]["rules"]}
    assert rules["budget"]["applied"] and "left out" in rules["budget"]["detail"]
    assert rules["avoid"]["applied"]


def test_each_look_has_a_total_and_the_look_budget_caps_it(composer):
    anchor = anchor_from_product(composer.index, "w1")
    free = composer.compose(anchor, n=3)
    for o in free.outfits:
        total = o.total()
        assert total["price"] == pytest.approx(sum(p.product.price for p in o.pieces))
        assert total["priced"] == len(o.pieces) and total["unpriced"] == 0 and total["currency"] == "EUR"
    totals = sorted(o.total()["price"] for o in free.outfits)
    budget = totals[0] + 0.01 if len(totals) > 1 and totals[0] < totals[-1] else totals[0]
    capped = composer.compose(anchor, n=3, budget=budget)
    assert capped.outfits and capped.to_dict()["budget"] == budget
    assert all(o.total()["price"] <= budget + 1e-9 for o in capped.outfits)
    cheapest_pair = min(p.product.price for o in free.outfits for p in o.pieces if p.slot == "footwear")
    tight = composer.compose(anchor, n=1, budget=cheapest_pair - 0.01)   # no pair of shoes fits at all
    assert all("footwear" in o.missing and "over the look's budget" in o.empty["footwear"]
               for o in tight.outfits)
    with pytest.raises(UsageError, match="budget"):
        composer.compose(anchor, budget=0)


def test_profile_avoid_gives_way_to_the_anchor_and_prefer_lifts_pieces(composer):
    anchor = anchor_from_product(composer.index, "w1")
    applied = _limits(composer, anchor, avoid="light blue", prefer="denim")
    waived = [e for e in applied.effects if e.rule == "avoid"]
    assert waived and not waived[0].applied and "anchor" in waived[0].detail   # the shopper chose light blue

    plain = composer.compose(anchor, n=1).outfits[0]
    liked = composer.compose(anchor, n=1, profile=applied).outfits[0]
    bottom = next(p for p in liked.pieces if p.slot == "bottom")
    assert bottom.product.id == "w7" and "profile: prefers denim" in bottom.why
    assert next(p for p in plain.pieces if p.slot == "bottom").product.id != "w7"
    assert any(r.rule == "profile" and r.points > 0 for r in liked.reasons)


def test_cli_outfit_applies_the_profile_unless_told_not_to(fashrec, shop):
    assert fashrec("profile", "set", "budget=30").returncode == 0
    run = fashrec("outfit", "--id", "w1", "--index", shop / "idx", "--json")
    assert run.returncode == 0, run.stderr
    data = run.json()
    assert data["profile"]["rules"][0]["rule"] == "budget"
    assert all(p["price"] <= 30 for o in data["outfits"] for p in o["pieces"])
    human = fashrec("outfit", "--id", "w1", "--index", shop / "idx")
    assert "Profile:" in human.stdout and "price capped at 30" in human.stdout
    assert all("footwear products are over your profile budget 30" in e["reason"]   # the rule that emptied it
               for o in data["outfits"] for e in o["empty"] if e["slot"] == "footwear")
    flowing = re.sub(r"[│\s]+", " ", human.stdout)   # the reason may wrap inside its table cell
    assert "footwear products are over your profile budget 30" in flowing
    assert "nothing suitable in stock" not in human.stdout

    run = fashrec("outfit", "--id", "w1", "--index", shop / "idx", "--json", "--no-profile")
    assert run.json()["profile"] is None
    assert any(p["price"] > 30 for o in run.json()["outfits"] for p in o["pieces"])
