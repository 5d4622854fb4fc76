"""The lean open: a generation's mapped file answers exactly as reading every row did, an index written
before mapped files existed still opens (the old way) and gains one on its next `fashrec index`, a
damaged mapped file is refused and repaired, and the attribute prompts' embeddings are stored and
reused only while they still fit."""

from __future__ import annotations

import json
import shutil
from collections import Counter

import numpy as np
import pytest

from fashrec.catalog import Vocabulary
from fashrec.encoder.openclip import load_encoder
from fashrec.encoder.prompts import AttributePrompts, prompt_key, prompt_matrix
from fashrec.errors import FashrecIndexError
from fashrec.index import open_index, read_manifest
from fashrec.index.build import build_index
from fashrec.index.filters import Filter
from fashrec.index.rows import ProductRows


@pytest.fixture()
def built(small_catalog, tiny_model, fashrec_env):
    folder = small_catalog.parent / "idx"
    build_index(small_catalog, folder, model=str(tiny_model))
    return folder


def as_old_index(folder, tmp_path):
    """A copy of the index as a fashrec from before mapped files wrote it: no mapped file, no field."""
    old = tmp_path / "old-idx"
    shutil.copytree(folder, old)
    data = json.loads((old / "manifest.json").read_text())
    (old / data.pop("mapped_file")).unlink()
    (old / "manifest.json").write_text(json.dumps(data))
    return old


def filters(index) -> list[Filter]:
    vocab = index.vocabulary
    colour, category = vocab.values("color"), vocab.values("category")
    return [Filter({"color": {colour[0]}}), Filter({"category": set(category[:2])}, {"color": {colour[1]}}),
            Filter(price_max=40.0), Filter(price_min=20.0, in_stock_only=True),
            Filter({"color": {"no such colour"}}), Filter(exclude_ids={index.products[0].id}),
            Filter(brands=set(list(vocab.brands)[:1]), sizes=set(list(vocab.sizes)[:2])),
            Filter(exclude_brands=set(list(vocab.brands)[:1]))]


def test_the_mapped_file_answers_as_reading_every_row_did(built, tmp_path):
    lean, old = open_index(built), open_index(as_old_index(built, tmp_path))
    assert lean.products._metas is None and not lean.products._cache  # nothing parsed at open
    assert old.products._metas is not None                            # the old way: every row read
    assert lean.vocabulary.to_dict() == old.vocabulary.to_dict() and len(lean) == len(old) == 24
    computed = Vocabulary.from_products(list(old.products))   # what opening used to compute
    for vocab in (lean.vocabulary, old.vocabulary):
        assert (vocab.counts, vocab.brands, vocab.sizes, vocab.priced) == \
            (computed.counts, computed.brands, computed.sizes, computed.priced)
    assert lean.currency == old.currency and lean.coverage("sleeve") == old.coverage("sleeve")
    assert np.array_equal(lean.image_vectors, old.image_vectors)
    assert np.array_equal(lean.text_vectors, old.text_vectors)
    assert old.vocabulary.brands and old.vocabulary.sizes   # the brand and size filters filter something
    for flt in filters(lean):
        assert np.array_equal(lean.mask(flt), old.mask(flt))
        assert list(lean.mask(flt)) == [flt.matches(p) for p in old.products]
    for pos in (0, 7, 23):
        product = old.products[pos]
        assert lean.position(product.id) == pos and lean.get(product.id) == product
        assert lean.products[pos] == product
    assert lean.position("nope") is None and lean.position("x" * 500) is None
    query = old.image_vectors[4]
    got, expected = lean.nearest(query, 5), old.nearest(query, 5)
    assert np.array_equal(got.positions, expected.positions)
    assert [p.id for p in lean.products_at(got.positions)] == [old.products[int(p)].id for p in got.positions]
    assert list(lean.products) == list(old.products)
    assert lean.carrying("sleeve", by="category") == old.carrying("sleeve", by="category")


