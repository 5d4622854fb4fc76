"""`fashrec eval shortfall`: requests built to have 0-5 exact matches; every answer must say its
shortfall and name each yielding relaxation with its count."""

from __future__ import annotations

import json

from fashrec.evaluation.refine import split_catalog
from fashrec.evaluation.shortfall import MAX_EXACT, make_suite


def test_requests_have_the_exact_matches_they_were_built_for(tmp_path):
    from fashrec.demo import make_catalog

    catalog = make_catalog(tmp_path / "shop", n_items=200, seed=2)
    _, indexed, anchors = split_catalog(catalog, tmp_path / "work")
    suite = make_suite(indexed, anchors, 12, seed=0)
    assert suite and {r.exact for r in suite} <= set(range(MAX_EXACT + 1))
    for req in suite:       # counted again here, one product at a time
        same = [p for p in indexed if p.first("category") == req.anchor.first("category")
                and p.first("gender") == req.anchor.first("gender") and p.in_stock is not False]
        assert sum(p.first(req.attribute) == req.value for p in same) == req.exact
        assert req.drops[f"{req.attribute}={req.value}"] == len(same)
        assert req.value != req.anchor.first(req.attribute) and req.value in req.text


def test_every_short_answer_is_said_and_its_ways_forward_counted(fashrec, tmp_path, tiny_model):
    from fashrec.demo import make_catalog

    catalog = make_catalog(tmp_path / "shop", n_items=200, seed=2)
    run = fashrec("eval", "shortfall", catalog, "--n", "8", "--model", tiny_model, "--workdir", tmp_path / "work",
                  "--json")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    scored = report["requests"] - report["misread"]
    assert scored >= 1
    assert report["violating_rows"] == 0 and report["over_exact"] == 0
    assert report["declared"] == 1.0 and report["found_right"] == 1.0
    # The tiny model draws photos alike: a short page that left out near-duplicates would fail here.
    assert report["found_all"] == 1.0 and report["exact_recall"] == 1.0
    assert report["named"] == 1.0 and report["named_wrong"] == []
    assert 0 <= report["exact_recall"] <= 1
