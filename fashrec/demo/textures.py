"""Demo layer: material textures: a brightness multiplier plus a highlight, both (H, W), per material.

Each material differs measurably (linen slubs run horizontally, denim has a diagonal twill, wool is
fuzzy), so an encoder can learn them from the demo photos.
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def blur(a: np.ndarray, sigma_y: float, sigma_x: float | None = None) -> np.ndarray:
    """Separable Gaussian blur with reflected borders (numpy only; SciPy is not a dependency)."""
    sigma_x = sigma_y if sigma_x is None else sigma_x
    out = a.astype(np.float32)
    for axis, sigma in ((0, sigma_y), (1, sigma_x)):
        if sigma <= 0:
            continue
        radius = max(1, int(3 * sigma))
        taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
        taps /= taps.sum()
        pad = [(0, 0)] * out.ndim
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="reflect")
        n = out.shape[axis]
        out = sum(t * np.take(padded, np.arange(i, i + n), axis=axis) for i, t in enumerate(taps))
    return out.astype(np.float32)


def _unit(a: np.ndarray) -> np.ndarray:
    """Rescale noise to zero mean and unit spread, so amplitudes below mean what they say."""
    return (a - a.mean()) / (a.std() + 1e-6)


Texture = tuple[np.ndarray, np.ndarray]


def grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    return np.mgrid[0:h, 0:w].astype(np.float32)


def texture_cotton(h: int, w: int, rng: np.random.Generator) -> Texture:
    """Fine plain weave: a one-pixel over-under checker with a little fibre noise."""
    yy, xx = grid(h, w)
    weave = ((xx + yy) % 2) * 2 - 1
    return 1 + 0.03 * weave + 0.018 * rng.standard_normal((h, w)), np.zeros((h, w), np.float32)


def texture_linen(h: int, w: int, rng: np.random.Generator) -> Texture:
    """Irregular, slubby weave: threads of uneven thickness show as short horizontal streaks."""
    yy, xx = grid(h, w)
    slubs = _unit(blur(rng.standard_normal((h, w)), 0.3, 3.5))
    threads = _unit(rng.standard_normal((1, w))) * 0.015 + _unit(rng.standard_normal((h, 1))) * 0.02
    weave = ((xx % 2) != (yy % 2)) * 0.04 - 0.02
    return 1 + 0.075 * slubs + threads + weave, np.zeros((h, w), np.float32)


def texture_denim(h: int, w: int, rng: np.random.Generator) -> Texture:
    """Diagonal twill (lines rising to the right) with pale weft flecks and faded vertical streaks."""
    yy, xx = grid(h, w)
    twill = np.sin(2 * np.pi * (xx + yy) / 3.0)
    fade = _unit(blur(rng.standard_normal((h, w)), 6.0, 0.8))
    flecks = (rng.random((h, w)) < 0.03) * 0.08
    return 0.88 + 0.09 * twill + 0.05 * fade + 0.02 * rng.standard_normal((h, w)), flecks.astype(np.float32)


def texture_wool(h: int, w: int, rng: np.random.Generator) -> Texture:
    """Knit: rows of V-shaped stitches under fuzzy, mottled fibre noise."""
    yy, xx = grid(h, w)
    stitches = np.sin(2 * np.pi * (yy + np.abs((xx % 4) - 1.5)) / 3.0)
    fuzz = _unit(blur(rng.standard_normal((h, w)), 0.8))
    mottle = _unit(blur(rng.standard_normal((h, w)), 3.0))
    speckle = rng.standard_normal((h, w))
    return 1 + 0.06 * stitches + 0.08 * fuzz + 0.04 * mottle + 0.05 * speckle, np.zeros((h, w), np.float32)


def texture_silk(h: int, w: int, rng: np.random.Generator) -> Texture:
    """Smooth sheen: broad light and dark bands with one soft specular streak, no grain at all."""
    yy, xx = grid(h, w)
    angle = rng.uniform(0.5, 1.1)
    along = (xx * np.cos(angle) + yy * np.sin(angle)) / max(h, w)
    bands = np.sin(2 * np.pi * (along * 1.6 + rng.uniform(0, 1)))
    centre = rng.uniform(0.35, 0.65)
    streak = np.exp(-(((along - centre) / 0.07) ** 2))
    return 1 + 0.10 * bands - 0.04, (0.28 * streak).astype(np.float32)


def texture_leather(h: int, w: int, rng: np.random.Generator) -> Texture:
    """Pebbled grain (dark creases between small cells) catching a broad glossy highlight."""
    yy, xx = grid(h, w)
    cells = _unit(blur(rng.standard_normal((h, w)), 0.8))
    creases = -np.abs(cells) + 0.8
    along = (xx * 0.8 - yy * 0.6) / max(h, w)
    glow = np.exp(-(((along - rng.uniform(-0.2, 0.3)) / 0.16) ** 2))
    highlight = glow * (0.10 + 0.05 * np.clip(cells, 0, None))
    return 1 + 0.055 * creases - 0.02, highlight.astype(np.float32)


def texture_polyester(h: int, w: int, rng: np.random.Generator) -> Texture:
    """Smooth synthetic: a faint sheen and almost no grain."""
    yy, xx = grid(h, w)
    sheen = np.sin(2 * np.pi * (xx + 0.5 * yy) / (1.4 * w) + rng.uniform(0, 6.3))
    return 1 + 0.05 * sheen + 0.01 * rng.standard_normal((h, w)), np.zeros((h, w), np.float32)


def texture_suede(h: int, w: int, rng: np.random.Generator) -> Texture:
    """Matte brushed nap: soft mottling stretched in the brushing direction, slightly darker than smooth."""
    nap = _unit(blur(rng.standard_normal((h, w)), 1.6, 1.1))
    return 0.94 + 0.05 * nap + 0.015 * rng.standard_normal((h, w)), np.zeros((h, w), np.float32)


TEXTURES: dict[str, Callable[[int, int, np.random.Generator], Texture]] = {
    "cotton": texture_cotton,
    "linen": texture_linen,
    "denim": texture_denim,
    "wool": texture_wool,
    "silk": texture_silk,
    "leather": texture_leather,
    "polyester": texture_polyester,
    "suede": texture_suede,
}
