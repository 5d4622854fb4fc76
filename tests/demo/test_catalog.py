"""The drawn demo catalog: deterministic, valid, varied, and the shipped copy equal to its generator."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fashrec.catalog import load_catalog
from fashrec.demo import (
    CATEGORIES,
    COLORS,
    MATERIALS,
    PATTERNS,
    draw_garment,
    make_catalog,
    plan_catalog,
)
from fashrec.demo.assortment import ANCHORS, CATEGORY_RULES, MATERIAL_RULES
from fashrec.demo.garments import luminance
from fashrec.errors import FashrecError, UsageError

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "catalog.example.jsonl"
REQUIRED_MATERIALS = {"linen", "cotton", "denim", "wool", "silk", "leather"}


def _grey(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"), dtype=np.float64)


def _chest(color: str, material: str, seed: int = 1) -> np.ndarray:
    """A patch from the middle of a sweater: only cloth, no outline, seams, buttons or background."""
    return _grey(draw_garment("sweater", color, material=material, seed=seed))[50:80, 35:60]


def _high_frequency(patch: np.ndarray) -> float:
    """Mean absolute Laplacian: how much fine grain (weave, knit, noise) a texture has."""
    lap = 4 * patch[1:-1, 1:-1] - patch[:-2, 1:-1] - patch[2:, 1:-1] - patch[1:-1, :-2] - patch[1:-1, 2:]
    return float(np.abs(lap).mean())


def _by_attribute(products, attribute: str) -> dict[str, list]:
    groups: dict[str, list] = defaultdict(list)
    for p in products:
        groups[p.first(attribute)].append(p)
    return groups


@pytest.fixture(scope="module")
def example():
    load = load_catalog(EXAMPLE)
    assert not load.problems, [str(p) for p in load.problems]
    return load.products


# --- drawing ---------------------------------------------------------------------------------------


def test_same_seed_same_pixels_other_seed_other_pixels():
    args = ("dress", "red", "floral", "silk")
    first = draw_garment(*args, seed=7).tobytes()
    assert draw_garment(*args, seed=7).tobytes() == first
    assert draw_garment(*args, seed=8).tobytes() != first


@pytest.mark.parametrize("category", CATEGORIES)
def test_garment_is_centred_on_white_in_its_own_colour(category):
    image = draw_garment(category, "red", size=(96, 128), seed=3)
    assert image.size == (96, 128) and image.mode == "RGB"
    pixels = np.asarray(image, dtype=np.int32)
    border = np.concatenate([pixels[:3].reshape(-1, 3), pixels[-3:].reshape(-1, 3),
                             pixels[:, :3].reshape(-1, 3), pixels[:, -3:].reshape(-1, 3)])
    assert border.min() >= 235  # a white studio background all around: the garment fits the frame
    cloth = pixels[np.abs(pixels - COLORS["red"]).sum(axis=2) < 90]
    assert len(cloth) > 0.08 * 96 * 128  # a garment, not a few red dots
    ys, xs = np.nonzero(pixels.sum(axis=2) < 3 * 255 - 60)
    assert abs((xs.min() + xs.max()) / 2 - 48) <= 3 and abs((ys.min() + ys.max()) / 2 - 64) <= 4


def test_other_sizes_keep_the_shape_in_frame():
    image = draw_garment("shirt", "navy blue", size=(60, 80))
    assert image.size == (60, 80)
    assert _grey(image)[:, :2].min() > 230 and _grey(image)[40, 30] < 120


@pytest.mark.parametrize("bad", [dict(category="hat"), dict(color="octarine"), dict(material="vibranium"),
                                 dict(pattern="paisley"), dict(color=(300, 0, 0))])
def test_unknown_values_are_usage_errors(bad):
    args = dict(category="shirt", color="white", pattern="solid", material="cotton") | bad
    with pytest.raises(UsageError) as err:
        draw_garment(**args)
    assert isinstance(err.value, FashrecError)


@pytest.mark.parametrize("color", ["grey", "navy blue", "beige"])
def test_silk_is_smooth_and_wool_is_fuzzy(color):
    silk = _high_frequency(_chest(color, "silk"))
    for material in MATERIALS:
        if material != "silk":
            assert _high_frequency(_chest(color, material)) > 1.5 * silk, material
    assert _high_frequency(_chest(color, "wool")) > 5 * silk


def _diagonal_ratio(patch: np.ndarray) -> float:
    """Change along the rising diagonal / change along the falling one: small for a twill."""
    rising = np.abs(patch[1:, :-1] - patch[:-1, 1:]).mean()
    falling = np.abs(patch[1:, 1:] - patch[:-1, :-1]).mean()
    return float(rising / falling)


def _horizontal_ratio(patch: np.ndarray) -> float:
    """Change across columns / change across rows: small when the grain runs in horizontal streaks."""
    return float(np.abs(np.diff(patch, axis=1)).mean() / np.abs(np.diff(patch, axis=0)).mean())


@pytest.mark.parametrize("color", ["grey", "navy blue"])
@pytest.mark.parametrize("seed", [0, 5])
def test_denim_has_a_diagonal_twill_and_linen_horizontal_slubs(color, seed):
    assert _diagonal_ratio(_chest(color, "denim", seed)) < 0.7
    for material in ("cotton", "linen", "wool", "leather"):
        assert _diagonal_ratio(_chest(color, material, seed)) > 0.85, material
    assert _horizontal_ratio(_chest(color, "linen", seed)) < 0.7
    assert 0.85 < _horizontal_ratio(_chest(color, "cotton", seed)) < 1.15


@pytest.mark.parametrize("seed", [0, 4])
def test_leather_and_silk_shine_where_matte_cloth_does_not(seed):
    cloth = _grey(draw_garment("sweater", "brown", material="cotton", seed=seed)) < 100  # same shape, any material
    base = 255 * luminance(COLORS["brown"])

    def glossy_share(material: str) -> float:
        pixels = _grey(draw_garment("sweater", "brown", material=material, seed=seed))[cloth]
        return float((pixels > 1.25 * base).mean())

    for shiny in ("leather", "silk"):
        assert glossy_share(shiny) > 0.08, shiny
    for matte in ("cotton", "linen", "denim", "wool", "suede"):
        assert glossy_share(matte) < 0.03, matte


# --- small catalogs for tests ----------------------------------------------------------------------


def test_make_catalog_writes_a_valid_varied_catalog_quickly(tmp_path):
    started = time.perf_counter()
    path = make_catalog(tmp_path / "shop", n_items=24, seed=3)
    elapsed = time.perf_counter() - started
    assert elapsed < 3.0  # meant to take well under a second: other tests build one per test
    assert path.parent == tmp_path / "shop" and path.suffix == ".jsonl"
    load = load_catalog(path, strict=True)
    products = load.products
    assert len(products) == 24 and not load.problems
    assert len({p.first("category") for p in products}) >= 8
    assert len({p.first("material") for p in products}) >= 6
    assert set(PATTERNS) <= {p.first("pattern") for p in products}
    assert {"men", "women", "unisex"} <= {p.first("gender") for p in products}
    assert len({p.first("color") for p in products}) >= 8
    assert all(p.price and p.price > 0 and p.currency == "EUR" and p.brand for p in products)
    assert all(p.in_stock is not None and p.sizes and p.title and p.description for p in products)
    assert all(Image.open(p.image_path).size == (96, 128) for p in products)


def test_make_catalog_is_deterministic_per_seed(tmp_path):
    a = make_catalog(tmp_path / "a", n_items=12, seed=5)
    b = make_catalog(tmp_path / "b", n_items=12, seed=5)
    make_catalog(tmp_path / "c", n_items=12, seed=6)
    assert a.read_text() == b.read_text()
    for image in sorted((tmp_path / "a" / "images").glob("*.jpg")):
        assert image.read_bytes() == (tmp_path / "b" / "images" / image.name).read_bytes()
    assert any(image.read_bytes() != (tmp_path / "c" / "images" / image.name).read_bytes()
               for image in (tmp_path / "a" / "images").glob("*.jpg"))


def test_a_bigger_catalog_keeps_the_smaller_ones_products():
    small, big = plan_catalog(10, seed=2), plan_catalog(60, seed=2)
    assert big[:10] == small


def test_zero_items_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError):
        make_catalog(tmp_path, n_items=0)


def test_planned_products_respect_category_and_material_rules():
    for product in plan_catalog(160, seed=11):
        look = product.look
        category, material = CATEGORY_RULES[look.category], MATERIAL_RULES[look.material]
        assert look.material in category.materials
        assert look.pattern in category.patterns and look.pattern in material.patterns
        assert look.gender in category.genders and look.color in COLORS
        assert (product.sleeve is not None) == bool(category.sleeves)
        assert product.usage in category.usages


# --- the shipped example catalog --------------------------------------------------------------------


def test_example_catalog_covers_what_the_demo_needs(example):
    assert len(example) >= 120
    assert len({p.first("category") for p in example}) >= 8
    assert REQUIRED_MATERIALS <= {p.first("material") for p in example}
    assert set(PATTERNS) <= {p.first("pattern") for p in example}
    linen_shirts = [p for p in example if p.first("category") == "shirt" and p.first("material") == "linen"]
    assert len({p.first("color") for p in linen_shirts}) >= 2
    assert sum(bool(p.in_stock) for p in linen_shirts) >= 3  # "but in linen" has answers you can buy
    assert {"men", "women"} <= {p.first("gender") for p in linen_shirts}


@pytest.mark.parametrize("category", ["shirt", "t-shirt", "dress", "skirt", "trousers", "jacket", "sweater"])
def test_main_categories_mix_colours_materials_and_genders(example, category):
    items = _by_attribute(example, "category")[category]
    assert len(items) >= 6
    assert len({p.first("color") for p in items}) >= 4
    assert len({p.first("material") for p in items}) >= 2
    if category not in ("dress", "skirt"):
        assert {"men", "women"} <= {p.first("gender") for p in items}
    if category in ("shirt", "t-shirt", "dress", "jacket", "sweater"):
        assert all(p.first("sleeve") in ("long", "short", "sleeveless") for p in items)


def test_typical_refinements_have_several_answers(example):
    def count(**where) -> int:
        return sum(all(p.first(k) == v for k, v in where.items()) for p in example)

    assert count(color="navy blue") >= 8  # "in navy"
    assert len(example) - count(color="black") >= 100  # "not black"
    assert count(category="skirt") >= 6  # "as a skirt"
    assert count(category="shirt", gender="women") >= 5  # "the women's version"
    assert count(category="shirt", usage="formal") >= 3  # "something more formal"
    assert count(usage="formal") >= 15
    cheap = [p for p in example if p.price is not None and p.price < 40]  # "under 40 euros"
    assert len(cheap) >= 10 and len({p.first("category") for p in cheap}) >= 3


def test_example_catalog_reads_like_a_shop(example):
    assert len({p.brand for p in example}) >= 5
    out_of_stock = sum(p.in_stock is False for p in example) / len(example)
    assert 0.03 <= out_of_stock <= 0.2
    sponsored = [p for p in example if p.sponsored]
    assert 1 <= len(sponsored) <= 12 and all(0 < p.sponsored <= 1 for p in sponsored)
    for p in example:
        assert p.currency == "EUR" and p.sizes and p.description.endswith(".")
        colour_word = "navy" if p.first("color") == "navy blue" else p.first("color")
        assert colour_word in p.title.lower(), p.title
    # Prices follow the category and the material: silk dresses cost more than cotton t-shirts.
    by_category = _by_attribute(example, "category")
    tees = [p.price for p in by_category["t-shirt"]]
    silk_dresses = [p.price for p in by_category["dress"] if p.first("material") == "silk"]
    assert np.median(silk_dresses) > 3 * np.median(tees)


def test_example_images_are_small_relative_jpegs(example):
    lines = [json.loads(line) for line in EXAMPLE.read_text().splitlines()]
    assert all(line["image"].startswith("examples/images/") for line in lines)
    total = EXAMPLE.stat().st_size
    for p in example:
        with Image.open(p.image_path) as image:
            assert image.format == "JPEG" and image.size == (96, 128)
        total += p.image_path.stat().st_size
    total += sum(path.stat().st_size for path in (REPO / "examples" / "anchors").glob("*.jpg"))
    assert total < 2_000_000


def test_anchors_exist_and_are_not_catalog_images(example):
    catalog_images = {p.image_path.read_bytes() for p in example}
    for anchor in ANCHORS:
        path = REPO / "examples" / "anchors" / anchor.filename
        assert path.is_file(), path
        assert path.read_bytes() not in catalog_images
    assert any(a.filename == "white-cotton-shirt.jpg" for a in ANCHORS)


def test_shipped_files_are_exactly_what_the_script_writes(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "examples" / "make_catalog.py"), "--root", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""  # progress goes to stderr
    assert (tmp_path / "catalog.example.jsonl").read_text() == EXAMPLE.read_text()
    for folder in ("examples/images", "examples/anchors"):
        fresh = {p.name: p.read_bytes() for p in (tmp_path / folder).glob("*.jpg")}
        shipped = {p.name: p.read_bytes() for p in (REPO / folder).glob("*.jpg")}
        assert sorted(fresh) == sorted(shipped), f"{folder}: files differ; run python examples/make_catalog.py"
        changed = [name for name in fresh if fresh[name] != shipped[name]]
        assert not changed, f"{folder}: {changed[:5]} differ; run python examples/make_catalog.py"


def test_script_removes_images_a_previous_run_left_behind(tmp_path):
    stale = tmp_path / "examples" / "images" / "sku-9999.jpg"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    proc = subprocess.run([sys.executable, str(REPO / "examples" / "make_catalog.py"), "--root", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert not stale.exists()
    assert "removed 1 stale" in proc.stderr
