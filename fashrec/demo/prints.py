"""Demo layer: prints: the colour layer of a garment (stripes, checks, dots, flowers) before the material's texture."""

from __future__ import annotations

import random
from typing import Sequence

import numpy as np

from fashrec.demo.sketch import COLORS, RGB, Sketch, luminance


def _distinct(names: Sequence[str], base: RGB) -> list[RGB]:
    return [COLORS[n] for n in names if sum(abs(a - b) for a, b in zip(COLORS[n], base)) > 90]


def _ink(base: RGB, rng: random.Random) -> RGB:
    """Stripes, checks and dots: neutral inks, so the cloth's own colour still dominates and stays
    what the catalog says it is."""
    names = ("navy blue", "black", "red") if luminance(base) > 0.55 else ("white", "cream")
    return rng.choice(_distinct(names, base))


def _flower_colors(base: RGB, rng: random.Random) -> tuple[RGB, RGB]:
    names = ("red", "pink", "navy blue", "white") if luminance(base) > 0.55 else ("pink", "white", "yellow", "cream")
    pool = _distinct(names, base)
    rng.shuffle(pool)
    return pool[0], pool[1 % len(pool)]


def _band(sk: Sketch, layer: str, start: float, width: float, vertical: bool) -> None:
    """One straight band across the whole picture (a stripe, or one direction of a check)."""
    if vertical:
        sk.polygon(layer, [(start, -4), (start + width, -4), (start + width, 132), (start, 132)])
    else:
        sk.polygon(layer, [(-4, start), (100, start), (100, start + width), (-4, start + width)])


def _draw_print(sk: Sketch, pattern: str, category: str, rng: random.Random) -> None:
    """The print's shapes, on layers named after what they are (``ink``, ``petal-a``...)."""
    phase_x, phase_y = rng.uniform(0, 8), rng.uniform(0, 8)
    if pattern == "striped":
        vertical = category in ("shirt", "trousers", "skirt")  # shirting stripes run down, Breton ones across
        period, width = (6.0, 1.6) if vertical else (8.0, 2.8)
        for k in range(-2, 24):
            _band(sk, "ink", k * period + (phase_x if vertical else phase_y), width, vertical)
    elif pattern == "checked":
        for k in range(-2, 20):
            _band(sk, "check-v", k * 8.0 + phase_x, 3.0, True)
            _band(sk, "check-h", k * 8.0 + phase_y, 3.0, False)
    elif pattern == "dotted":
        for row in range(-1, 20):
            for col in range(-1, 15):
                sk.ellipse("ink", (col * 7.0 + (3.5 if row % 2 else 0) + phase_x, row * 7.0 + phase_y), 1.5)
    elif pattern == "floral":
        for row in range(-1, 11):
            for col in range(-1, 8):
                cx = col * 13.0 + (6.5 if row % 2 else 0) + rng.uniform(-3, 3) + phase_x
                cy = row * 13.0 + rng.uniform(-3, 3) + phase_y
                petal = "petal-a" if rng.random() < 0.6 else "petal-b"
                angle = rng.uniform(0, np.pi)
                sk.ellipse("leaf", (cx + 4 * np.cos(angle), cy + 4 * np.sin(angle)), 1.6, 1.1)
                for k in range(5):
                    a = angle + k * 2 * np.pi / 5
                    sk.ellipse(petal, (cx + 2.0 * np.cos(a), cy + 2.0 * np.sin(a)), 1.7)
                sk.ellipse("flower-centre", (cx, cy), 0.9)


def paint_print(base: RGB, pattern: str, category: str, size: tuple[int, int], rng: random.Random) -> np.ndarray:
    """The garment's cloth colour at every pixel (H, W, 3), before texture and light."""
    w, h = size
    cloth = np.empty((h, w, 3), dtype=np.float32)
    cloth[:] = base
    if pattern == "solid":
        return cloth
    sk = Sketch(size)
    _draw_print(sk, pattern, category, rng)
    if pattern == "floral":
        petal_a, petal_b = _flower_colors(base, rng)
        leaf = COLORS["green"] if luminance(base) > 0.35 else (92, 150, 96)
        centre = COLORS["yellow"] if COLORS["yellow"] not in (petal_a, base) else COLORS["white"]
        paints = [("leaf", leaf), ("petal-a", petal_a), ("petal-b", petal_b), ("flower-centre", centre)]
        coverages = [sk.raster(layer) for layer, _ in paints]
        colors = [color for _, color in paints]
    elif pattern == "checked":
        # Gingham: each band direction half-tints the cloth, crossings tint it fully.
        coverages = [np.clip(0.45 * (sk.raster("check-v") + sk.raster("check-h")), 0, 1)]
        colors = [_ink(base, rng)]
    else:
        coverages, colors = [sk.raster("ink")], [_ink(base, rng)]
    for alpha, color in zip(coverages, colors):
        cloth = cloth * (1 - alpha[..., None]) + np.array(color, np.float32) * alpha[..., None]
    return cloth
