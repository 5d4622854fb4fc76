"""Index build, incremental update, encoder mismatch, locking, interruption and corruption; the tests of
what a store must do run against both stores (the ``store`` fixture: local and lance)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fashrec.errors import EncoderMismatchError, FashrecIndexError, IndexLockedError
from fashrec.index import ann, lance_store, open_index, read_manifest
from fashrec.index.build import build_index
from fashrec.index.filters import Filter, parse_where
from fashrec.index.lock import writer_lock

COLORS = {"red": (200, 30, 30), "blue": (30, 30, 200), "green": (30, 160, 30), "black": (10, 10, 10)}


def make_rows(folder: Path, n: int = 8) -> list[dict]:
    (folder / "img").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        color = list(COLORS)[i % len(COLORS)]
        Image.new("RGB", (30 + i, 40), COLORS[color]).save(folder / "img" / f"{i}.png")
        rows.append({"id": f"p{i}", "image": f"img/{i}.png", "title": f"{color} thing {i}",
                     "attributes": {"color": color, "category": "shirt" if i % 2 else "dress"},
                     "price": 10.0 + i, "in_stock": i != 3})
    return rows


def write(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


@pytest.fixture()
def shop(tmp_path, fashrec_env):
    rows = make_rows(tmp_path)
    return tmp_path, rows, write(tmp_path / "shop.jsonl", rows)


def test_build_then_incremental(shop, tiny_model, store):
    folder, rows, catalog = shop
    first = build_index(catalog, model=str(tiny_model), store=store)
    assert (first.added, first.total) == (8, 8)
    idx = open_index(folder / "shop.fashrec-index")
    assert len(idx) == 8 and idx.dimension == 32
    assert np.allclose(np.linalg.norm(idx.image_vectors, axis=1), 1.0, atol=1e-4)

    again = build_index(catalog)
    assert (again.added, again.updated, again.removed, again.unchanged) == (0, 0, 0, 8)

    Image.new("RGB", (33, 40), (250, 250, 0)).save(folder / "img" / "1.png")  # new image bytes
    rows[2]["title"] = "renamed"          # text change
    rows[4]["price"] = 99.0               # metadata only
    rows[6]["in_stock"] = False           # metadata only: out of stock now
    rows[3]["in_stock"] = True            # ... and back in stock
    del rows[5]                           # removal
    rows.append({**rows[0], "id": "new", "image": "img/0.png"})
    report = build_index(write(catalog, rows))
    assert (report.added, report.updated, report.metadata_updated, report.removed) == (1, 2, 3, 1)
    idx = open_index(folder / "shop.fashrec-index")
    assert len(idx) == 8 and idx.get("p5") is None and idx.get("p4").price == 99.0
    assert idx.get("p2").title == "renamed"
    assert (idx.searcher is not None) == (store == "lance")   # the manifest says which store: no flag
    # Every search sees the update: the removal, the new item, the price and the stock edits.
    everything = {idx.products[p].id for p in idx.nearest(idx.image_vectors[0], 20).positions}
    assert everything == {r["id"] for r in rows}
    found = idx.nearest(idx.image_vectors[0], 20, flt=parse_where(["price>=50"]))
    assert [idx.products[p].id for p in found.positions] == ["p4"]
    stocked = idx.nearest(idx.image_vectors[0], 20, flt=Filter(in_stock_only=True))
    assert {idx.products[p].id for p in stocked.positions} == {r["id"] for r in rows} - {"p6"}
    # The current generation's files and the previous one's (kept for readers) remain.
    files = sorted(p.name for p in (folder / "shop.fashrec-index").iterdir())
    assert files == [".lock", "items-1.sqlite", "items-2.sqlite", *(["lance"] if store == "lance" else []),
                     "manifest.json", "mapped-1.bin", "mapped-2.bin",
                     "vectors-1.hnsw", "vectors-2.hnsw"]  # the no-op run wrote none


def test_bad_line_keeps_previous_version(shop, tiny_model, store):
    folder, rows, catalog = shop
    build_index(catalog, model=str(tiny_model), store=store)
    rows[1]["price"] = "oops"                 # p1's line turns bad
    report = build_index(write(catalog, rows + ["{garbled"]))
    assert len(report.skipped) == 2 and report.kept_previous == 1
    assert open_index(folder / "shop.fashrec-index").get("p1") is not None


def test_removals_postponed_when_a_line_is_unreadable(shop, tiny_model, store):
    folder, rows, catalog = shop
    build_index(catalog, model=str(tiny_model), store=store)
    report = build_index(write(catalog, rows[:-1] + ["{garbled"]))
    assert report.removed == 0 and "postponed" in report.notes[0]
    assert open_index(folder / "shop.fashrec-index").get(rows[-1]["id"]) is not None


def test_corrupt_image_is_skipped_not_fatal(shop, tiny_model):
    folder, rows, catalog = shop
    (folder / "img" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 50)
    rows.append({"id": "bad", "image": "img/bad.png"})
    report = build_index(write(catalog, rows), model=str(tiny_model))
    assert report.total == 8 and report.skipped[0].field == "image" and report.skipped[0].line == 9


def test_encoder_mismatch_is_refused(shop, tiny_model, tiny_model_b):
    folder, _, catalog = shop
    build_index(catalog, model=str(tiny_model))
    with pytest.raises(EncoderMismatchError) as info:
        build_index(catalog, model=str(tiny_model_b))
    assert "--rebuild" in info.value.hint
    assert build_index(catalog, model=str(tiny_model_b), rebuild=True).added == 8


def test_interrupted_run_leaves_previous_index_usable(shop, tiny_model, monkeypatch, store):
    folder, rows, catalog = shop
    build_index(catalog, model=str(tiny_model), store=store)
    before = read_manifest(folder / "shop.fashrec-index")

    def crash(*a, **k):
        raise KeyboardInterrupt

    # Killed while writing: the local store in its graph; the lance store after its merge committed
    # a new Lance version, before the manifest named it.
    monkeypatch.setattr(*((lance_store, "_ann_index") if store == "lance" else (ann, "build_hnsw")), crash)
    rows.append({**rows[0], "id": "extra"})
    with pytest.raises(KeyboardInterrupt):
        build_index(write(catalog, rows))
    idx = open_index(folder / "shop.fashrec-index")
    assert len(idx) == 8 and read_manifest(idx.folder).generation == before.generation
    assert idx.nearest(idx.image_vectors[0], 3).positions[0] == 0
    assert idx.manifest.store == before.store   # the Lance version readers check out is the old one
    monkeypatch.undo()
    assert build_index(catalog).added == 1
    idx = open_index(folder / "shop.fashrec-index")
    assert {idx.products[p].id for p in idx.nearest(idx.image_vectors[0], 20).positions} == \
        {r["id"] for r in rows}


def test_lock_stops_a_second_writer(shop, tiny_model, store):
    folder, _, catalog = shop
    with writer_lock(folder / "shop.fashrec-index"):
        with pytest.raises(IndexLockedError):
            build_index(catalog, model=str(tiny_model), store=store)


def test_future_schema_and_corruption_are_clear(shop, tiny_model):
    folder, _, catalog = shop
    build_index(catalog, model=str(tiny_model))
    where = folder / "shop.fashrec-index"
    manifest = json.loads((where / "manifest.json").read_text())
    (where / manifest["vectors_file"]).write_bytes(b"garbage")
    with pytest.raises(FashrecIndexError, match="corrupt|holds"):
        open_index(where)
    manifest["schema_version"] = 99
    (where / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(FashrecIndexError, match="newer fashrec"):
        open_index(where)
    assert build_index(catalog, model=str(tiny_model), rebuild=True).total == 8
    assert len(open_index(where)) == 8


def test_filtered_search_only_returns_matches(shop, tiny_model, store):
    folder, _, catalog = shop
    build_index(catalog, model=str(tiny_model), store=store)
    idx = open_index(folder / "shop.fashrec-index")
    found = idx.nearest(idx.image_vectors[1], 5, flt=parse_where(["color=red", "color=blue",
                                                                  "category!=dress"]))
    assert sorted(idx.products[p].id for p in found.positions) == ["p1", "p5"]
    found = idx.nearest(idx.image_vectors[0], 5, flt=parse_where(["category=dress", "color!=red"]))
    assert sorted(idx.products[p].id for p in found.positions) == ["p2", "p6"]


def test_hnsw_filter_and_exact_agree_on_larger_sets(monkeypatch):
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(3000, 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    graph = ann.build_hnsw(vecs)
    allowed = rng.random(3000) < 0.5
    monkeypatch.setattr(ann, "EXACT_MAX_ITEMS", 100)
    got = ann.search(graph, vecs, vecs[7], 10, allowed=allowed, ef=200)
    want = ann.exact_search(vecs, vecs[7], 10, allowed)
    assert got.method == "hnsw-filtered" and allowed[got.positions].all()
    assert len(set(got.positions) & set(want.positions)) >= 9
    sparse = np.zeros(3000, dtype=bool)
    sparse[[5, 50, 500]] = True
    assert ann.search(graph, vecs, vecs[7], 10, allowed=sparse).method == "exact"


def test_a_graph_s_links_and_default_ef_follow_its_size(monkeypatch, tmp_path, fashrec_env):
    """Below HNSW_LARGE_ITEMS a graph is built with HNSW_M links and searched at HNSW_EF_SEARCH; from there
    on with HNSW_M_LARGE at HNSW_EF_LARGE; a large graph with M 16 (built before HNSW_M_LARGE) at
    HNSW_EF_LARGE_M16: whether just built or loaded (the graph's own M decides); an explicit ef wins."""
    assert (ann.default_m(34_866), ann.default_ef(34_866)) == (ann.HNSW_M, ann.HNSW_EF_SEARCH)  # the real catalog's
    assert (ann.default_m(ann.HNSW_LARGE_ITEMS - 1), ann.default_ef(ann.HNSW_LARGE_ITEMS - 1)) == (16, 128)
    assert (ann.default_m(ann.HNSW_LARGE_ITEMS), ann.default_ef(ann.HNSW_LARGE_ITEMS)) == (32, 64)
    assert ann.default_ef(ann.HNSW_LARGE_ITEMS, 16) == ann.HNSW_EF_LARGE_M16 == 160
    rng = np.random.default_rng(1)
    vecs = rng.normal(size=(3000, 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    allowed = rng.random(3000) < 0.5
    monkeypatch.setattr(ann, "EXACT_MAX_ITEMS", 100)
    for large_from, m, expected_m, expected in ((3001, None, ann.HNSW_M, ann.HNSW_EF_SEARCH),
                                                (3000, None, ann.HNSW_M_LARGE, ann.HNSW_EF_LARGE),
                                                (3000, 16, 16, ann.HNSW_EF_LARGE_M16)):
        monkeypatch.setattr(ann, "HNSW_LARGE_ITEMS", large_from)
        graph = ann.build_hnsw(vecs, m=m)
        assert (graph.M, graph.ef) == (expected_m, expected)
        path = tmp_path / f"graph-{large_from}-{m}.hnsw"
        loaded = ann.load_hnsw(path, 16, 3000, crc32=ann.save_hnsw(graph, path, 3000))
        assert (loaded.M, loaded.ef) == (expected_m, expected)
        assert ann.search(loaded, vecs, vecs[1], 10, ef=300).method == "hnsw" and loaded.ef == 300
        assert ann.search(loaded, vecs, vecs[1], 10).method == "hnsw" and loaded.ef == expected
        assert ann.search(loaded, vecs, vecs[1], 10, allowed=allowed).method == "hnsw-filtered"
        assert loaded.ef == expected


def test_a_large_index_is_built_with_more_links_and_its_manifest_says_so(monkeypatch, shop, tiny_model):
    """An index of a catalog from HNSW_LARGE_ITEMS items on builds its graph with HNSW_M_LARGE, and the
    manifest records the M and ef the graph really has."""
    tmp_path, _, catalog = shop
    build_index(catalog, tmp_path / "small", model=str(tiny_model))
    small = read_manifest(tmp_path / "small").hnsw
    assert (small["M"], small["ef"]) == (ann.HNSW_M, ann.HNSW_EF_SEARCH)
    monkeypatch.setattr(ann, "HNSW_LARGE_ITEMS", 8)
    build_index(catalog, tmp_path / "large", model=str(tiny_model))
    large = read_manifest(tmp_path / "large").hnsw
    assert (large["M"], large["ef"]) == (ann.HNSW_M_LARGE, ann.HNSW_EF_LARGE)
    graph = open_index(tmp_path / "large").graph
    assert (graph.M, graph.ef) == (ann.HNSW_M_LARGE, ann.HNSW_EF_LARGE)