def test_prompt_tables_are_stored_and_equal_what_a_query_would_embed(built):
    index = open_index(built)
    encoder = load_encoder(index.encoder_spec)
    stored = AttributePrompts(index, encoder)
    for attribute in ("color", "category", "sleeve"):
        values, matrix = stored.table(attribute)
        kept = index.prompt_table(attribute, prompt_key(encoder.identifier, attribute, values))
        assert kept is not None and np.array_equal(matrix, kept)   # read from the index, not embedded
        assert np.allclose(kept, prompt_matrix(encoder, attribute, values), atol=1e-5)


def test_an_old_index_opens_and_gains_its_mapped_file_on_the_next_update(built, small_catalog, tmp_path):
    old = as_old_index(built, tmp_path)
    before = open_index(old)
    assert not before.manifest.mapped_file
    report = build_index(small_catalog, old)
    assert any("written now" in n for n in report.notes)
    manifest = read_manifest(old)
    assert manifest.mapped_file and (old / manifest.mapped_file).is_file()
    after = open_index(old)
    assert after.products._metas is None
    assert [p.id for p in after.products] == [p.id for p in before.products]
    again = build_index(small_catalog, old)
    assert "index already up to date" in again.notes


def test_a_damaged_mapped_file_is_refused_then_repaired(built, small_catalog):
    path = built / read_manifest(built).mapped_file
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FashrecIndexError, match="truncated"):
        open_index(built)
    report = build_index(small_catalog, built)
    assert any(n.startswith("repaired:") and "truncated" in n for n in report.notes), report.notes
    assert len(open_index(built)) == 24


def test_zeroed_vectors_in_the_mapped_file_are_found_by_the_audit_and_repaired(built, small_catalog, fashrec):
    """Queries verify only the vectors' sizes (hashing them would cost more than the query): every
    `fashrec index` run and --check verify them and compare them with the item store."""
    from fashrec.index.mapped import Mapped

    path = built / read_manifest(built).mapped_file
    mapped = Mapped(path)
    entry = mapped._arrays["image"]
    data = bytearray(path.read_bytes())
    start = mapped._start + entry["offset"]
    data[start:start + 4 * 32] = bytes(4 * 32)
    path.write_bytes(bytes(data))
    check = fashrec("index", "--check", "--index", built, "--json")
    assert check.returncode == 4 and any("mapped" in p and "checksum" in p for p in check.json()["problems"])
    report = build_index(small_catalog, built)
    assert any(n.startswith("repaired:") for n in report.notes), report.notes
    repaired = open_index(built)
    assert np.allclose(np.linalg.norm(repaired.image_vectors, axis=1), 1.0, atol=1e-3)
    assert build_index(small_catalog, built).notes == ["index already up to date"]


def test_an_index_copied_without_its_times_opens_the_checked_way_and_is_remapped(built, small_catalog, tmp_path):
    copy = tmp_path / "copied"
    shutil.copytree(built, copy, copy_function=shutil.copyfile)   # new modification times
    index = open_index(copy)
    assert index.products._metas is not None   # every row read and checked, not the stale description
    assert [p.id for p in index.products] == [p.id for p in open_index(built).products]
    from fashrec.index.audit import audit_index
    found = audit_index(copy)
    assert found.clean and found.remap   # nothing damaged: --check says so
    report = build_index(small_catalog, copy)
    assert any("changed after its mapped file was written: written now" in n for n in report.notes)
    assert open_index(copy).products._metas is None
    assert build_index(small_catalog, copy).notes == ["index already up to date"]


def test_an_index_copied_with_its_times_kept_keeps_the_fast_open(built, small_catalog, tmp_path):
    """cp -a / rsync -a / a restore: a new inode and ctime, the same size and mtime. The item stamp travels
    inside the index, so it is size and mtime only (not fsutil.FileStamp, which machine-local records use):
    the copy opens without reading its rows, answers as the original does, and needs no re-index."""
    copy = tmp_path / "copied-with-times"
    shutil.copytree(built, copy, copy_function=shutil.copy2)
    items = read_manifest(copy).items_file
    assert (copy / items).stat().st_ino != (built / items).stat().st_ino
    index = open_index(copy)
    assert index.products._metas is None   # the mapped file still describes the copied store
    assert [p.id for p in index.products] == [p.id for p in open_index(built).products]
    assert build_index(small_catalog, copy).notes == ["index already up to date"]


