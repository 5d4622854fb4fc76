"""The attribute guard and the critic, each on its own."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fashrec.ammr.critic import select
from fashrec.ammr.explain import explain
from fashrec.ammr.guard import check_product, passes
from fashrec.ammr.types import Candidate, Constraints, CriticConfig, Resolution
from fashrec.catalog import Product
from fashrec.evaluation.metrics import brand_exposure
from fashrec.planner import Plan


def product(pid: str, **kw) -> Product:
    attrs = {k: [v] for k, v in kw.pop("attrs", {}).items()}
    return Product(id=pid, image=f"{pid}.jpg", image_path=Path(f"/x/{pid}.jpg"), attributes=attrs, **kw)


class FakePrompts:
    """Zero-shot stand-in: the image 'looks' like whatever value we say (prompts are not under test)."""

    def __init__(self, looks: dict[str, dict[str, float]], categories: dict[str, set[str]] | None = None):
        self.looks = looks
        self.categories = categories or {}   # attribute -> categories it applies to (default: all)

    def probabilities(self, attribute, vector):
        return self.looks.get(attribute, {})

    def applies(self, attribute, product):
        return attribute not in self.categories or product.first("category") in self.categories[attribute]


def test_guard_uses_metadata_then_image_evidence():
    plan = Plan(set={"material": "linen"}, exclude={"color": ["black"]}, price_max=40)
    vec = np.zeros(4, np.float32)
    with_meta = product("a", attrs={"material": "linen", "color": "navy"}, price=35.0)
    checks = check_product(with_meta, vec, Constraints(plan, Resolution(), {"category": "shirt"}, {}), None)
    by = {c.kind: c for c in checks}
    assert by["set"].ok and by["set"].evidence == "catalog"
    assert by["exclude"].ok and by["price"].ok and by["price"].evidence == "35"
    assert not by["keep"].ok  # no category metadata and no prompts: cannot be verified
    assert not passes(checks)

    no_meta = product("b", attrs={"category": "shirt", "color": "black"}, price=20.0)
    prompts = FakePrompts({"material": {"linen": 0.7, "wool": 0.3}})
    checks = check_product(no_meta, vec, Constraints(plan, Resolution(), {"category": "shirt"}, {}), prompts)
    by = {c.kind: c for c in checks}
    assert by["set"].ok and by["set"].evidence == "image p=0.70"
    assert not by["exclude"].ok            # black is in the metadata
    assert not passes(checks)


def test_guard_never_reads_an_attribute_the_category_does_not_have():

    prompts = FakePrompts({"sleeve": {"short": 0.9, "long": 0.1}}, categories={"sleeve": {"shirt", "dress"}})
    vec = np.zeros(4, np.float32)
    trousers = product("t", attrs={"category": "trousers"})
    shirt = product("s", attrs={"category": "shirt"})
    for item, expected in ((trousers, False), (shirt, True)):
        checks = check_product(item, vec, Constraints(Plan(), Resolution(), {"sleeve": "short"}, {}), prompts)
        assert checks[0].ok is expected
    assert check_product(trousers, vec, Constraints(Plan(), Resolution(), {"sleeve": "short"}, {}), prompts)[0].evidence == \
        "no sleeve for this category"

    # The same holds for a resolved relative wish ("shorter sleeves" -> sleeve in short/sleeveless).
    wish = Resolution(within={"sleeve": ["short", "sleeveless"]})
    by_image = check_product(shirt, vec, Constraints(Plan(), wish, {}, {}), prompts)[0]
    assert by_image.kind == "within" and by_image.ok and "image looks short" in by_image.evidence
    assert not check_product(trousers, vec, Constraints(Plan(), wish, {}, {}), prompts)[0].ok
    long_shirt = product("l", attrs={"category": "shirt", "sleeve": "long"})
    assert not check_product(long_shirt, vec, Constraints(Plan(), wish, {}, {}), prompts)[0].ok
    short_shirt = product("h", attrs={"category": "shirt", "sleeve": "sleeveless"})
    check = check_product(short_shirt, vec, Constraints(Plan(), wish, {}, {}), prompts)[0]
    assert check.ok and check.evidence == "catalog: sleeveless"


def test_guard_price_needs_a_price():
    checks = check_product(product("c"), np.zeros(2), Constraints(Plan(price_max=10), Resolution(), {}, {}), None)
    assert checks[0].kind == "price" and not checks[0].ok and checks[0].evidence == "no price"


def _cands(specs):
    vecs = []
    out = []
    for i, (pid, score, vec, kw) in enumerate(specs):
        v = np.asarray(vec, np.float32)
        vecs.append(v / np.linalg.norm(v))
        c = Candidate(product(pid, **kw), i, score, score)
        out.append(c)
    return out, np.stack(vecs)


def test_critic_drops_out_of_stock_duplicates_and_caps_brands():
    cands, vecs = _cands([
        ("a", 0.9, [1, 0, 0], {"brand": "Acme"}),
        ("a-dup", 0.89, [1, 0, 0], {"brand": "Zed"}),
        ("b", 0.8, [0, 1, 0], {"brand": "Acme"}),
        ("c", 0.7, [0, 0, 1], {"brand": "Acme"}),
        ("gone", 0.95, [1, 1, 0], {"brand": "Other", "in_stock": False}),
        ("d", 0.5, [1, 0, 1], {"brand": "Zed"}),
    ])
    report = select(cands, 3, vecs, CriticConfig(brand_cap=2))
    ids = [c.product.id for c in report.selected]
    assert "gone" not in ids and "a-dup" not in ids
    assert ids[0] == "a" and ids.count("c") == 0 and "d" in ids
    assert report.dropped["out of stock"] == 1 and report.dropped["near-duplicate"] == 1


def test_a_page_with_room_keeps_near_duplicates_after_the_distinct_matches():
    specs = [("a", 0.9, [1, 0, 0], {}), ("a-dup", 0.89, [1, 0, 0], {}), ("b", 0.8, [0, 1, 0], {}),
             ("b-dup", 0.7, [0, 1, 0], {})]
    cands, vecs = _cands(specs)
    report = select(cands, 10, vecs, CriticConfig())
    assert [c.product.id for c in report.selected] == ["a", "b", "a-dup", "b-dup"]   # every match, none lost
    assert "near-duplicate" not in report.dropped        # nothing was left out
    cands, vecs = _cands(specs)
    report = select(cands, 3, vecs, CriticConfig())      # one place for two look-alikes: the better one
    assert [c.product.id for c in report.selected] == ["a", "b", "a-dup"]
    assert report.dropped["near-duplicate"] == 1


def test_brand_cap_defers_rather_than_starves():
    cands, vecs = _cands([(f"p{i}", 0.9 - i / 100, [1, i, 0], {"brand": "Acme"}) for i in range(4)])
    report = select(cands, 4, vecs, CriticConfig(brand_cap=2, dedupe_similarity=1.1))
    assert len(report.selected) == 4
    assert "brand cap (deferred)" not in report.dropped           # all four shown: none counted as left out
    assert [c.held_back for c in report.selected] == [None, None, "brand cap (deferred)", "brand cap (deferred)"]
    assert all(not c.boosts for c in report.selected)              # the cap is no score bonus
    cands, vecs = _cands([(f"p{i}", 0.9 - i / 100, [1, i, 0], {"brand": "Acme"}) for i in range(4)])
    report = select(cands, 3, vecs, CriticConfig(brand_cap=2, dedupe_similarity=1.1, diversity=False))
    assert [c.product.id for c in report.selected] == ["p0", "p1", "p2"]
    assert report.dropped == {"brand cap (deferred)": 1}


def test_sponsored_boost_is_capped():
    cands, vecs = _cands([("organic", 0.80, [1, 0], {}), ("paid", 0.70, [0, 1], {"sponsored": 1.0})])
    chosen = select(cands, 2, vecs, CriticConfig(sponsored_cap=0.05, diversity=False)).selected
    assert [c.product.id for c in chosen] == ["organic", "paid"]   # +0.05 cannot beat a 0.10 gap
    assert abs(chosen[1].boosts["sponsored"] - 0.05) < 1e-9
    cands, vecs = _cands([("organic", 0.72, [1, 0], {}), ("paid", 0.70, [0, 1], {"sponsored": 1.0})])
    assert select(cands, 2, vecs, CriticConfig(sponsored_cap=0.05, diversity=False)).selected[0].product.id == "paid"


def test_brand_exposure_gini():
    even = brand_exposure([["a", "b"], ["b", "a"]])
    skewed = brand_exposure([["a", "a", "a", "b"]])
    assert even["gini"] == 0.0 and skewed["gini"] > 0.2 and skewed["shares"]["a"] == 0.75


def test_explanations_only_state_verified_facts():
    c = Candidate(product("x", attrs={"material": "linen"}, price=30.0), 0, 0.8, 0.8)
    constraints = Constraints(Plan(set={"material": "linen"}, price_max=40), hard={"color": "navy"})
    c.checks = check_product(c.product, np.zeros(2), constraints, None)
    why = explain(c)
    assert "matches linen" in why and "price 30 within 40" in why
    assert why.startswith("lacks color=navy (not listed)") and "keeps" not in why


def test_stricter_tier_ranks_first_whatever_the_score():
    cands, vecs = _cands([("relaxed", 0.95, [1, 0, 0], {}), ("strict", 0.40, [0, 1, 0], {})])
    cands[0].tier = 2
    chosen = select(cands, 2, vecs, CriticConfig()).selected
    assert [c.product.id for c in chosen] == ["strict", "relaxed"]


def test_guard_checks_brands_and_sizes_against_the_catalog_fields_only():
    plan = Plan(brands=["nordvik"], exclude_brands=["kestrel"], sizes=["m", "l"])
    constraints = Constraints(plan, Resolution(), {}, {})
    vec = np.zeros(2, np.float32)
    good = product("a", brand="Nordvik", sizes=["S", "M"])
    checks = check_product(good, vec, constraints, None)
    assert passes(checks) and {c.label for c in checks} == {"brand=nordvik", "brand not kestrel", "size=m/l"}
    assert "brand nordvik" in explain(Candidate(good, 0, 0.9, 0.9, checks=checks))
    assert "size m/l" in explain(Candidate(good, 0, 0.9, 0.9, checks=checks))
    for unknown in (product("b", sizes=["M"]), product("c", brand="Nordvik"), product("d", brand="Kestrel", sizes=["M"])):
        checks = check_product(unknown, vec, constraints, None)
        assert not passes(checks)   # no brand or no sizes listed is never passed off as a match
    assert {c.evidence for c in check_product(product("e"), vec, constraints, None)} == {"no brand", "no sizes listed"}
