"""Training layer: training data: products of a catalog as pre-decoded image tensors plus attribute labels.

Decoding JPEGs every epoch would cost more CPU than the model itself at 64 px, so every image is decoded
once, through the model's own inference geometry (resize, pad), into a uint8 N x 3 x H x W array cached
as .npy next to the data. Epochs then only index that array.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from fashrec.catalog import Product
from fashrec.catalog.images import load_rgb
from fashrec.errors import ImageError
from fashrec.settings import cache_dir

ProgressFn = Callable[[int], None]

# Attributes with a closed vocabulary that training teaches directly through prompt losses.
LABELLED_ATTRIBUTES = ("category", "color", "gender", "usage", "season", "pattern")


def geometry_transform(preprocess_cfg: dict[str, Any]):
    """open_clip's inference transform for this config, minus Normalize: PIL image -> float [0, 1]."""
    from open_clip.transform import PreprocessCfg, image_transform_v2
    from torchvision.transforms import Compose, Normalize

    known = {k: v for k, v in preprocess_cfg.items() if k in PreprocessCfg.__dataclass_fields__}
    full = image_transform_v2(PreprocessCfg(**known), is_train=False)
    return Compose([t for t in full.transforms if not isinstance(t, Normalize)])


def _cache_key(products: Sequence[Product], preprocess_cfg: dict[str, Any]) -> str:
    h = hashlib.sha256(json.dumps(preprocess_cfg, sort_keys=True).encode())
    for p in products:
        path = Path(p.image_path)
        try:
            stat = path.stat()
            h.update(f"{path}|{stat.st_size}|{int(stat.st_mtime)}\n".encode())
        except OSError:
            h.update(f"{path}|missing\n".encode())
    return h.hexdigest()[:16]


def decode_images(products: Sequence[Product], preprocess_cfg: dict[str, Any], *,
                  progress: ProgressFn | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Decode every product image; returns (uint8 N x 3 x H x W, bool ok-mask). Bad images are masked."""

    transform = geometry_transform(preprocess_cfg)
    size = preprocess_cfg["size"]
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    images = np.full((len(products), 3, h, w), 255, dtype=np.uint8)
    ok = np.zeros(len(products), dtype=bool)
    for i, product in enumerate(products):
        try:
            tensor = transform(load_rgb(product.image_path))
        except ImageError:
            tensor = None
        if tensor is not None:
            images[i] = (tensor.clamp(0, 1) * 255).round().byte().numpy()
            ok[i] = True
        if progress and (i + 1) % 256 == 0:
            progress(256)
    if progress:
        progress(len(products) % 256)
    return images, ok


def cached_images(products: Sequence[Product], preprocess_cfg: dict[str, Any], *,
                  directory: Path | None = None, progress: ProgressFn | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`decode_images`, but stored once per (image set, geometry) and reused afterwards."""
    directory = directory or cache_dir()
    key = _cache_key(products, preprocess_cfg)
    path = directory / f"images-{key}.npz"
    if path.is_file():
        with np.load(path) as data:
            return data["images"], data["ok"]
    images, ok = decode_images(products, preprocess_cfg, progress=progress)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, images=images, ok=ok)  # uncompressed: loading must be instant
    os.replace(tmp, path)
    return images, ok


@dataclass
class LabelSet:
    """Integer labels of one attribute: ``labels[i]`` indexes ``values``, -1 where unknown."""

    values: list[str]
    labels: np.ndarray


@dataclass
class TrainingSet:
    products: list[Product]
    images: np.ndarray  # uint8 N x 3 x H x W
    attributes: dict[str, LabelSet] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.products)


def build_label_sets(products: Sequence[Product], attributes: Sequence[str] = LABELLED_ATTRIBUTES,
                     *, min_count: int = 1) -> dict[str, LabelSet]:
    """One LabelSet per attribute present in the catalog (values sorted for a stable order)."""
    out: dict[str, LabelSet] = {}
    for attr in attributes:
        counts: dict[str, int] = {}
        for p in products:
            v = p.first(attr)
            if v:
                counts[v] = counts.get(v, 0) + 1
        values = sorted(v for v, c in counts.items() if c >= min_count)
        if len(values) < 2:  # one value teaches nothing
            continue
        index = {v: i for i, v in enumerate(values)}
        labels = np.array([index.get(p.first(attr) or "", -1) for p in products], dtype=np.int64)
        out[attr] = LabelSet(values=values, labels=labels)
    return out


def build_training_set(products: Sequence[Product], preprocess_cfg: dict[str, Any], *,
                       progress: ProgressFn | None = None, use_cache: bool = True) -> TrainingSet:
    """Images + labels for ``products``; products whose image cannot be decoded are dropped."""
    products = list(products)
    if use_cache:
        images, ok = cached_images(products, preprocess_cfg, progress=progress)
    else:
        images, ok = decode_images(products, preprocess_cfg, progress=progress)
    keep = np.flatnonzero(ok)
    kept = [products[i] for i in keep]
    images = images[keep] if len(keep) < len(products) else images
    return TrainingSet(products=kept, images=np.ascontiguousarray(images), attributes=build_label_sets(kept))
