"""`fashrec plan` and `fashrec eval planner` end to end, in a subprocess, on a tiny catalog."""

from __future__ import annotations

import json

import pytest

CATALOG = [
    {"id": "1", "image": "img/1.jpg", "title": "White linen shirt", "price": 39, "currency": "EUR",
     "attributes": {"category": "shirt", "color": "white", "material": "linen", "gender": "men"}},
    {"id": "2", "image": "img/2.jpg", "title": "Navy striped skirt", "price": 29, "currency": "EUR",
     "attributes": {"category": "skirt", "color": "navy", "material": "cotton", "pattern": "striped",
                    "gender": "women"}},
    {"id": "3", "image": "img/3.jpg", "title": "Black silk dress", "price": 59, "currency": "EUR",
     "attributes": {"category": "dress", "color": "black", "material": "silk", "gender": "women"}},
]


@pytest.fixture()
def catalog(tmp_path):
    path = tmp_path / "catalog.jsonl"  # images are never opened: the plan only needs the vocabulary
    path.write_text("\n".join(json.dumps(p) for p in CATALOG) + "\n")
    return path


def test_plan_json(fashrec, catalog):
    run = fashrec("plan", "the women's version as a skirt in navy, not black, under $30", "--catalog",
                  catalog, "--planner", "rules", "--anchor", "color=white", "--json")
    assert run.returncode == 0, run.stderr
    plan = run.json()
    assert plan["set"] == {"gender": "women", "category": "skirt", "color": "navy"}
    assert plan["exclude"] == {"color": ["black"]}
    assert plan["price"] == {"min": None, "max": 30.0}
    assert any("USD" in n and "EUR" in n for n in plan["notes"])  # the catalog's currency was read


def test_plan_hybrid_default_without_a_model(fashrec, catalog, tmp_path):
    """The default planner works with a missing model: rules, plus a notice."""
    run = fashrec("plan", "in bla", "--catalog", catalog, "--llm", tmp_path / "missing.gguf", "--json")
    assert run.returncode == 0, run.stderr
    plan = run.json()
    assert plan["source"] == "hybrid" and any(n.startswith("fallback:") for n in plan["notes"])


def test_plan_for_people(fashrec, catalog):
    run = fashrec("plan", "forget the budget, any colour, in linen", "--catalog", catalog, "--planner", "rules")
    assert run.returncode == 0, run.stderr
    assert "material = linen" in run.stdout and "price" in run.stdout and "color" in run.stdout


def test_plan_reads_sizes_brands_and_a_band(fashrec, tmp_path):
    rows = [{**row, "brand": brand, "sizes": sizes}
            for row, brand, sizes in zip(CATALOG, ["Nordvik", "Kestrel", "Nordvik"], [["S", "M"], ["M"], ["L"]])]
    catalog = tmp_path / "sized.jsonl"
    catalog.write_text("\n".join(json.dumps(p) for p in rows) + "\n")
    run = fashrec("plan", "in size M, from nordvick, around 50 euros", "--catalog", catalog, "--planner", "rules",
                  "--json")
    assert run.returncode == 0, run.stderr
    plan = run.json()
    assert (plan["brands"], plan["sizes"], plan["price"]) == (["nordvik"], ["m"], {"min": 40.0, "max": 60.0})
    human = fashrec("plan", "in size M, from nordvick", "--catalog", catalog, "--planner", "rules")
    assert "brand" in human.stdout and "nordvik" in human.stdout and "size" in human.stdout


def test_plan_batch(fashrec, catalog):
    lines = [json.dumps({"text": "in navy"}), "not json", json.dumps({"text": 5}),
             json.dumps({"text": "a different colour", "anchor": {"color": "black"}}), ""]
    run = fashrec("plan", "--batch", "-", "--catalog", catalog, "--planner", "rules", input="\n".join(lines))
    assert run.returncode == 1  # some lines failed
    out = [json.loads(line) for line in run.stdout.splitlines()]
    assert [o["line"] for o in out] == [1, 2, 3, 4]
    assert out[0]["plan"]["set"] == {"color": "navy"}
    assert out[1]["error"] == "usage" and out[2]["error"] == "usage"
    assert out[3]["plan"]["exclude"] == {"color": ["black"]}


def test_plan_errors_are_json_in_json_mode(fashrec, tmp_path, catalog):
    run = fashrec("plan", "in navy", "--catalog", tmp_path / "missing.jsonl", "--json")
    assert run.returncode == 3 and run.stdout == ""
    assert json.loads(run.stderr.strip().splitlines()[-1])["error"] == "catalog"
    run = fashrec("plan", "--catalog", catalog, "--json")  # neither TEXT nor --batch
    assert run.returncode == 2 and json.loads(run.stderr.strip().splitlines()[-1])["error"] == "usage"
    run = fashrec("plan", "in navy", "--catalog", catalog, "--planner", "nope", "--json")
    assert run.returncode == 2
    run = fashrec("plan", "in navy", "--catalog", catalog, "--anchor", "colour", "--json")
    assert run.returncode == 2


@pytest.mark.parametrize("bad", ["=red", "color=", " = ", "colour"])
def test_plan_anchor_without_a_name_or_value_is_refused_in_refines_words(fashrec, catalog, bad):
    """plan --anchor is read as refine's --anchor is: the option named, its attribute=value shape, a hint."""
    said = f"--anchor expects attribute=value, got '{bad}'"
    hint = "e.g. --anchor category=dresses --anchor color=red"
    run = fashrec("plan", "in navy", "--catalog", catalog, "--planner", "rules", "--anchor", bad, "--json")
    assert run.returncode == 2 and run.stdout == "", run.stderr
    assert json.loads(run.stderr) == {"error": "usage", "message": said, "hint": hint}
    human = fashrec("plan", "in navy", "--catalog", catalog, "--planner", "rules", "--anchor", bad)
    assert human.returncode == 2 and human.stdout == "", human.stderr
    assert f"Error: {said}" in human.stderr and f"Hint: {hint}" in human.stderr, human.stderr


def test_plan_without_an_index_says_how_to_get_one(fashrec, tmp_path):
    run = fashrec("plan", "in navy", "--index", tmp_path / "no-index", "--json")
    assert run.returncode == 4
    assert json.loads(run.stderr.strip().splitlines()[-1])["error"] == "index"


def test_eval_planner_rules(fashrec, tmp_path):
    from planner_support import DATA

    run = fashrec("eval", "planner", "--data", DATA / "planner_phrases.jsonl", "--planner", "rules",
                  "--limit", "40", "--json")
    assert run.returncode == 0, run.stderr
    report = run.json()
    score = report["planners"][0]
    assert score["planner"] == "rules" and score["cases"] == 40
    assert 0.0 <= score["exact_match"] <= 1.0
    assert set(score["fields"]) == {"set", "exclude", "price", "drop", "stock", "brand", "size", "relative"}
    assert score["latency_ms"]["p95"] >= score["latency_ms"]["p50"]
    human = fashrec("eval", "planner", "--data", DATA / "planner_phrases.jsonl", "--planner", "rules",
                    "--limit", "10")
    assert human.returncode == 0 and "exact" in human.stdout


def test_the_help_of_anchor_says_attribute_value_as_its_refusal_does(fashrec):
    """plan --help and refine --help describe --anchor in the words the refusal uses ("--anchor expects
    attribute=value"), so the help and the error never name the shape two ways."""
    for command in ("plan", "refine"):
        run = fashrec(command, "--help")
        assert run.returncode == 0, run.stderr
        assert "attribute=value" in run.stdout and "attr=value" not in run.stdout, run.stdout