def test_a_flipped_byte_in_a_checked_array_is_caught(built):
    from fashrec.index.mapped import Mapped

    path = built / read_manifest(built).mapped_file
    mapped = Mapped(path)
    entry = mapped._arrays["postings.0"]
    data = bytearray(path.read_bytes())
    data[mapped._start + entry["offset"]] ^= 0x01
    path.write_bytes(bytes(data))
    index = open_index(built)
    with pytest.raises(FashrecIndexError, match="checksum"):
        index.mask(Filter({index.vocabulary.attributes()[0]: {"x"}}))


def test_a_metadata_only_update_keeps_the_graph_and_the_prompt_tables(built, small_catalog):
    first = read_manifest(built)
    rows = [json.loads(line) for line in small_catalog.read_text().splitlines()]
    rows[0]["price"] = 1234.0
    small_catalog.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = build_index(small_catalog, built)
    assert report.metadata_updated == 1
    second = read_manifest(built)
    assert second.generation > first.generation and second.hnsw["crc32"] == first.hnsw["crc32"]
    index = open_index(built)
    assert index.products[index.position(rows[0]["id"])].price == 1234.0
    # A new value changes the vocabulary: that attribute's prompt table is embedded again, others reused.
    rows[1]["attributes"]["color"] = "ultraviolet"
    small_catalog.write_text("".join(json.dumps(r) + "\n" for r in rows))
    build_index(small_catalog, built)
    index = open_index(built)
    assert "ultraviolet" in index.vocabulary.values("color")
    values, matrix = AttributePrompts(index, load_encoder(index.encoder_spec)).table("color")
    assert matrix.shape == (len(values), index.dimension)
    assert index.prompt_table("color", "stale key") is None


def test_rows_are_read_in_one_query_and_kept(built):
    index = open_index(built)
    rows = index.products
    assert isinstance(rows, ProductRows)
    picked = rows.many([5, 1, 5, 9])
    assert [p.id for p in picked] == [rows[5].id, rows[1].id, rows[5].id, rows[9].id]
    assert set(rows._cache) == {1, 5, 9}
    assert rows[-1] == rows[23] and len(rows[2:5]) == 3
    with pytest.raises(IndexError):
        rows[24]


def test_float16_matrices_answer_as_float32_and_pass_the_audit(built, small_catalog, tiny_model, monkeypatch,
                                                              fashrec):
    """$FASHREC_INDEX_VECTORS=float16 halves the exact-search matrices; queries score in float32 and find
    the same products; a float32 file (every index written before, and the default) still opens."""
    from fashrec.index.audit import audit_index
    from fashrec.index.mapped import Mapped

    monkeypatch.setenv("FASHREC_INDEX_VECTORS", "float16")
    half_folder = small_catalog.parent / "idx-float16"
    build_index(small_catalog, half_folder, model=str(tiny_model))
    half, full = open_index(half_folder), open_index(built)
    mapped = Mapped(half_folder / read_manifest(half_folder).mapped_file)
    assert mapped.array("image").dtype == mapped.array("text").dtype == np.float16
    assert full.image_vectors.dtype == np.float32
    assert np.array_equal(half.text_vectors, full.text_vectors.astype(np.float16))
    from fashrec.index.ann import scores_of

    for pos in (0, 5, 11, 23):
        for space, query in (("image", full.text_vectors[pos]), ("text", full.image_vectors[pos]),
                             ("image", full.image_vectors[pos])):
            got, expected = half.nearest(query, 5, space=space), full.nearest(query, 5, space=space)
            exact = scores_of(full.image_vectors if space == "image" else full.text_vectors, query, got.positions)
            # each product found scores, in float32, as well as float32's 5th (two within float16's
            # rounding may swap places: the tiny random model scores many products alike)
            assert np.all(exact >= expected.scores[-1] - 2e-3), (pos, space)
            assert got.scores.dtype == np.float32 and np.allclose(got.scores, exact, atol=2e-3)
            assert got.positions[0] == expected.positions[0] or abs(got.scores[0] - expected.scores[0]) < 2e-3
    assert audit_index(half_folder).clean   # the item store's float32 vectors, as float16, are what it holds
    check = fashrec("index", "--check", "--index", half_folder, "--json")
    assert check.returncode == 0, check.stdout + check.stderr
    assert build_index(small_catalog, half_folder).notes == ["index already up to date"]


