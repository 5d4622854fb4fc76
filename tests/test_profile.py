"""The personal profile: parsing, versioned storage, and what each rule does to a request."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fashrec.ammr.anchor import Anchor, AttributeGuess
from fashrec.ammr.critic import CriticConfig, select
from fashrec.ammr.retrieve import Candidate
from fashrec.catalog import Product
from fashrec.errors import FashrecError, UsageError
from fashrec.index import Index
from fashrec.planner import Plan
from fashrec.profile import (
    Profile,
    apply_profile,
    clear_profile,
    load_profile,
    parse_assignments,
    profile_path,
    save_profile,
)


def product(pid: str, *, sizes=(), brand=None, price=None, **attrs) -> Product:
    return Product(id=pid, image=f"{pid}.jpg", image_path=Path(f"/x/{pid}.jpg"),
                   attributes={k: [v] for k, v in attrs.items()}, brand=brand, price=price, sizes=list(sizes))


PRODUCTS = [
    product("black-linen", color="black", material="linen", sizes=["S", "M"], brand="Acme", price=40.0),
    product("navy-cotton", color="navy", material="cotton", sizes=["L"], brand="Other", price=80.0),
    product("red-linen", color="red", material="linen", brand="Zed", price=55.0),  # lists no sizes
    product("navy-wool", color="navy", material="wool", sizes=["m"], price=None),
]
INDEX = Index.from_products(PRODUCTS, np.zeros((len(PRODUCTS), 4), np.float32), np.zeros((len(PRODUCTS), 4), np.float32))


def anchor(**attrs) -> Anchor:
    return Anchor(np.zeros(4, np.float32), {a: AttributeGuess(v, 0.9, "test") for a, v in attrs.items()})


def full_profile() -> Profile:
    return Profile().with_values(parse_assignments(
        ["size=M", "budget=60", "avoid=Black, polyester", "prefer=Linen", "brands=Acme,Zed"]))


def test_parsing_normalises_and_validates():
    p = full_profile()
    assert (p.size, p.budget, p.avoid, p.prefer, p.brands) == ("M", 60.0, ["black", "polyester"], ["linen"],
                                                               ["Acme", "Zed"])
    assert p.with_values({"avoid": "", "budget": "€45"}).avoid == [] and p.with_values({"budget": "€45"}).budget == 45
    assert p.with_values({"size": "L"}).prefer == ["linen"]  # keys not named keep their value
    for bad in (["colour=red"], ["budget=cheap"], ["budget=-5"], ["size"]):
        with pytest.raises(UsageError):
            p.with_values(parse_assignments(bad))


def test_profile_is_stored_versioned_and_atomically(tmp_path, monkeypatch):
    monkeypatch.setenv("FASHREC_HOME", str(tmp_path / "home"))
    assert load_profile().is_empty()  # nothing saved yet
    path = save_profile(full_profile())
    assert path == profile_path() == tmp_path / "home" / "profile.json"
    assert json.loads(path.read_text())["version"] == 1
    assert load_profile() == full_profile()
    assert [f.name for f in path.parent.iterdir()] == ["profile.json"]  # no temp files left behind
    path.write_text(json.dumps({"version": 2, "size": "M"}))
    with pytest.raises(FashrecError, match="newer fashrec"):
        load_profile()
    path.write_text("{not json")
    with pytest.raises(FashrecError, match="unreadable"):
        load_profile()
    assert clear_profile() and not path.exists() and not clear_profile()


def test_hard_limits_budget_and_size():
    applied = apply_profile(full_profile(), INDEX, anchor(color="navy"), Plan(), CriticConfig())
    assert applied.critic.budget == 60
    assert "navy-cotton" in applied.exclude_ids          # lists sizes, none of them M
    assert "red-linen" not in applied.exclude_ids        # lists no sizes: kept
    assert "navy-wool" not in applied.exclude_ids        # offers m (sizes compare case-insensitively)
    # The shopper's own words override the budget for that request.
    own = apply_profile(full_profile(), INDEX, anchor(), Plan(price_max=100), CriticConfig())
    released = apply_profile(full_profile(), INDEX, anchor(), Plan(drop=["price"]), CriticConfig())
    assert own.critic.budget is None and released.critic.budget is None
    assert not next(e for e in own.effects if e.rule == "budget").applied


def test_a_request_that_names_or_releases_sizes_overrides_the_profile_size():
    asked = apply_profile(full_profile(), INDEX, anchor(), Plan(sizes=["l"]), CriticConfig())
    released = apply_profile(full_profile(), INDEX, anchor(), Plan(drop=["size"]), CriticConfig())
    for applied in (asked, released):
        assert "navy-cotton" not in applied.exclude_ids   # offers L, not the profile's M
        assert not next(e for e in applied.effects if e.rule == "size").applied
    assert "size l" in next(e for e in asked.effects if e.rule == "size").detail


def test_avoid_gives_way_to_what_the_shopper_asks_for():
    profile = full_profile()
    applied = apply_profile(profile, INDEX, anchor(color="navy"), Plan(), CriticConfig())
    assert "black-linen" in applied.exclude_ids
    notes = {e.detail for e in applied.effects if e.rule == "avoid"}
    assert "avoid polyester: not a value in this catalog" in notes
    asked = apply_profile(profile, INDEX, anchor(color="navy"), Plan(set={"color": "black"}), CriticConfig())
    assert "black-linen" not in asked.exclude_ids
    chosen = apply_profile(profile, INDEX, anchor(color="black"), Plan(), CriticConfig())
    assert "black-linen" not in chosen.exclude_ids
    assert any("the anchor you chose is black" in e.detail for e in chosen.effects)


def test_preferences_boost_ranking_and_budget_drops_in_the_critic():
    applied = apply_profile(full_profile(), INDEX, anchor(), Plan(), CriticConfig(diversity=False))
    assert applied.boost(PRODUCTS[2]) == {"profile: prefers linen": 0.04, "profile: likes Zed": 0.04}
    assert applied.boost(PRODUCTS[3]) == {}
    vectors = np.eye(4, dtype=np.float32)
    candidates = []
    for pos, (p, similarity) in enumerate(zip(PRODUCTS, (0.45, 0.60, 0.55, 0.58))):
        c = Candidate(p, pos, similarity, similarity)
        for name, bonus in applied.boost(p).items():
            c.boosts[name] = bonus
            c.score += bonus
        candidates.append(c)
    report = select(candidates, 4, vectors, applied.critic)
    # navy-cotton (80) is over the 60 budget; red-linen's two boosts lift it above navy-wool.
    assert [c.product.id for c in report.selected] == ["red-linen", "navy-wool", "black-linen"]
    assert report.dropped["over budget"] == 1


# --- end to end ----------------------------------------------------------------------------------

def test_profile_commands_and_their_effect_on_refine(fashrec, small_catalog, tiny_model):
    assert fashrec("index", small_catalog, "--model", tiny_model, "--json").returncode == 0
    index = small_catalog.parent / "catalog.fashrec-index"
    rows = [json.loads(line) for line in small_catalog.read_text().splitlines()]
    shirt = small_catalog.parent / next(r["image"] for r in rows if r["attributes"]["category"] == "shirt")

    run = fashrec("profile", "set", "budget=60", "avoid=black", "prefer=cotton", "--json")
    assert run.returncode == 0, run.stderr
    assert run.json() == {"version": 1, "size": None, "budget": 60.0, "avoid": ["black"], "prefer": ["cotton"],
                          "brands": []}
    assert fashrec("profile", "set", "colour=red").returncode == 2
    assert fashrec("profile", "show", "--json").json()["budget"] == 60.0

    data = fashrec("refine", shirt, "something casual", "--index", index, "--planner", "rules", "-k", "5",
                   "--json").json()
    rules = {r["rule"]: r for r in data["profile"]["rules"]}
    assert rules["budget"]["applied"] and rules["avoid"]["applied"]
    assert all(r["price"] is None or r["price"] <= 60 for r in data["results"])
    assert all(r["attributes"].get("color") != "black" for r in data["results"])
    assert all("profile:" in r["why"] for r in data["results"] if r["price"] is not None)

    free = fashrec("refine", shirt, "something casual", "--index", index, "--planner", "rules", "-k", "5",
                   "--no-profile", "--json").json()
    assert free["profile"] is None
    human = fashrec("refine", shirt, "something casual", "--index", index, "--planner", "rules", "-k", "5")
    assert "Profile:" in human.stdout and "price capped at 60" in human.stdout

    assert fashrec("profile", "clear", "--json").json() == {"cleared": True}
    assert fashrec("profile", "show", "--json").json()["budget"] is None


def test_profile_limits_without_a_request():
    from fashrec.index.filters import Filter
    from fashrec.profile import profile_limits

    applied = profile_limits(full_profile(), INDEX)
    # navy-cotton: over budget and no size M; black-linen: avoided; navy-wool has no price: kept.
    assert applied.exclude_ids == {"navy-cotton", "black-linen"}
    flt = Filter(exclude_ids=applied.exclude_ids)
    assert [p.id for p in PRODUCTS if flt.matches(p)] == ["red-linen", "navy-wool"]
    assert {e.rule for e in applied.effects} == {"budget", "size", "avoid", "prefer", "brands"}
    assert applied.boost is not None
