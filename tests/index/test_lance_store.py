"""The LanceDB store (``fashrec index --store lance[:URI]``): filters run inside LanceDB's ``where`` and
keep exactly what ``Filter.matches`` keeps (quotes in values are data, never SQL), the commands answer
on it as on the local store, the manifest says which store an index uses, and lancedb is imported only
when a Lance store is used."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from index_support import assert_every_command_answers_alike

from fashrec.catalog import Product
from fashrec.index import Index, open_index
from fashrec.index.build import build_index
from fashrec.index.filters import Filter
from fashrec.index.items import LoadedItems
from fashrec.index.lance_store import LanceChanges, LanceSearch, write_lance
from fashrec.index.lance_where import where_sql
from fashrec.index.stores import StoreSpec

COLORS = ["men's", "navy blue", 'o\'neil "x"', "50% wool", "rosé"]
BRANDS = ["Nordvik", "kestrel ", "L'Atelier", None]
SIZES = ["S", "m", "42"]


def tricky_products(n: int = 40) -> list[Product]:
    """Values with quotes, percent signs, spaces and accents; unknown prices and stock; an id with a quote."""
    rng = np.random.default_rng(5)
    return [Product(id=f"it's-{i}" if i % 7 == 0 else f"p{i}", image="x", image_path=Path("x"),
                    attributes={"color": sorted({COLORS[i % 5], COLORS[(i * 3) % 5]})} if i % 6 else {},
                    price=None if i % 4 == 0 else float(rng.integers(0, 200)),
                    in_stock=[True, False, None][i % 3], brand=BRANDS[i % 4],
                    sizes=[SIZES[j] for j in range(3) if (i >> j) & 1])
            for i in range(n)]


@pytest.fixture(scope="module")
def tricky(tmp_path_factory) -> tuple[list[Product], LanceSearch]:
    products = tricky_products()
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(products), 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    loaded = LoadedItems(np.arange(len(products)), [p.metadata() for p in products], vectors, vectors,
                         [f"d{i}" for i in range(len(products))])
    index = Index.from_products(products, vectors, vectors)
    uri = str(tmp_path_factory.mktemp("lance") / "db")
    record = write_lance(StoreSpec("lance", uri), Path(uri).parent, None, 0, LanceChanges([], []), loaded, 8, [])
    return products, LanceSearch.open(record, index.columns, len(products), Path(uri).parent)


def lance_ids(search: LanceSearch, products: list[Product], flt: Filter) -> set[str]:
    """Every product LanceDB's where lets through (no mask given: the where alone decides)."""
    found = search.nearest(np.ones(8, np.float32), len(products), flt=flt, allowed=None, ef=None, space="image")
    return {products[p].id for p in found.positions}


values = st.sets(st.sampled_from(COLORS + ["unknown", "x') OR true OR ('"]), max_size=3)
prices = st.one_of(st.none(), st.integers(0, 200).map(float))
names = st.sets(st.sampled_from(["nordvik", "kestrel", "l'atelier", "acme"]), max_size=2)


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.none(), values), values, prices, prices, st.booleans(), names, names,
       st.sets(st.sampled_from(["s", "m", "42", "xl"]), max_size=2),
       st.sets(st.sampled_from(["it's-0", "p1", "p2", "it's-7", "nothing"]), max_size=3))
def test_the_where_keeps_exactly_what_the_filter_matches(tricky, include, exclude, lo, hi, stock, brands,
                                                         refused, sizes, ids):
    products, search = tricky
    flt = Filter({"color": include} if include is not None else {}, {"color": exclude} if exclude else {},
                 lo, hi, stock, ids, brands, refused, sizes)
    assert lance_ids(search, products, flt) == {p.id for p in products if flt.matches(p)}


def test_a_quote_in_a_value_is_data_not_sql(tricky):
    products, search = tricky
    sneaky = Filter(include={"color": {"x') OR true OR ('"}})
    assert "x'') OR true OR (''']" in where_sql(sneaky)   # the quotes doubled: one literal
    assert lance_ids(search, products, sneaky) == set()
    mens = Filter(include={"color": {"men's"}}, exclude_ids={"it's-7"})
    assert lance_ids(search, products, mens) == {p.id for p in products if mens.matches(p)} != set()


