"""Training, the shared split, captions, the encoder evaluation and the shipped fashrec-mini model.

The training tests run the real ``fashrec train`` command in a subprocess on a small drawn catalog, with
their own cache folder, so they never touch the real data or ~/.cache.
"""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from fashrec.catalog.split import is_evaluation_item, is_holdout, is_validation
from fashrec.train.captions import (
    CaptionMaker,
    attribute_prompts,
    normalize_caption,
    possessive,
    singular,
)

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))


# -- split --------------------------------------------------------------------------------------------
def test_is_holdout_is_deterministic_and_about_ten_percent():
    ids = [str(i) for i in range(20_000)] + [f"sku-{i}" for i in range(5_000)]
    first = [is_holdout(i) for i in ids]
    assert first == [is_holdout(i) for i in ids]
    assert 0.09 < sum(first) / len(ids) < 0.11
    validation = [is_validation(i) for i in ids]
    assert 0.09 < sum(validation) / len(ids) < 0.11
    assert not any(h and v for h, v in zip(first, validation))
    assert all(is_evaluation_item(i) == (h or v) for i, h, v in zip(ids, first, validation))


# -- captions -----------------------------------------------------------------------------------------
def test_singular_forms():
    assert singular("tshirts") == "tshirt"
    assert singular("shirts") == "shirt"
    assert singular("casual shoes") == "casual shoe"
    assert singular("watches") == "watch"
    assert singular("jeans") == "jeans"
    assert singular("dress") == "dress"
    assert singular("ties") == "tie" and singular("bow ties") == "bow tie"
    assert singular("hoodies") == "hoodie" and singular("beanies") == "beanie"
    assert singular("panties") == "panty" and singular("nighties") == "nightie"
    assert possessive("women") == "women's" and possessive("boys") == "boys'"


def test_captions_are_varied_and_grounded():
    maker = CaptionMaker(random.Random(0))
    attrs = {"category": "tshirts", "color": "navy blue", "gender": "men", "usage": "casual", "season": "summer"}
    captions = [maker.caption("Nike Men Navy Blue Tshirt", attrs) for _ in range(300)]
    assert len(set(captions)) >= 40
    assert "nike men navy blue tshirt" in captions  # the title itself
    assert any("tshirt" in c and "tshirts" not in c for c in captions)  # singular
    assert any("tshirts" in c for c in captions)  # plural
    assert any(c.startswith("men's") for c in captions)
    assert any("for men" in c for c in captions)
    assert min(map(len, captions)) < 12 < max(map(len, captions))  # short and long
    assert all("red" not in c for c in captions)  # never invents a value
    assert CaptionMaker(random.Random(0)).caption("x", attrs) == CaptionMaker(random.Random(0)).caption("x", attrs)


def test_attribute_prompts_share_one_template():
    prompts = attribute_prompts("color", ["red", "navy blue"], random.Random(3))
    assert len(prompts) == 2
    assert prompts[0].replace("red", "X") == prompts[1].replace("navy blue", "X")
    assert normalize_caption("A  Red, Shirt!") == "a red shirt"


# -- losses -------------------------------------------------------------------------------------------
def test_identical_captions_are_both_positives():
    import torch

    from fashrec.train.losses import multi_positive_clip_loss, same_caption_targets

    targets = same_caption_targets(torch.tensor([0, 1, 0]))
    assert torch.allclose(targets[0], torch.tensor([0.5, 0.0, 0.5]))
    feats = torch.nn.functional.normalize(torch.randn(3, 8), dim=-1)
    aligned = multi_positive_clip_loss(feats, feats, torch.tensor([0, 1, 2]), torch.tensor(20.0))
    shuffled = multi_positive_clip_loss(feats, feats[[1, 2, 0]], torch.tensor([0, 1, 2]), torch.tensor(20.0))
    assert aligned < shuffled


