"""`fashrec eval search`: answerable queries, and understood search beating embedding search."""

from __future__ import annotations

from fashrec.evaluation.search import make_queries


def test_queries_are_answerable_and_mixed(tmp_path):
    from fashrec.catalog import load_catalog
    from fashrec.demo import make_catalog

    products = load_catalog(make_catalog(tmp_path / "shop", n_items=160, seed=1)).products
    queries = make_queries(products, 30, seed=0)
    assert len(queries) >= 5 and len({q.text for q in queries}) == len(queries)
    assert len({q.kind for q in queries}) >= 2
    for q in queries:
        assert sum(q.matches(p) for p in products) >= 10, q


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
    human = fashrec("eval", "search", catalog, "--n", "5", "--model", tiny_model, "--workdir", tmp_path / "w")
    assert human.returncode == 0 and "P@10" in human.stdout
