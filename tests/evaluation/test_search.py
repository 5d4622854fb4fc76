"""`fashrec eval search`: answerable queries, and understood search beating embedding search."""

from __future__ import annotations

from collections import Counter

from fashrec.evaluation.search import SHORT_MAX, make_queries, make_short_queries


def test_queries_are_answerable_and_mixed(tmp_path):
    from fashrec.catalog import load_catalog
    from fashrec.demo import make_catalog

    products = load_catalog(make_catalog(tmp_path / "shop", n_items=160, seed=1)).products
    queries = make_queries(products, 30, seed=0)
    assert len(queries) >= 5 and len({q.text for q in queries}) == len(queries)
    assert len({q.kind for q in queries}) >= 2
    for q in queries:
        assert sum(q.matches(p) for p in products) >= 10, q


def test_short_queries_have_zero_to_five_relevant_products_spread_evenly(tmp_path):
    from fashrec.catalog import load_catalog
    from fashrec.demo import make_catalog

    products = load_catalog(make_catalog(tmp_path / "shop", n_items=160, seed=1)).products
    queries = make_short_queries(products, 24, seed=0)
    assert len(queries) >= 12 and len({q.text for q in queries}) == len(queries)
    for q in queries:   # counted here, product by product: in stock and with all three values
        assert q.kind == "short" and q.exact == sum(q.matches(p) and p.in_stock is not False for p in products), q
    exacts = Counter(q.exact for q in queries)
    assert {0, 1, 2} <= set(exacts) <= set(range(SHORT_MAX + 1))
    assert max(exacts.values()) - min(exacts.values()) <= len(queries) // 2   # drawn in turn from each count


def test_cli_eval_search_scores_both_strategies(fashrec, tmp_path, tiny_model):
    from fashrec.demo import make_catalog

    catalog = make_catalog(tmp_path / "shop", n_items=160, seed=1)
    run = fashrec("eval", "search", catalog, "--n", "12", "--model", tiny_model, "--workdir", tmp_path / "w", "--json")
    assert run.returncode == 0, run.stderr
    data = run.json()
    assert data["queries"] >= 5
    by = {s["strategy"]: s for s in data["strategies"]}
    assert set(by) == {"embedding", "rules"}
    # A random-weight encoder ranks by chance; the understood query still filters on what it names.
    assert by["rules"]["precision_at_10"] > by["embedding"]["precision_at_10"]
    assert by["rules"]["precision_at_10"] >= 0.9
    # Honest answers: no result row breaks what the query was understood to ask; a short answer says so.
    assert by["rules"]["violating_rows"] == 0 and by["rules"]["undeclared"] == 0 and by["rules"]["result_rows"]
    assert by["embedding"]["violating_rows"] is None
    (short,) = data["short"]
    assert short["strategy"] == "rules" and short["queries"] > short["misread"]
    assert short["declared"] == 1.0 and short["found_right"] == 1.0 and short["violating_rows"] == 0
    human = fashrec("eval", "search", catalog, "--n", "5", "--model", tiny_model, "--workdir", tmp_path / "w")
    assert human.returncode == 0 and "P@10" in human.stdout and "violating rows" in human.stdout
