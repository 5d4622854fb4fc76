"""Short answers: results hold only exact matches, the shortfall is said with what each relaxation
would yield (counted here again, product by product), and near misses come apart, each naming what
it lacks. The anchors are catalog products, so their identity is known for certain."""

from __future__ import annotations

import json

import numpy as np

from fashrec.ammr.loop import RefineOptions
from fashrec.ammr.replan import Attempt, Outcome, Request, relax_look
from fashrec.ammr.types import Anchor, AttributeGuess, Constraints
from fashrec.planner import Plan


def _anchor(refiner, product_id):
    return refiner.anchor_from_image(refiner.index.get(product_id).image_path)


def _brute_count(refiner, labels: set[str], hidden: set[str]) -> int:
    """Products (in stock, not hidden) that have every ``attr=value`` in ``labels``, one by one."""
    pairs = [label.split("=", 1) for label in labels]
    return sum(1 for p in refiner.index.products
               if p.id not in hidden and p.in_stock is not False and all(p.first(a) == v for a, v in pairs))


def test_an_empty_answer_says_so_and_counts_every_way_forward(refiner):
    anchor = _anchor(refiner, "sku-1019")          # a white cotton formal shirt for men
    result = refiner.refine(anchor, "something for winter", RefineOptions(k=5))
    data = result.to_dict()
    assert data["plan"]["set"] == {"season": "winter"}
    assert data["results"] == [] and data["shortfall"]["found"] == 0
    assert data["shortfall"]["message"] == "no winter shirts for men"
    assert data["stop_reason"].endswith("no winter shirts for men")
    required = set(data["shortfall"]["required"])     # what was said and the anchor's identity
    assert required == {"category=shirt", "gender=men", "season=winter"}
    for option in data["shortfall"]["options"]:
        assert option["exact"]
        assert option["count"] == _brute_count(refiner, required - set(option["drop"]), {"sku-1019"}), option
    by_drop = {tuple(o["drop"]): o for o in data["shortfall"]["options"]}
    drop_shirt = by_drop[("category=shirt",)]
    assert drop_shirt["count"] == 3 and drop_shirt["number"] == 1   # a jacket, shoes and trousers for winter
    assert drop_shirt["message"].startswith("3 winter items for men if you drop shirt (")
    # Near misses come from it first (those three, less any near-duplicate the critic removes), each
    # lacking only the shirt; then from the next options, each with what it has instead.
    first = [a["id"] for a in data["alternatives"] if a["option"] == 1]
    assert first and len(first) == drop_shirt["shown"] and set(first) <= {"sku-1004", "sku-1006", "sku-1024"}
    assert [a["option"] for a in data["alternatives"]] == sorted(a["option"] for a in data["alternatives"])
    assert len({a["id"] for a in data["alternatives"]}) == len(data["alternatives"])
    for alt in data["alternatives"]:
        option = next(o for o in data["shortfall"]["options"] if o["number"] == alt["option"])
        assert alt["lacks"] and set(alt["lacks"]) <= set(option["drop"])
        assert all(alt["instead"][c] == alt["attributes"][c.split("=")[0]] for c in alt["lacks"])
        assert alt["why"].startswith("lacks ")


