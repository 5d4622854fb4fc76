"""Helpers shared by the index tests: small catalogs of distinct gradient images, the real command in
a background process, and a check that an index folder is usable."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from fashrec.index import open_index


def make_catalog(folder: Path, n: int, *, size: int = 48, start: int = 0) -> Path:
    """``n`` products with distinct gradient images of ``size`` pixels (bigger = slower to encode)."""
    img = folder / "img"
    img.mkdir(parents=True, exist_ok=True)
    ramp = np.linspace(0, 255, size, dtype=np.float32)
    lines = []
    for i in range(start, start + n):
        path = img / f"{i}.jpg"
        if not path.exists():
            rgb = np.stack([np.add.outer(ramp, ramp) / 2, np.full((size, size), (37 * i) % 256),
                            np.add.outer(ramp, -ramp) % 256], axis=-1)
            Image.fromarray(rgb.astype(np.uint8)).save(path, quality=90)
        lines.append(json.dumps({"id": f"p{i}", "image": str(path), "title": f"item {i}",
                                 "attributes": {"color": ["red", "blue", "green"][i % 3]}}))
    catalog = folder / "shop.jsonl"
    catalog.write_text("\n".join(lines) + "\n")
    return catalog


def start_fashrec(env: dict, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "fashrec", *map(str, args)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def index_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def assert_usable(folder: Path, count: int) -> None:
    index = open_index(folder)
    assert len(index) == count
    found = index.nearest(index.image_vectors[3], 5)
    assert found.positions[0] == 3 and len(found.positions) == 5
