"""Product-quantisation codes for large matrices (fashrec.index.pq): a filtered exact search over many
allowed rows scores them by their codes, re-scores a shortlist exactly and says so ("exact-rerank");
what it returns carries exact scores and holds the exact top 10 (recall >= 0.95); without codes (an old
mapped file) or with few allowed rows it answers exactly as before; codes survive an incremental run,
are re-encoded for changed rows, are added to an index written before them, and damage to them is caught
like any mapped-file damage. Every matrix counts as large here (columns.CODES_ABOVE_BYTES = 0)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fashrec import __version__
from fashrec.errors import FashrecIndexError
from fashrec.index import ann, columns, items, mapped, open_index, pq, read_manifest
from fashrec.index.audit import audit_index
from fashrec.index.build import build_index
from fashrec.index.filters import Filter
from fashrec.index.manifest import SCHEMA_VERSION, Manifest, write_manifest

N, DIM = 4000, 64


def clustered(n: int, seed: int) -> np.ndarray:
    """Unit vectors around 40 centres in a 12-dimensional subspace plus noise (ann_bench's shape, small)."""
    structure = np.random.default_rng(7)
    centres = structure.standard_normal((40, DIM)).astype(np.float32)
    basis = structure.standard_normal((12, DIM)).astype(np.float32) / np.sqrt(12)
    rng = np.random.default_rng(seed)
    out = centres[rng.integers(40, size=n)] + rng.standard_normal((n, 12)).astype(np.float32) @ basis \
        + 0.3 * rng.standard_normal((n, DIM)).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def share(i: int) -> str:
    return "few" if i % 20 == 0 else ("half" if i % 2 else "rest")   # 200 / 2,000 / 1,800 items


def write_index(folder: Path, vectors: np.ndarray, *, quantise: bool = True) -> Path:
    """An index of ``vectors`` through fashrec's own writers (item store, mapped file, graph, manifest)."""
    folder.mkdir(parents=True)
    conn = items.connect(folder / "items-1.sqlite")
    items.migrate(conn)
    with conn:
        items.upsert(conn, [(f"p{i}", f"{i:064x}", f"{i:064x}",
                             {"id": f"p{i}", "image": f"/img/{i}.jpg", "title": f"product {i}",
                              "attributes": {"share": share(i)}}, vectors[i], vectors[i])
                            for i in range(len(vectors))])
    loaded = items.load_all(conn, DIM)
    conn.close()
    arrays, facts = columns.derive(loaded, identifier="test", items_path=folder / "items-1.sqlite", quantise=quantise)
    mapped.write_mapped(folder / "mapped-1.bin", arrays, facts)
    crc = ann.save_hnsw(ann.build_hnsw(vectors), folder / "vectors-1.hnsw", len(vectors))
    write_manifest(folder, Manifest(schema_version=SCHEMA_VERSION,
                                    encoder={"spec": "test", "identifier": "test", "dimension": DIM},
                                    generation=1, items_file="items-1.sqlite", vectors_file="vectors-1.hnsw",
                                    count=len(vectors), hnsw={"M": ann.HNSW_M, "crc32": crc},
                                    fashrec_version=__version__, mapped_file="mapped-1.bin"))
    return folder


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    """(an index with codes, the same without them, its vectors, 60 queries)."""
    root = tmp_path_factory.mktemp("codes")
    vectors = clustered(N, 1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(columns, "CODES_ABOVE_BYTES", 0)
        coded = write_index(root / "coded", vectors)
    plain = write_index(root / "plain", vectors, quantise=False)
    return coded, plain, vectors, clustered(60, 2)


def test_a_filtered_search_reranks_a_shortlist_exactly_with_high_recall(synthetic):
    coded, plain, vectors, queries = synthetic
    index, exact = open_index(coded), open_index(plain)
    assert index.columns.codes("image") is not None and exact.columns.codes("image") is None
    half = Filter({"share": {"half"}})
    allowed = index.mask(half)
    hits = 0
    for query in queries:
        got = index.nearest(query, 10, flt=half)
        want = exact.nearest(query, 10, flt=half)
        assert got.method == "exact-rerank" and want.method == "exact"   # 2,000 allowed: 4 x 256 or more
        assert allowed[got.positions].all() and len(got.positions) == 10
        # the scores are exact: those of the matrix rows returned (to float32 rounding: BLAS sums a product
        # in an order that depends on how many rows it multiplies; an approximate score is ~1e-2 off)
        assert_exact(got, vectors, query)
        assert (np.diff(got.scores) <= 0).all()
        hits += len(set(got.positions.tolist()) & set(want.positions.tolist()))
    assert hits / (10 * len(queries)) >= 0.95
    # the text space is searched the same way (its matrix has codes of its own)
    got = index.nearest(queries[0], 10, flt=half, space="text")
    assert got.method == "exact-rerank"
    assert_exact(got, vectors, queries[0])


def assert_exact(got, vectors: np.ndarray, query: np.ndarray) -> None:
    np.testing.assert_allclose(got.scores, vectors[got.positions].astype(np.float64) @ query, rtol=0, atol=1e-6)
    np.testing.assert_allclose(got.scores, ann.scores_of(vectors, query, got.positions), rtol=0, atol=1e-6)


def test_the_shortlist_is_what_the_codes_rank_best(synthetic):
    """Not an accident of a generous shortlist: the codes' own ranking is what picks the rows."""
    coded, _, vectors, queries = synthetic
    index = open_index(coded)
    codes, books = index.columns.codes("image")
    rows = np.flatnonzero(index.mask(Filter({"share": {"half"}})))
    approx = pq.approximate(codes[rows], pq.table(books, queries[0]))
    shortlisted, scores = index.columns.shortlist("image", queries[0], rows, 10)
    assert len(shortlisted) == columns.SHORTLIST_ROWS
    assert set(shortlisted.tolist()) == set(rows[np.argsort(-approx)[:columns.SHORTLIST_ROWS]].tolist())
    # approximate scores follow the exact ones closely (32 slices of 2 values, 256 centroids each)
    assert np.corrcoef(approx, vectors[rows] @ queries[0])[0, 1] > 0.9


def test_without_codes_or_with_few_allowed_rows_the_answer_is_the_exact_one(synthetic):
    coded, plain, _, queries = synthetic
    index, exact = open_index(coded), open_index(plain)
    few = Filter({"share": {"few"}})          # 200 allowed rows: fewer than 4 x the shortlist
    for query in queries[:10]:
        for flt, k in ((few, 10), (Filter({"share": {"half"}}), 300), (None, 10)):
            got, want = index.nearest(query, k, flt=flt), exact.nearest(query, k, flt=flt)
            assert got.method == want.method and got.method != "exact-rerank"
            assert got.positions.tolist() == want.positions.tolist()
            assert got.scores.tobytes() == want.scores.tobytes()


def test_training_is_deterministic():
    vectors = clustered(600, 3)
    books = pq.train(vectors)
    assert np.array_equal(books, pq.train(vectors))
    assert np.array_equal(pq.encode(vectors, books), pq.encode(vectors, books))
    assert np.array_equal(pq.encode(vectors, books, np.array([5, 1])), pq.encode(vectors, books)[[5, 1]])


def test_truncated_or_inconsistent_codes_are_refused_and_a_corrupt_array_is_found(synthetic, tmp_path):
    coded, _, _, queries = synthetic
    copy = tmp_path / "copy"
    shutil.copytree(coded, copy)
    path = copy / "mapped-1.bin"
    found = mapped.Mapped(path)
    layout = found._arrays["codes.image"]
    start = found._start + int(layout["offset"])
    del found
    # a flipped code byte: any byte is a valid code, so a query is not refused (its scores stay exact), but
    # the checksum every `fashrec index` run and `fashrec index --check` verify catches it
    data = bytearray(path.read_bytes())
    data[start + 5] ^= 0xFF
    path.write_bytes(bytes(data))
    index = open_index(copy)
    got = index.nearest(queries[0], 10, flt=Filter({"share": {"half"}}))
    assert got.method == "exact-rerank"
    audit = audit_index(copy)
    assert not audit.clean and any("'codes.image' fails its checksum" in p for p in audit.problems)
    # a file cut short inside the codes: refused at open, as any array running past the end
    path.write_bytes(bytes(data[:start + 100]))
    with pytest.raises(FashrecIndexError, match="runs past the end of the file"):
        open_index(copy)
    # facts that promise codes of another shape than the matrix's: refused when first used
    with pytest.raises(FashrecIndexError, match="image codes .* do not fit"):
        columns.Columns(_with_codes_shape(coded / "mapped-1.bin", tmp_path / "bad.bin")).codes("image")


def _with_codes_shape(path: Path, out: Path) -> mapped.Mapped:
    """A copy of the mapped file at ``path`` whose image codes lack their last row."""
    found = mapped.Mapped(path)
    arrays = {name: np.array(found.array(name)) for name in found._arrays}
    arrays["codes.image"] = arrays["codes.image"][:-1]
    mapped.write_mapped(out, arrays, found.facts)
    return mapped.Mapped(out)


# -- through `fashrec index` (the tiny 32-dimensional model: 32 slices of one value) -----------------
def _codes_by_id(folder: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    index = open_index(folder)
    codes, books = index.columns.codes("image")
    return np.array(books), {index.products[i].id: np.array(codes[i]) for i in range(len(index))}


def test_codes_survive_an_incremental_run_and_changed_rows_are_encoded_again(small_catalog, tiny_model,
                                                                          fashrec_env, monkeypatch):
    monkeypatch.setattr(columns, "CODES_ABOVE_BYTES", 0)
    folder = small_catalog.parent / "idx"
    build_index(small_catalog, folder, model=str(tiny_model))
    books, before = _codes_by_id(folder)
    rows = [json.loads(line) for line in small_catalog.read_text().splitlines()]
    changed = rows[3]["id"]
    Image.new("RGB", (40, 40), (250, 250, 0)).save(small_catalog.parent / rows[3]["image"])   # a new vector
    small_catalog.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = build_index(small_catalog, folder)
    assert report.updated == 1
    books_after, after = _codes_by_id(folder)
    assert np.array_equal(books_after, books)            # the codebooks are reused, not trained again
    index = open_index(folder)
    assert set(after) == set(before)
    for product_id, code in after.items():
        if product_id != changed:
            assert np.array_equal(code, before[product_id]), product_id   # kept
    position = index.position(changed)
    fresh = pq.encode(np.array(index.image_vectors), books, np.array([position]))[0]
    assert np.array_equal(after[changed], fresh) and not np.array_equal(after[changed], before[changed])
    # every kept code is also what encoding the row now would give: nothing stale was kept
    everything = pq.encode(np.array(index.image_vectors), books)
    assert np.array_equal(np.array(index.columns.codes("image")[0]), everything)
    # a damaged code is mapped-file damage: the audit names it, the next run writes the file anew (the
    # damaged file's codebooks are not trusted: trained again, deterministically the same here)
    manifest = read_manifest(folder)
    path = folder / manifest.mapped_file
    found = mapped.Mapped(path)
    at = found._start + int(found._arrays["codes.image"]["offset"]) + 7
    del found, index
    data = bytearray(path.read_bytes())
    data[at] ^= 0x55
    path.write_bytes(bytes(data))
    assert any("'codes.image' fails its checksum" in p for p in audit_index(folder).problems)
    repaired = build_index(small_catalog, folder)
    assert not any("already up to date" in note for note in repaired.notes), repaired.notes
    assert audit_index(folder).clean
    index = open_index(folder)
    vectors = np.array(index.image_vectors)
    books_now, codes_now = (np.array(a) for a in index.columns.codes("image")[::-1])
    assert np.array_equal(books_now, pq.train(vectors))
    assert np.array_equal(codes_now, pq.encode(vectors, books_now))


def test_an_index_written_before_codes_gains_them_on_the_next_run(small_catalog, tiny_model, fashrec_env,
                                                                 monkeypatch):
    folder = small_catalog.parent / "idx"
    build_index(small_catalog, folder, model=str(tiny_model))   # small: no codes
    assert open_index(folder).columns.codes("image") is None
    monkeypatch.setattr(columns, "CODES_ABOVE_BYTES", 0)       # now every matrix counts as large
    report = build_index(small_catalog, folder)
    assert any("no search codes for its image and text matrix" in note for note in report.notes), report.notes
    index = open_index(folder)
    assert index.columns.codes("image") is not None and index.columns.codes("text") is not None
    again = build_index(small_catalog, folder)
    assert any("already up to date" in note for note in again.notes), again.notes


def test_the_lance_store_reranks_the_rows_its_where_keeps(small_catalog, tiny_model, tmp_path, fashrec_env,
                                                         monkeypatch):
    monkeypatch.setattr(columns, "CODES_ABOVE_BYTES", 0)
    folder = tmp_path / "idx"
    build_index(small_catalog, folder, model=str(tiny_model), store="lance")
    monkeypatch.setattr(columns, "SHORTLIST_ROWS", 4)     # 24 products: a shortlist of 4 from 8 or more rows
    monkeypatch.setattr(columns, "SHORTLIST_PER_K", 1)
    monkeypatch.setattr(columns, "SHORTLIST_FACTOR", 2)
    index = open_index(folder)
    matrix = np.array(index.image_vectors)
    methods = set()
    colours = index.vocabulary.values("color")
    for flt in [*(Filter({"color": {value}}) for value in colours), Filter(exclude_ids={index.products[1].id}),
                Filter(exclude={"color": {colours[0]}})]:
        allowed = index.mask(flt)
        query = matrix[0]
        got = index.nearest(query, 3, flt=flt)
        methods.add(got.method)
        assert got.method == ("lance-exact-rerank" if allowed.sum() >= 8 else "lance-exact")
        assert allowed[got.positions].all()
        assert_exact(got, matrix, query)
    assert "lance-exact-rerank" in methods