def test_every_command_answers_on_lance_as_on_the_local_store(fashrec, small_catalog, tiny_model, tmp_path):
    local, lance = tmp_path / "local", tmp_path / "lance-index"
    assert fashrec("index", small_catalog, "--model", tiny_model, "--index", local).returncode == 0
    built = fashrec("index", small_catalog, "--model", tiny_model, "--index", lance, "--store", "lance", "--json")
    assert built.returncode == 0, built.stderr
    image = str(sorted((small_catalog.parent / "images").iterdir())[2])
    assert_every_command_answers_alike(fashrec, image, local, lance)
    similar = fashrec("similar", image, "--index", lance, "--json").json()
    assert similar["query"]["method"] == "lance-exact"   # it is the Lance table's where that chose the rows


def test_a_dataset_elsewhere_is_found_from_the_manifest_and_kept_by_plain_runs(fashrec, small_catalog, tiny_model,
                                                                              tmp_path):
    folder, dataset = tmp_path / "idx", tmp_path / "datasets" / "shop.lance"
    run = fashrec("index", small_catalog, "--model", tiny_model, "--index", folder, "--store", f"lance:{dataset}")
    assert run.returncode == 0, run.stderr
    assert dataset.is_dir() and not (folder / "lance").exists()
    info = fashrec("info", "--index", folder, "--json").json()
    assert info["store"]["kind"] == "lance" and info["store"]["uri"] == str(dataset.resolve())
    rows = [json.loads(line) for line in small_catalog.read_text().splitlines()]
    small_catalog.write_text("".join(json.dumps({**r, "price": 1.0} if i == 0 else r) + "\n"
                                     for i, r in enumerate(rows[:-1])))
    again = fashrec("index", small_catalog, "--index", folder, "--json").json()   # no --store: stays lance
    assert (again["metadata_updated"], again["removed"]) == (1, 1)
    index = open_index(folder)
    assert index.manifest.store["uri"] == str(dataset.resolve()) and index.searcher.rows == len(rows) - 1
    # A query for the edited product's own kind: search's results are exact matches of what the query
    # names (a "dress" query would now list a shirt only as an alternative), and the price filter runs in Lance.
    kind = rows[0]["attributes"]["category"]
    cheap = fashrec("search", kind, "--index", folder, "--where", "price<=1", "--json").json()["results"]
    assert [r["id"] for r in cheap] == [rows[0]["id"]]
    back = fashrec("index", small_catalog, "--index", folder, "--store", "local", "--json")
    assert back.returncode == 0 and open_index(folder).searcher is None
    assert fashrec("info", "--index", folder, "--json").json()["store"] == {"kind": "local"}


def test_an_unknown_store_and_a_lost_dataset_are_clear_errors(fashrec, small_catalog, tiny_model, tmp_path):
    run = fashrec("index", small_catalog, "--model", tiny_model, "--store", "redis", "--json")
    assert run.returncode == 2 and "--store" in json.loads(run.stderr)["message"]
    folder = tmp_path / "idx"
    assert fashrec("index", small_catalog, "--model", tiny_model, "--index", folder, "--store", "lance").returncode == 0
    assert fashrec("index", "--check", "--index", folder).returncode == 0
    shutil.rmtree(folder / "lance")
    lost = fashrec("search", "dress", "--index", folder, "--json")
    assert lost.returncode == 4 and str(folder / "lance") in json.loads(lost.stderr)["message"]
    check = fashrec("index", "--check", "--index", folder, "--json")
    assert check.returncode == 4 and "Lance dataset" in check.json()["problems"][0]
    repaired = fashrec("index", small_catalog, "--index", folder, "--json")
    assert repaired.returncode == 0 and any("Lance" in n for n in repaired.json()["notes"])
    assert fashrec("search", "dress", "--index", folder, "--json").returncode == 0
    # The dataset inside the folder is recorded relative to it: a moved index answers from its own copy.
    moved = tmp_path / "moved"
    shutil.move(folder, moved)
    assert open_index(moved).searcher.record["uri"] == str(moved / "lance")
    assert fashrec("search", "dress", "--index", moved, "--json").returncode == 0


