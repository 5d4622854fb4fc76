"""`fashrec eval refine` builds its benchmark from a catalog and scores every strategy in one run."""

from __future__ import annotations

from fashrec.evaluation.refine import evaluate_refine, make_requests, split_catalog


def test_requests_are_answerable_and_anchors_never_indexed(tmp_path):
    from fashrec.demo.catalog import make_catalog

    catalog = make_catalog(tmp_path / "shop", n_items=160, seed=1)
    _, indexed, anchors = split_catalog(catalog, tmp_path / "work")
    assert anchors and not {p.id for p in anchors} & {p.id for p in indexed}
    requests = make_requests(indexed, anchors, 20, seed=0)
    assert requests
    for req in requests:
        assert req.text
        assert sum(req.matches(p) for p in indexed) >= 10, req.to_dict()  # every request is answerable
        if req.kind != "price":
            assert not req.matches(req.anchor), req.to_dict()  # and asks for a real change


def test_every_strategy_is_scored_with_brand_exposure(tmp_path, tiny_model, fashrec_env):
    from fashrec.demo.catalog import make_catalog

    catalog = make_catalog(tmp_path / "shop", n_items=160, seed=1)
    report = evaluate_refine(catalog, n=6, planner="rules", model=str(tiny_model), workdir=tmp_path / "work")
    assert report.requests >= 1 and [s.strategy for s in report.strategies] == ["ammr", "image", "text", "fusion"]
    for s in report.strategies:
        assert 0 <= s.precision_at_10 <= 1 and 0 <= s.hit_at_10 <= 1 and s.latency_p50_ms > 0
        assert s.brand_exposure["brands"] >= 1 and 0 <= s.brand_exposure["gini"] <= 1
    assert report.to_dict()["strategies"][0]["brand_exposure"]["shares"]
