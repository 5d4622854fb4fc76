"""Catalog validation: every bad input gets a message naming file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from fashrec.catalog import Vocabulary, load_catalog
from fashrec.errors import CatalogError


def _img(folder: Path, name: str = "a.jpg", color=(200, 30, 30)) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (40, 60), color).save(folder / name)
    return f"img/{name}"


def _write(path: Path, lines: list) -> Path:
    path.write_text("\n".join(l if isinstance(l, str) else json.dumps(l) for l in lines) + "\n")
    return path


@pytest.fixture()
def folder(tmp_path) -> Path:
    _img(tmp_path / "img", "a.jpg")
    _img(tmp_path / "img", "b.jpg", (10, 10, 120))
    return tmp_path


def good(i: str = "1", image: str = "img/a.jpg", **extra) -> dict:
    return {"id": i, "image": image, "title": "Linen shirt", "attributes": {"Category": "Shirt",
            "color": "Navy  Blue"}, "price": 10.5, **extra}


def test_valid_line_is_normalised(folder):
    load = load_catalog(_write(folder / "c.jsonl", [good(unknown_key={"kept": True})]))
    assert not load.problems
    p = load.products[0]
    assert p.attributes == {"category": ["shirt"], "color": ["navy blue"]}
    assert p.image_path == (folder / "img" / "a.jpg").resolve()
    assert p.extra == {"unknown_key": {"kept": True}}
    assert load.vocabulary.values("color") == ["navy blue"]


@pytest.mark.parametrize("line, field, words", [
    ("{not json", None, "malformed JSON"),
    ({"image": "img/a.jpg"}, "id", "missing"),
    ({"id": "x"}, "image", "missing"),
    ({"id": "x", "image": "img/missing.jpg"}, "image", "not found"),
    ({"id": "x", "image": "https://shop.example/x.jpg"}, "image", "remote"),
    ({"id": ["x"], "image": "img/a.jpg"}, "id", "string"),
    ({"id": "x", "image": "img/a.jpg", "price": "cheap"}, "price", "number"),
    ({"id": "x", "image": "img/a.jpg", "price": -3}, "price", "between"),
    ({"id": "x", "image": "img/a.jpg", "price": 1e300}, "price", "between"),
    ({"id": "x", "image": "img/a.jpg", "in_stock": "yes"}, "in_stock", "true or false"),
    ({"id": "x", "image": "img/a.jpg", "attributes": ["red"]}, "attributes", "object"),
    ({"id": "x", "image": "img/a.jpg", "attributes": {"color": 3}}, "attributes.color", "string"),
    ({"id": "x", "image": "img/a.jpg", "sizes": "M"}, "sizes", "list"),
    ([1, 2], None, "JSON object"),
])
def test_bad_lines_are_reported_with_file_line_field(folder, line, field, words):
    path = _write(folder / "c.jsonl", [good("ok"), line])
    load = load_catalog(path)
    assert [p.id for p in load.products] == ["ok"]
    assert len(load.problems) == 1
    err = load.problems[0]
    assert err.line == 2 and err.path == str(path) and err.field == field
    assert words in err.message and f"{path}:2" in err.message


def test_duplicate_ids_keep_the_first(folder):
    load = load_catalog(_write(folder / "c.jsonl", [good("1"), good("1", "img/b.jpg")]))
    assert len(load.products) == 1 and load.products[0].image == "img/a.jpg"
    assert "duplicate id '1'" in load.problems[0].message and load.problems[0].item_id == "1"


def test_strict_raises_first_problem(folder):
    with pytest.raises(CatalogError) as info:
        load_catalog(_write(folder / "c.jsonl", [good("1"), "{oops"]), strict=True)
    assert info.value.line == 2


def test_invalid_utf8_huge_and_deep_lines(folder):
    path = folder / "c.jsonl"
    deep = "[" * 100_000 + "]" * 100_000
    huge = json.dumps(good("h", description="x" * 1_100_000))
    path.write_bytes(json.dumps(good("1")).encode() + b"\n" + b'{"id": "\xff\xfe"}\n' + deep.encode()
                     + b"\n" + huge.encode() + b"\n")
    load = load_catalog(path)
    assert [p.id for p in load.products] == ["1"]
    messages = [e.message for e in load.problems]
    assert "invalid UTF-8" in messages[0]
    assert "nested too deeply" in messages[1] or "JSON object" in messages[1]
    assert "more than the" in messages[2]


def test_missing_catalog_is_a_clear_error(tmp_path):
    with pytest.raises(CatalogError, match="catalog not found"):
        load_catalog(tmp_path / "nope.jsonl")


def test_list_valued_attributes_and_vocabulary_counts(folder):
    rows = [good("1"), {**good("2"), "attributes": {"color": ["Red", "white"], "category": "shirt"}}]
    vocab = load_catalog(_write(folder / "c.jsonl", rows)).vocabulary
    assert vocab.count("category", "SHIRT") == 2
    assert vocab.attributes_with("red") == ["color"]
    assert isinstance(vocab, Vocabulary) and vocab.has("color", "Navy Blue")
