"""Helpers shared by the index tests: small catalogs of distinct gradient images, the real command in
a background process, a check that an index folder is usable, and one that every command answers alike
on two indexes (the local store and a Lance dataset, a full folder and a manifest alone...)."""

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


# Each kind of query a store must answer as the local one does (IMAGE: a catalog photo).
COMMANDS = [("search", "red dress", "-k", "6", "--where", "price<80"),
            ("search", "shirt", "-k", "5", "--where", "category!=shirt"),
            ("similar", "IMAGE", "-k", "5"),
            ("refine", "IMAGE", "but in blue", "-k", "4"),
            ("outfit", "IMAGE")]


def answer(run) -> dict:
    """An answer without what differs by design: timings, the index path, the search method's name."""
    assert run.returncode == 0, run.stderr

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("timing_ms", "method", "seconds", "index")}
        return [strip(v) for v in value] if isinstance(value, list) else value

    return strip(run.json())


def assert_every_command_answers_alike(fashrec, image: str, reference: Path, *others: Path,
                                       commands: list = COMMANDS) -> None:
    """Each command's ``--json`` answer on every index of ``others`` is the one on ``reference``."""
    for command in commands:
        args = [image if a == "IMAGE" else a for a in command]
        want = answer(fashrec(*args, "--index", reference, "--json"))
        for other in others:
            assert answer(fashrec(*args, "--index", other, "--json")) == want, (command, other)
