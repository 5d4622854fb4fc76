"""`fashrec eval refine` builds its benchmark from a catalog and scores every strategy in one run."""

from __future__ import annotations

from fashrec.evaluation.refine import evaluate_refine, make_requests, split_catalog


def test_requests_are_answerable_and_anchors_never_indexed(tmp_path):
    from fashrec.demo import make_catalog

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
    from fashrec.demo import make_catalog

    catalog = make_catalog(tmp_path / "shop", n_items=160, seed=1)
    report = evaluate_refine(catalog, n=6, planner="rules", model=str(tiny_model), workdir=tmp_path / "work")
    assert report.requests >= 1 and [s.strategy for s in report.strategies] == ["ammr", "image", "text", "fusion"]
    for s in report.strategies:
        assert 0 <= s.precision_at_10 <= 1 and 0 <= s.hit_at_10 <= 1 and s.latency_p50_ms > 0
        assert s.brand_exposure["brands"] >= 1 and 0 <= s.brand_exposure["gini"] <= 1
    assert report.to_dict()["strategies"][0]["brand_exposure"]["shares"]
    ammr = report.strategies[0]
    # Honesty: no result row breaks a stated constraint or the confident identity, every short answer
    # says so, and what a shopper sees first (results, then alternatives) scores at least the results.
    assert ammr.violation_rate == 0 and ammr.undeclared_shortfalls == 0
    assert 0 <= ammr.shortfall_rate <= 1 and ammr.shown_precision_at_10 >= ammr.precision_at_10
    assert 0 <= ammr.other_reading_rate <= 1
    assert report.to_dict()["strategies"][0]["violation_rate"] == 0


def test_shade_requests_target_clearly_darker_or_lighter_colours(tmp_path):
    import random
    from pathlib import Path

    from fashrec.catalog import Product
    from fashrec.evaluation.refine import RequestMaker

    def item(i, color):
        return Product(id=f"p{i}", image="x.jpg", image_path=Path("x.jpg"),
                       attributes={"category": ["shirt"], "gender": ["men"], "color": [color]})

    colours = ["white", "cream", "yellow", "pink", "grey", "navy blue", "black", "maroon", "red", "olive"]
    indexed = [item(i * 100 + j, c) for i, c in enumerate(colours) for j in range(12)]
    maker = RequestMaker(indexed, random.Random(0))
    base = {"category": "shirt", "gender": "men", "color": "brown"}
    requests = [r for _ in range(30) if (r := maker._shade(item(999, "brown"), base)) is not None]
    assert requests and all(r.kind == "shade" and r.target == {"category": "shirt", "gender": "men"}
                            for r in requests)
    # Darker than brown (L* 32) by at least 12: navy blue and black; maroon (L* 26) is too close.
    assert all("darker" in r.text and r.target_in == {"color": ["black", "navy blue"]} for r in requests)
    assert requests[0].matches(item(1, "black")) and not requests[0].matches(item(2, "maroon"))
    # "lighter than brown" would allow half the colours: too vague to be asked.
    assert len(requests) < 30


def test_labelled_anchor_row_runs_ammr_on_the_products_own_labels(tmp_path, tiny_model, fashrec_env):
    """`ammr-labelled` answers the same requests as ammr, from an anchor that carries the product's own
    labels (certain) instead of what was read from its photo: the loss due to anchor reading, measured."""
    from fashrec.ammr import Refiner
    from fashrec.demo import make_catalog
    from fashrec.encoder import load_encoder
    from fashrec.evaluation.refine import ANSWERED, LABELLED, answered_anchor, labelled_anchor
    from fashrec.index import open_index
    from fashrec.planner import create_planner

    catalog = make_catalog(tmp_path / "shop", n_items=160, seed=1)
    report = evaluate_refine(catalog, n=6, planner="rules", model=str(tiny_model), workdir=tmp_path / "work",
                             strategies=("ammr", LABELLED, ANSWERED))
    assert [s.strategy for s in report.strategies] == ["ammr", LABELLED, ANSWERED]
    assert all(0 <= s.precision_at_10 <= 1 and s.latency_p50_ms > 0 for s in report.strategies)
    ammr, labelled, answered = report.strategies
    assert answered.asked == ammr.asked and labelled.asked == 0.0   # certain labels leave nothing to ask
    eager = evaluate_refine(catalog, n=6, planner="rules", model=str(tiny_model), workdir=tmp_path / "work",
                            strategies=("ammr", ANSWERED), ask_below=1.01)    # confirm every reading
    assert eager.ask_below == 1.01 and eager.to_dict()["ask_below"] == 1.01
    assert eager.strategies[0].asked >= ammr.asked and eager.strategies[0].asked > 0
    assert eager.strategies[0].precision_at_10 == ammr.precision_at_10        # asking changes no result

    index = open_index(tmp_path / "work" / "index")
    refiner = Refiner(index, load_encoder(index.encoder_spec), create_planner("rules"))
    _, _, anchors = split_catalog(catalog, tmp_path / "work")
    read = refiner.anchor_from_image(anchors[0].image_path)
    known = labelled_anchor(anchors[0], read)
    assert known.values() == {a: v[0] for a, v in anchors[0].attributes.items() if v}
    assert {g.confidence for g in known.attributes.values()} == {1.0} and known.vector is read.vector
    assert known.catalog_id is None        # still a photo from outside the index

    # The shopper answers what refine asked about (an unsure gender) with the product's label; the rest
    # stays as read.
    from fashrec.ammr.types import AttributeGuess, Unsure

    read.attributes["gender"] = AttributeGuess("unisex" if anchors[0].first("gender") != "unisex" else "men",
                                               0.3, "test")
    told = answered_anchor(anchors[0], read, [Unsure("gender", read.attributes["gender"], 0.5)])
    assert told.attributes["gender"] == AttributeGuess(anchors[0].first("gender"), 1.0, "shopper")
    assert {a: g for a, g in told.attributes.items() if a != "gender"} == \
        {a: g for a, g in read.attributes.items() if a != "gender"}