def test_results_keep_the_identity_and_near_misses_lack_only_what_their_option_drops(refiner):
    anchor = _anchor(refiner, "sku-1012")          # a light blue striped cotton formal shirt for men
    result = refiner.refine(anchor, "but in linen", RefineOptions(k=5))
    data = result.to_dict()
    assert [r["id"] for r in data["results"]] == ["sku-1001"]        # the one linen shirt for men (in stock)
    assert data["shortfall"]["message"] == "only 1 linen shirt for men"
    for r in data["results"]:
        assert not r["violated"] and {"material=linen", "category=shirt", "gender=men"} <= set(r["satisfied"])
    # The anchor's colour and pattern were given up in one step, and each result says what it lacks of them.
    relax = [s for s in data["steps"] if s["action"] == "relax"]
    assert len(relax) == 1 and "color=light blue" in relax[0]["detail"] and "pattern=striped" in relax[0]["detail"]
    uses = {a["attribute"]: a["use"] for a in data["assumptions"]}
    assert uses["color"] == uses["pattern"] == "relaxed" and uses["category"] == "required"
    assert data["results"][0]["not_kept"] == ["color=light blue", "pattern=striped"]
    assert "not the anchor's light blue, striped" in data["results"][0]["why"]
    by_drop = {tuple(o["drop"]): o for o in data["shortfall"]["options"]}
    assert by_drop[("category=shirt",)]["count"] == 2 and by_drop[("category=shirt",)]["top"] == {"trousers": 1}
    assert by_drop[("gender=men",)]["count"] == 1        # the women's linen shirt is out of stock
    options = {o["number"]: o for o in data["shortfall"]["options"]}
    for alt in data["alternatives"]:
        assert alt["lacks"] and set(alt["lacks"]) <= set(options[alt["option"]]["drop"])
        assert all(alt["instead"][c] == alt["attributes"][c.split("=")[0]] for c in alt["lacks"])
    assert "sku-1011" not in {a["id"] for a in data["alternatives"]}
    assert len(data["results"]) + len(data["alternatives"]) <= 5


def test_a_way_forward_that_lets_in_nothing_new_says_so_comes_last_and_draws_no_near_misses(refiner):
    anchor = _anchor(refiner, "sku-1012")          # a light blue striped cotton formal shirt for men
    data = refiner.refine(anchor, "but in linen", RefineOptions(k=5)).to_dict()
    short = data["shortfall"]
    required = set(short["required"])
    kept = _brute_count(refiner, required, {"sku-1012"})      # what the answer's constraints let through
    assert kept == 1
    for o in short["options"]:    # every way here is counted on metadata: adds = what it finds beyond those
        assert o["exact"] and o["adds"] == o["count"] - kept, o
        assert o["useful"] == (o["adds"] > 0 and o["same_as"] is None)
    by_drop = {tuple(o["drop"]): o for o in short["options"]}
    # The women's linen shirt is out of stock: dropping "for men" lets in the same one linen shirt.
    gender = by_drop[("gender=men",)]
    assert (gender["count"], gender["adds"], gender["useful"]) == (1, 0, False)
    assert gender["message"] == "the same 1 linen shirt if you drop for men" and gender["top"] == {}
    # Dropping shirt and for men together lets in exactly what dropping shirt alone does: said as its twin.
    both = by_drop[("category=shirt", "gender=men")]
    shirt = by_drop[("category=shirt",)]
    assert both["count"] == shirt["count"] == 2 and both["same_as"] == shirt["number"] and not both["useful"]
    assert both["message"] == f"the same 2 linen items as way {shirt['number']} if you drop shirt and for men"
    # Useful ways are numbered first; the others follow and draw no near misses.
    numbers = [o["number"] for o in short["options"]]
    assert numbers == list(range(1, len(numbers) + 1))
    useful = [o["useful"] for o in short["options"]]
    assert useful == sorted(useful, reverse=True) and useful[0]
    drawn = {a["option"] for a in data["alternatives"]}
    assert all(o["shown"] == 0 and o["number"] not in drawn for o in short["options"] if not o["useful"])


def test_a_way_forward_that_adds_nothing_cannot_be_taken(refiner):
    from fashrec.ammr.ways import offered_option
    from fashrec.errors import UsageError

    result = refiner.refine(_anchor(refiner, "sku-1012"), "but in linen", RefineOptions(k=5))
    short = result.shortfall
    useless = next(o for o in short.options if o.count and not o.useful)
    try:
        offered_option(short, useless.number)
    except UsageError as err:
        assert str(err).startswith(f"way forward {useless.number} adds nothing: {useless.message}")
        assert err.hint == "the answer offers " + " or ".join(str(o.number) for o in short.options if o.useful)
    else:
        raise AssertionError("a way forward that adds nothing was taken")
    assert offered_option(short, 1).useful


def test_strict_lists_no_near_misses_but_still_says_what_would_help(refiner):
    anchor = _anchor(refiner, "sku-1019")
    data = refiner.refine(anchor, "something for winter", RefineOptions(k=5, alternatives=False)).to_dict()
    assert data["results"] == [] and data["alternatives"] == []
    assert data["shortfall"]["alternatives"] is False and data["shortfall"]["options"][0]["count"] == 3
    assert not any(s["action"] == "alternatives" for s in data["steps"])