IMPORTS = """
import sys
from fashrec.index import open_index
index = open_index(sys.argv[1])
index.nearest(index.image_vectors[0], 3)
print(sorted(m for m in ("lance", "lancedb", "pyarrow") if m in sys.modules))
"""


def test_lancedb_is_imported_only_for_a_lance_store(small_catalog, tiny_model, tmp_path, fashrec_env):
    for store, expected in (("local", "[]"), ("lance", "['lance', 'lancedb', 'pyarrow']")):
        folder = tmp_path / store
        build_index(small_catalog, folder, model=str(tiny_model), store=store, export_onnx=False)
        proc = subprocess.run([sys.executable, "-c", IMPORTS, str(folder)], capture_output=True, text=True,
                              env=fashrec_env, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == expected


def test_the_ann_index_is_trained_searched_and_kept_up_to_date(tmp_path, monkeypatch):
    """Past ANN_MIN_ROWS the image vectors get an IVF_HNSW_SQ index (made small here so the test stays
    quick): searches use it, filtered ones included, and an update's new vectors are found at once."""
    from fashrec.index import ann, lance_store

    monkeypatch.setattr(lance_store, "ANN_MIN_ROWS", 200)
    monkeypatch.setattr(ann, "EXACT_MAX_ITEMS", 50)
    rng = np.random.default_rng(1)
    n, dim = 400, 16
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    products = [Product(id=f"p{i}", image="x", image_path=Path("x"), attributes={"color": ["red", "blue"][i % 2]})
                for i in range(n)]

    def written(items: list[Product], vecs: np.ndarray, previous=None, previous_rows=0, changes=None):
        loaded = LoadedItems(np.arange(len(items)), [p.metadata() for p in items], vecs, vecs, ["d"] * len(items))
        record = write_lance(StoreSpec("lance", str(tmp_path / "db")), tmp_path, previous, previous_rows,
                             changes or LanceChanges([], []), loaded, dim, [])
        index = Index.from_products(items, vecs, vecs)
        return record, index, LanceSearch.open(record, index.columns, len(items), tmp_path)

    record, index, search = written(products, vectors)
    assert record["ann"] == {"type": "IVF_HNSW_SQ", "partitions": 1}
    red = Filter(include={"color": {"red"}})
    # Half the rows pass `red`: a broad filter post-filters the graph's top k x margin / share; past
    # POST_FILTER_MIN_SHARE's reach it is a pre-filtered graph search.
    for flt, min_share, method in ((None, 0.2, "lance-ivf_hnsw_sq"), (red, 0.2, "lance-ivf_hnsw_sq-postfilter"),
                                   (red, 0.6, "lance-ivf_hnsw_sq")):
        monkeypatch.setattr(lance_store, "POST_FILTER_MIN_SHARE", min_share)
        hits = 0
        for q in vectors[:20]:
            got = search.nearest(q, 10, flt=flt, allowed=index.mask(flt), ef=None, space="image")
            want = ann.exact_search(vectors, q, 10, index.mask(flt))
            assert got.method == method and (flt is None or all(p % 2 == 0 for p in got.positions))
            assert len(got.positions) == 10
            np.testing.assert_allclose(got.scores, vectors[got.positions] @ q, atol=1e-4)   # exact cosines
            hits += len(set(got.positions) & set(want.positions))
        assert hits >= 0.9 * 200
    # The graph's top k re-scored from the generation's own matrix: the rows Lance's refine 1 gives (it only
    # re-orders them), with the generation's exact scores (to float32 rounding: BLAS sums a row's products in
    # an order that depends on the batch).
    for q in vectors[:10]:
        asked = {"column": "image", "q": q, "k": 10, "metric": "cosine", **lance_store.ann_query(record["ann"], 10, None)}
        assert asked["refine_factor"] == 1
        theirs = search.table.to_table(columns=["id", "_distance"], nearest=asked)["id"].to_pylist()
        got = search.nearest(q, 10, flt=None, allowed=None, ef=None, space="image")
        assert set(theirs) == {products[int(p)].id for p in got.positions}
        np.testing.assert_allclose(got.scores, ann.scores_of(vectors, q, got.positions), rtol=1e-6, atol=1e-7)
        assert (np.diff(got.scores) <= 0).all()
    # A post-filter that keeps fewer than k (here: none of the top 10, the red ones among them excluded)
    # gives way to the pre-filtered search: the answer is never cut short.
    monkeypatch.setattr(lance_store, "POST_FILTER_MIN_SHARE", 0.2)
    monkeypatch.setattr(lance_store, "POST_MARGIN", 0.5)
    top = ann.exact_search(vectors, vectors[1], 10, None).positions
    crowded = Filter(include={"color": {"red"}}, exclude_ids={products[int(p)].id for p in top if p % 2 == 0})
    got = search.nearest(vectors[1], 10, flt=crowded, allowed=index.mask(crowded), ef=None, space="image")
    assert got.method == "lance-ivf_hnsw_sq" and len(got.positions) == 10
    assert all(p % 2 == 0 and p not in top for p in got.positions)
    # An update: ten removed, five moved to new vectors; the table follows, its index kept (not retrained).
    moved = rng.normal(size=(5, dim)).astype(np.float32)
    moved /= np.linalg.norm(moved, axis=1, keepdims=True)
    kept, vecs = products[10:], vectors[10:].copy()
    vecs[:5] = moved
    changes = LanceChanges([p.id for p in products[:10]], [p.id for p in kept[:5]])
    after, index, search = written(kept, vecs, record, n, changes)
    assert after["version"] > record["version"] and after["ann"] == record["ann"]
    for j in range(5):
        got = search.nearest(moved[j], 3, flt=None, allowed=None, ef=None, space="image")
        assert kept[int(got.positions[0])].id == kept[j].id
    everything = search.nearest(vectors[0], len(kept), flt=Filter(exclude_ids={"p10"}), allowed=None, ef=None,
                                space="image")
    assert {kept[int(p)].id for p in everything.positions} == {p.id for p in kept} - {"p10"}
    # A selective filter (below ann.EXACT_SHARE of the rows) is exact: the rows Lance's where keeps, read
    # by row address from a table of several fragments after the update, scored as the local store
    # scores its survivors: the same answer, row by row, as an exact search over the allowed rows.
    few = Filter(include={"color": {"red"}}, exclude_ids={p.id for i, p in enumerate(kept) if i % 2 == 0 and i > 60})
    allowed = index.mask(few)
    assert 0 < allowed.sum() < ann.EXACT_SHARE * len(kept) * 10 and allowed.sum() <= 50
    for q in list(vecs[:10]) + list(moved):
        got = search.nearest(q, 10, flt=few, allowed=allowed, ef=None, space="image")
        want = ann.exact_search(vecs, q, 10, allowed)
        assert got.method == "lance-exact"
        assert got.positions.tolist() == want.positions.tolist()
        np.testing.assert_array_equal(got.scores, want.scores)
    assert len(search.table.get_fragments()) > 1   # the row addresses span fragments


def test_a_large_mapped_matrix_is_gathered_span_by_span_on_the_exact_path(small_catalog, tiny_model, tmp_path,
                                                                          fashrec_env, monkeypatch):
    """The exact path over a large mapped matrix (every matrix counts as large here, a span is 8 rows):
    the rows Lance's where keeps are gathered through the mapping a span at a time, each span unmapped
    once copied; the answer, row by row, that of an exact search over the allowed rows."""
    from fashrec.index import ann, columns

    folder = tmp_path / "idx"
    build_index(small_catalog, folder, model=str(tiny_model), store="lance")
    monkeypatch.setattr(columns, "READ_ABOVE_BYTES", 0)
    monkeypatch.setattr(columns, "SCAN_ROWS", 8)
    index = open_index(folder)
    source, spans = index.columns.source, []
    release = source.release
    monkeypatch.setattr(source, "release", lambda name, a, b: (spans.append((name, a, b)), release(name, a, b)))
    for value in index.vocabulary.values("color")[:3]:
        flt = Filter({"color": {value}})
        allowed = index.mask(flt)
        for pos in (0, 5, 11):
            query = np.array(index.image_vectors[pos], np.float32)
            got = index.nearest(query, 5, flt=flt)
            want = ann.exact_search(np.array(index.image_vectors), query, 5, allowed)
            assert got.method == "lance-exact"
            assert got.positions.tolist() == want.positions.tolist()
            np.testing.assert_array_equal(got.scores, want.scores)
    assert spans and all(name == "image" and a < b and a // 8 == (b - 1) // 8 for name, a, b in spans)


def test_a_reader_with_the_manifest_alone_answers_from_the_dataset(fashrec, small_catalog, tiny_model, tmp_path):
    """Another machine needs only the manifest and the dataset: no item store, mapped file or graph."""
    folder, dataset, bare = tmp_path / "idx", tmp_path / "shared" / "shop.lance", tmp_path / "server"
    built = fashrec("index", small_catalog, "--model", tiny_model, "--index", folder, "--store", f"lance:{dataset}")
    assert built.returncode == 0, built.stderr
    bare.mkdir()
    shutil.copyfile(folder / "manifest.json", bare / "manifest.json")
    image = str(sorted((small_catalog.parent / "images").iterdir())[2])
    assert_every_command_answers_alike(fashrec, image, folder, bare)
    assert sorted(p.name for p in bare.iterdir()) == ["manifest.json"]   # the reader wrote nothing there
    info = fashrec("info", "--index", bare, "--json").json()
    assert info["items"] == len(small_catalog.read_text().splitlines()) and info["store"]["uri"] == str(dataset)


def lance_versions(dataset: Path) -> list[int]:
    import lancedb

    return [int(v["version"]) for v in lancedb.connect(str(dataset)).open_table("items").list_versions()]


def reprice(catalog: Path, rows: list[dict], price: float) -> None:
    catalog.write_text("".join(json.dumps({**r, "price": price} if i == 0 else r) + "\n" for i, r in enumerate(rows)))


def test_old_versions_are_pruned_and_a_reader_of_the_previous_generation_keeps_working(
        fashrec, fashrec_env, small_catalog, tiny_model, tmp_path):
    """Each run adds Lance versions; after a publish only the published and the previous generation's
    survive (past the grace period, 0 s here), so disk stops growing and a reader that opened the
    previous generation just before still answers. The dataset is named by a file:// URI."""
    folder, dataset = tmp_path / "idx", tmp_path / "shared" / "shop.lance"
    fashrec_env["FASHREC_LANCE_KEEP_S"] = "0"
    run = fashrec("index", small_catalog, "--model", tiny_model, "--index", folder, "--store", f"lance:file://{dataset}")
    assert run.returncode == 0, run.stderr
    rows = [json.loads(line) for line in small_catalog.read_text().splitlines()]
    reader = open_index(folder)
    first = reader.manifest.store["version"]
    query = reader.image_vectors[0]
    want = [reader.products[p].id for p in reader.nearest(query, 5).positions]
    for turn, price in enumerate((1.0, 2.0)):
        reprice(small_catalog, rows, price)
        again = fashrec("index", small_catalog, "--index", folder, "--json")
        assert again.returncode == 0, again.stderr
        published = open_index(folder)
        assert published.get(rows[0]["id"]).price == price
        # the reader opened one generation earlier answers as it did (its version was kept)
        assert [reader.products[p].id for p in reader.nearest(query, 5).positions] == want
        assert lance_versions(dataset) == sorted({reader.manifest.store["version"], published.manifest.store["version"]})
        assert any("old version(s) pruned," in n for n in again.json()["notes"]), again.json()["notes"]
        reader, want = published, [published.products[p].id for p in published.nearest(query, 5).positions]
    assert first not in lance_versions(dataset)
    fashrec_env["FASHREC_LANCE_KEEP_S"] = "never"
    before = lance_versions(dataset)
    reprice(small_catalog, rows, 3.0)
    assert fashrec("index", small_catalog, "--index", folder).returncode == 0
    assert set(before) < set(lance_versions(dataset))   # nothing pruned


def test_pruning_that_cannot_run_at_all_says_so_and_names_the_package(fashrec, fashrec_env, small_catalog, tiny_model,
                                                                     tmp_path):
    """Without pylance (what tags and prunes versions) an index run still publishes, as by design, but its
    note says plainly that pruning never ran and what installs it, not a retry that would never succeed."""
    missing = tmp_path / "no-pylance"
    missing.mkdir()
    (missing / "lance.py").write_text('raise ModuleNotFoundError("No module named \'lance\'", name="lance")\n')
    fashrec_env["PYTHONPATH"] = os.pathsep.join([str(missing), *filter(None, [fashrec_env.get("PYTHONPATH")])])
    fashrec_env["FASHREC_LANCE_KEEP_S"] = "0"
    run = fashrec("index", small_catalog, "--model", tiny_model, "--index", tmp_path / "idx", "--store", "lance",
                  "--json")
    assert run.returncode == 0, run.stderr
    said = [n for n in run.json()["notes"] if "not pruned" in n]
    assert len(said) == 1 and "pruning did not run at all" in said[0], run.json()["notes"]
    assert "pylance is not installed" in said[0] and "pip install 'fashrec[scale]'" in said[0], said
    assert "tries again" not in said[0]


def test_a_lance_index_queried_without_its_packages_says_what_to_install_not_to_rebuild(fashrec, fashrec_env,
                                                                                        small_catalog, tiny_model,
                                                                                        tmp_path):
    """A sound Lance index read where pylance (or lancedb) is missing: the error names the missing package and
    the extra that installs it; rebuilding would not help, so it is not what the hint says."""
    run = fashrec("index", small_catalog, "--model", tiny_model, "--index", tmp_path / "idx", "--store", "lance",
                  "--json")
    assert run.returncode == 0, run.stderr
    for module, package in (("lance", "pylance"), ("lancedb", "lancedb")):
        missing = tmp_path / f"no-{module}"
        missing.mkdir()
        (missing / f"{module}.py").write_text(f'raise ModuleNotFoundError("No module named {module!r}", '
                                              f'name="{module}")\n')
        paths = [str(missing), *filter(None, [fashrec_env.get("PYTHONPATH")])]
        env = {**fashrec_env, "PYTHONPATH": os.pathsep.join(paths)}
        shadowed = subprocess.run([sys.executable, "-m", "fashrec", "search", "shirt", "--index", str(tmp_path / "idx"),
                                   "--json"], capture_output=True, text=True, env=env, timeout=300)
        assert shadowed.returncode == 4, shadowed.stderr   # README: the index cannot be read
        error = json.loads(shadowed.stderr)
        assert error["error"] == "index" and f": {package} is not installed (" in error["message"], error
        assert "pip install 'fashrec[scale]'" in error["hint"] and "--rebuild" not in error["hint"], error
    assert fashrec("search", "shirt", "--index", tmp_path / "idx", "--json").returncode == 0   # with them: answers


HOLD = """
import sys, time
from pathlib import Path
from fashrec.index.lance_versions import dataset_lock
from fashrec.index.stores import StoreSpec
with dataset_lock(StoreSpec("lance", sys.argv[1]), Path(sys.argv[2]), []):
    print("held", flush=True)
    time.sleep(300)
"""


def test_a_second_writer_of_one_dataset_fails_naming_it_and_its_holder(fashrec, fashrec_env, small_catalog,
                                                                       tiny_model, tmp_path):
    """Two index folders, one dataset: the second writer fails at once (exit 4) with the dataset and who
    holds it; once the holder is killed, its lock is gone and the next run says what happened."""
    dataset, first, second = tmp_path / "shop.lance", tmp_path / "first", tmp_path / "second"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(dataset), str(first)], stdout=subprocess.PIPE,
                              text=True, env=fashrec_env)
    try:
        assert holder.stdout.readline().strip() == "held"
        blocked = fashrec("index", small_catalog, "--model", tiny_model, "--index", second, "--store",
                          f"lance:{dataset}", "--json")
        assert blocked.returncode == 4, blocked.stderr
        message = json.loads(blocked.stderr)["message"]
        assert str(dataset) in message and f"pid {holder.pid}" in message and str(first) in message
        assert not (second / "manifest.json").exists()
    finally:
        holder.kill()
        holder.wait()
    after = fashrec("index", small_catalog, "--model", tiny_model, "--index", second, "--store", f"lance:{dataset}",
                    "--json")
    assert after.returncode == 0, after.stderr
    assert any(f"pid {holder.pid}" in n and "ended without finishing" in n for n in after.json()["notes"])
    assert fashrec("search", "dress", "--index", second, "--json").returncode == 0
    calm = fashrec("index", small_catalog, "--index", second, "--json").json()   # a clean run leaves no such note
    assert not any("ended without finishing" in n for n in calm["notes"])
