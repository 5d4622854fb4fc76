"""Honest answers in `fashrec search` (issue 11), end to end through the real command on the example shop
with the shipped model: results hold only exact matches, a short answer says so and counts each way
forward, near misses come apart as labelled alternatives, --strict lists none.

Every expectation is counted here from catalog.example.jsonl, product by product (in stock, as refine
treats stock), never taken from the answer itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PRODUCTS = [json.loads(line) for line in (REPO / "catalog.example.jsonl").read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def example_index(tmp_path_factory):
    where = tmp_path_factory.mktemp("example") / "idx"
    env = {**os.environ, "FASHREC_HOME": str(where.parent / "home"), "FASHREC_THREADS": "2"}
    proc = subprocess.run([sys.executable, "-m", "fashrec", "index", str(REPO / "catalog.example.jsonl"),
                           "--index", str(where), "--json"], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return where


def matching(**wanted: str) -> set[str]:
    """In-stock products of the example shop with every wanted attribute value."""
    return {p["id"] for p in PRODUCTS if p.get("in_stock", True)
            and all(p["attributes"].get(a) == v for a, v in wanted.items())}


def search(fashrec, index, *args: str) -> dict:
    run = fashrec("search", *args, "--index", index, "--json")
    assert run.returncode == 0, run.stderr
    return run.json()


def check_honest(data: dict, wanted: dict[str, str]) -> None:
    """Results have everything; each option's count is the catalog's; each alternative lacks only what
    its option gives up, and that is what it says it lacks."""
    assert data["query"]["understood"]["set"] == wanted
    assert {r["id"] for r in data["results"]} == matching(**wanted)
    short = data["shortfall"]
    assert short["found"] == len(data["results"]) and short["required"] == [f"{a}={v}" for a, v in wanted.items()]
    options = {o["number"]: o for o in short["options"]}
    for o in short["options"]:
        (dropped,) = o["drop"]
        rest = {a: v for a, v in wanted.items() if f"{a}={v}" != dropped}
        assert o["count"] == len(matching(**rest)) and o["exact"], o
    assert data["alternatives"], "a short answer with a way forward lists near misses"
    shown = {r["id"] for r in data["results"]}
    for alt in data["alternatives"]:
        assert alt["id"] not in shown and alt["in_stock"] is not False
        (lacks,) = alt["lacks"]
        assert options[alt["option"]]["drop"] == [lacks]
        attribute, value = lacks.split("=")
        assert alt["attributes"][attribute] != value and alt["instead"][lacks] == alt["attributes"][attribute]
        assert all(alt["attributes"][a] == v for a, v in wanted.items() if a != attribute)
        assert alt["why"].startswith(f"lacks {lacks} (has {alt['attributes'][attribute]})")
    assert sum(o["shown"] for o in short["options"]) == len(data["alternatives"])


def test_a_short_answer_says_so_counts_each_way_forward_and_keeps_near_misses_apart(fashrec, example_index, tmp_path):
    wanted = {"material": "linen", "category": "shirt", "gender": "women"}
    exact = matching(**wanted)
    assert 0 < len(exact) < 5            # the example shop has a few: a short answer
    data = search(fashrec, example_index, "linen shirt for women", "-k", "5")
    check_honest(data, wanted)
    assert data["shortfall"]["message"] == f"only {len(exact)} linen shirts for women"
    assert len(data["results"]) + len(data["alternatives"]) == 5
    assert all(set(r["satisfied"]) == {"material=linen", "category=shirt", "gender=women"} and r["violated"] == []
               for r in data["results"])
    sheet = tmp_path / "short.png"
    human = fashrec("search", "linen shirt for women", "-k", "5", "--index", example_index, "--sheet", sheet)
    assert human.returncode == 0, human.stderr
    assert f"Only {len(exact)} linen shirts for women (you asked for 5)." in human.stdout
    assert "Ways forward:" in human.stdout and "Alternatives (each lacks something):" in human.stdout
    assert "lacks material=linen" in human.stdout and sheet.read_bytes()[:4] == b"\x89PNG"


def test_an_answer_with_no_exact_match_is_empty_and_offers_the_near_misses(fashrec, example_index):
    wanted = {"color": "red", "material": "linen", "category": "shirt"}
    assert not matching(**wanted)
    data = search(fashrec, example_index, "red linen shirt", "-k", "6")
    assert data["results"] == [] and data["shortfall"]["message"] == "no red linen shirts"
    check_honest(data, wanted)
    best = data["shortfall"]["options"][0]   # the option with most products, of those that yield any
    assert best["count"] == max(o["count"] for o in data["shortfall"]["options"]) > 0 and best["shown"]
    human = fashrec("search", "red linen shirt", "-k", "6", "--index", example_index)
    assert "No red linen shirts (you asked for 6)." in human.stdout and "No results." not in human.stdout


def test_strict_lists_no_near_misses_and_the_same_exact_results(fashrec, example_index):
    default = search(fashrec, example_index, "linen shirt for women", "-k", "5")
    strict = search(fashrec, example_index, "linen shirt for women", "-k", "5", "--strict")
    assert strict["alternatives"] == [] and strict["query"]["strict"] is True
    assert [r["id"] for r in strict["results"]] == [r["id"] for r in default["results"]]
    assert strict["shortfall"]["message"] == default["shortfall"]["message"]
    assert strict["shortfall"]["alternatives"] is False
    assert [o["count"] for o in strict["shortfall"]["options"]] == [o["count"] for o in default["shortfall"]["options"]]
    line = json.dumps({"text": "red linen shirt", "strict": True}) + "\n"
    run = fashrec("search", "--batch", "-", "--index", example_index, input=line)
    answer = json.loads(run.stdout)
    assert run.returncode == 0 and answer["results"] == [] and answer["alternatives"] == []
    assert answer["shortfall"]["message"] == "no red linen shirts"


def test_a_full_answer_declares_nothing_and_a_where_filter_is_named_in_the_shortfall(fashrec, example_index):
    full = search(fashrec, example_index, "t-shirt", "-k", "5")
    assert len(full["results"]) == 5 and full["shortfall"] is None and full["alternatives"] == []
    assert all(r["attributes"]["category"] == "t-shirt" for r in full["results"])
    cream = matching(category="shirt", gender="women", color="cream")
    data = search(fashrec, example_index, "shirt for women", "-k", "4", "--where", "color=cream")
    assert {r["id"] for r in data["results"]} == cream
    assert data["shortfall"]["message"] == f"only {len(cream)} shirt{'s' if len(cream) != 1 else ''} for women " \
                                           "within the filter (color=cream)"
    assert all(r["attributes"]["color"] == "cream" for r in data["alternatives"])   # --where is never given up