def test_a_full_answer_has_no_shortfall(refiner):
    anchor = _anchor(refiner, "sku-1019")
    data = refiner.refine(anchor, "", RefineOptions(k=1)).to_dict()
    assert len(data["results"]) == 1 and data["shortfall"] is None and data["alternatives"] == []


class FakeCounts:
    """Counts as a catalog would: the white ones are rare, the solid ones common."""

    index = None

    def __init__(self, by_remaining: dict[frozenset, int]):
        self.by_remaining = by_remaining

    def count(self, constraints: Constraints) -> int:
        return self.by_remaining[frozenset(constraints.hard)]


def _look_request(counts, k=10):
    guesses = {a: AttributeGuess(v, 0.9, "x") for a, v in
               {"category": "shirt", "gender": "men", "color": "white", "pattern": "solid"}.items()}
    anchor = Anchor(np.zeros(2), guesses)
    constraints = Constraints(Plan(set={"material": "linen"}), hard={a: g.value for a, g in guesses.items()})
    return Request(anchor, "but in linen", None, 0.5, k, counts), Attempt(constraints, None, 50)


def test_look_keeps_are_given_up_fewest_first_and_identity_never():
    identity = {"category", "gender"}
    counts = FakeCounts({frozenset(identity | {"color", "pattern"}): 2, frozenset(identity | {"pattern"}): 14,
                         frozenset(identity | {"color"}): 3, frozenset(identity): 15})
    request, attempt = _look_request(counts)
    following = relax_look(None, request, attempt, Outcome(2, 2, 2))
    assert set(following.constraints.hard) == identity | {"pattern"}      # the colour alone reaches 10
    assert following.constraints.soft["color"] == "white" and "color=white" in following.detail
    # Nothing reaches k: every look keep goes at once; the identity stays.
    counts.by_remaining[frozenset(identity | {"pattern"})] = 4
    following = relax_look(None, request, attempt, Outcome(2, 2, 2))
    assert set(following.constraints.hard) == identity
    assert relax_look(None, request, following, Outcome(15, 15, 15)) is None



def test_a_short_answer_counts_and_shows_every_match_even_near_identical_photos(fashrec, small_catalog, tiny_model):
    """Two more men's linen shirts with the very same photo as one already there: a page with room
    shows all three, and the shortfall counts every exact match the catalog has (not what survived
    the near-duplicate rule)."""
    rows = [json.loads(line) for line in small_catalog.read_text().splitlines()]
    shirt = next(r for r in rows if r["attributes"]["category"] == "shirt" and r["attributes"]["gender"] == "men"
                 and r["attributes"]["material"] == "linen" and r.get("in_stock", True))
    copies = [{**shirt, "id": f"sku-same-{i}", "title": f"{shirt['title']} ({i})"} for i in (1, 2)]
    anchor = {**shirt, "id": "sku-anchor", "attributes": {**shirt["attributes"], "material": "cotton"}}
    rows += [*copies, anchor]
    small_catalog.write_text("".join(json.dumps(r) + "\n" for r in rows))
    exact = [r["id"] for r in rows if r["id"] != "sku-anchor" and r.get("in_stock", True)
             and {k: r["attributes"].get(k) for k in ("category", "gender", "material")}
             == {"category": "shirt", "gender": "men", "material": "linen"}]
    assert 3 <= len(exact) < 10
    idx = small_catalog.parent / "idx"
    assert fashrec("index", small_catalog, "--index", idx, "--model", tiny_model).returncode == 0
    run = fashrec("refine", "--id", "sku-anchor", "but in linen", "--index", idx, "--planner", "rules", "--json")
    assert run.returncode == 0, run.stderr
    data = run.json()
    assert sorted(r["id"] for r in data["results"]) == sorted(exact)
    assert data["shortfall"]["found"] == len(exact)
    assert data["shortfall"]["message"] == f"only {len(exact)} linen shirts for men"