# -- the training command -----------------------------------------------------------------------------
def _draw_catalog(out_dir: Path, n_items: int) -> Path:
    """Fallback when fashrec.demo is unavailable: coloured shapes with colour/category attributes."""
    colours = {"red": (200, 30, 30), "green": (30, 160, 60), "blue": (30, 60, 200), "black": (20, 20, 20)}
    shapes = ["shirts", "bags"]
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n_items):
        colour, shape = list(colours)[i % 4], shapes[(i // 4) % 2]
        im = Image.new("RGB", (60, 80), "white")
        draw = ImageDraw.Draw(im)
        (draw.rectangle if shape == "shirts" else draw.ellipse)([10, 15, 50, 70], fill=colours[colour])
        im.save(out_dir / "images" / f"{i}.jpg")
        lines.append(json.dumps({"id": f"item-{i}", "image": f"images/{i}.jpg", "title": f"{colour} {shape}",
                                 "attributes": {"category": shape, "color": colour,
                                                "gender": ["men", "women"][i % 2]}}))
    path = out_dir / "catalog.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def tiny_catalog(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("catalog")
    try:
        from fashrec.demo import make_catalog
    except ImportError:
        return _draw_catalog(out, 40)
    return make_catalog(out, 40, 0)


def _train(catalog: Path, out: Path, cache: Path, *extra: str) -> dict:
    # One fixed thread: bit-for-bit repeatable steps, and no stalls when the CPU is shared.
    env = {**os.environ, "FASHREC_CACHE_DIR": str(cache), "FASHREC_THREADS": "1"}
    cmd = [sys.executable, "-m", "fashrec", "train", str(catalog), "--out", str(out), "--batch-size", "8",
           "--epochs", "4", "--lr", "2e-3", "--threads", "1", "--json", *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def _losses(out: Path) -> list[float]:
    import torch

    return torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=False)["losses"]


def test_train_writes_a_loadable_model_whose_loss_went_down(tiny_catalog, tmp_path):
    out = tmp_path / "model"
    result = _train(tiny_catalog, out, tmp_path / "cache")
    assert result["steps"] == result["total_steps"] == 12  # 30 training items // 8 = 3 steps x 4 epochs
    assert result["train_items"] == 30 and result["holdout_items"] == 10
    losses = _losses(out)
    assert np.mean(losses[-3:]) < np.mean(losses[:3])
    assert result["validation"]["items"] == 10

    from fashrec.encoder import OpenClipEncoder

    encoder = OpenClipEncoder(str(out), threads=1)
    assert encoder.dimension == 256
    vectors = encoder.encode_images([Image.new("RGB", (60, 80), "red")])
    assert vectors.shape == (1, 256) and abs(np.linalg.norm(vectors[0]) - 1) < 1e-4
    training = json.loads((out / "training.json").read_text())
    assert training["steps"] == 12 and training["recipe"]["batch_size"] == 8

    from safetensors import safe_open

    with safe_open(str(out / "open_clip_model.safetensors"), "pt") as f:
        assert {str(f.get_slice(k).get_dtype()) for k in f.keys()} >= {"F16"}


def test_resume_continues_the_same_run(tiny_catalog, tmp_path):
    cache = tmp_path / "cache"
    whole, split = tmp_path / "whole", tmp_path / "split"
    _train(tiny_catalog, whole, cache, "--no-validate")
    paused = _train(tiny_catalog, split, cache, "--no-validate", "--max-steps", "5")
    assert paused["steps"] == 5
    resumed = _train(tiny_catalog, split, cache, "--no-validate", "--resume")
    assert resumed["steps"] == 12
    assert np.allclose(_losses(split), _losses(whole), rtol=1e-3, atol=1e-3)

    env = {**os.environ, "FASHREC_CACHE_DIR": str(cache)}
    again = subprocess.run([sys.executable, "-m", "fashrec", "train", str(tiny_catalog), "--out", str(split),
                            "--json"], capture_output=True, text=True, env=env, timeout=60)
    assert again.returncode == 2  # refuses to overwrite a checkpoint without --resume
    assert json.loads(again.stderr.strip().splitlines()[-1])["error"] == "usage"


# -- evaluation ---------------------------------------------------------------------------------------
class _Fixed:
    """An 'encoder' whose text vectors are one-hot per (colour, category, gender) phrase."""

    identifier, dimension = "fixed", 4

    def __init__(self, table: dict[str, int]):
        self.table = table

    def encode_texts(self, texts):
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i, self.table.get(t, 3)] = 1
        return out


def test_retrieval_precision_on_perfect_vectors():
    from fashrec.catalog import Product
    from fashrec.evaluation.encoder import (
        image_to_image_precision,
        text_to_image_precision,
    )

    products, vectors = [], []
    for i in range(33):  # 11 per group: every item has 10 others like it
        colour = ["red", "blue", "red"][i % 3]
        category = ["shirts", "shirts", "bags"][i % 3]
        products.append(Product(id=str(i), image="x", image_path=Path("x"),
                                attributes={"color": [colour], "category": [category], "gender": ["men"]}))
        vectors.append(np.eye(4, dtype=np.float32)[i % 3])
    vectors = np.stack(vectors)
    table = {"red shirts for men": 0, "blue shirts for men": 1, "red bags for men": 2}
    p10, queries = text_to_image_precision(_Fixed(table), vectors, products)
    assert (p10, queries) == (1.0, 3)
    p10, queries = image_to_image_precision(vectors, products)
    assert (p10, queries) == (1.0, 33)


# -- the catalogue converter --------------------------------------------------------------------------
def test_converter_maps_columns_and_derives_pattern(tmp_path):
    from fashion_products_to_catalog import convert

    images = tmp_path / "images"
    images.mkdir()
    Image.new("RGB", (6, 8), "white").save(images / "1.jpg")
    Image.new("RGB", (6, 8), "white").save(images / "2.jpg")
    header = ["id", "gender", "masterCategory", "subCategory", "articleType", "baseColour", "season", "year",
              "usage", "productDisplayName"]
    with open(tmp_path / "styles.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerow(["1", "Men", "Apparel", "Topwear", "Shirts", "Navy Blue", "Fall", "2011", "Casual",
                         "Turtle Check Men Navy Blue Shirt"])
        writer.writerow(["2", "Women", "Apparel", "Topwear", "Tops", "", "Summer", "2012", "", "Plain top"])
        writer.writerow(["3", "Men", "Footwear", "Shoes", "Heels", "Black", "Fall", "2011", "Casual", "no image"])
    written, skipped = convert(tmp_path / "styles.csv", images, tmp_path / "out.jsonl")
    assert (written, skipped) == (2, 1)
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert rows[0]["attributes"] == {"category": "Shirts", "color": "Navy Blue", "gender": "Men", "usage": "Casual",
                                     "season": "Fall", "group": "Apparel", "subcategory": "Topwear",
                                     "pattern": "checked"}
    assert Path(rows[0]["image"]).is_absolute()
    assert "color" not in rows[1]["attributes"] and "pattern" not in rows[1]["attributes"]

    from fashrec.catalog import load_catalog

    load = load_catalog(tmp_path / "out.jsonl")
    assert not load.problems and load.products[0].first("color") == "navy blue"


# -- the shipped model --------------------------------------------------------------------------------
def test_shipped_fashrec_mini_loads_through_the_normal_path():
    from fashrec.encoder import OpenClipEncoder
    from fashrec.settings import models_dir

    weights = models_dir() / "fashrec-mini" / "open_clip_model.safetensors"
    assert weights.is_file() and weights.stat().st_size <= 40 * 1024 * 1024
    encoder = OpenClipEncoder("fashrec-mini", threads=1)
    assert encoder.dimension == 256
    texts = encoder.encode_texts(["red dress", "black sports shoes for men"])
    images = encoder.encode_images([Image.new("RGB", (60, 80), "white")])
    assert texts.shape == (2, 256) and images.shape == (1, 256)
    assert np.allclose(np.linalg.norm(texts, axis=1), 1, atol=1e-4)
    training = json.loads((weights.parent / "training.json").read_text())
    assert training["validation"]["items"] > 0