def test_float16_scores_are_float32_products_block_by_block():
    from fashrec.index.ann import BLOCK_ROWS, scores_of

    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((3 * BLOCK_ROWS + 17, 32)).astype(np.float16)
    query = rng.standard_normal(32).astype(np.float32)
    rows = rng.choice(len(matrix), size=BLOCK_ROWS + 5, replace=False)
    wide = matrix.astype(np.float32)
    assert np.allclose(scores_of(matrix, query), wide @ query, rtol=1e-5, atol=1e-5)
    assert np.allclose(scores_of(matrix, query, rows), wide[rows] @ query, rtol=1e-5, atol=1e-5)
    assert scores_of(matrix, query).dtype == np.float32


def test_a_misspelt_vector_dtype_is_refused_before_any_encoding(small_catalog, tmp_path, monkeypatch):
    from fashrec.errors import UsageError

    monkeypatch.setenv("FASHREC_INDEX_VECTORS", "float8")
    with pytest.raises(UsageError, match="FASHREC_INDEX_VECTORS"):
        build_index(small_catalog, tmp_path / "never")
    assert not (tmp_path / "never").exists()


def without_offer_counts(folder, tmp_path):
    """A copy of the index as a fashrec from before the offer counts wrote it: its mapped file lacks them."""
    from fashrec.index.mapped import Mapped, write_mapped

    old = tmp_path / "no-offer-idx"
    shutil.copytree(folder, old)
    path = old / read_manifest(old).mapped_file
    mapped = Mapped(path)
    arrays = {name: np.array(mapped.array(name)) for name in mapped._arrays}
    facts = {k: v for k, v in mapped.facts.items() if k != "offer"}
    del mapped
    write_mapped(path, arrays, facts)
    return old


def test_info_reports_the_offer_from_stored_counts_as_reading_every_product_did(built, small_catalog, tmp_path):
    rows = [json.loads(line) for line in small_catalog.read_text().splitlines()]
    prices = sorted(r["price"] for r in rows if r.get("price") is not None)
    stock = {"in_stock": sum(r.get("in_stock") is True for r in rows),
             "out_of_stock": sum(r.get("in_stock") is False for r in rows),
             "unknown": sum(r.get("in_stock") is None for r in rows)}
    index = open_index(built)
    assert index.columns.offer_counts() is not None       # the writer stored them: info reads no product
    data = index.info()
    assert (data["price"]["min"], data["price"]["max"], data["price"]["priced"]) == (prices[0], prices[-1],
                                                                                    len(prices))
    assert data["price"]["median"] == float(np.median(prices))
    assert data["brands"] == dict(Counter(r["brand"] for r in rows if r.get("brand")).most_common())
    assert data["sizes"] == dict(Counter(s for r in rows for s in r.get("sizes") or ()).most_common())
    assert data["stock"] == stock and sum(stock.values()) == len(rows)
    assert len(data["brands"]) > 1 and len(data["sizes"]) > 1 and stock["out_of_stock"]   # a telling shop
    offer_keys = ("items", "price", "brands", "sizes", "stock", "vocabulary", "attributes")
    for other in (without_offer_counts(built, tmp_path), as_old_index(built, tmp_path)):
        reopened = open_index(other)
        assert reopened.columns.offer_counts() is None or other.name == "old-idx"
        assert {k: reopened.info()[k] for k in offer_keys} == {k: data[k] for k in offer_keys}, other.name
