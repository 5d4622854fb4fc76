"""Exact search over a large mapped matrix gathers its rows through the mapping one span at a time and
unmaps each span once its rows are copied, and a whole scan unmaps each block it read (so a 1M-item
index does not keep the pages a search touched): the answers, positions and float32 scores, are bit for
bit those of reading through the mapping, for filters, both spaces, float16 matrices, after an update,
and for whole-matrix scans; an index without a mapped file or a graph still searches in memory."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fashrec.index import columns, open_index, read_manifest
from fashrec.index.ann import BLOCK_ROWS, scores_of
from fashrec.index.build import build_index
from fashrec.index.columns import Columns
from fashrec.index.filters import Filter
from fashrec.index.mapped import Mapped, write_mapped


@pytest.fixture()
def built(small_catalog, tiny_model, fashrec_env):
    folder = small_catalog.parent / "idx"
    build_index(small_catalog, folder, model=str(tiny_model))
    return folder


def filters(index) -> list[Filter | None]:
    vocab = index.vocabulary
    colour, category = vocab.values("color"), vocab.values("category")
    return [None, Filter({"color": {colour[0]}}), Filter({"category": set(category[:2])}, {"color": {colour[1]}}),
            Filter(exclude_ids={index.products[0].id, index.products[5].id}), Filter({"color": {"no such"}})]


def answers(index, queries=None, *, scans: bool = True) -> list[tuple]:
    """Every (positions, scores, method) the index gives for a few queries (vectors of the products of
    ``queries``, default ``index``), filters and both spaces; with ``scans``, unfiltered ones and whole
    scans too."""
    queries = queries or index
    out = []
    for pos in (0, 3, 11, 22):
        for space in ("image", "text"):
            query = queries.image_vectors[pos] if space == "text" else queries.text_vectors[pos]
            for flt in filters(index)[0 if scans else 1:]:
                got = index.nearest(np.array(query, np.float32), 7, flt=flt, space=space)
                out.append((got.positions.tolist(), got.scores.tobytes(), got.method))
        if scans:
            out.append(index.scores(queries.image_vectors[pos]).tobytes())
    return out


def read_everything(monkeypatch) -> None:
    """Every mapped matrix counts as large, and a full scan reads one block of rows at a time."""
    monkeypatch.setattr(columns, "READ_ABOVE_BYTES", 0)
    monkeypatch.setattr(columns, "SCAN_ROWS", 8)


def test_reads_answer_bit_for_bit_as_the_mapping_did(built, monkeypatch):
    mapped_answers = answers(open_index(built))
    read_everything(monkeypatch)
    index, queries = open_index(built), open_index(built)
    released = []
    monkeypatch.setattr(index.columns.source, "release", lambda name, start, stop: released.append((start, stop)))
    assert answers(index, queries) == mapped_answers
    # a whole scan goes through the mapping and unmaps every block after scoring it (a gather its spans)
    assert {(s, min(s + 8, 24)) for s in range(0, 24, 8)} <= set(released)
    assert index.columns._gathered                         # filtered rows were read, and kept
    assert answers(index, queries) == mapped_answers       # ... and answer the same from the cache
    # a filtered search gathers its rows span by span and unmaps each span it touched, nothing more
    index = open_index(built)
    spans = []
    monkeypatch.setattr(index.columns.source, "release", lambda name, start, stop: spans.append((name, start, stop)))
    flt = filters(index)[1]
    rows = np.flatnonzero(index.mask(flt))
    index.nearest(np.array(index.image_vectors[0], np.float32), 3, flt=flt)
    want = [("image", int(chunk[0]), int(chunk[-1]) + 1) for chunk in (rows[rows // 8 == s] for s in range(3)) if len(chunk)]
    assert spans == want and len(want) > 1


def test_reads_after_an_update_and_with_float16_matrices(built, small_catalog, monkeypatch):
    rows = [json.loads(line) for line in small_catalog.read_text().splitlines()]
    del rows[4]
    rows[7]["title"] = "a completely different title for its text vector"
    small_catalog.write_text("".join(json.dumps(r) + "\n" for r in rows))
    monkeypatch.setenv("FASHREC_INDEX_VECTORS", "float16")
    build_index(small_catalog, built)
    assert read_manifest(built).count == 23
    index = open_index(built)
    assert index.image_vectors.dtype == np.float16
    mapped_answers = answers(index)
    read_everything(monkeypatch)
    index = open_index(built)
    assert answers(index) == mapped_answers
    picked = np.array([22, 0, 1, 2, 9, 10, 5])   # in any order: gathered in ascending order, given back as asked
    for space in ("image", "text"):
        matrix = index.columns.vector_matrix(space)
        assert np.array_equal(index.columns._copy_spans(space, matrix, picked), matrix[picked])


def test_an_index_without_a_mapped_file_or_graph_still_searches(built, monkeypatch, tmp_path):
    old = open_index(built)
    read_everything(monkeypatch)
    data = json.loads((built / "manifest.json").read_text())
    (built / data.pop("mapped_file")).unlink()
    (built / "manifest.json").write_text(json.dumps(data))
    rows_index = open_index(built)          # every row read into memory: nothing to read by position
    assert not hasattr(rows_index.columns.source, "release")
    assert answers(rows_index) == answers(old)
    from fashrec.index.store import Index

    products = list(rows_index.products)
    memory = Index.from_products(products, rows_index.image_vectors, rows_index.text_vectors)
    assert memory.graph is None and answers(memory) == answers(old)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_rows_and_scans_equal_the_mapped_arrays(tmp_path, monkeypatch, dtype):
    rng = np.random.default_rng(2)
    matrix = rng.standard_normal((5 * BLOCK_ROWS + 37, 48)).astype(dtype)
    path = tmp_path / "m.bin"
    write_mapped(path, {"image": matrix, "labels": np.arange(len(matrix))}, {"count": len(matrix)})
    mapped = Mapped(path)
    monkeypatch.setattr(columns, "SCAN_ROWS", 2 * BLOCK_ROWS)
    cols = Columns(mapped)
    for picked in (np.array([3, 4, 5, 9, 0, 1, len(matrix) - 1]), np.sort(rng.choice(len(matrix), 400, replace=False)),
                   np.arange(len(matrix)), np.zeros(0, np.int64)):
        assert np.array_equal(cols._copy_spans("image", mapped.array("image"), picked), matrix[picked])
    with pytest.raises(IndexError, match="outside the image matrix"):
        cols._copy_spans("image", mapped.array("image"), np.array([len(matrix)]))
    monkeypatch.setattr(columns, "READ_ABOVE_BYTES", 0)
    monkeypatch.setattr(columns, "GATHER_CACHE_BYTES", 450 * 4 * matrix.shape[1])   # kept as float32
    cols = Columns(mapped)
    query = rng.standard_normal(48).astype(np.float32)
    assert cols.scores("image", query).tobytes() == scores_of(mapped.array("image"), query).tobytes()
    mapped.release("image", 0, len(matrix))     # unmapped pages map again on the next read, unchanged
    assert np.array_equal(mapped.array("image"), matrix)
    few, many = np.arange(0, 600, 3), np.arange(0, len(matrix), 2)
    for picked in (few, few, many, few[:-1]):
        assert cols.scores("image", query, picked).tobytes() == scores_of(matrix, query, picked).tobytes()
    # kept: the 200 rows (twice asked, read once) and the 199; the 659 exceed the cache and are not kept
    assert sorted(len(rows) for rows, _ in cols._gathered.values()) == [199, 200]
    assert all(block.dtype == np.float32 for _, block in cols._gathered.values())   # widened once



def test_kept_rows_give_way_least_recently_used_first_within_their_bytes(tmp_path, monkeypatch):
    """The LRU of gathered rows (a repeated filter's) drops its least recently used blocks once the kept
    ones pass GATHER_CACHE_BYTES, and a block that replaces one under the same key is counted once."""
    rng = np.random.default_rng(3)
    matrix = rng.standard_normal((1000, 16)).astype(np.float32)
    path = tmp_path / "m.bin"
    write_mapped(path, {"image": matrix, "labels": np.arange(len(matrix))}, {"count": len(matrix)})
    monkeypatch.setattr(columns, "READ_ABOVE_BYTES", 0)
    monkeypatch.setattr(columns, "GATHER_CACHE_BYTES", 450 * 4 * matrix.shape[1])   # 450 rows of float32
    # every checksum alike: rows of the same length share a key, as rows whose checksums collide would
    monkeypatch.setattr(columns, "zlib", type("SameCrc", (), {"crc32": staticmethod(lambda data: 0)}))
    cols = Columns(Mapped(path))
    query = rng.standard_normal(16).astype(np.float32)

    def ask(picked: np.ndarray) -> list[int]:
        assert cols.scores("image", query, picked).tobytes() == scores_of(matrix, query, picked).tobytes()
        assert cols._gathered_bytes == sum(block.nbytes for _, block in cols._gathered.values())
        return [int(rows[0]) for rows, _ in cols._gathered.values()]   # each kept block's first row, oldest first

    a, b, c, d = np.arange(0, 200), np.arange(200, 399), np.arange(400, 500), np.arange(500, 800)
    assert ask(a) == [0] and ask(b) == [0, 200]
    assert ask(a) == [200, 0]                # asked again: now the most recently used
    assert ask(c) == [0, 400]                # 499 rows > 450: b, the least recently used, goes
    assert ask(d) == [400, 500]              # 600 > 450: a goes, 400 rows are left
    assert ask(np.arange(600, 900)) == [400, 600]   # d's key: its block replaced in place, 400 rows, c kept
